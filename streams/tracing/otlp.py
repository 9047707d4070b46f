"""OTLP/protobuf encoding of span records, written by hand.

The SDK's path turns each record into a ``ReadableSpan`` and then into protobuf message objects, in
an exporter process that shares a core with the broker and the worker's publishing helper. Span
records are already plain tuples, so this writes the ``ExportTraceServiceRequest`` bytes from them
directly, with no object per span, short records (``streams.tracing.records.expand``) included. The output parses to
the same message the SDK encoder builds (``tests/unit/test_otlp.py``).

Field numbers: ``opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from streams.tracing.records import Privacy, expand

_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200  # SpanFlags
_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")


def _varint_loop(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [_varint_loop(n) for n in range(1 << 14)]  # lengths and small numbers: looked up, not computed


def _varint(n: int) -> bytes:
    if n < 0:
        n &= (1 << 64) - 1  # int64 as protobuf writes it: two's complement, 10 bytes
    return _SMALL[n] if n < 16384 else _varint_loop(n)


_TAGS = {f: _varint(f << 3 | 2) for f in range(1, 16)}  # length-delimited fields' tags


def _len(field: int, payload: bytes) -> bytes:
    n = len(payload)
    return _TAGS[field] + _varint(n) + payload


def _str(field: int, text: str) -> bytes:
    return _len(field, text.encode())


def _any(value: Any) -> bytes:
    """An ``AnyValue``."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _str(1, value)
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _len(7, value)
    if isinstance(value, Mapping):
        return _len(6, b"".join(_len(1, _key_value(str(k), v)) for k, v in value.items()))
    if isinstance(value, Sequence):
        return _len(5, b"".join(_len(1, _any(v)) for v in value))
    raise TypeError(f"attribute value of type {type(value).__name__}: {value!r}")


def _key_value(key: str, value: Any) -> bytes:
    return _str(1, key) + _len(2, _any(value))


_ENCODED: dict[tuple[Any, ...], bytes] = {}  # (field, key, type, value) -> bytes, for repeated str/bool values
_ENCODED_MAX = 100_000


def _attributes(field: int, attributes: Mapping[str, Any]) -> bytes:
    """Attributes as repeated ``KeyValue`` fields. Most values repeat from span to span (system, topic,
    operation, service, partition, kind, a user's pseudonym, a story id on two spans): their bytes
    are written once and reused; numbers and containers are written every time."""
    out = []
    cache = _ENCODED
    for k, v in attributes.items():
        if v.__class__ is str or v.__class__ is bool:
            ck = (field, k, v.__class__, v)
            b = cache.get(ck)
            if b is None:
                if len(cache) >= _ENCODED_MAX:
                    cache.clear()
                b = cache[ck] = _len(field, _key_value(k, v))
        else:
            b = _len(field, _key_value(k, v))
        out.append(b)
    return b"".join(out)


_NAMES: dict[str, bytes] = {}  # span name -> its encoded field (a few names: "process listening-events", ...)


def _span(rec: tuple[Any, ...], privacy: Privacy) -> bytes:
    name, trace_id, span_id, parent, kind, start_ns, end_ns, attributes, links, error = expand(rec)
    parts = [
        b"\x0a\x10" + trace_id.to_bytes(16, "big"),
        b"\x12\x08" + span_id.to_bytes(8, "big"),
    ]
    flags = _HAS_IS_REMOTE
    if parent is not None:
        parts.append(b"\x22\x08" + parent[1].to_bytes(8, "big"))
        if parent[2]:
            flags |= _IS_REMOTE
    name_bytes = _NAMES.get(name)
    if name_bytes is None:
        if len(_NAMES) >= _ENCODED_MAX:
            _NAMES.clear()
        name_bytes = _NAMES[name] = _str(5, name)
    parts += (
        name_bytes,
        b"\x30" + _varint(kind + 1),  # SDK SpanKind INTERNAL=0.. -> SPAN_KIND_INTERNAL=1..
        b"\x39" + _FIXED64.pack(start_ns),
        b"\x41" + _FIXED64.pack(max(end_ns, start_ns)),
        _attributes(9, privacy.scrub(attributes)) if attributes else b"",
    )
    for t, s in links:  # remote contexts (see span_records.readable)
        parts.append(
            _len(
                13,
                b"\x0a\x10"
                + t.to_bytes(16, "big")
                + b"\x12\x08"
                + s.to_bytes(8, "big")
                + b"\x35"
                + _FIXED32.pack(_HAS_IS_REMOTE | _IS_REMOTE),
            )
        )
    parts.append(_len(15, (_str(2, error) + b"\x18\x02") if error else b""))  # Status: ERROR=2, UNSET=0
    parts.append(b"\x85\x01" + _FIXED32.pack(flags))  # field 16, fixed32
    return b"".join(parts)
