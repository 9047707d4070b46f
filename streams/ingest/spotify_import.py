"""Produce an imported Spotify history (see :mod:`streams.ingest.spotify`) to the project's topics."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from schemas.contract import schema_str
from schemas.fastpath import ListeningEventWriter
from schemas.registry import Registry, subject_for
from streams.config.settings import Settings
from streams.ingest.spotify import ImportReport, check_zone, read
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from streams.tracing.tracer import fresh_traceparent


def run(
    settings: Settings,
    paths: list[Path],
    user_id: str,
    *,
    include_incognito: bool = False,
    progress: bool = True,
    tz: str | None = None,
) -> ImportReport:
    """Produce the plays of ``paths`` as ``user_id``'s, each with time zone ``tz`` (an unknown zone is a
    ``ValueError`` before anything is contacted)."""
    if tz is not None:
        check_zone(tz)
    topics.create(settings)
    registry = Registry(settings.schema_registry_url)
    catalog = registry.encoder(settings.topic_catalog, "TrackInfo")
    writer = ListeningEventWriter(registry.register(subject_for(settings.topic_events), schema_str("ListeningEvent")))
    producer = RecordProducer(settings)
    report = ImportReport()
    seen_tracks: set[str] = set()
    key = user_id.encode()
    for item in tqdm(
        read(paths, user_id, include_incognito=include_incognito, report=report, tz=tz),
        unit="ev",
        disable=not progress,
        desc="import",
    ):
        if item.track.track_id not in seen_tracks:
            seen_tracks.add(item.track.track_id)
            producer.produce(settings.topic_catalog, item.track.track_id.encode(), catalog.encode(item.track.to_avro()))
        producer.produce(
            settings.topic_events,
            key,
            writer.encode(item.event.to_avro()),
            timestamp_ms=item.event.event_time,
            headers=[("traceparent", fresh_traceparent())],
        )
        producer.poll()
    producer.flush()
    return report
