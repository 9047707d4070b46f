"""Replay on the real broker: equal to live, resumable, point-in-time correct."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from features import UserState, snapshot, update
from schemas.registry import Registry
from streams.bench.common import cleanup, isolated, story_agent_process, wait_for, worker_process
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.history import replay as replay_module
from streams.history.parallel import run_replay
from streams.history.parity import verify_parity
from streams.history.pointintime import features_at, training_rows, user_events
from streams.history.replay import Replay, ReplayOptions
from streams.history.sources import latest, load_catalog, story_ids
from streams.ingest import simulate
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.kafka import topics
from tests.integration.test_worker import produce_events, read_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CONFIG = SimulationConfig(users=40, events=3000, days=4, seed=17)
ALL = (0, 2**62)


@pytest.fixture
def rsettings(stack: Stack, stack_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    s = isolated(stack_settings, "replay").model_copy(
        update={
            "events_partitions": 3,
            "flush_interval_s": 0.5,
            "run_dir": tmp_path / "run",
            "story_candidates": 1,
            "story_regenerations": 0,
            "story_max_new_tokens": 24,
        }
    )
    topics.create(s)
    yield s
    cleanup(s)
    for suffix in (".backfill", ".parity", ".again", ".par"):
        topics.delete(s, [t.name + suffix for t in s.topic_specs()])


def test_replay_equals_live_features_story_ids_and_texts(rsettings: Settings, triton: Stack, tmp_path: Path) -> None:
    s = rsettings
    simulate.run(s, CONFIG, progress=False, workers=1)
    with worker_process(s, tmp_path / "w") as (proc, url), story_agent_process(s, tmp_path / "a") as (aproc, _):
        wait_for(url, proc, lambda x: x["flushed_messages"] >= CONFIG.events, timeout_s=240, what="worker")
        expected = len(story_ids(s, s.topic_requests))
        deadline = time.monotonic() + 600
        while len(story_ids(s, s.topic_stories)) < expected:
            assert time.monotonic() < deadline and aproc.poll() is None
            time.sleep(3)
    users = frozenset(f"u{i:07d}" for i in range(CONFIG.users))
    report = verify_parity(s, users, report=lambda _l: None)
    assert report["features_equal"], report["differing_users"]
    assert report["story_ids_equal"] and report["story_ids_live"] > 20, report
    # Stories: a backfill with stories for two users writes the same texts as live (fixed seeds).
    two = frozenset({"u0000001", "u0000002"})
    result = Replay(s, ReplayOptions(*ALL, users=two, with_stories=True, progress=False), load_catalog(s)).run(
        lambda _l: None
    )
    assert result.stories > 0
    decoder = Registry(s.schema_registry_url).decoder("Story")
    live = {d["story_id"]: d for d in (decoder.decode(m.value()) for m in read_all(s, s.topic_stories, 1.5))}
    replayed = [decoder.decode(m.value()) for m in read_all(s, s.topic_stories + ".backfill", 1.5)]
    assert replayed and {r["story_id"] for r in replayed} <= set(live)
    for r in replayed:
        assert r["text"] == live[r["story_id"]]["text"], r["story_id"]
        assert r["generator"] == live[r["story_id"]]["generator"]


class _Stopped(Exception):
    """The test's interruption of a replay while it writes its stories."""


def _story_id_counts(s: Settings, topic: str) -> Counter[str]:
    decoder = Registry(s.schema_registry_url).decoder("Story")
    return Counter(decoder.decode(m.value())["story_id"] for m in read_all(s, topic, 1.5))


def test_resumed_replay_with_stories_writes_each_story_once(
    rsettings: Settings, triton: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 30, item 8: a --with-stories replay stopped after a checkpoint, resumed, stopped again
    halfway through writing its stories and resumed again writes one story per story id fired over the
    whole replay, as an uninterrupted (two-process) replay does."""
    s = rsettings
    simulate.run(s, CONFIG, progress=False, workers=1)
    catalog = load_catalog(s)
    # One listener from each of the two shards of a two-process replay (partitions {0, 2} and {1}),
    # over the first half of their history: Triton on a CPU writes a story in seconds.
    events = read_all(s, s.topic_events, 1.5)
    first_user: dict[int, bytes] = {}
    for m in events:
        first_user.setdefault(m.partition(), m.key())
    two = {first_user[0], first_user[1]}
    times = sorted(m.timestamp()[1] for m in events if m.key() in two)
    users = frozenset(u.decode() for u in two)
    opts = ReplayOptions(0, times[len(times) // 2], users=users, with_stories=True, checkpoint_every=20, progress=False)
    with pytest.raises(KeyboardInterrupt):
        Replay(s, replace(opts, stop_after_checkpoints=1), catalog).run(lambda _l: None)
    assert story_ids(s, s.topic_requests + ".backfill"), "no request fired before the checkpoint"
    real = replay_module.write_stories

    async def half(out: Settings, requests: list, producer: object) -> int:
        await real(out, requests[: len(requests) // 2], producer)  # type: ignore[arg-type]
        raise _Stopped

    monkeypatch.setattr(replay_module, "write_stories", half)
    with pytest.raises(_Stopped):
        Replay(s, opts, catalog).run(lambda _l: None)
    monkeypatch.setattr(replay_module, "write_stories", real)
    assert _story_id_counts(s, s.topic_stories + ".backfill"), "nothing written before the second stop"
    result = Replay(s, opts, catalog).run(lambda _l: None)
    assert result.resumed, result
    reference = run_replay(s, replace(opts, suffix=".par"), catalog, workers=2, report=lambda _l: None)
    want = Counter(story_ids(s, s.topic_requests + ".par").keys())
    assert reference.stories == len(want) > 0
    assert _story_id_counts(s, s.topic_stories + ".par") == want
    assert set(story_ids(s, s.topic_requests + ".backfill")) == set(want)
    assert _story_id_counts(s, s.topic_stories + ".backfill") == want


def test_interrupted_replay_resumes_without_duplicates(rsettings: Settings) -> None:
    s = rsettings
    simulate.run(s, CONFIG, progress=False, workers=1)
    catalog = load_catalog(s)
    opts = ReplayOptions(*ALL, checkpoint_every=500, progress=False, stop_after_checkpoints=2)
    with pytest.raises(KeyboardInterrupt):
        Replay(s, opts, catalog).run(lambda _l: None)
    partial = story_ids(s, s.topic_requests + ".backfill")
    second = Replay(s, ReplayOptions(*ALL, checkpoint_every=500, progress=False), catalog)
    result = second.run(lambda _l: None)
    assert result.resumed and result.events < CONFIG.events, "the second run started over"
    # A fresh, uninterrupted replay into other topics is the reference.
    Replay(s, ReplayOptions(*ALL, suffix=".again", progress=False), catalog).run(lambda _l: None)
    msgs = read_all(s, s.topic_requests + ".backfill", 1.5)
    assert len(msgs) == len({m.value() for m in msgs}), "a request was written twice"
    assert set(story_ids(s, s.topic_requests + ".backfill")) == set(story_ids(s, s.topic_requests + ".again"))
    assert partial and set(partial) < set(story_ids(s, s.topic_requests + ".again"))
    assert latest(s, s.topic_features + ".backfill", "UserFeatures") == latest(
        s, s.topic_features + ".again", "UserFeatures"
    )
    # Done is done: a third run does nothing.
    assert Replay(s, ReplayOptions(*ALL, progress=False), catalog).run(lambda _l: None).events == 0


def test_replay_interrupted_before_done_repeats_its_unsaved_tail(
    rsettings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saves at catch-up and at the end publish without writing states: a replay stopped just
    before it is marked done resumes from its last checkpoint and ends as an uninterrupted one."""
    s = rsettings
    simulate.run(s, CONFIG, progress=False, workers=1)
    catalog = load_catalog(s)
    real = Replay._checkpoint

    def crash_at_done(self: Replay, positions: dict[str, int], *, done: bool) -> None:
        if done:
            raise KeyboardInterrupt("stopped before done (test)")
        real(self, positions, done=done)

    monkeypatch.setattr(Replay, "_checkpoint", crash_at_done)
    with pytest.raises(KeyboardInterrupt):
        Replay(s, ReplayOptions(*ALL, checkpoint_every=700, publishers=0, progress=False), catalog).run(lambda _l: None)
    monkeypatch.setattr(Replay, "_checkpoint", real)
    again = Replay(s, ReplayOptions(*ALL, checkpoint_every=700, publishers=0, progress=False), catalog).run(
        lambda _l: None
    )
    assert again.resumed and 0 < again.events < 700, again  # only the tail after the last checkpoint
    Replay(s, ReplayOptions(*ALL, suffix=".again", progress=False), catalog).run(lambda _l: None)
    assert set(story_ids(s, s.topic_requests + ".backfill")) == set(story_ids(s, s.topic_requests + ".again"))
    assert latest(s, s.topic_features + ".backfill", "UserFeatures") == latest(
        s, s.topic_features + ".again", "UserFeatures"
    )
    assert Replay(s, ReplayOptions(*ALL, progress=False), catalog).run(lambda _l: None).events == 0


def test_replay_in_two_processes_equals_one(rsettings: Settings) -> None:
    s = rsettings
    simulate.run(s, CONFIG, progress=False, workers=1)
    catalog = load_catalog(s)
    one = Replay(s, ReplayOptions(*ALL, progress=False), catalog).run(lambda _l: None)
    par = ReplayOptions(*ALL, suffix=".par", progress=False)
    two = run_replay(s, par, catalog, workers=2, report=lambda _l: None)
    assert two.events == one.events == CONFIG.events and two.requests == one.requests > 0
    assert set(story_ids(s, s.topic_requests + ".par")) == set(story_ids(s, s.topic_requests + ".backfill"))
    assert latest(s, s.topic_features + ".par", "UserFeatures") == latest(
        s, s.topic_features + ".backfill", "UserFeatures"
    )
    # Each process resumes its own share: a second run finds everything done.
    again = run_replay(s, par, catalog, workers=2, report=lambda _l: None)
    assert again.events == 0


def test_point_in_time_features_and_training_rows(rsettings: Settings) -> None:
    s = rsettings
    simulate.run(s, CONFIG, progress=False, workers=1)
    catalog = load_catalog(s)
    config = s.feature_config()
    events = user_events(s, "u0000003")
    assert len(events) > 20
    times = sorted(e["event_time"] for e in events)
    at = times[len(times) // 2]
    state = UserState("u0000003")
    update(state, sorted((e for e in events if e["event_time"] <= at), key=lambda e: e["event_time"]), catalog, config)
    got = features_at(events, at, catalog, config)
    assert got == snapshot(state, config) and got["as_of"] == at
    assert got["total_plays"] == sum(1 for t in times if t <= at) < len(times)
    rows = list(training_rows(events, catalog, config))
    assert len(rows) == len(events) and rows[0]["features_before"] is None
    for row in rows[1:]:
        t = row["event"]["event_time"]
        before = row["features_before"]
        assert before["as_of"] < t, "features from the future"
        assert before["total_plays"] == sum(1 for x in times if x < t)
    sim_events = [e for day in Simulation(CONFIG).days() for e in day if e["user_id"] == "u0000003"]
    assert sorted(e["event_time"] for e in sim_events) == times


def test_replay_applies_an_event_sent_twice_once(rsettings: Settings) -> None:
    """Issue 30, item 2, in replay: the same processor skips an event_id it applied, and says so in its
    figures; with a state cache smaller than the listeners (item 6) the features are the same."""
    s = rsettings.model_copy(update={"state_cache_users": 5})
    config = SimulationConfig(users=20, events=1200, days=2, seed=CONFIG.seed)
    simulate.run(s, config, progress=False, workers=1)  # the catalog (and events, replaced below)
    events = [e for day in Simulation(config).days() for e in day]
    topics.delete(s, [s.topic_events])
    topics.create(s)
    produce_events(s, [x for i, e in enumerate(events) for x in ([e, e] if i % 4 == 0 else [e])])
    catalog = load_catalog(s)
    opts = ReplayOptions(*ALL, checkpoint_every=200, progress=False)  # many saves: states leave the cache
    result = Replay(s, opts, catalog).run(lambda _l: None)
    assert (result.events, result.applied, result.duplicates) == (1500, 1200, 300)
    by_user: dict[str, list[dict]] = {}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    want = {}
    for user, evs in by_user.items():
        state = UserState(user)
        update(state, evs, catalog, s.feature_config())
        want[user] = snapshot(state, s.feature_config())
    assert latest(s, s.topic_features + ".backfill", "UserFeatures") == want
