"""The baseline: a plain per-event faust agent doing the same work as the feature worker.

One event at a time: decode, read the user's state from the rocksdict table, ``features.update``,
write the state back (one changelog message per event), publish a snapshot. This is how a faust
app is usually written; ``linernotes bench features`` compares the batch path against it.

Run: ``python -m streams.bench.naive --web-port P --data-dir D`` (settings from LINERNOTES_*).
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import faust

from features import UserState, snapshot, update
from schemas.errors import DecodeError
from schemas.registry import Registry
from streams.config.settings import load
from streams.kafka.producer import RecordProducer
from streams.pipeline.processor import Stored
from streams.worker.catalog import CatalogTable
from streams.worker.faust_app import declare_events_and_state, make_faust_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    settings = load()
    # Same app settings as the worker, but faust's usual small polls for a per-event agent.
    app = make_faust_app(settings, data_dir=args.data_dir, web_port=args.web_port, max_poll_records=500)
    topic, table = declare_events_and_state(app, settings)
    registry = Registry(settings.schema_registry_url)
    decoder = registry.decoder("ListeningEvent")
    encoder = registry.encoder(settings.topic_features, "UserFeatures")
    catalog_table = CatalogTable(settings.kafka_conf(), settings.topic_catalog, registry.decoder("TrackInfo"))
    catalog_table.start()
    producer = RecordProducer(settings)
    config = settings.feature_config()
    stats: dict[str, Any] = {"messages": 0, "first_message_s": 0.0, "last_message_s": 0.0}

    class Catalog(dict):  # type: ignore[type-arg]
        def get(self, key: str, default: Any = None) -> Any:
            value = catalog_table(key)
            return default if value is None else value

    catalog = Catalog()

    @app.agent(topic)
    async def naive(stream: Any) -> None:
        catalog_table.wait_ready(120)
        async for event in stream.events():
            if not stats["first_message_s"]:
                stats["first_message_s"] = time.monotonic()
            try:
                ev = decoder.decode(event.value)
            except DecodeError:
                continue
            key = ev["user_id"].encode()
            raw_state = table.get(key)
            stored = Stored.loads(raw_state) if raw_state is not None else Stored(UserState(ev["user_id"]))
            update(stored.state, [ev], catalog, config)
            stored.offsets[event.message.partition] = event.message.offset
            table[key] = stored.dumps()
            snap = snapshot(stored.state, config)
            producer.produce(settings.topic_features, key, encoder.encode(snap), timestamp_ms=snap["as_of"])
            producer.poll()
            stats["messages"] += 1
            stats["last_message_s"] = time.monotonic()

    @app.page("/stats/")
    async def get_stats(web: Any, request: Any) -> Any:
        return web.json(stats)

    worker = faust.Worker(app, loglevel="INFO", quiet=True, redirect_stdouts=False)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
