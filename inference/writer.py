"""From a story request to a publishable story: model candidates, the truth gate, ranking, the template.

The model writes ``candidates`` texts per request in one call: slot frames when it is the trained
model (filled from the sheet by ``inference.frames``), stories when it is the base model. Each is read
by the gate; of those it accepts, the writer publishes one the listener has not read lately, then the
one the model was surest of. When none passes, a fresh set is asked for (``regenerations`` times, with
a derived seed), then the template is published. The story records which path it took (``generator``),
whether its text passed the gate (``grounded``) and the facts it used. Seeds derive from the request's
seed only, so a retry or a replay of the same request writes the same text.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from schemas.records import FactSheet, Story, StoryRequest

from .client import Generated
from .errors import BadRequest
from .factsheet import FactSheetError, validate
from .frames import fill, likeness
from .frames import problems as frame_problems
from .grounding import GroundingReport, check
from .prompt import Sampling
from .templates import render


class Generates(Protocol):
    async def generate(
        self,
        kind: str,
        sheet: FactSheet,
        sampling: Sampling,
        draft: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Generated: ...


@dataclass(frozen=True, slots=True)
class WriterConfig:
    candidates: int = 4
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


@dataclass(frozen=True, slots=True)
class Candidate:
    """One thing the model wrote, read: a frame is filled from the sheet first; then the gate."""

    written: str
    text: str  # the story it makes ("" when a frame cannot be filled)
    report: GroundingReport | None
    logprob: float = 0.0
    refused: tuple[str, ...] = ()  # why the frame could not be filled
    likeness: float = 0.0  # how close the frame is to a house frame (``frames.likeness``); 0 for free text

    @property
    def accepted(self) -> bool:
        return self.report is not None and self.report.grounded

    @property
    def why(self) -> str:
        return self.report.summary() if self.report is not None else "frame refused: " + "; ".join(self.refused)


def read(kind: str, sheet: FactSheet, written: str, logprob: float = 0.0) -> Candidate:
    if "{" in written or "}" in written:  # a slot frame: names and numbers come from the sheet
        found = frame_problems(written, sheet, kind)
        if found:
            return Candidate(written, "", None, logprob, tuple(found))
        text = fill(written, sheet)
        report = check(text, sheet, kind)
        return Candidate(written, text, report, logprob, likeness=likeness(written, kind) if report.grounded else 0.0)
    return Candidate(written, written, check(written, sheet, kind), logprob)


class RecentStories:
    """The skeletons of each listener's recent stories ("{artist} reached {play_count}."), so that a
    listener is not told the same sentence twice within ``window_ms``. Bounded: the listeners least
    recently written for are forgotten first."""

    def __init__(self, max_listeners: int = 100_000, per_listener: int = 8, window_ms: int = 7 * 86_400_000) -> None:
        self.max_listeners, self.per_listener, self.window_ms = max_listeners, per_listener, window_ms
        self._by_user: OrderedDict[str, list[tuple[int, str]]] = OrderedDict()

    def seen(self, user: str, skeleton: str, t_ms: int) -> bool:
        return any(s == skeleton and abs(t_ms - u) <= self.window_ms for u, s in self._by_user.get(user, ()))

    def add(self, user: str, skeleton: str, t_ms: int) -> None:
        items = self._by_user.pop(user, [])
        items = [*items, (t_ms, skeleton)][-self.per_listener :]
        self._by_user[user] = items
        while len(self._by_user) > self.max_listeners:
            self._by_user.popitem(last=False)


def score(c: Candidate) -> float:
    """How good an accepted candidate is likely to read: a frame close to a house frame that the model
    was sure of. Both count alike: the model is surest of short, generic frames ("{play_count} of
    {artist}.") that editors find dull, and a frame like a house frame reads like one."""
    return c.likeness + c.logprob


def rank(candidates: list[Candidate], recent: RecentStories, user: str, t_ms: int) -> int | None:
    """The candidate to publish: accepted by the frame checks and the gate; of those, one the listener
    has not just read, then the best ``score``. None when none is accepted."""
    accepted = [i for i, c in enumerate(candidates) if c.accepted]
    if not accepted:
        return None

    def key(i: int) -> tuple[bool, float]:
        c = candidates[i]
        assert c.report is not None
        return (not recent.seen(user, c.report.skeleton, t_ms), score(c))

    return max(accepted, key=key)


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
        self.recent = RecentStories()

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
            written = self.choose(request, gen, now_ms)
            rejected += written.rejected
            if written.model_written:
                return Written(written.story, written.report, tuple(rejected), tuple(generations))
        fallback = template_story(request, now_ms)
        self.recent.add(request.user_id, fallback.report.skeleton, request.event_time)
        return Written(fallback.story, fallback.report, tuple(rejected), tuple(generations))

    def choose(self, request: StoryRequest, gen: Generated, now_ms: int) -> Written:
        """The best of one generation's candidates (``rank``) as a story, or the template if none passes."""
        logprobs = gen.logprobs or [0.0] * len(gen.candidates)
        cands = [read(request.kind, request.facts, c, lp) for c, lp in zip(gen.candidates, logprobs, strict=True)]
        best = rank(cands, self.recent, request.user_id, request.event_time)
        rejected = tuple(Rejected(c.written, c.why) for c in cands if not c.accepted)
        if best is None:
            fallback = template_story(request, now_ms)
            return Written(fallback.story, fallback.report, rejected, (gen,))
        chosen = cands[best]
        assert chosen.report is not None
        self.recent.add(request.user_id, chosen.report.skeleton, request.event_time)
        story = _story(request, chosen.text, gen.generator, chosen.report, now_ms)
        return Written(story, chosen.report, rejected, (gen,))
