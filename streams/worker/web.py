"""HTTP lookup of a user's current features, served by the worker that owns the user's partition."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from features import snapshot
from streams.config.settings import Settings
from streams.pipeline.processor import Stored
from streams.worker.faust_compat import tables_recovered


def install_routes(app: faust.App, table: Any, hot: Any, settings: Settings) -> None:
    @app.page("/features/{user_id}/")
    @app.table_route(table=table, match_info="user_id")
    async def features(web: View, request: Request, user_id: str) -> Response:
        stored = hot.processor.cache.get(user_id)
        if stored is None:
            partition = app.producer.key_partition(table.changelog_topic.get_topic_name(), user_id.encode())
            raw = hot.load(user_id, partition.partition if hasattr(partition, "partition") else partition)
            stored = Stored.loads(raw) if raw is not None else None
        if stored is None:
            return web.json({"error": f"no features for user {user_id!r}"}, status=404)
        return web.json(snapshot(stored.state, hot.processor.config))

    @app.page("/ready/")
    async def ready(web: View, request: Request) -> Response:
        """Ready for traffic: table recovery done, not rebalancing, the catalog read to its end. The
        web server answers long before that, so /stats/ alone would route lookups to a worker whose
        states are still being restored."""
        status = {
            "recovered": tables_recovered(app),
            "rebalancing": bool(app.rebalancing),
            "catalog_loaded": hot.catalog is not None and hot.catalog.ready.is_set(),
        }
        ok = status["recovered"] and not status["rebalancing"] and status["catalog_loaded"]
        return web.json(status, status=200 if ok else 503)

    @app.page("/stats/")
    async def stats(web: View, request: Request) -> Response:
        tracer = hot.processor.tracer
        spans = {"spans_emitted": tracer.emitted, "spans_dropped": getattr(tracer.sink, "dropped", 0)}
        return web.json(vars(hot.processor.stats) | spans)

    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(StatsCollector(hot))

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> Response:
        return web.bytes(generate_latest(registry), content_type="text/plain; version=0.0.4")


class StatsCollector:
    """Exposes the batch processor's counters in Prometheus' text format (full metrics: issue 5)."""

    def __init__(self, hot: Any) -> None:
        self.hot = hot

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        st = self.hot.processor.stats
        for name, value, doc in (
            ("linernotes_events", st.messages, "Listening events consumed"),
            ("linernotes_events_applied", st.applied, "Events applied to features"),
            ("linernotes_events_late", st.late, "Events older than the grace period (counted, not applied)"),
            ("linernotes_events_replayed_skipped", st.skipped_replayed, "Re-read events already in the state"),
            ("linernotes_events_duplicate", st.duplicates, "Events whose event_id the listener had applied"),
            ("linernotes_states_evicted", st.evicted, "User states that left memory (the cache's bound)"),
            ("linernotes_dead_letters", st.dead, "Messages sent to the dead-letter topic"),
            ("linernotes_snapshots", st.snapshots, "UserFeatures snapshots published"),
            ("linernotes_flushes", st.flushes, "State flushes (changelog + snapshots)"),
            ("linernotes_batches", st.batches, "Fetched batches processed"),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily("linernotes_cached_users", "User states in memory", value=len(self.hot.processor.cache))
        yield _histogram(st)
        lag = GaugeMetricFamily(
            "linernotes_consumer_lag", "Records behind the end, per hot partition", labels=["topic", "partition"]
        )
        consumer = self.hot.consumer
        for tp in sorted(consumer.assignment(), key=lambda t: (t.topic, t.partition)):
            if tp.topic in self.hot.topics:
                end = consumer.highwater(tp) or 0
                read = consumer.read_offset(tp)
                lag.add_metric([tp.topic, str(tp.partition)], max(0, end - ((read + 1) if read is not None else 0)))
        yield lag
        requests = CounterMetricFamily("linernotes_story_requests", "Story requests fired, by kind", labels=["kind"])
        for kind, n in sorted(st.triggers.items()):
            requests.add_metric([kind], n)
        yield requests
        dropped = CounterMetricFamily("linernotes_triggers_suppressed", "Triggers cooldowns dropped", labels=["kind"])
        for kind, n in sorted(st.suppressed.items()):
            dropped.add_metric([kind], n)
        yield dropped


def _histogram(st: Any) -> Any:
    from prometheus_client.core import HistogramMetricFamily

    from streams.pipeline.processor import BATCH_BUCKETS

    buckets = [
        ("+Inf" if b == float("inf") else str(b), n) for b, n in zip(BATCH_BUCKETS, st.batch_buckets, strict=True)
    ]
    return HistogramMetricFamily(
        "linernotes_batch_size", "Events per processed batch", buckets=buckets, sum_value=st.messages
    )
