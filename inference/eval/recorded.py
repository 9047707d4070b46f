"""The story model's candidates for the evaluation's sheets, recorded once per model and replayed
through the story writer's own choice (``StoryWriter.choose``), round by round as the writer asks:
when none of a round's candidates passes, the writer asks again with the next round's seed
(``WriterConfig.regenerations``), and so does a replay.

Generating them takes minutes on a CPU; filling, the frame checks, the gate and the ranking take a
second. With the candidates recorded (``inference/data/eval/recorded.jsonl``), ``linernotes eval``
measures a change to any of those on the very texts the model wrote, and a new adapter is recorded
again (``record``). Each request's seed comes from its sheet's id, so a sheet gets the same candidates
whichever split it is scored in.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from inference.client import Generated
from inference.templates import render
from inference.writer import StoryWriter, WriterConfig, sampling_for
from schemas.records import StoryRequest

from .published import Published, judge, labels_of
from .sets import EvalSet, Sheet

RECORDING = "recorded.jsonl"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request's candidates as the model wrote them."""

    sheet: str
    generator: str
    candidates: list[str]
    logprobs: list[float]
    completion_tokens: list[int] = field(default_factory=list)
    round: int = 0  # the writer's round (``sampling_for``): 0, then each regeneration


def seed_of(sheet_id: str) -> int:
    return int.from_bytes(hashlib.sha256(sheet_id.encode()).digest()[:4], "big")


def requests(es: EvalSet) -> list[tuple[Sheet, StoryRequest]]:
    """One story request per sheet, in the order a listener's stories come (by listener, then time)."""
    sheets = sorted(es.sheets.values(), key=lambda s: (s.user, s.event_time))
    return [
        (s, StoryRequest(f"eval-{s.id}", s.user, s.kind, s.id, s.event_time, s.sheet, seed=seed_of(s.id)))
        for s in sheets
    ]


def record(model: Any, es: EvalSet, config: WriterConfig, batch: int = 16) -> tuple[list[Recorded], float]:
    """The candidates ``model`` (an ``inference.generator.StoryModel``) writes for every sheet, in
    batches as Triton would send them, for every round the writer may ask (``config.regenerations``);
    with the tokens per second it wrote them at."""
    todo = requests(es)
    out: list[Recorded] = []
    tokens, spent = 0, 0.0
    for round_ in range(1 + config.regenerations):
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            asks = [
                (r.kind, r.facts, render(r.kind, r.facts, r.seed).text, sampling_for(r, config, round_))
                for _, r in part
            ]
            t0 = time.perf_counter()
            gens = model.generate(asks)
            spent += time.perf_counter() - t0
            for (s, _), g in zip(part, gens, strict=True):
                tokens += sum(g.completion_tokens)
                out.append(Recorded(s.id, model.generator_id, g.candidates, g.logprobs, g.completion_tokens, round_))
    return out, tokens / spent if spent else 0.0


def replay(es: EvalSet, recorded: Iterable[Recorded], config: WriterConfig | None = None) -> list[Published]:
    """What the story writer publishes from the recorded candidates, sheet by sheet in listener order
    (so that it avoids repeating itself to a listener as it would live), round by round until one is
    model-written, up to ``config.regenerations``. Sheets with no recording are left out."""
    config = config or WriterConfig()
    rounds: dict[str, list[Recorded]] = {}
    for r in sorted(recorded, key=lambda r: r.round):
        rounds.setdefault(r.sheet, []).append(r)
    writer = StoryWriter(_NoClient(), config)
    labels = labels_of(es)
    out = []
    for s, request in requests(es):
        if s.id not in rounds:
            continue
        for r in rounds[s.id][: 1 + config.regenerations]:
            gen = Generated(r.candidates, r.candidates, r.generator, 0, r.completion_tokens, 0.0, r.logprobs)
            w = writer.choose(request, gen, now_ms=0)
            if w.model_written:
                break
        out.append(Published(s, w.story.text, w.model_written, judge(labels, s, w.story.text)))
    return out


def save(path: Path, recorded: Iterable[Recorded]) -> None:
    path.write_text("".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in recorded), encoding="utf-8")


def load(path: Path | None = None) -> list[Recorded]:
    """The recording at ``path`` (default: the one shipped with the evaluation set); [] when none."""
    source = resources.files("inference").joinpath("data", "eval", RECORDING) if path is None else path
    if not source.is_file():
        return []
    return [Recorded(**json.loads(line)) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]


class _NoClient:
    async def generate(self, *_a: Any, **_k: Any) -> Generated:
        raise RuntimeError("a replay chooses among recorded candidates; it never asks the model")


def shipped_generator() -> str:
    """The generator id the shipped adapter writes under (``StoryModel.generator_id``)."""
    from inference.generator import ADAPTER_DIR, adapter_generator_id

    return adapter_generator_id(ADAPTER_DIR)
