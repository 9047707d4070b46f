"""Reading history for replay, point-in-time features and parity checks: topics (from a start
offset, per partition) and files (the project's Avro exports, Spotify history JSON)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Consumer, TopicPartition

from schemas.records import TrackInfo
from schemas.registry import Registry
from streams.config.settings import Settings
from streams.errors import StreamsError
from streams.ingest import spotify as history
from streams.kafka.read import read_topic
from streams.pipeline.processor import RawMessage


class ReplayError(StreamsError):
    """A replay that cannot start (bad range, missing topic, unreadable file)."""


def load_catalog(settings: Settings, idle_s: float = 1.5) -> dict[str, TrackInfo]:
    decoder = Registry(settings.schema_registry_url).decoder("TrackInfo")
    out: dict[str, TrackInfo] = {}
    for msg in read_topic(settings.kafka_conf(), settings.topic_catalog, idle_s=idle_s):
        if msg.value():
            out[msg.key().decode()] = TrackInfo.from_avro(decoder.decode(msg.value()))
    return out


def start_offsets(settings: Settings, start_ms: int) -> tuple[dict[int, int], bool]:
    """Per-partition offsets of the first record at or after ``start_ms``, and whether the broker
    could answer (False: it cannot seek by time, so the caller scans from the start)."""
    topic = settings.topic_events
    consumer = Consumer({**settings.kafka_conf(), "group.id": f"replay-{uuid.uuid4()}"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise ReplayError(f"topic {topic!r} does not exist")
        if start_ms <= 0:  # from the beginning: no offsets_for_times round trip to the broker
            return dict.fromkeys(meta.partitions, 0), True
        parts = [TopicPartition(topic, p, start_ms) for p in meta.partitions]
        found = consumer.offsets_for_times(parts, timeout=10)
        offsets = {tp.partition: max(0, tp.offset) for tp in found}
        # A broker that ignores the timestamp answers 0 everywhere although a start is asked for:
        # check the first record really is at/after start_ms (or the partition is empty).
        probe = Consumer({**settings.kafka_conf(), "group.id": f"replay-{uuid.uuid4()}"})
        try:
            for p, off in offsets.items():
                if off != 0:
                    continue
                probe.assign([TopicPartition(topic, p, 0)])
                msg = probe.poll(2.0)
                if msg is not None and msg.error() is None and msg.timestamp()[1] < start_ms:
                    return dict.fromkeys(offsets, 0), False
        finally:
            probe.close()
        return offsets, True
    finally:
        consumer.close()


def file_events(paths: Sequence[Path], users: frozenset[str]) -> Iterator[tuple[RawMessage, dict[str, Any]]]:
    """The events of the Avro exports, file by file, then those of the Spotify history files: read
    together, as an import reads them (sorted by time, each play once), as one source."""
    spotify = [p for p in paths if p.suffix == ".json"]
    for path in paths:
        if path.suffix not in (".avro", ".json"):
            raise ReplayError(f"{path}: not an export (.avro) or Spotify history (.json)")
        if path.suffix == ".json" and len(users) != 1:
            raise ReplayError(f"{path}: Spotify history has no user id; give exactly one --users")
    for i, path in enumerate(paths):
        if path.suffix == ".avro":
            with path.open("rb") as f:
                for n, rec in enumerate(fastavro.reader(f)):
                    ev: dict[str, Any] = rec  # type: ignore[assignment]  # ListeningEvent records
                    yield RawMessage(f"file:{path.name}", i, n, None, None, int(ev["event_time"])), ev
    if spotify:
        (user,) = users
        for n, item in enumerate(history.read(spotify, user)):
            event = item.event.to_avro()
            yield RawMessage("file:spotify-history", len(paths), n, None, None, event["event_time"]), event


def file_chunks(
    paths: Sequence[Path], users: frozenset[str], *, lo: int, hi: int, positions: dict[str, int], size: int
) -> Iterator[list[tuple[RawMessage, dict[str, Any]]]]:
    """Events of ``paths`` in ``[lo, hi)`` (of ``users``, if any) not done before an interruption
    (``positions``), in chunks of ``size``; the last chunk may be empty."""
    pairs: list[tuple[RawMessage, dict[str, Any]]] = []
    for msg, ev in file_events(paths, users):
        if positions.get(f"{msg.topic}:{msg.partition}", 0) > msg.offset:
            continue  # done before the interruption
        if lo <= ev["event_time"] < hi and (not users or ev["user_id"] in users):
            pairs.append((msg, ev))
        if len(pairs) >= size:
            yield pairs
            pairs = []
    yield pairs


def latest(settings: Settings, topic: str, record: str, users: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Latest value per key of a topic (compaction or not), decoded."""
    decoder = Registry(settings.schema_registry_url).decoder(record)
    out: dict[str, Any] = {}
    for m in read_topic(settings.kafka_conf(), topic, idle_s=1.5):
        key = m.key().decode()
        if m.value() and (not users or key in users):
            out[key] = decoder.decode(m.value())
    return out


def story_ids(settings: Settings, topic: str, users: frozenset[str] = frozenset()) -> dict[str, str]:
    """story_id -> user of every request (or story) on ``topic``."""
    decoder = Registry(settings.schema_registry_url).decoder("StoryRequest" if "request" in topic else "Story")
    out = {}
    for m in read_topic(settings.kafka_conf(), topic, idle_s=1.5):
        d = decoder.decode(m.value())
        if not users or d["user_id"] in users:
            out[d["story_id"]] = d["user_id"]
    return out
