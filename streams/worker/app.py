"""Building the faust app of the feature worker: its agent, state table, catalog, processor, hot
path (``streams.worker.hot_path``), web routes and idle timer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust

from schemas.contract import schema_str
from schemas.fastread import read_listening_event_core
from schemas.registry import Registry, subject_for
from streams.config.settings import Settings
from streams.kafka.producer import RecordProducer
from streams.pipeline.processor import FeatureProcessor
from streams.pipeline.publisher import FlushPublisher
from streams.tracing.records import Privacy
from streams.tracing.tracer import make_tracer
from streams.worker import faust_compat
from streams.worker.catalog import CatalogJoin, CatalogTable
from streams.worker.consumer import BatchConsumer, BatchTransport
from streams.worker.faust_app import PartitionContext, declare_events_and_state, make_faust_app
from streams.worker.hot_path import STOP_TIMEOUT_S, FeatureHotPath
from streams.worker.incarnation import check_local_state

log = logging.getLogger("linernotes.worker")
IDLE_S = 0.1  # the stream counts as quiet after this long without a batch


@dataclass
class Worker:
    app: faust.App
    hot: FeatureHotPath
    state_table: Any
    catalog: CatalogTable
    settings: Settings

    async def stop(self) -> None:
        """Before faust stops (SIGTERM): the hot path's last commit, settled, and faust's commit of it,
        so a restart reads nothing again (``FeatureHotPath.stop``)."""
        try:
            await asyncio.wait_for(self.hot.stop(), STOP_TIMEOUT_S)
        except Exception:  # a stop that fails leaves what a crash leaves: the next start reads again
            log.exception("the last commit before stopping failed")

    def check_local_state(self) -> str | None:
        """Before faust opens the state store: wipe it if it was built from another incarnation of
        its topics, so recovery rebuilds it from the changelog (``streams.worker.incarnation``)."""
        return check_local_state(
            self.state_table.data,
            self.settings.kafka_conf(),
            self.settings.topic_events,
            self.state_table.changelog_topic.get_topic_name(),
        )


def _story_ids(registry: Registry) -> Callable[[list[bytes | None]], list[str]]:
    decoder = registry.decoder("StoryRequest")

    def story_ids(values: list[bytes | None]) -> list[str]:
        oks, _ = decoder.decode_many(values)
        return [str(request["story_id"]) for _, request in oks]

    return story_ids


def build_worker(settings: Settings, *, web_port: int | None = None, data_dir: Any = None) -> Worker:
    faust_compat.check_versions()  # the worker uses private faust names: only on the faust they were checked on
    app = make_faust_app(settings, data_dir=data_dir, web_port=web_port)
    faust_compat.install_transport(app, BatchTransport)

    events_topic, state_table = declare_events_and_state(app, settings)

    @app.agent(events_topic, name="features")
    async def features_agent(stream: Any) -> None:
        # Subscribes the hot topic (partition assignment, table co-partitioning). Its records
        # never reach this stream: BatchConsumer hands them to FeatureHotPath in batches.
        async for _ in stream:  # pragma: no cover - would mean the hot path is not attached
            raise RuntimeError("listening-events reached the per-message path; refusing to drop it")

    registry = Registry(settings.schema_registry_url)
    ctx = PartitionContext(settings.topic_events)

    def load(user: str, partition: int) -> bytes | None:
        return hot.load(user, partition)  # ``hot`` is bound below, before any event is processed

    config = settings.feature_config()
    catalog = CatalogTable(settings.kafka_conf(), settings.topic_catalog, registry.decoder("TrackInfo"))
    join = CatalogJoin(catalog)  # a missing track is judged only once the catalog was read to its end
    trigger_config = settings.trigger_config()
    tracer = make_tracer(
        "linernotes-features", settings.otlp_endpoint, settings.trace_ratio, privacy=Privacy.of(settings)
    )
    processor = FeatureProcessor(
        registry.decoder("ListeningEvent", topic=settings.topic_events, fast_reader=read_listening_event_core),
        join,
        load,
        config=config,
        trigger_config=trigger_config if trigger_config.enabled else None,
        tracer=tracer,
        group=settings.app_id,
        cache_users=settings.state_cache_users,
    )
    hot = FeatureHotPath(
        app,
        settings,
        processor=processor,
        table=state_table,
        producer=RecordProducer(settings),
        publisher=FlushPublisher(
            settings,
            registry.register(subject_for(settings.topic_features), schema_str("UserFeatures")),
            config,
            registry.register(subject_for(settings.topic_requests), schema_str("StoryRequest"))
            if trigger_config.enabled
            else None,
            processes=settings.flush_publishers,
        ),
        ctx=ctx,
        story_ids=_story_ids(registry) if trigger_config.enabled else None,
    )

    consumer = app.consumer  # created now, started later by the worker
    if not isinstance(consumer, BatchConsumer):
        raise RuntimeError("the worker needs its BatchConsumer (transport was not swapped)")
    consumer.hot = hot
    consumer.probe_conf = settings.kafka_conf()
    consumer.fetch_max_wait_ms = settings.fetch_max_wait_ms

    from streams.worker.web import install_routes

    install_routes(app, state_table, hot, settings)
    catalog.start()  # loads while faust joins the group and recovers tables

    @app.timer(interval=IDLE_S)  # type: ignore[untyped-decorator]
    async def flush_when_idle() -> None:
        # Batches flush as they go; this covers a stream that went quiet with dirty state, and marks
        # the offsets of a flush still in flight as soon as the stream is quiet (not at the next flush).
        # A quiet stream flushes at once: MIN_FLUSH_INTERVAL_S spaces the flushes of a stream that keeps
        # coming (coalescing), and a quiet one has nothing to coalesce with (it would keep a backlog's
        # last events waiting for the next tick).
        async with consumer.hot_lock:
            now = time.monotonic()
            idle = now - hot.last_handle >= IDLE_S
            if (idle and hot.has_unflushed()) or now - hot.last_flush >= settings.flush_interval_s:
                await hot.flush()
            elif idle:
                await hot.settle_if_delivered()

    @app.on_before_shutdown.connect
    async def _stop_catalog(*_: Any, **__: Any) -> None:
        catalog.stop()
        tracer.shutdown()

    hot.catalog, hot.join = catalog, join
    return Worker(app, hot, state_table, catalog, settings)
