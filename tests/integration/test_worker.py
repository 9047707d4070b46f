"""The feature worker on the real broker: ground truth, crash recovery, dead letters."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from features import FeatureConfig, UserState, snapshot, update
from schemas.codec import listening_event_encoder
from schemas.contract import schema_str
from schemas.registry import Registry, subject_for
from streams.bench.common import cleanup, isolated, stats, wait_for, worker_process
from streams.config.settings import Settings
from streams.ingest import simulate
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from streams.pipeline.processor import Stored
from streams.pipeline.stored import is_listener

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CONFIG = SimulationConfig(users=60, events=4000, days=4, seed=5)


@pytest.fixture
def wsettings(stack, stack_settings: Settings) -> Iterator[Settings]:
    s = isolated(stack_settings, "wtest").model_copy(update={"events_partitions": 3, "flush_interval_s": 0.5})
    topics.create(s)
    yield s
    cleanup(s)


def read_all(s: Settings, topic: str, idle_s: float = 3.0) -> list:
    consumer = Consumer({**s.kafka_conf(), "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
    out, last = [], time.monotonic()
    while time.monotonic() - last < idle_s:
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            out.append(msg)
            last = time.monotonic()
    consumer.close()
    return out


def latest_by_key(msgs: list) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for m in sorted(msgs, key=lambda m: (m.partition(), m.offset())):
        out[m.key().decode()] = m.value()
    return out


def ground_truth(s: Settings) -> dict[str, UserState]:
    """Fold every event on the topic through features.update, per user in offset order, each event_id
    once (the tests that send an event twice send it within its listener's grace window)."""
    registry = Registry(s.schema_registry_url)
    decoder = registry.decoder("ListeningEvent")
    catalog = {t.track_id: t for t in Simulation(CONFIG).catalog.tracks}
    by_user: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for m in sorted(read_all(s, s.topic_events), key=lambda m: (m.partition(), m.offset())):
        e = decoder.decode(m.value())
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            by_user.setdefault(e["user_id"], []).append(e)
    config = FeatureConfig(session_gap_ms=int(s.session_gap_s * 1000), grace_ms=int(s.grace_s * 1000))
    states = {}
    for user, events in by_user.items():
        states[user] = UserState(user)
        update(states[user], events, catalog, config)
    return states


def worker_states(s: Settings) -> dict[str, UserState]:
    changelog = f"{s.app_id}-user-state-changelog"
    latest = latest_by_key(read_all(s, changelog)).items()
    return {u: Stored.loads(v).state for u, v in latest if is_listener(u.encode())}


def assert_equal_to_truth(s: Settings) -> None:
    truth = ground_truth(s)
    got = worker_states(s)
    assert set(got) == set(truth)
    for user, state in truth.items():
        assert snapshot(got[user]) == snapshot(state), user
        assert got[user].total_plays == state.total_plays and got[user].log == state.log, user
    published = latest_by_key(read_all(s, s.topic_features))
    decoder = Registry(s.schema_registry_url).decoder("UserFeatures")
    for user, state in truth.items():
        assert decoder.decode(published[user]) == snapshot(state), user


def test_features_equal_ground_truth(wsettings: Settings, tmp_path: Path) -> None:
    simulate.run(wsettings, CONFIG, progress=False, workers=1)
    with worker_process(wsettings, tmp_path / "w") as (proc, url):
        wait_for(url, proc, lambda x: x["flushed_messages"] >= CONFIG.events, timeout_s=240, what="worker")
        # Online lookup answers from the owner.
        import httpx

        ready = httpx.get(f"{url}/ready/", timeout=10)
        assert ready.status_code == 200 and ready.json() == {
            "recovered": True,
            "rebalancing": False,
            "catalog_loaded": True,
        }, ready.text
        r = httpx.get(f"{url}/features/u0000003/", timeout=10, follow_redirects=True)
        assert r.status_code == 200 and r.json()["user_id"] == "u0000003"
        assert httpx.get(f"{url}/features/nobody/", timeout=10, follow_redirects=True).status_code == 404
    assert_equal_to_truth(wsettings)


def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(wsettings: Settings, tmp_path: Path) -> None:
    many = SimulationConfig(users=CONFIG.users, events=30_000, days=CONFIG.days, seed=CONFIG.seed)  # same catalog
    simulate.run(wsettings, many, progress=False, workers=1)
    # Small polls and flushes: many flushes, so the kill lands between two of them, not after the last.
    small = wsettings.model_copy(update={"max_poll_records": 300, "flush_max_events": 600})
    with worker_process(small, tmp_path / "w") as (proc, url):
        # Polled every 10 ms, not wait_for's 0.5 s: the worker does these 30k events in well under a second.
        deadline = time.monotonic() + 240
        while (at_kill := stats(url)) is None or at_kill["flushed_messages"] == 0:
            assert proc.poll() is None and time.monotonic() < deadline, "the worker never flushed"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # mid-stream, no goodbye
        proc.wait()
    assert at_kill["flushed_messages"] < many.events, "the kill came after everything was durable"
    # More events arrive while the worker is down.
    registry = Registry(wsettings.schema_registry_url)
    writer = listening_event_encoder(
        registry.register(subject_for(wsettings.topic_events), schema_str("ListeningEvent"))
    )
    producer = RecordProducer(wsettings)
    later = SimulationConfig(users=CONFIG.users, events=500, days=1, seed=CONFIG.seed, start="2026-11-20T00:00:00Z")
    sim = Simulation(later)
    # new plays with ids of their own (the simulator's ids repeat with its seed)
    extra = [{**e, "event_id": f"{e['event_id']}@later"} for day in sim.days() for e in day]
    for e in extra:
        producer.produce(wsettings.topic_events, e["user_id"].encode(), writer.encode(e), timestamp_ms=e["event_time"])
    producer.flush()
    total = many.events + len(extra)
    with worker_process(wsettings, tmp_path / "w") as (proc, url):  # same local state directory
        st = wait_for(
            url,
            proc,
            lambda x: x["flushed_messages"] > 0 and x["messages"] >= 1,
            timeout_s=240,
            what="restarted worker",
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = worker_states(wsettings)
            if sum(x.total_plays for x in got.values()) >= total:
                break
            time.sleep(2)
        st = stats(url)
        assert st is not None
    assert_equal_to_truth(wsettings)
    assert sum(x.total_plays for x in worker_states(wsettings).values()) == total


def test_bad_input_goes_to_the_dlq_and_good_input_flows(wsettings: Settings, tmp_path: Path) -> None:
    simulate.run(wsettings, SimulationConfig(users=5, events=50, days=1, seed=9), progress=False, workers=1)
    registry = Registry(wsettings.schema_registry_url)
    writer = listening_event_encoder(
        registry.register(subject_for(wsettings.topic_events), schema_str("ListeningEvent"))
    )
    base = {
        "event_id": "x",
        "user_id": "u0000001",
        "track_id": "trk_0000001",
        "event_time": 1_794_000_000_000,
        "ms_played": 1000,
        "platform": "IOS",
        "country": None,
        "reason_start": "a",
        "reason_end": "b",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "context": {"type": "UNKNOWN", "uri": None},
    }
    bad = {
        "garbage": b"not avro at all",
        "unknown schema id": b"\x00\x00\x0f\x42\x40" + writer.encode(base)[5:],
        "negative": writer.encode({**base, "ms_played": -5}),
        "future": writer.encode({**base, "event_time": int(time.time() * 1000) + 10 * 86_400_000}),
        "unknown track": writer.encode({**base, "track_id": "trk_nope"}),
        # a string the hand-written reader skips without returning it, not UTF-8: fastavro refuses it
        "invalid utf-8": writer.encode({**base, "reason_start": "Zq"}).replace(b"\x04Zq", b"\x04\xc3\x28"),
    }
    producer = RecordProducer(wsettings)
    for raw in bad.values():
        producer.produce(wsettings.topic_events, b"u0000001", raw)
    producer.flush()
    with worker_process(wsettings, tmp_path / "w") as (proc, url):
        st = wait_for(url, proc, lambda x: x["flushed_messages"] >= 50 + len(bad), timeout_s=240, what="worker")
        assert proc.poll() is None  # still up
        import httpx

        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert f"linernotes_dead_letters_total {len(bad)}.0" in metrics
    assert st["dead"] == len(bad) and st["applied"] == 50
    dlq = read_all(wsettings, wsettings.topic_events_dlq)
    assert sorted(m.value() for m in dlq) == sorted(bad.values())  # raw bytes kept
    reasons = [dict(m.headers())["dlq.reason"].decode() for m in dlq]
    for needle in ("magic", "unknown schema id", "ms_played", "future", "unknown track"):
        assert any(needle in r for r in reasons), (needle, reasons)
    reason_of = {m.value(): dict(m.headers())["dlq.reason"].decode() for m in dlq}
    assert "UnicodeDecodeError" in reason_of[bad["invalid utf-8"]], reason_of[bad["invalid utf-8"]]
    for m in dlq:
        h = dict(m.headers())
        assert h["dlq.source.topic"].decode() == wsettings.topic_events
        assert int(h["dlq.source.offset"]) >= 0 and int(h["dlq.source.partition"]) >= 0


def produce_more(s: Settings, users: int, events: int, start: str, seed: int) -> int:
    registry = Registry(s.schema_registry_url)
    writer = listening_event_encoder(registry.register(subject_for(s.topic_events), schema_str("ListeningEvent")))
    producer = RecordProducer(s)
    sim = Simulation(SimulationConfig(users=users, events=events, days=1, seed=seed, start=start))
    n = 0
    for day in sim.days():
        for played in day:
            # new plays, not the first run's again: the simulator's ids repeat with its seed
            e = {**played, "event_id": f"{played['event_id']}@{start}"}
            producer.produce(s.topic_events, e["user_id"].encode(), writer.encode(e), timestamp_ms=e["event_time"])
            n += 1
    producer.flush()
    return n


def wait_total(s: Settings, total: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    got = 0
    while time.monotonic() < deadline:
        got = sum(x.total_plays for x in worker_states(s).values())
        if got >= total:
            return
        time.sleep(2)
    raise AssertionError(f"only {got} of {total} plays reached the changelog")


def test_two_workers_share_partitions_and_hand_over_without_losing_state(wsettings: Settings, tmp_path: Path) -> None:
    s = wsettings.model_copy(update={"events_partitions": 4})
    topics.delete(s, [s.topic_events])
    topics.create(s)
    simulate.run(s, CONFIG, progress=False, workers=1)
    total = CONFIG.events
    with worker_process(s, tmp_path / "a", log_name="a") as (proc_a, url_a):
        wait_for(url_a, proc_a, lambda x: x["flushed_messages"] >= total, timeout_s=240, what="worker A")
        with worker_process(s, tmp_path / "b", log_name="b") as (proc_b, url_b):
            # B joins: partitions are split; new events are processed by both.
            wait_for(url_b, proc_b, lambda x: True, timeout_s=120, what="worker B")
            time.sleep(15)
            total += produce_more(s, CONFIG.users, 800, "2026-11-10T00:00:00Z", CONFIG.seed)
            wait_total(s, total)
            st_b = stats(url_b)
            assert st_b is not None and st_b["messages"] > 0, "worker B got no partitions"
        # B left (SIGTERM): A takes its partitions back, with B's state from the changelog.
        total += produce_more(s, CONFIG.users, 800, "2026-11-12T00:00:00Z", CONFIG.seed)
        wait_total(s, total)
    assert_equal_to_truth(s)


# -- counting once (issue 30, item 2) and bounded memory (item 6) ---------------------------------
def produce_events(s: Settings, events: list[dict]) -> None:
    registry = Registry(s.schema_registry_url)
    writer = listening_event_encoder(registry.register(subject_for(s.topic_events), schema_str("ListeningEvent")))
    producer = RecordProducer(s)
    for e in events:
        producer.produce(s.topic_events, e["user_id"].encode(), writer.encode(e), timestamp_ms=e["event_time"])
    producer.flush()


def run_to_end(s: Settings, workdir: Path, messages: int) -> dict:
    """A worker over the topic until ``messages`` new records were applied or found duplicates, and
    made durable; its stats. (Records read again after a restart count in neither.)"""

    def done(x: dict) -> bool:
        return x["applied"] + x["duplicates"] >= messages and x["flushed_messages"] >= x["messages"] > 0

    with worker_process(s, workdir) as (proc, url):
        return wait_for(url, proc, done, timeout_s=240, what="worker")


def test_an_event_sent_twice_is_applied_once_across_restarts_and_rebalances(
    wsettings: Settings, tmp_path: Path
) -> None:
    config = SimulationConfig(users=20, events=1500, days=2, seed=CONFIG.seed)  # CONFIG's catalog (same seed)
    simulate.run(wsettings, config, progress=False, workers=1)  # the catalog, and the events in order
    events = [e for day in Simulation(config).days() for e in day]
    topics.delete(wsettings, [wsettings.topic_events])  # keep the catalog, send the events ourselves
    topics.create(wsettings)
    # Live: every fifth event sent twice in a row (a producer's retry).
    first = events[:900]
    produce_events(wsettings, [x for i, e in enumerate(first) for x in ([e, e] if i % 5 == 0 else [e])])
    st = run_to_end(wsettings, tmp_path / "w", len(first) + 180)
    assert (st["applied"], st["duplicates"]) == (900, 180)

    def last_of_each_user(upto: int) -> list[dict]:
        return list({e["user_id"]: e for e in events[:upto]}.values())

    # A restart (same local state): each listener's latest event again, then new ones.
    again = last_of_each_user(900)
    produce_events(wsettings, again + events[900:1200])
    st = run_to_end(wsettings, tmp_path / "w", len(again) + 300)
    assert (st["applied"], st["duplicates"]) == (300, len(again))
    # A new owner of every partition (no local state: it recovers from the changelog), as after a
    # rebalance onto another machine.
    again = last_of_each_user(1200)
    produce_events(wsettings, again + events[1200:])
    st = run_to_end(wsettings, tmp_path / "other", len(again) + len(events) - 1200)
    assert (st["applied"], st["duplicates"]) == (len(events) - 1200, len(again))
    assert sum(x.total_plays for x in worker_states(wsettings).values()) == len(events)
    assert_equal_to_truth(wsettings)


def test_a_bounded_state_cache_gives_the_same_features(wsettings: Settings, tmp_path: Path) -> None:
    simulate.run(wsettings, CONFIG, progress=False, workers=1)
    small = wsettings.model_copy(update={"state_cache_users": 8, "max_poll_records": 200})  # 60 listeners
    with worker_process(small, tmp_path / "w") as (proc, url):
        st = wait_for(url, proc, lambda x: x["flushed_messages"] >= CONFIG.events, timeout_s=240, what="worker")
        import httpx

        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    (cached,) = [float(x.split()[-1]) for x in metrics.splitlines() if x.startswith("linernotes_cached_users ")]
    # The bound, plus the states changed since the last flush (they are not in the store yet).
    assert st["evicted"] > 0 and cached <= 8 + 60
    assert_equal_to_truth(wsettings)
