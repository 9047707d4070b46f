"""Produce an imported Spotify history (see :mod:`streams.ingest.spotify`) to the project's topics, as
a backfill: sorted, each play once, after what the listener's features already cover."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from schemas.codec import listening_event_encoder
from schemas.contract import schema_str
from schemas.registry import Registry, subject_for
from streams.config.settings import Settings
from streams.ingest.published import features_as_of
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
    ``ValueError`` before anything is contacted): sorted by time, each play once, and only those after
    the listener's published features (``ImportReport.covered``: docs/ingest.md says why)."""
    if tz is not None:
        check_zone(tz)
    topics.create(settings)
    report = ImportReport()
    plays = list(read(paths, user_id, include_incognito=include_incognito, report=report, tz=tz))
    # A play at or before the listener's features' as_of is history the features have passed: applied
    # now it would be late (or, from a live producer with its own ids, a second count of a play they
    # hold). Sending only what comes after makes a second import of the same export send nothing.
    report.features_as_of = features_as_of(settings, user_id)
    if report.features_as_of is not None:
        after = [p for p in plays if p.event.event_time > report.features_as_of]
        report.covered, plays = len(plays) - len(after), after
    registry = Registry(settings.schema_registry_url)
    catalog = registry.encoder(settings.topic_catalog, "TrackInfo")
    writer = listening_event_encoder(
        registry.register(subject_for(settings.topic_events), schema_str("ListeningEvent"))
    )
    producer = RecordProducer(settings)
    # The catalog first, delivered before any play is sent: a worker judges a play's track by the
    # catalog it has read, and its catalog reader is behind the broker, never ahead of it.
    tracks = {item.track.track_id: item.track for item in plays}
    for track_id, track in tracks.items():
        producer.produce(settings.topic_catalog, track_id.encode(), catalog.encode(track.to_avro()))
    producer.flush()
    key = user_id.encode()
    for item in tqdm(plays, unit="ev", disable=not progress, desc="import"):
        producer.produce(
            settings.topic_events,
            key,
            writer.encode(item.event.to_avro()),
            timestamp_ms=item.event.event_time,
            headers=[("traceparent", fresh_traceparent())],
        )
        producer.poll()
    producer.flush()
    report.sent = len(plays)
    return report
