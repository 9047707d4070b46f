"""Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body.

Encoders write with one registered schema; decoders read any registered writer version into the
reader schema (Avro schema resolution), and decode whole batches in one call so that callers pay
the Python overhead once per batch, not once per message. Bad messages become :class:`DecodeError`
values that keep their raw bytes, never exceptions that stop a batch. A writer schema that cannot be
fetched because the registry cannot answer is no fault of the message: :class:`RegistryUnavailable`
stops the batch, and its holder waits the outage out (:mod:`schemas.retry`) and decodes it again.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

import fastavro

from schemas.errors import DecodeError, RegistryUnavailable

MAGIC = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE = _HEADER.size


def _strip_logical(node: Any) -> Any:
    """Drop logicalType annotations: we carry times as epoch-millis ints, which skips
    fastavro's datetime conversion on the hot path. The bytes are identical either way."""
    if isinstance(node, list):
        return [_strip_logical(n) for n in node]
    if isinstance(node, dict):
        return {k: _strip_logical(v) for k, v in node.items() if k != "logicalType"}
    return node


def parse(schema: dict[str, Any] | str) -> Any:
    """A fastavro-parsed schema with logical types removed (see :func:`_strip_logical`)."""
    import json

    raw = json.loads(schema) if isinstance(schema, str) else schema
    return fastavro.parse_schema(_strip_logical(raw), _force=True)


def frame(schema_id: int, body: bytes) -> bytes:
    return _HEADER.pack(MAGIC, schema_id) + body


def schema_id_of(raw: bytes | None) -> int:
    """The schema id in a framed message; :class:`DecodeError` if it is not framed."""
    if raw is None:
        raise DecodeError("value is null (tombstone or missing)", raw)
    if len(raw) < HEADER_SIZE:
        raise DecodeError(f"message too short for the wire format ({len(raw)} bytes)", raw)
    magic, schema_id = _HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise DecodeError(f"unknown magic byte {magic}", raw)
    return int(schema_id)


class Encoder:
    """Encodes records (dicts) with one registered writer schema."""

    def __init__(self, schema: dict[str, Any] | str, schema_id: int) -> None:
        self.schema_id = schema_id
        self._parsed = parse(schema)
        self._header = _HEADER.pack(MAGIC, schema_id)

    def encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        fastavro.schemaless_writer(buf, self._parsed, record)
        return buf.getvalue()


def listening_event_encoder(schema_id: int) -> Encoder:
    """The ``ListeningEvent`` encoder for events written under ``schema_id`` (the simulator, history
    imports, tests): fastavro's writer, as every record but the snapshots."""
    from schemas.contract import schema_str

    return Encoder(schema_str("ListeningEvent"), schema_id)


WriterLookup = Callable[[int], str]
UNKNOWN_RETRY_S = 5.0  # how long a schema id the registry did not know is not asked for again


class Decoder:
    """Decodes framed messages written with any known version into ``reader_schema``.

    ``lookup`` returns the writer schema (JSON) for a schema id; it is called once per id
    and cached here. Messages written with the reader's own id skip schema resolution.
    """

    def __init__(
        self,
        reader_schema: dict[str, Any] | str,
        lookup: WriterLookup,
        *,
        reader_id: int | None = None,
        fast_reader: Callable[[bytes], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = parse(reader_schema)
        self._reader_id = reader_id
        self._fast = fast_reader if reader_id is not None else None
        self._lookup = lookup
        self._clock = clock
        self._writers: dict[int, tuple[Any, Any]] = {}
        self._unknown: dict[int, tuple[float, str]] = {}  # schema id -> (retry after, reason)
        if reader_id is not None:
            self._writers[reader_id] = (self._reader, None)

    def _writer(self, schema_id: int, raw: bytes) -> tuple[Any, Any]:
        pair = self._writers.get(schema_id)
        if pair is None:
            # A failed lookup is remembered for UNKNOWN_RETRY_S: a flood of messages with an id the
            # registry does not know would otherwise cost a registry round trip each.
            failed = self._unknown.get(schema_id)
            if failed is None or self._clock() >= failed[0]:
                self.resolve(schema_id)
                pair, failed = self._writers.get(schema_id), self._unknown.get(schema_id)
            if pair is None:
                assert failed is not None
                raise DecodeError(failed[1], raw, schema_id=schema_id)
        return pair

    def resolve(self, schema_id: int) -> None:
        """Look ``schema_id`` up (one registry call) and remember the answer: its writer schema, or that it
        is unknown (its messages are bad data). Raises :class:`RegistryUnavailable` when the registry could
        not answer, remembering nothing: the same lookup is made again when the caller retries."""
        try:
            writer = parse(self._lookup(schema_id))
        except RegistryUnavailable as e:
            if e.schema_id is None:
                e.schema_id = schema_id
            raise
        except Exception as e:  # noqa: BLE001 - any other failure is about this id: not found, or not a schema
            self._unknown[schema_id] = (self._clock() + UNKNOWN_RETRY_S, f"unknown schema id {schema_id}: {e}")
            return
        self._unknown.pop(schema_id, None)
        self._writers[schema_id] = (writer, self._reader)

    def decode(self, raw: bytes | None) -> dict[str, Any]:
        schema_id = schema_id_of(raw)
        assert raw is not None
        if schema_id == self._reader_id and self._fast is not None:
            try:
                return self._fast(raw)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise DecodeError(
                    f"corrupt Avro body for schema id {schema_id}: {e!r}", raw, schema_id=schema_id
                ) from e
        writer, reader = self._writer(schema_id, raw)
        buf = io.BytesIO(raw)
        buf.seek(HEADER_SIZE)
        try:
            record = fastavro.schemaless_reader(buf, writer, reader)
        except Exception as e:
            raise DecodeError(f"corrupt Avro body for schema id {schema_id}: {e!r}", raw, schema_id=schema_id) from e
        if buf.tell() != len(raw):
            raise DecodeError(
                f"{len(raw) - buf.tell()} trailing bytes after the Avro body (schema id {schema_id})",
                raw,
                schema_id=schema_id,
            )
        if not isinstance(record, dict):
            raise DecodeError(f"schema id {schema_id} did not decode to a record", raw, schema_id=schema_id)
        return record

    def decode_many(
        self, raws: Sequence[bytes | None]
    ) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, DecodeError]]]:
        """Decode a batch. Returns ``(oks, errs)``, each a list of ``(index, item)``. Raises
        :class:`RegistryUnavailable` (and returns nothing) when a writer schema could not be fetched:
        the batch cannot be judged until the registry answers."""
        oks: list[tuple[int, dict[str, Any]]] = []
        errs: list[tuple[int, DecodeError]] = []
        decode, fast = self.decode, self._fast
        header = _HEADER.pack(MAGIC, self._reader_id) if fast is not None and self._reader_id is not None else None
        for i, raw in enumerate(raws):
            try:
                # The common case without the per-message checks of decode(): the reader's own id.
                if header is not None and fast is not None and raw is not None and raw.startswith(header):
                    try:
                        oks.append((i, fast(raw)))
                    except (ValueError, IndexError, UnicodeDecodeError):
                        oks.append((i, decode(raw)))  # raises the DecodeError with its reason
                else:
                    oks.append((i, decode(raw)))
            except DecodeError as e:
                errs.append((i, e))
        return oks, errs
