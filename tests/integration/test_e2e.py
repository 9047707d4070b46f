"""Events to published stories on the real broker and the real Triton: triggers, the story agent,
an outage of Triton in the middle, and poison requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from features import UserState, update
from features.triggers import fire
from inference.grounding import check
from schemas.records import Fact, FactSheet, Story, StoryRequest
from schemas.registry import Registry
from streams.bench.common import cleanup, isolated, story_agent_process, wait_for, worker_process
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.ingest import simulate
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from tests.integration.test_worker import read_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CONFIG = SimulationConfig(users=200, events=3000, days=8, seed=11)


@pytest.fixture
def esettings(triton: Stack, stack_settings: Settings) -> Iterator[Settings]:
    s = isolated(stack_settings, "e2e").model_copy(
        update={
            "events_partitions": 3,
            "requests_partitions": 3,
            "stories_partitions": 3,
            "flush_interval_s": 0.5,
            "story_candidates": 1,
            "story_regenerations": 0,
            "story_max_new_tokens": 24,
        }
    )
    topics.create(s)
    yield s
    cleanup(s)


def expected_requests(s: Settings) -> dict[str, StoryRequest]:
    """Every event folded through features.update and the triggers, one event at a time."""
    sim = Simulation(CONFIG)
    catalog = {t.track_id: t for t in sim.catalog.tracks}
    tconfig = s.trigger_config()
    by_user: dict[str, list[dict]] = {}
    for day in sim.days():
        for e in day:
            by_user.setdefault(e["user_id"], []).append(e)
    out: dict[str, StoryRequest] = {}
    for user, events in by_user.items():
        state = UserState(user)
        for e in events:
            r = update(state, [e], catalog)
            for req in fire(state, r, [e], catalog, tconfig).requests:
                out[req.story_id] = req
    return out


def published(s: Settings) -> list[tuple[Story, int]]:
    decoder = Registry(s.schema_registry_url).decoder("Story")
    return [(Story.from_avro(decoder.decode(m.value())), m.timestamp()[1]) for m in read_all(s, s.topic_stories, 2.0)]


def test_every_trigger_becomes_one_grounded_story_through_a_triton_outage(
    esettings: Settings, triton: Stack, tmp_path: Path
) -> None:
    s = esettings
    expected = expected_requests(s)
    assert {r.kind for r in expected.values()} >= {"SESSION_RECAP", "MILESTONE", "STREAK", "WEEKLY_DIGEST"}
    simulate.run(s, CONFIG, progress=False, workers=1)
    with worker_process(s, tmp_path / "w") as (wproc, url), story_agent_process(s, tmp_path / "a") as (aproc, _):
        wait_for(url, wproc, lambda x: x["flushed_messages"] >= CONFIG.events, timeout_s=240, what="worker")
        # Triton goes away while stories are being written, and comes back.
        deadline = time.monotonic() + 300
        while len(published(s)) < len(expected) // 5:
            assert time.monotonic() < deadline and aproc.poll() is None, (tmp_path / "a" / "agent.log").read_text()[
                -3000:
            ]
            time.sleep(2)
        triton.services["triton"].stop()
        time.sleep(8)
        during = len(published(s))
        triton.services["triton"].start(timeout_s=300)
        deadline = time.monotonic() + 900
        while len({st.story_id for st, _ in published(s)}) < len(expected):
            assert time.monotonic() < deadline, "the backlog did not drain"
            assert aproc.poll() is None, (tmp_path / "a" / "agent.log").read_text()[-3000:]
            time.sleep(3)
        log = (tmp_path / "a" / "agent.log").read_text()
    stories = published(s)
    assert during < len(expected), "the outage came after everything was written"
    assert "triton unavailable" in log, "the agent never saw the outage"
    texts: dict[str, set[str]] = {}
    for story, _ in stories:
        texts.setdefault(story.story_id, set()).add(story.text)
    assert set(texts) == set(expected), "one story id per expected trigger, and no other"
    assert all(len(t) == 1 for t in texts.values()), "a story id was published with two different texts"
    for story, _ in stories:
        want = expected[story.story_id]
        assert (story.user_id, story.kind, story.event_time) == (want.user_id, want.kind, want.event_time)
        assert story.facts == want.facts, "the facts are the features at the triggering event"
        report = check(story.text, story.facts, story.kind)
        assert story.grounded and report.grounded, (story.text, report.summary())
    assert not read_all(s, s.topic_requests_dlq, 1.0)


def test_poison_requests_go_to_the_dlq_and_the_rest_flow(esettings: Settings, tmp_path: Path) -> None:
    s = esettings
    registry = Registry(s.schema_registry_url)
    encoder = registry.encoder(s.topic_requests, "StoryRequest")
    week = Fact("streak_days", "STREAK", "7 days", 7.0, "day")
    good = StoryRequest("st-good", "u1", "STREAK", "k", 0, FactSheet("streak_days", (week,)), seed=1)
    huge = FactSheet(
        "streak_days", (Fact("streak_days", "STREAK", "7 days", 7.0, "day"), Fact("note", "TEXT", "x" * 40_000))
    )
    crash = StoryRequest("st-huge", "u2", "STREAK", "k", 0, huge, seed=1)
    invalid = StoryRequest("st-invalid", "u3", "SESSION_RECAP", "k", 0, FactSheet("minutes", ()), seed=1)
    producer = RecordProducer(s)
    poison = [(b"u0", b"\x00\x00\x00\x00\x07garbage"), (b"u2", encoder.encode(crash.to_avro()))]
    for key, value in [*poison, (b"u3", encoder.encode(invalid.to_avro())), (b"u1", encoder.encode(good.to_avro()))]:
        producer.produce(s.topic_requests, key, value)
    producer.flush()
    with story_agent_process(s, tmp_path / "a") as (aproc, _):
        deadline = time.monotonic() + 300
        while len(read_all(s, s.topic_requests_dlq, 1.0)) < 3 or not published(s):
            assert time.monotonic() < deadline and aproc.poll() is None, (tmp_path / "a" / "agent.log").read_text()[
                -3000:
            ]
            time.sleep(2)
    dead = read_all(s, s.topic_requests_dlq, 1.0)
    reasons = {m.key(): dict(m.headers())["dlq.reason"].decode() for m in dead}
    assert set(reasons) == {b"u0", b"u2", b"u3"}
    assert "unknown schema id" in reasons[b"u0"] or "schema" in reasons[b"u0"]
    assert "fact sheet of" in reasons[b"u2"] and "invalid" not in reasons[b"u2"]
    assert "key fact" in reasons[b"u3"]
    assert next(m.value() for m in dead if m.key() == b"u2") == encoder.encode(crash.to_avro())  # raw bytes kept
    assert [st.story_id for st, _ in published(s)] == ["st-good"]
