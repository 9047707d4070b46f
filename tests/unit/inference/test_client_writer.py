"""Client error handling and the writer's choice of text, against fakes (the real server: integration)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tritonclient.utils import InferenceServerException

from inference import golden
from inference.client import CircuitBreaker, Generated, StoryClient, translate
from inference.errors import BadRequest, CircuitOpen, ModelFailed, Overloaded, Timeout, Unavailable
from inference.prompt import Sampling, clean
from inference.writer import StoryWriter, WriterConfig
from schemas.records import FactSheet, StoryRequest

CASE = next(c for c in golden.load() if c.id == "session-1")
GOOD = "Your late night session ran 47 minutes across 12 tracks, with Velvet Harbors leading the way."
BAD = "In 2022 Velvet Harbors played a 48-minute set."


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("StatusCode.UNAVAILABLE", Unavailable),
        ("StatusCode.DEADLINE_EXCEEDED", Timeout),
        ("StatusCode.RESOURCE_EXHAUSTED", Overloaded),
        ("StatusCode.INVALID_ARGUMENT", BadRequest),
        ("StatusCode.INTERNAL", ModelFailed),
    ],
)
def test_triton_errors_become_typed_errors(status: str, expected: type) -> None:
    err = translate(InferenceServerException("boom", status=status))
    assert isinstance(err, expected)
    assert err.retriable == expected.retriable
    assert isinstance(translate(TimeoutError()), Timeout)


def test_a_request_the_models_queue_dropped_at_its_deadline_is_a_timeout() -> None:
    dropped = InferenceServerException("Request timeout expired", status="StatusCode.UNAVAILABLE")
    assert isinstance(translate(dropped), Timeout)


def test_breaker_opens_half_opens_and_closes() -> None:
    now = [0.0]
    states: list[str] = []
    b = CircuitBreaker(failures_to_open=2, reset_s=5, clock=lambda: now[0], on_change=states.append)
    b.before_call()
    b.failure()
    b.before_call()
    b.failure()
    assert b.state == "open"
    with pytest.raises(CircuitOpen):
        b.before_call()
    now[0] = 5.1
    b.before_call()
    assert b.state == "half_open"
    b.failure()  # the trial failed: open again at once
    assert b.state == "open"
    now[0] = 10.2
    b.before_call()
    b.success()
    assert states == ["open", "half_open", "open", "half_open", "closed"]


class FlakyGrpc:
    """Fails with the given statuses, then answers."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.calls = 0

    async def infer(self, *_: Any, **kw: Any) -> Any:
        self.calls += 1
        assert "headers" in kw
        if self.statuses:
            raise InferenceServerException("nope", status=self.statuses.pop(0))
        raise AssertionError("not reached in these tests")

    async def close(self) -> None:
        pass


def test_retries_only_retriable_errors() -> None:
    async def go() -> None:
        flaky = FlakyGrpc(["StatusCode.UNAVAILABLE", "StatusCode.UNAVAILABLE", "StatusCode.INVALID_ARGUMENT"])
        client = StoryClient(retries=5, backoff_s=0.001, _client=flaky)
        with pytest.raises(BadRequest):
            await client.generate("OTHER", CASE.sheet, Sampling())
        assert flaky.calls == 3

        flaky = FlakyGrpc(["StatusCode.UNAVAILABLE"] * 10)
        client = StoryClient(retries=2, backoff_s=0.001, _client=flaky, breaker=CircuitBreaker(failures_to_open=100))
        with pytest.raises(Unavailable):
            await client.generate("OTHER", CASE.sheet, Sampling())
        assert flaky.calls == 3

    asyncio.run(go())


def test_trace_context_goes_into_the_headers() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("parent") as span:
        headers = StoryClient.headers({"x-extra": "1"})
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert headers["traceparent"].split("-")[1] == trace_id
    assert headers["x-extra"] == "1"
    _ = trace  # the global API is what the client injects from


class FakeModel:
    def __init__(self, rounds: list[list[str]] | Exception) -> None:
        self.rounds = rounds
        self.seeds: list[int] = []

    async def generate(
        self,
        kind: str,
        sheet: FactSheet,
        sampling: Sampling,
        draft: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Generated:
        self.seeds.append(sampling.seed)
        assert draft  # the template draft is offered to improve on
        if isinstance(self.rounds, Exception):
            raise self.rounds
        texts = self.rounds.pop(0)
        return Generated(texts, texts, "story_generator/test", 10, [5] * len(texts), 1.0)


def req(seed: int = 4) -> StoryRequest:
    return StoryRequest("sid", "u1", CASE.kind, "k", 123, CASE.sheet, seed=seed)


def test_writer_takes_the_first_grounded_candidate() -> None:
    w = asyncio.run(StoryWriter(FakeModel([[BAD, GOOD]])).write(req(), now_ms=9))
    assert w.model_written and w.story.text == GOOD and w.story.grounded
    assert w.story.generator == "story_generator/test" and len(w.rejected) == 1
    assert set(w.story.facts_used) == {"minutes", "tracks", "top_artist", "time_of_day"}
    assert (w.story.story_id, w.story.event_time, w.story.created_at) == ("sid", 123, 9)


def test_writer_regenerates_then_falls_back_to_the_template() -> None:
    model = FakeModel([[BAD, BAD], [GOOD]])
    w = asyncio.run(StoryWriter(model, WriterConfig(regenerations=1)).write(req(), now_ms=0))
    assert w.model_written and len(model.seeds) == 2 and model.seeds[0] != model.seeds[1]

    model = FakeModel([[BAD], [BAD]])
    w = asyncio.run(StoryWriter(model, WriterConfig(regenerations=1)).write(req(), now_ms=0))
    assert not w.model_written and w.story.generator.startswith("template:session_recap/")
    assert w.story.grounded and len(w.rejected) == 2

    # the seeds come from the request only: a retry asks for exactly the same texts
    again = FakeModel([[BAD], [BAD]])
    asyncio.run(StoryWriter(again, WriterConfig(regenerations=1)).write(req(), now_ms=0))
    assert again.seeds == model.seeds


def test_writer_rejects_first_person_and_reports_model_failure() -> None:
    first_person = "I loved your late night: 47 minutes, 12 tracks, Velvet Harbors."
    w = asyncio.run(StoryWriter(FakeModel([[first_person], [first_person]])).write(req(), now_ms=0))
    assert not w.model_written and "first person" in w.rejected[0].reason
    with pytest.raises(ModelFailed):  # the agent retries it, then dead-letters it
        asyncio.run(StoryWriter(FakeModel(ModelFailed("generation failed"))).write(req(), now_ms=0))


def test_writer_lets_retriable_errors_through() -> None:
    with pytest.raises(Unavailable):
        asyncio.run(StoryWriter(FakeModel(Unavailable("down"))).write(req(), now_ms=0))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Here's a rewritten version:\n\nYour week was good. It was. And more.", "Your week was good. It was."),
        ('"Quoted story."', "Quoted story."),
        ("A sentence cut off in the mid", ""),
        ("Rewrite the draft.\n\nThe real one.", "The real one."),
    ],
)
def test_clean_keeps_whole_sentences_of_the_story(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_strips_labels() -> None:
    assert clean('The original sentence was: "10 plays for Air, since March 3.') == "10 plays for Air, since March 3."
    assert clean("Rewritten: Your week was good.") == "Your week was good."


def test_a_model_that_is_loading_is_waited_for_not_dead_lettered() -> None:
    err = translate(InferenceServerException("Request for unknown model: 'story_generator' has no available versions"))
    assert isinstance(err, Unavailable) and err.retriable


class FrameModel:
    """A trained model: writes slot frames, each with its mean token log-probability."""

    def __init__(self, frames: list[tuple[str, float]]) -> None:
        self.frames = frames

    async def generate(
        self,
        kind: str,
        sheet: FactSheet,
        sampling: Sampling,
        draft: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Generated:
        texts = [f for f, _ in self.frames]
        return Generated(
            texts, texts, "story_generator/frames", 10, [5] * len(texts), 1.0, [lp for _, lp in self.frames]
        )


def test_frames_are_filled_from_the_sheet_and_the_surest_accepted_one_is_published() -> None:
    frames = [
        ("Your {time_of_day} session ran {minutes} with {skips}.", -0.1),  # no skips fact: refused unfilled
        ("Your session ran 48 minutes.", -0.05),  # a number of its own
        ("{minutes} across {tracks}, led by {top_artist}.", -0.9),
        ("Your {time_of_day} session ran {minutes} across {tracks}.", -0.4),
    ]
    w = asyncio.run(StoryWriter(FrameModel(frames)).write(req(), now_ms=0))
    assert w.model_written and w.story.text == "Your late night session ran 47 minutes across 12 tracks."
    assert w.story.generator == "story_generator/frames" and len(w.rejected) == 2


def test_a_listener_is_not_told_the_same_sentence_twice_in_a_week() -> None:
    frames = [
        ("Your {time_of_day} session ran {minutes} across {tracks}.", -0.1),
        ("{minutes} across {tracks}, led by {top_artist}.", -0.9),
    ]
    writer = StoryWriter(FrameModel(frames))
    first = asyncio.run(writer.write(req(), now_ms=0))
    second = asyncio.run(writer.write(req(), now_ms=0))
    assert first.story.text != second.story.text and second.story.text.startswith("47 minutes across")
    later = StoryRequest("sid2", "u1", CASE.kind, "k2", 123 + 8 * 86_400_000, CASE.sheet, seed=4)
    assert asyncio.run(writer.write(later, now_ms=0)).story.text == first.story.text  # a week on, fine again


def test_recent_stories_are_bounded() -> None:
    from inference.writer import RecentStories

    recent = RecentStories(max_listeners=2, per_listener=2)
    for user in ("a", "b", "c"):
        for k in range(3):
            recent.add(user, f"s{k}", 0)
    assert not recent.seen("a", "s2", 0)  # the least recent listener was forgotten
    assert recent.seen("c", "s2", 0) and not recent.seen("c", "s0", 0)  # two kept per listener


def test_a_frame_like_the_house_frames_is_preferred_to_a_surer_bare_one() -> None:
    frames = [
        ("{minutes} of music across {tracks}.", -0.2),
        ("Your {time_of_day} session ran {minutes} across {tracks}, led by {top_artist}.", -0.35),
        ("{tracks} led {minutes} in the count.", -0.05),  # refused unfilled: a count leads nothing
    ]
    w = asyncio.run(StoryWriter(FrameModel(frames)).write(req(), now_ms=0))
    assert w.story.text.startswith("Your late night session ran 47 minutes across 12 tracks, led by ")
    assert [r.text for r in w.rejected] == ["{tracks} led {minutes} in the count."]
    assert "the tracks lead nothing" in w.rejected[0].reason
