"""OTLP bytes of the feature worker's short span records (``streams.tracing.records.expand``), from templates.

The generic encoder (:mod:`streams.tracing.otlp`) expands each short record into a full record with an
attribute dict and then encodes it, in an exporter process that shares a core with the broker and
the flush helpers. But almost everything in these spans repeats: the
name, the kind, the messaging attributes of a topic and partition, the service, the consumer group.
Here those parts are encoded once per distinct value and reused, and a span is its ids, times and
the few varying fields (an offset, a story id, a trigger key, a pseudonym) spliced between them.

The bytes are exactly those of the generic path (``tests/unit/test_otlp.py`` holds both to the
SDK's encoder), with one limit: with ``trace_debug`` (raw user ids exported) the generic path is
used.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Any

from streams.tracing.otlp import _attributes, _len, _varint
from streams.tracing.records import (
    EVENT,
    EVENT_PROCESS,
    EVENT_SEND,
    PSEUDO_USER_ATTR,
    REQUEST_SEND,
    TRIGGER,
    Privacy,
    _story_id,
    messaging,
    split,
)

_Q = struct.Struct("<Q")
_FLAGS_LOCAL = b"\x85\x01" + struct.pack("<I", 0x100)  # SpanFlags: HAS_IS_REMOTE
_FLAGS_REMOTE_PARENT = b"\x85\x01" + struct.pack("<I", 0x300)  # HAS_IS_REMOTE | IS_REMOTE
_STATUS_UNSET = b"\x7a\x00"  # field 15, empty Status
_TAIL_LOCAL = _STATUS_UNSET + _FLAGS_LOCAL
_TAIL_REMOTE = _STATUS_UNSET + _FLAGS_REMOTE_PARENT
_SPAN = b"\x12"  # ScopeSpans.spans, field 2


def _str_attr(key: str) -> Callable[[str], bytes]:
    """A function writing the ``KeyValue`` field of string attribute ``key``: the key's bytes are fixed."""
    key_field = _len(1, key.encode())

    def write(value: str) -> bytes:
        v = value.encode()
        any_value = b"\x0a" + _varint(len(v)) + v
        kv = key_field + b"\x12" + _varint(len(any_value)) + any_value
        return b"\x4a" + _varint(len(kv)) + kv

    return write


def _int_attr(key: str) -> Callable[[int], bytes]:
    key_field = _len(1, key.encode())

    def write(value: int) -> bytes:
        any_value = b"\x18" + _varint(value)
        kv = key_field + b"\x12" + _varint(len(any_value)) + any_value
        return b"\x4a" + _varint(len(kv)) + kv

    return write


_offset = _int_attr("messaging.kafka.offset")
_story = _str_attr("linernotes.story_id")
_trigger_key = _str_attr("linernotes.trigger.key")
_pseudo = _str_attr(PSEUDO_USER_ATTR)


def _name_kind(name: str, kind_value: int) -> bytes:
    return _len(5, name.encode()) + b"\x30" + _varint(kind_value)


@functools.lru_cache(maxsize=4096)
def _event_send_parts(topic: str, partition: int) -> tuple[bytes, bytes]:
    attrs = {"service.name": "producer", **messaging(topic, "send", partition=partition)}
    return _name_kind(f"send {topic}", 4), _attributes(9, attrs)  # SPAN_KIND_PRODUCER = 4


@functools.lru_cache(maxsize=4096)
def _event_process_parts(topic: str, partition: int, group: str | None, service: str) -> tuple[bytes, bytes, bytes]:
    before = _attributes(9, messaging(topic, "process", partition=partition))
    after = _attributes(
        9, {**({"messaging.consumer.group.name": group} if group is not None else {}), "service.name": service}
    )
    return _name_kind(f"process {topic}", 5), before, after  # SPAN_KIND_CONSUMER = 5


@functools.lru_cache(maxsize=1024)
def _trigger_parts(service: str, kind: str) -> tuple[bytes, bytes, bytes]:
    """Name and kind; the service attribute; the trigger kind attribute."""
    return (
        _name_kind(f"trigger {kind}", 1),
        _attributes(9, {"service.name": service}),
        _attributes(9, {"linernotes.trigger.kind": kind}),
    )


@functools.lru_cache(maxsize=1024)
def _request_parts(service: str, topic: str) -> tuple[bytes, bytes]:
    return _name_kind(f"send {topic}", 4), _attributes(9, {**messaging(topic, "send"), "service.name": service})


def encode_short(rec: tuple[Any, ...], privacy: Privacy) -> bytes:
    """The ``Span`` fields (tag, length and message) of a short record; ``privacy.debug`` must be off."""
    tag = rec[0]
    q = _Q.pack
    if tag == EVENT:
        return b"".join([encode_short(r, privacy) for r in split(rec)])
    if tag == EVENT_PROCESS:
        _, trace_id, span_id, parent, start, end, service, topic, partition, offset, group = rec
        name_kind, before, after = _event_process_parts(topic, partition, group, service)
        body = b"".join(
            (
                b"\x0a\x10",
                trace_id.to_bytes(16, "big"),
                b"\x12\x08",
                span_id.to_bytes(8, "big"),
                b"" if parent is None else b"\x22\x08" + parent[1].to_bytes(8, "big"),
                name_kind,
                b"\x39",
                q(start),
                b"\x41",
                q(end if end > start else start),
                before,
                _offset(offset),
                after,
                _TAIL_REMOTE if parent is not None and parent[2] else _TAIL_LOCAL,
            )
        )
    elif tag == EVENT_SEND:
        _, trace_id, span_id, topic, partition, offset, ts_ms = rec
        name_kind, attrs = _event_send_parts(topic, partition)
        start = ts_ms * 1_000_000
        body = b"".join(
            (
                b"\x0a\x10",
                trace_id.to_bytes(16, "big"),
                b"\x12\x08",
                span_id.to_bytes(8, "big"),
                name_kind,
                b"\x39",
                q(start),
                b"\x41",
                q(start + 1000),
                attrs,
                _offset(offset),
                _TAIL_LOCAL,
            )
        )
    elif tag == TRIGGER:
        _, trace_id, span_id, parent_id, t, service, user, kind, key = rec
        name_kind, service_attr, kind_attr = _trigger_parts(service, kind)
        body = b"".join(
            (
                b"\x0a\x10",
                trace_id.to_bytes(16, "big"),
                b"\x12\x08",
                span_id.to_bytes(8, "big"),
                b"\x22\x08",
                parent_id.to_bytes(8, "big"),
                name_kind,
                b"\x39",
                q(t),
                b"\x41",
                q(t),
                service_attr,
                _story(_story_id(user, kind, key)),
                kind_attr,
                _trigger_key(key),
                _pseudo(privacy.pseudonym(user)),
                _TAIL_LOCAL,
            )
        )
    elif tag == REQUEST_SEND:
        _, trace_id, span_id, parent_id, t, service, topic, user, kind, key = rec
        name_kind, attrs = _request_parts(service, topic)
        body = b"".join(
            (
                b"\x0a\x10",
                trace_id.to_bytes(16, "big"),
                b"\x12\x08",
                span_id.to_bytes(8, "big"),
                b"\x22\x08",
                parent_id.to_bytes(8, "big"),
                name_kind,
                b"\x39",
                q(t),
                b"\x41",
                q(t + 1000),
                attrs,
                _story(_story_id(user, kind, key)),
                _TAIL_LOCAL,
            )
        )
    else:
        raise ValueError(f"unknown short span record {tag!r}")
    return _SPAN + _varint(len(body)) + body
