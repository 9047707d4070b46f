"""Outages pause, never dead-letter (issue 30, item 4), on the real broker and registry: the schema
registry stopped under a running worker and a running story agent, a history import into a running
worker (its catalog reader behind the plays), and dead letters re-driven once their cause is fixed."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from inference import golden
from inference.writer import Written, template_story
from schemas import schema_str
from schemas.codec import Encoder, listening_event_encoder
from schemas.records import Story, StoryRequest, TrackInfo
from schemas.registry import Registry, subject_for
from streams.bench.common import cleanup, isolated, stats, wait_for, worker_process
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.ingest import spotify_import
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from streams.kafka.redrive import REDRIVEN_FROM, redrive
from streams.stories.agent import StoryAgent
from tests.integration.test_worker import read_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]
T0 = 1_780_000_000_000
OUTAGE_S = 8.0  # long enough for the worker to fetch everything and find the registry gone


@pytest.fixture
def osettings(stack: Stack, stack_settings: Settings) -> Iterator[Settings]:
    s = isolated(stack_settings, "outage").model_copy(
        update={"events_partitions": 2, "requests_partitions": 2, "flush_interval_s": 0.5}
    )
    topics.create(s)
    yield s
    cleanup(s)


@pytest.fixture
def registry(stack: Stack) -> Iterator[Any]:
    """The registry service, to stop and start in a test; running again however the test ends."""
    service = stack.services["registry"]
    yield service
    service.start(timeout_s=60)


def tracks(n: int) -> list[TrackInfo]:
    return [TrackInfo(f"t{i}", f"Song {i}", f"a{i % 7}", f"Artist {i % 7}", genres=("jazz",)) for i in range(n)]


def event(i: int, track: TrackInfo, users: int = 10) -> dict[str, Any]:
    return {
        "event_id": f"e{i}",
        "user_id": f"u{i % users}",
        "track_id": track.track_id,
        "event_time": T0 + i * 60_000,
        "ms_played": 120_000,
        "platform": "IOS",
        "country": "DE",
        "reason_start": "clickrow",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "context": {"type": "UNKNOWN", "uri": None},
        "tz": None,
    }


def newer_listening_event() -> dict[str, Any]:
    """ListeningEvent as a producer on a newer version writes it (one optional field more): a writer id
    the worker has not seen, so it must fetch that schema from the registry."""
    schema = json.loads(schema_str("ListeningEvent"))
    schema["fields"] = [*schema["fields"], {"name": "mood", "type": ["null", "string"], "default": None}]
    return schema


def worker_up(url: str, proc: Any) -> None:
    """Until the worker's web server answers and its catalog is loaded (it registered its schemas)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the worker exited"
        try:
            if httpx.get(f"{url}/ready/", timeout=2).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("the worker did not become ready")


def test_a_registry_outage_pauses_the_worker_and_nothing_is_dead_lettered(
    osettings: Settings, registry: Any, tmp_path: Path
) -> None:
    s = osettings
    reg = Registry(s.schema_registry_url)
    subject = subject_for(s.topic_events)
    reg.register(subject, schema_str("ListeningEvent"))  # the worker's own version first
    newer = newer_listening_event()
    events_encoder = Encoder(newer, reg.register(subject, json.dumps(newer)))
    catalog_encoder = reg.encoder(s.topic_catalog, "TrackInfo")  # the worker looks its id up too
    catalog = tracks(20)
    events = [{**event(i, catalog[i % 20]), "mood": None} for i in range(300)]
    with worker_process(s, tmp_path / "w") as (proc, url):
        worker_up(url, proc)
        registry.stop()
        try:
            producer = RecordProducer(s)
            for t in catalog:
                producer.produce(s.topic_catalog, t.track_id.encode(), catalog_encoder.encode(t.to_avro()))
            for e in events:
                value = events_encoder.encode(e)
                producer.produce(s.topic_events, e["user_id"].encode(), value, timestamp_ms=e["event_time"])
            producer.flush()
            time.sleep(OUTAGE_S)
            during = stats(url)
        finally:
            registry.start(timeout_s=60)
        assert during is not None and during["messages"] > 0, "the worker never fetched the events"
        assert during["dead"] == 0 and during["applied"] == 0, during
        after = wait_for(url, proc, lambda st: st["applied"] >= len(events), timeout_s=180, what="worker")
        time.sleep(1.0)
        after = stats(url) or after
    log = (tmp_path / "w" / "worker.log").read_text()
    assert after["applied"] == len(events) and after["dead"] == 0, after
    assert after["messages"] == len(events), "a batch that waited was counted once"
    assert not read_all(s, s.topic_events_dlq, 1.0)
    assert "schema registry unavailable" in log, "the worker never saw the outage"


class TemplateWriter:
    """The story agent's writer without Triton: the request's template story (what is under test here is
    the registry boundary, not the model)."""

    config = None

    async def write(self, request: StoryRequest, now_ms: int, headers: dict[str, str] | None = None) -> Written:
        return template_story(request, now_ms)


def test_a_registry_outage_pauses_the_story_agent_and_nothing_is_dead_lettered(
    osettings: Settings, registry: Any
) -> None:
    s = osettings
    case = next(c for c in golden.load() if c.id == "session-1")
    requests = [StoryRequest(f"sid-{i}", f"u{i}", case.kind, f"k{i}", T0, case.sheet, seed=i) for i in range(6)]
    encoder = Registry(s.schema_registry_url).encoder(s.topic_requests, "StoryRequest")
    agent_registry = Registry(s.schema_registry_url)  # its own client: nothing cached from the encoder's
    agent = StoryAgent(
        s,
        TemplateWriter(),  # type: ignore[arg-type]
        agent_registry.decoder("StoryRequest"),  # no reader id: every writer id is looked up
        agent_registry.encoder(s.topic_stories, "Story"),
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(agent.run(stop)), daemon=True)
    thread.start()
    try:
        registry.stop()
        try:
            producer = RecordProducer(s)
            for r in requests:
                producer.produce(s.topic_requests, r.user_id.encode(), encoder.encode(r.to_avro()))
            producer.flush()
            deadline = time.monotonic() + 60
            while agent.stats.received < len(requests):
                assert time.monotonic() < deadline, "the agent never received the requests"
                time.sleep(0.5)
            time.sleep(3.0)
            assert agent.stats.dead_letters == 0 and agent.stats.published == 0
            assert agent.stats.registry_waits > 0
        finally:
            registry.start(timeout_s=60)
        deadline = time.monotonic() + 60
        while agent.stats.published < len(requests):
            assert time.monotonic() < deadline, f"stories not published after the outage: {agent.stats}"
            time.sleep(0.5)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
    decoder = Registry(s.schema_registry_url).decoder("Story")
    stories = [Story.from_avro(decoder.decode(m.value())) for m in read_all(s, s.topic_stories, 1.0)]
    assert sorted(st.story_id for st in stories) == sorted(r.story_id for r in requests)
    assert not read_all(s, s.topic_requests_dlq, 1.0)


FIXTURE = Path(__file__).parents[1] / "fixtures" / "Streaming_History_Audio_2024.json"


def history_file(path: Path, plays: int, distinct: int) -> Path:
    """A Spotify "Extended Streaming History" file shaped like the fixture's first entry: ``plays`` plays
    of ``distinct`` tracks, four minutes apart."""
    template = json.loads(FIXTURE.read_text())[0]
    entries = []
    for i in range(plays):
        t = i % distinct
        stamp = time.gmtime(1_709_276_400 + i * 240)
        entries.append(
            {
                **template,
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp),
                "spotify_track_uri": f"spotify:track:{t:022d}",
                "master_metadata_track_name": f"Song {t}",
                "master_metadata_album_artist_name": f"Artist {t % 9}",
            }
        )
    path.write_text(json.dumps(entries))
    return path


def test_history_imported_into_a_running_worker_is_all_applied(osettings: Settings, tmp_path: Path) -> None:
    """The import writes catalog entries and plays together; the worker's catalog reader is behind the
    plays it sees. Each play waits for the catalog to be read to its end, none is an unknown track."""
    s = osettings
    export = history_file(tmp_path / "Streaming_History_Audio_2024_0.json", plays=240, distinct=90)
    with worker_process(s, tmp_path / "w") as (proc, url):
        worker_up(url, proc)
        report = spotify_import.run(s, [export], "listener-1", progress=False)
        assert report.imported == 240 and report.malformed == 0
        done = wait_for(
            url, proc, lambda st: st["applied"] + st["dead"] + st["late"] >= 240, timeout_s=120, what="worker"
        )
    assert done["dead"] == 0 and done["applied"] == 240, done
    assert not read_all(s, s.topic_events_dlq, 1.0)


def test_dead_letters_are_redriven_once_their_cause_is_fixed_and_applied_once(
    osettings: Settings, tmp_path: Path
) -> None:
    """Plays of tracks the catalog lacks are dead letters; once the catalog has them, ``dlq replay``
    sends each back once: a second run sends nothing, and the worker applies each play once."""
    import subprocess
    import sys

    from streams.bench.common import env_for

    s = osettings
    reg = Registry(s.schema_registry_url)
    writer = listening_event_encoder(reg.register(subject_for(s.topic_events), schema_str("ListeningEvent")))
    catalog_encoder = reg.encoder(s.topic_catalog, "TrackInfo")
    catalog = tracks(12)
    events = [event(i, catalog[i % 12]) for i in range(150)]
    with worker_process(s, tmp_path / "w") as (proc, url):
        worker_up(url, proc)
        producer = RecordProducer(s)
        for e in events:
            producer.produce(s.topic_events, e["user_id"].encode(), writer.encode(e), timestamp_ms=e["event_time"])
        producer.flush()
        wait_for(url, proc, lambda st: st["dead"] >= len(events), timeout_s=120, what="worker")
        dead = read_all(s, s.topic_events_dlq, 1.0)
        assert len(dead) == len(events)
        assert all(b"unknown track" in dict(m.headers())["dlq.reason"] for m in dead)
        # The cause fixed: the catalog has the tracks now.
        for t in catalog:
            producer.produce(s.topic_catalog, t.track_id.encode(), catalog_encoder.encode(t.to_avro()))
        producer.flush()
        first = redrive(s, s.topic_events_dlq)
        assert (first.dead_letters, first.redriven, first.without_source) == (len(events), len(events), 0)
        assert first.by_source == {s.topic_events: len(events)}
        done = wait_for(url, proc, lambda st: st["applied"] >= len(events), timeout_s=120, what="worker")
        again = subprocess.run(
            [sys.executable, "-m", "streams.cli", "dlq", "replay", s.topic_events_dlq, "--json"],
            env=env_for(s),
            capture_output=True,
            check=True,
        )
        second = json.loads(again.stdout.decode().splitlines()[-1])
        time.sleep(2.0)
        done = stats(url) or done
    assert (second["dead_letters"], second["redriven"]) == (0, 0), second
    assert done["applied"] == len(events) and done["dead"] == len(events), done
    redriven = [m for m in read_all(s, s.topic_events, 1.0) if REDRIVEN_FROM in dict(m.headers() or [])]
    assert len(redriven) == len(events), "each dead letter was sent back exactly once"
    source = {(m.key(), m.value()): int(dict(m.headers())["dlq.source.partition"]) for m in dead}
    assert {(m.key(), m.value()): m.partition() for m in redriven} == source, "same bytes, same partition"
