"""Simulator and history import against the real broker and registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.registry import Registry
from streams.config.settings import Settings
from streams.ingest import simulate as sim
from streams.ingest import spotify_import as history_import
from streams.ingest.simulator import SimulationConfig
from tests.integration.test_registry_service import consume_all

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
