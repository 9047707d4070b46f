"""Point in time: a user's features as of an event time, training rows without leakage, and
exports of a topic range to Avro container files (archives for replays beyond retention)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import fastavro
from tqdm import tqdm

from features import FeatureConfig, UserState, snapshot, update
from schemas.codec import parse
from schemas.contract import load_schema
from schemas.records import TrackInfo
from schemas.registry import Registry
from streams.config.settings import Settings
from streams.history.sources import file_events, start_offsets
from streams.kafka.read import read_topic


def user_events(settings: Settings, user: str, *, files: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """All of one user's events (from the topic, in partition order, or from files)."""
    if files:
        return [ev for _, ev in file_events(files, frozenset({user})) if ev["user_id"] == user]
    decoder = Registry(settings.schema_registry_url).decoder("ListeningEvent")
    key = user.encode()
    return [
        decoder.decode(m.value())
        for m in read_topic(settings.kafka_conf(), settings.topic_events, idle_s=1.5)
        if m.key() == key
    ]


def features_at(
    events: Sequence[dict[str, Any]], at_ms: int, catalog: dict[str, TrackInfo], config: FeatureConfig
) -> dict[str, Any] | None:
    """The user's features exactly as of event time ``at_ms``: every event with ``event_time <= at_ms``,
    applied in event-time order (as if none had arrived late), nothing after it."""
    before_t = sorted((e for e in events if e["event_time"] <= at_ms), key=lambda e: (e["event_time"], e["track_id"]))
    if not before_t:
        return None
    state = UserState(before_t[0]["user_id"])
    update(state, before_t, catalog, config)
    return snapshot(state, config)


def training_rows(
    events: Sequence[dict[str, Any]], catalog: dict[str, TrackInfo], config: FeatureConfig
) -> Iterator[dict[str, Any]]:
    """For each event (per user, in event-time order): the event and the features as of just before it
    (every earlier event of the user; none at the same or a later time, so nothing leaks from the future)."""
    by_user: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    for user in sorted(by_user):
        evs = sorted(by_user[user], key=lambda e: (e["event_time"], e["track_id"]))
        state = UserState(user)
        i = 0
        while i < len(evs):
            t = evs[i]["event_time"]
            j = i
            while j < len(evs) and evs[j]["event_time"] == t:
                j += 1
            features = snapshot(state, config) if state.total_plays else None
            for e in evs[i:j]:
                yield {"event": e, "features_before": features}
            update(state, evs[i:j], catalog, config)
            i = j


def training_schema() -> dict[str, Any]:
    return {
        "type": "record",
        "name": "TrainingRow",
        "namespace": "linernotes.v1",
        "doc": "One listening event and the listener's features just before it (point in time).",
        "fields": [
            {"name": "event", "type": load_schema("ListeningEvent")},
            {"name": "features_before", "type": ["null", load_schema("UserFeatures")], "default": None},
        ],
    }


def export(settings: Settings, start_ms: int, end_ms: int, out: Path, *, progress: bool = True) -> dict[str, Any]:
    """Write ``listening-events`` records with timestamps in [start, end) to Avro container files,
    one per partition (``<topic>-p<N>.avro``), schema included: archives for replay beyond retention."""
    out.mkdir(parents=True, exist_ok=True)
    decoder = Registry(settings.schema_registry_url).decoder("ListeningEvent")
    schema = parse(load_schema("ListeningEvent"))  # times as epoch-millis longs, as everywhere in linernotes
    by_partition: dict[int, list[dict[str, Any]]] = {}
    starts, seekable = start_offsets(settings, start_ms)
    bar = tqdm(unit="ev", unit_scale=True, disable=not progress, desc="export")
    for m in read_topic(settings.kafka_conf(), settings.topic_events, idle_s=2.0, starts=starts):
        if start_ms <= m.timestamp()[1] < end_ms:
            by_partition.setdefault(m.partition(), []).append(decoder.decode(m.value()))
            bar.update(1)
    bar.close()
    files = []
    for p, records in sorted(by_partition.items()):
        path = out / f"{settings.topic_events}-p{p}.avro"
        with path.open("wb") as f:
            fastavro.writer(f, schema, records, codec="deflate")
        files.append(str(path))
    return {"events": sum(len(r) for r in by_partition.values()), "files": files, "scanned_from_start": not seekable}
