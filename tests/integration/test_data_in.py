"""Simulator and history import against the real broker and registry."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from features import UserState, snapshot, update
from schemas.registry import Registry
from streams.bench.common import cleanup, isolated, stats, wait_for, worker_process
from streams.config.settings import Settings
from streams.ingest import simulate as sim
from streams.ingest import spotify
from streams.ingest import spotify_import as history_import
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from tests.integration.test_registry_service import consume_all
from tests.integration.test_worker import produce_events, worker_states

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).parents[1] / "fixtures" / "Streaming_History_Audio_2024.json"


def test_simulate_publishes_catalog_and_events(kafka: Settings) -> None:
    config = SimulationConfig(users=50, events=3000, days=3, seed=11)
    result = sim.run(kafka, config, progress=False, workers=2)
    assert result.events == 3000
    msgs = consume_all(kafka, kafka.topic_events, 3000)
    assert len(msgs) == 3000
    oks, errs = Registry(kafka.schema_registry_url).decoder("ListeningEvent").decode_many([m.value() for m in msgs])
    assert not errs
    for msg, (_, event) in zip(msgs, oks, strict=True):
        assert msg.key().decode() == event["user_id"]  # keyed by user: no repartition needed
        assert msg.timestamp()[1] == event["event_time"]  # record time = event time
    tracks = consume_all(kafka, kafka.topic_catalog, result.tracks)
    assert len(tracks) == result.tracks
    known = {t.key().decode() for t in tracks}
    assert all(e["track_id"] in known for _, e in oks)


def test_import_history_produces_the_good_entries(kafka: Settings) -> None:
    report = history_import.run(kafka, [FIXTURE], "listener-1", progress=False, tz="Europe/Stockholm")
    assert report.imported == 3 and report.malformed == 3
    msgs = consume_all(kafka, kafka.topic_events, 3)
    oks, errs = Registry(kafka.schema_registry_url).decoder("ListeningEvent").decode_many([m.value() for m in msgs])
    assert not errs
    assert {e["tz"] for _, e in oks} == {"Europe/Stockholm"}
    assert sorted(e["track_id"] for _, e in oks) == sorted(
        [
            "spotify:track:0GjEhVFGZW8afUYGChu3Rr",
            "spotify:track:1Z8gIUpKHtYkR8vjLsVzFq",
            "spotify:track:4lBkNNCfpM9ROxSuVzTdWy",
        ]
    )


def test_the_registry_takes_the_tz_version_and_old_events_still_decode(kafka: Settings) -> None:
    """A topic whose subject holds ListeningEvent as it was before ``tz``: the current schema registers
    as its next version (the registry's default BACKWARD check), and events written with the old one
    decode with ``tz`` None, through the worker's own decoder (fast reader and all)."""
    import json

    from schemas import load_schema, schema_str
    from schemas.codec import Encoder
    from schemas.fastread import read_listening_event_core
    from schemas.registry import subject_for

    before = load_schema("ListeningEvent")
    before["fields"] = [f for f in before["fields"] if f["name"] != "tz"]
    registry = Registry(kafka.schema_registry_url)
    subject = subject_for(kafka.topic_events)
    old_id = registry.register(subject, json.dumps(before))
    new_id = registry.register(subject, schema_str("ListeningEvent"))
    assert new_id != old_id
    event = {
        "event_id": "e1",
        "user_id": "u1",
        "track_id": "t1",
        "event_time": 1_790_000_000_000,
        "ms_played": 1000,
        "platform": "IOS",
        "country": "SE",
        "reason_start": "a",
        "reason_end": "b",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "context": {"type": "ALBUM", "uri": None},
    }
    old_bytes = Encoder(json.dumps(before), old_id).encode(event)
    new_bytes = Encoder(schema_str("ListeningEvent"), new_id).encode({**event, "tz": "Europe/Stockholm"})
    decoder = registry.decoder("ListeningEvent", topic=kafka.topic_events, fast_reader=read_listening_event_core)
    oks, errs = decoder.decode_many([old_bytes, new_bytes])
    assert not errs
    assert [e["tz"] for _, e in oks] == [None, "Europe/Stockholm"]


# -- history import as a backfill (issue 30, item 3) ---------------------------------------------
# A listener's history as Spotify's export writes it, and live events as a live producer sends them.
HISTORY_START = 1_709_280_000_000  # 2024-03-01T08:00:00Z
MINUTE, DAY = 60_000, 86_400_000
ARTISTS = ("ABBA", "Queen", "Björk", "Röyksopp")


def entries(start_ms: int, count: int, *, gap_ms: int = 4 * MINUTE, per_day: int = 24) -> list[dict]:
    """``count`` plays, ``per_day`` a day in sessions of plays ``gap_ms`` apart, over 12 tracks."""
    out = []
    for n in range(count):
        day, k = divmod(n, per_day)
        t = start_ms + day * DAY + (k // 8) * 3 * 3_600_000 + (k % 8) * gap_ms
        out.append(
            {
                "ts": datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "platform": "iOS 17",
                "ms_played": 180_000 + n,
                "conn_country": "SE",
                "master_metadata_track_name": f"Song {n % 12}",
                "master_metadata_album_artist_name": ARTISTS[n % 12 % len(ARTISTS)],
                "master_metadata_album_album_name": "Album",
                "spotify_track_uri": f"spotify:track:t{n % 12:02d}",
                "reason_start": "trackdone",
                "reason_end": "trackdone",
                "shuffle": False,
                "skipped": False,
                "offline": False,
                "incognito_mode": False,
            }
        )
    return out


def write(path: Path, items: list[dict]) -> Path:
    path.write_text(json.dumps(items))
    return path


def plays_of(paths: list[Path], user: str) -> list[dict]:
    from streams.ingest.spotify import read

    return [i.event.to_avro() for i in read(paths, user)]


def live_events(user: str, times: list[int]) -> list[dict]:
    """Live plays, with the live producer's own ids, on the history's tracks."""
    return [
        {
            "event_id": f"live-{user}-{t}",
            "user_id": user,
            "track_id": f"spotify:track:t{n % 12:02d}",
            "event_time": t,
            "ms_played": 200_000,
            "platform": "IOS",
            "country": "SE",
            "reason_start": "trackdone",
            "reason_end": "trackdone",
            "shuffle": False,
            "skipped": False,
            "offline": False,
            "context": {"type": "UNKNOWN", "uri": None},
            "tz": None,
        }
        for n, t in enumerate(times)
    ]


@pytest.fixture
def hsettings(stack, stack_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    s = isolated(stack_settings, "import").model_copy(update={"events_partitions": 3, "flush_interval_s": 0.5})
    topics.create(s)
    # The tracks are in the catalog before any worker starts: what this tests is the events (a worker
    # reading a catalog written while it runs is another matter).
    encoder = Registry(s.schema_registry_url).encoder(s.topic_catalog, "TrackInfo")
    producer = RecordProducer(s)
    for track_id, track in catalog().items():
        producer.produce(s.topic_catalog, track_id.encode(), encoder.encode(track.to_avro()))
    producer.flush()
    yield s
    cleanup(s)


def catalog() -> dict[str, Any]:
    """The history's 12 tracks as the import writes them to the catalog."""
    items = (spotify.convert(e, "anyone") for e in entries(HISTORY_START, 12))
    return {i.track.track_id: i.track for i in items if i is not None}


def truth(s: Settings, events: list[dict]) -> UserState:
    """One listener's events folded in the order given (the order the topic holds them)."""
    state = UserState(events[0]["user_id"])
    update(state, events, catalog(), s.feature_config())
    return state


def wait_handled(url: str, proc: Any, n: int) -> dict:
    """Until the worker applied, found late or found duplicate ``n`` events in all, durably."""

    def done(x: dict) -> bool:
        return x["applied"] + x["late"] + x["duplicates"] >= n and x["flushed_messages"] >= x["messages"] > 0

    st = wait_for(url, proc, done, timeout_s=240, what="worker")
    time.sleep(1.0)  # the flush's snapshots on user-features, for the next import to read
    return st


def same(got: UserState, want: UserState) -> None:
    assert snapshot(got) == snapshot(want)
    assert (got.total_plays, got.late_events, got.log) == (want.total_plays, want.late_events, want.log)


@pytest.mark.slow
def test_overlapping_files_in_any_order_count_each_play_once_and_an_import_again_changes_nothing(
    hsettings: Settings, tmp_path: Path
) -> None:
    """The issue's export: two files whose periods overlap, the newer first (71 plays, 4 in both)."""
    s, user = hsettings, "listener-1"
    plays = entries(HISTORY_START, 71)
    files = [write(tmp_path / "b.json", plays[36:]), write(tmp_path / "a.json", plays[:40])]  # newer first
    with worker_process(s, tmp_path / "w") as (proc, url):
        report = history_import.run(s, files, user, progress=False)
        assert (report.entries, report.repeats, report.imported, report.sent) == (75, 4, 71, 71)
        st = wait_handled(url, proc, 71)
        assert (st["applied"], st["late"]) == (71, 0)
        state = worker_states(s)[user]
        same(state, truth(s, plays_of(files, user)))
        assert state.total_plays == 71 and state.late_events == 0
        # The same export again: every play is history the features already hold.
        again = history_import.run(s, list(reversed(files)), user, progress=False)
        assert (again.covered, again.sent) == (71, 0)
        time.sleep(2.0)
        assert stats(url)["messages"] == st["messages"]
    assert worker_states(s)[user] == state


@pytest.mark.slow
def test_an_import_meets_live_events_before_after_and_interleaved(hsettings: Settings, tmp_path: Path) -> None:
    """docs/ingest.md, "Imports and live events": each case, one listener each, one worker."""
    s = hsettings
    history = entries(HISTORY_START, 72)  # three days, 24 plays a day
    path = write(tmp_path / "history.json", history)
    plays = {u: plays_of([path], u) for u in ("before", "after", "overlap", "racing")}
    end = plays["before"][-1]["event_time"]
    produce = functools.partial(produce_events, s)
    # Interleaved in the topic: a live play of a listener with no features yet is sent while the
    # history is imported, ahead of it. The import sends everything (no features to compare with); the
    # worker, started after, applies the live play first, so the history behind it is late.
    racing_live = live_events("racing", [end + DAY])
    produce(racing_live)
    racing = history_import.run(s, [path], "racing", progress=False)
    assert (racing.covered, racing.sent) == (0, 72)
    handled = 73
    with worker_process(s, tmp_path / "w") as (proc, url):
        wait_handled(url, proc, handled)
        # Before: the history first, then live plays newer than all of it.
        before = history_import.run(s, [path], "before", progress=False)
        assert (before.covered, before.sent) == (0, 72)
        handled += 72
        wait_handled(url, proc, handled)
        before_live = live_events("before", [end + DAY + k * 5 * MINUTE for k in range(6)])
        produce(before_live)
        handled += 6
        # After: live plays newer than the whole history, then the import.
        after_live = live_events("after", [end + 2 * DAY + k * 5 * MINUTE for k in range(6)])
        produce(after_live)
        handled += 6
        wait_handled(url, proc, handled)
        after = history_import.run(s, [path], "after", progress=False)
        assert (after.covered, after.sent) == (72, 0)
        # Interleaved in time: live plays in the middle of the history's period (its second day).
        middle = HISTORY_START + DAY + 5 * 3_600_000
        overlap_live = live_events("overlap", [middle + k * 7 * MINUTE for k in range(6)])
        produce(overlap_live)
        handled += 6
        wait_handled(url, proc, handled)
        overlap = history_import.run(s, [path], "overlap", progress=False)
        newer = [p for p in plays["overlap"] if p["event_time"] > overlap_live[-1]["event_time"]]
        assert (overlap.covered, overlap.sent) == (72 - len(newer), len(newer)) and 0 < len(newer) < 72
        handled += len(newer)
        st = wait_handled(url, proc, handled)
    states = worker_states(s)
    same(states["before"], truth(s, plays["before"] + before_live))
    same(states["after"], truth(s, after_live))
    same(states["overlap"], truth(s, overlap_live + newer))
    assert states["overlap"].late_events == 0 and states["overlap"].total_plays == 6 + len(newer)
    # Racing: safe, not exact: the history behind the live play is late, counted once, applied never.
    same(states["racing"], truth(s, racing_live + plays["racing"]))
    assert (states["racing"].total_plays, states["racing"].late_events) == (1, 72)
    assert st["duplicates"] == 0 and st["dead"] == 0
