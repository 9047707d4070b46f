"""Access to a Confluent-compatible schema registry, only through confluent-kafka's client.

Production points ``url`` at Confluent Schema Registry, Karapace or Apicurio; the local stack
runs a small compatible service. Ids are cached in-process by the client, so registering and
looking up cost one HTTP round trip per schema per process.

Failures are told apart here, once, for everyone: an answer that the schema id does not exist
(:class:`SchemaNotFound`: the message is bad data) from a registry that cannot answer
(:class:`RegistryUnavailable`: an outage, waited out by :mod:`schemas.retry`).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas import retry
from schemas.codec import Decoder, Encoder
from schemas.contract import schema_str
from schemas.errors import RegistryError, RegistryUnavailable, SchemaNotFound

HTTP_TIMEOUT_S = 10.0  # a registry that hangs is an outage too; without it httpx would wait forever
_OUTAGE_STATUSES = {HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS}
# The client's own retries are off: schemas.retry is the one policy of this boundary.
_CLIENT_DEFAULTS: dict[str, Any] = {"max.retries": 0, "timeout": HTTP_TIMEOUT_S}


def subject_for(topic: str, *, is_key: bool = False) -> str:
    """Confluent's TopicNameStrategy, so Confluent serializers find the same subjects."""
    return f"{topic}-{'key' if is_key else 'value'}"


def _is_outage(e: SchemaRegistryError) -> bool:
    status = e.http_status_code
    return status < 0 or status >= HTTPStatus.INTERNAL_SERVER_ERROR or status in _OUTAGE_STATUSES


class Registry:
    def __init__(self, url: str, *, conf: dict[str, Any] | None = None) -> None:
        self.url = url
        try:
            self.client = SchemaRegistryClient({"url": url, **_CLIENT_DEFAULTS, **(conf or {})})
        except Exception as e:
            raise RegistryError(f"bad schema registry config for {url}: {e}") from e

    def register(self, subject: str, schema_json: str) -> int:
        """Register (or find) ``schema_json`` under ``subject``; returns its global id. A registry that is
        down is waited for a while (``retry.AT_START``): this runs as a process starts."""
        return retry.AT_START.call(lambda: self._register_once(subject, schema_json))

    def _register_once(self, subject: str, schema_json: str) -> int:
        try:
            return int(self.client.register_schema(subject, Schema(schema_json, "AVRO")))
        except SchemaRegistryError as e:
            if _is_outage(e):
                raise RegistryUnavailable(f"schema registry at {self.url}: {e.error_message} ({e.error_code})") from e
            raise RegistryError(f"registry refused {subject}: {e.error_message} ({e.error_code})") from e
        except Exception as e:
            raise RegistryUnavailable(f"schema registry at {self.url} unreachable: {e}") from e

    def writer_schema(self, schema_id: int) -> str:
        """The schema registered as ``schema_id``, in one attempt: :class:`SchemaNotFound` when the registry
        says there is none, :class:`RegistryUnavailable` for any other failure (it could not say)."""
        try:
            return str(self.client.get_schema(schema_id).schema_str)
        except SchemaRegistryError as e:
            if e.http_status_code == HTTPStatus.NOT_FOUND:
                raise SchemaNotFound(f"schema id {schema_id}: {e.error_message} ({e.error_code})") from e
            # Any other refusal (an auth problem, a proxy's error page) says nothing about the id either:
            # pausing until it is fixed loses nothing, a dead letter would.
            raise RegistryUnavailable(
                f"schema registry at {self.url}: {e.error_message} ({e.error_code})", schema_id=schema_id
            ) from e
        except Exception as e:
            raise RegistryUnavailable(f"schema registry at {self.url} unreachable: {e}", schema_id=schema_id) from e

    def encoder(self, topic: str, name: str) -> Encoder:
        """Encoder for record type ``name`` on ``topic``, registering the schema if needed."""
        text = schema_str(name)
        return Encoder(text, self.register(subject_for(topic), text))

    def decoder(
        self, name: str, *, topic: str | None = None, fast_reader: Callable[[bytes], dict[str, Any]] | None = None
    ) -> Decoder:
        """Decoder into the current ``name`` schema for any registered writer version. With
        ``topic`` and ``fast_reader``, messages written with the current schema (its id registered
        under the topic's subject) are read by ``fast_reader`` instead of fastavro."""
        text = schema_str(name)
        reader_id = self.register(subject_for(topic), text) if topic else None
        return Decoder(text, self.writer_schema, reader_id=reader_id, fast_reader=fast_reader)
