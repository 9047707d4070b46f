"""What a story model in this process publishes for the evaluation's sheets: one batched generation
for all of them, then the story writer's own choice (``StoryWriter.choose``) per sheet."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from inference.client import Generated
from inference.generator import StoryModel
from inference.prompt import Sampling
from inference.templates import render
from inference.writer import StoryWriter, WriterConfig
from schemas.records import StoryRequest

from .run import Published, judge, labels_of
from .sets import EvalSet


@dataclass(frozen=True, slots=True)
class LocalRun:
    published: list[Published]
    tokens_per_s: float
    device: str


class _NoClient:
    async def generate(self, *_a: Any, **_k: Any) -> Generated:
        raise RuntimeError("a local run generates in batches, not through a client")


def local_pipeline(model: StoryModel, es: EvalSet, config: WriterConfig | None = None, batch: int = 16) -> LocalRun:
    config = config or WriterConfig()
    writer = StoryWriter(_NoClient(), config)
    labels = labels_of(es)
    sheets = sorted(es.sheets.values(), key=lambda s: (s.user, s.event_time))
    published: list[Published] = []
    tokens, spent = 0, 0.0
    for start in range(0, len(sheets), batch):
        part = sheets[start : start + batch]
        requests = [
            StoryRequest(f"eval-{s.id}", s.user, s.kind, s.id, s.event_time, s.sheet, seed=i + start)
            for i, s in enumerate(part)
        ]
        asks: list[tuple[str, Any, str | None, Sampling]] = [
            (
                r.kind,
                r.facts,
                render(r.kind, r.facts, r.seed).text,
                Sampling(
                    n=config.candidates,
                    temperature=config.temperature,
                    top_p=config.top_p,
                    max_new_tokens=config.max_new_tokens,
                    seed=r.seed,
                ),
            )
            for r in requests
        ]
        t0 = time.perf_counter()
        gens = model.generate(asks)
        spent += time.perf_counter() - t0
        for s, r, g in zip(part, requests, gens, strict=True):
            tokens += sum(g.completion_tokens)
            generated = Generated(
                g.candidates, g.raw, model.generator_id, g.prompt_tokens, g.completion_tokens, 0.0, g.logprobs
            )
            w = writer.choose(r, generated, now_ms=0)
            published.append(Published(s, w.story.text, w.model_written, judge(labels, s, w.story.text)))
    return LocalRun(published, tokens / spent if spent else 0.0, str(model.device))
