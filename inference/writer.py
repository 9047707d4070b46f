"""From a story request to a publishable story: model candidates, the grounding check, the fallbacks.

Order of preference: the first grounded candidate of the model; then, ``regenerations`` times, a fresh
set of candidates with a derived seed; then the template. The story records which path it took
(``generator``), whether its text passed the check (``grounded``) and the facts it used. The seeds are
derived from the request's seed only, so a retry or a replay of the same request writes the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from schemas.records import FactSheet, Story, StoryRequest

from .client import Generated
from .errors import BadRequest
from .factsheet import FactSheetError, validate
from .grounding import GroundingReport, check
from .prompt import Sampling
from .templates import render


class Generates(Protocol):
    async def generate(
        self, kind: str, sheet: FactSheet, sampling: Sampling, draft: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Generated: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class WriterConfig:
    candidates: int = 2
    regenerations: int = 1
    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int = 48


@dataclass(frozen=True, slots=True)
class Rejected:
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Written:
    story: Story
    report: GroundingReport
    rejected: tuple[Rejected, ...] = ()
    generations: tuple[Generated, ...] = field(default=())

    @property
    def model_written(self) -> bool:
        return not self.story.generator.startswith("template:")


def select(kind: str, sheet: FactSheet, candidates: list[str]) -> tuple[int | None, list[GroundingReport]]:
    """Index of the first candidate the truth gate passes (or None) and every candidate's report."""
    reports = [check(c, sheet, kind) for c in candidates]
    return next((i for i, r in enumerate(reports) if r.grounded), None), reports


def sampling_for(request: StoryRequest, config: WriterConfig, round_: int) -> Sampling:
    return Sampling(
        n=config.candidates,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        seed=(request.seed + 7919 * round_) % (2**62),
    )


def _story(request: StoryRequest, text: str, generator: str, report: GroundingReport, now_ms: int) -> Story:
    return Story(
        story_id=request.story_id,
        user_id=request.user_id,
        kind=request.kind,
        text=text,
        facts=request.facts,
        generator=generator,
        grounded=report.grounded,
        event_time=request.event_time,
        created_at=now_ms,
        facts_used=report.facts_used,
    )


def template_story(request: StoryRequest, now_ms: int) -> Written:
    t = render(request.kind, request.facts, request.seed)
    report = check(t.text, request.facts, request.kind)
    return Written(_story(request, t.text, t.template_id, report, now_ms), report)


class StoryWriter:
    def __init__(self, client: Generates, config: WriterConfig | None = None) -> None:
        self.client = client
        self.config = config or WriterConfig()

    async def write(self, request: StoryRequest, now_ms: int, headers: dict[str, str] | None = None) -> Written:
        """Raises BadRequest for an invalid fact sheet, ModelFailed when the model fails on this request,
        and the client's retriable errors while Triton is unreachable: the caller decides (retry, DLQ)."""
        try:
            validate(request.kind, request.facts)
        except FactSheetError as e:
            raise BadRequest(str(e)) from e
        draft = render(request.kind, request.facts, request.seed).text
        rejected: list[Rejected] = []
        generations: list[Generated] = []
        for round_ in range(1 + self.config.regenerations):
            gen = await self.client.generate(
                request.kind, request.facts, sampling_for(request, self.config, round_), draft, headers
            )
            generations.append(gen)
            index, reports = select(request.kind, request.facts, gen.candidates)
            if index is not None:
                story = _story(request, gen.candidates[index], gen.generator, reports[index], now_ms)
                rejected += [
                    Rejected(c, r.summary()) for c, r in zip(gen.candidates[:index], reports[:index], strict=True)
                ]
                return Written(story, reports[index], tuple(rejected), tuple(generations))
            rejected += [Rejected(c, r.summary()) for c, r in zip(gen.candidates, reports, strict=True)]
        fallback = template_story(request, now_ms)
        return Written(fallback.story, fallback.report, tuple(rejected), tuple(generations))
