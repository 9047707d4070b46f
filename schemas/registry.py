"""Access to a Confluent-compatible schema registry, only through confluent-kafka's client.

Production points ``url`` at Confluent Schema Registry, Karapace or Apicurio; the local stack
runs a small compatible service. Ids are cached in-process by the client, so registering and
looking up cost one HTTP round trip per schema per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.codec import Decoder, Encoder
from schemas.contract import schema_str
from schemas.errors import RegistryError
from schemas.fastread import read_listening_event


def subject_for(topic: str, *, is_key: bool = False) -> str:
    """Confluent's TopicNameStrategy, so Confluent serializers find the same subjects."""
    return f"{topic}-{'key' if is_key else 'value'}"


class Registry:
    def __init__(self, url: str, *, conf: dict[str, Any] | None = None) -> None:
        self.url = url
        try:
            self.client = SchemaRegistryClient({"url": url, **(conf or {})})
        except Exception as e:
            raise RegistryError(f"bad schema registry config for {url}: {e}") from e

    def register(self, subject: str, schema_json: str) -> int:
        """Register (or find) ``schema_json`` under ``subject``; returns its global id."""
        try:
            return int(self.client.register_schema(subject, Schema(schema_json, "AVRO")))
        except SchemaRegistryError as e:
            raise RegistryError(f"registry refused {subject}: {e.error_message} ({e.error_code})") from e
        except Exception as e:
            raise RegistryError(f"schema registry at {self.url} unreachable: {e}") from e

    def writer_schema(self, schema_id: int) -> str:
        try:
            return str(self.client.get_schema(schema_id).schema_str)
        except SchemaRegistryError as e:
            raise RegistryError(f"schema id {schema_id}: {e.error_message} ({e.error_code})") from e
        except Exception as e:
            raise RegistryError(f"schema registry at {self.url} unreachable: {e}") from e

    def encoder(self, topic: str, name: str) -> Encoder:
        """Encoder for record type ``name`` on ``topic``, registering the schema if needed."""
        text = schema_str(name)
        return Encoder(text, self.register(subject_for(topic), text))

    def decoder(
        self, name: str, *, topic: str | None = None, fast_reader: Callable[[bytes], dict[str, Any]] | None = None
    ) -> Decoder:
        """Decoder into the current ``name`` schema for any registered writer version. With
        ``topic``, messages written with the current schema take the hand-written fast path
        where there is one (ListeningEvent)."""
        text = schema_str(name)
        reader_id = self.register(subject_for(topic), text) if topic else None
        fast = fast_reader or (read_listening_event if name == "ListeningEvent" else None)
        return Decoder(text, self.writer_schema, reader_id=reader_id, fast_reader=fast)
