"""Read a few records from a topic and decode them by their registry schema ids (for humans)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import fastavro

from schemas.codec import HEADER_SIZE, parse, schema_id_of
from schemas.registry import Registry
from streams.config.settings import Settings
from streams.kafka.read import read_topic


def peek(settings: Settings, topic: str, *, limit: int, idle_s: float = 3.0) -> Iterator[dict[str, Any]]:
    registry = Registry(settings.schema_registry_url)
    writers: dict[int, Any] = {}
    for seen, msg in enumerate(read_topic(settings.kafka_conf(), topic, idle_s=idle_s)):
        if seen >= limit:
            return
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
