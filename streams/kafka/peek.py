"""Read a few records from a topic and decode them by their registry schema ids (for humans)."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas.codec import HEADER_SIZE, parse, schema_id_of
from schemas.errors import DecodeError
from schemas.registry import Registry
from streams.config.settings import Settings


def peek(settings: Settings, topic: str, *, limit: int, idle_s: float = 3.0) -> Iterator[dict[str, Any]]:
    registry = Registry(settings.schema_registry_url)
    writers: dict[int, Any] = {}
    consumer = Consumer({**settings.kafka_conf(), "group.id": f"peek-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise DecodeError(f"topic {topic!r} does not exist", None)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
        seen, last = 0, time.monotonic()
        while seen < limit and time.monotonic() - last < idle_s:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            last = time.monotonic()
            seen += 1
            raw = msg.value() or b""
            try:
                sid = schema_id_of(raw)
                if sid not in writers:
                    writers[sid] = parse(registry.writer_schema(sid))
                value: Any = fastavro.schemaless_reader(io.BytesIO(raw[HEADER_SIZE:]), writers[sid], None)
            except Exception as e:  # noqa: BLE001 - show what cannot be decoded instead of stopping
                value = {"undecodable": str(e), "bytes": len(raw or b"")}
            yield {
                "partition": msg.partition(),
                "offset": msg.offset(),
                "key": (msg.key() or b"").decode(errors="replace"),
                "value": value,
            }
    finally:
        consumer.close()
