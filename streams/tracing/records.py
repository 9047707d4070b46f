"""Span records, and how they become SDK spans for export.

A span record is a plain tuple (:data:`SpanRecord`): cheap to build on a hot path and to pickle to
the exporter process. :func:`readable` turns one into an SDK ``ReadableSpan``, and that is where
privacy is applied.

Privacy: code records a listener as ``enduser.id`` and a story's text as ``linernotes.story.text``,
but these never leave the process raw. Where records are exported (:func:`readable` for SDK
sinks, ``streams.tracing.otlp`` in the exporter process, both through :meth:`Privacy.scrub`), the user
id is replaced by a keyed hash, ``enduser.pseudo.id`` (HMAC-SHA256 with ``trace_user_key``), and
the text is dropped, unless ``trace_debug`` is set.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from features.facts import story_id
from streams.config.settings import DEV_TRACE_USER_KEY, Settings

SCOPE = InstrumentationScope("linernotes", "0.1.0")
PROJECT = "linernotes"


SpanRecord = tuple[Any, ...]
"""(name, trace_id, span_id, parent (trace_id, span_id, is_remote) | None, kind value, start_ns, end_ns,
attributes, links [(trace_id, span_id)], error | None): what crosses to the exporter process."""


USER_ATTR = "enduser.id"  # recorded raw in process; exported only with trace_debug
PSEUDO_USER_ATTR = "enduser.pseudo.id"
TEXT_ATTR = "linernotes.story.text"  # exported only with trace_debug


@functools.lru_cache(maxsize=65_536)  # a listener's spans come in runs (event, trigger, request)
def _pseudonym(key: bytes, user: str) -> str:
    return hmac.new(key, user.encode(), hashlib.sha256).hexdigest()[:32]


@functools.lru_cache(maxsize=4096)  # a trigger's span and its request's span carry the same id
def _story_id(user: str, kind: str, key: str) -> str:
    return story_id(user, kind, key)


@dataclass(frozen=True)
class Privacy:
    key: bytes = DEV_TRACE_USER_KEY.encode()
    debug: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Privacy:
        return cls(settings.trace_user_key.get_secret_value().encode(), settings.trace_debug)

    def pseudonym(self, user: str) -> str:
        return _pseudonym(self.key, user)

    def scrub(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The attributes as they may be exported: user ids hashed, story texts dropped."""
        if USER_ATTR not in attributes and TEXT_ATTR not in attributes:
            return attributes
        out = dict(attributes)
        user = out.pop(USER_ATTR, None) if not self.debug else out.get(USER_ATTR)
        if user is not None:
            out[PSEUDO_USER_ATTR] = self.pseudonym(str(user))
        if not self.debug:
            out.pop(TEXT_ATTR, None)
        return out


def messaging(
    topic: str,
    operation: str,
    *,
    partition: int | None = None,
    offset: int | None = None,
    group: str | None = None,
    count: int | None = None,
) -> dict[str, Any]:
    """Attributes of the OpenTelemetry messaging semantic conventions for Kafka."""
    attrs: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.operation.type": operation,
        "messaging.operation.name": {"send": "send", "process": "process", "receive": "poll"}.get(operation, operation),
    }
    if partition is not None:
        attrs["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attrs["messaging.kafka.offset"] = offset
    if group is not None:
        attrs["messaging.consumer.group.name"] = group
    if count is not None:
        attrs["messaging.batch.message_count"] = count
    return attrs


# -- short records -------------------------------------------------------------------------------
# The feature worker's spans, as the few plain values each needs: no attribute dicts and no story-id
# hash on its hot path, and less to pickle to the exporter process. spans() writes the full records
# where spans are exported.
EVENT_SEND, EVENT_PROCESS, TRIGGER, REQUEST_SEND, EVENT = range(5)
_PRODUCER, _CONSUMER, _INTERNAL = SpanKind.PRODUCER.value, SpanKind.CONSUMER.value, SpanKind.INTERNAL.value


def split(rec: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The one-span short records of an ``EVENT`` record (other records: themselves).

    ``(EVENT, trace_id, send_span_id, topic, partition, offset, timestamp_ms, process_span_id, start_ns,
    end_ns, service, group, fired)`` is an event's spans in one tuple (one append on the worker's hot
    path): its producer's ``send`` span (if the producer reserved ids in the event's header, else
    ``send_span_id`` is 0), its ``process`` span, and a ``trigger`` span per ``(span_id, user, kind,
    key)`` in ``fired``.
    """
    if rec[0] != EVENT:
        return [rec]
    _, trace_id, send_id, topic, partition, offset, ts_ms, process_id, start, end, service, group, fired = rec
    out: list[tuple[Any, ...]] = []
    parent = None
    if send_id:
        out.append((EVENT_SEND, trace_id, send_id, topic, partition, offset, ts_ms))
        parent = (trace_id, send_id, True)
    out.append((EVENT_PROCESS, trace_id, process_id, parent, start, end, service, topic, partition, offset, group))
    out += [
        (TRIGGER, trace_id, span_id, process_id, end, service, user, kind, key) for span_id, user, kind, key in fired
    ]
    return out


def span_count(rec: tuple[Any, ...]) -> int:
    """How many spans a record holds."""
    return (1 + (1 if rec[2] else 0) + len(rec[12])) if rec[0].__class__ is int and rec[0] == EVENT else 1


def spans(rec: tuple[Any, ...]) -> list[SpanRecord]:
    """The full :data:`SpanRecord` s of a record, short or full."""
    return [expand(r) for r in split(rec)] if rec[0].__class__ is int else [rec]


def expand(rec: tuple[Any, ...]) -> SpanRecord:
    """The full :data:`SpanRecord` of a one-span short record (a full record is returned as is).

    - ``(EVENT_SEND, trace_id, span_id, topic, partition, offset, timestamp_ms)``: a producer's span
      whose ids it reserved in the event's header;
    - ``(EVENT_PROCESS, trace_id, span_id, parent, start_ns, end_ns, service, topic, partition, offset,
      group)``;
    - ``(TRIGGER, trace_id, span_id, parent_span_id, t_ns, service, user, kind, key)``;
    - ``(REQUEST_SEND, trace_id, span_id, parent_span_id, t_ns, service, topic, user, kind, key)``.
    """
    tag = rec[0]
    if type(tag) is not int:
        return rec
    if tag == EVENT_SEND:
        _, trace_id, span_id, topic, partition, offset, ts_ms = rec
        start = ts_ms * 1_000_000
        attrs = {"service.name": "producer", **messaging(topic, "send", partition=partition, offset=offset)}
        return f"send {topic}", trace_id, span_id, None, _PRODUCER, start, start + 1000, attrs, (), None
    if tag == EVENT_PROCESS:
        _, trace_id, span_id, parent, start, end, service, topic, partition, offset, group = rec
        attrs = messaging(topic, "process", partition=partition, offset=offset, group=group)
        attrs["service.name"] = service
        return f"process {topic}", trace_id, span_id, parent, _CONSUMER, start, end, attrs, (), None
    if tag == TRIGGER:
        _, trace_id, span_id, parent_id, t, service, user, kind, key = rec
        attrs = {
            "service.name": service,
            "linernotes.story_id": _story_id(user, kind, key),
            "linernotes.trigger.kind": kind,
            "linernotes.trigger.key": key,
            USER_ATTR: user,
        }
        return f"trigger {kind}", trace_id, span_id, (trace_id, parent_id, False), _INTERNAL, t, t, attrs, (), None
    if tag == REQUEST_SEND:
        _, trace_id, span_id, parent_id, t, service, topic, user, kind, key = rec
        attrs = {**messaging(topic, "send"), "service.name": service, "linernotes.story_id": _story_id(user, kind, key)}
        return f"send {topic}", trace_id, span_id, (trace_id, parent_id, False), _PRODUCER, t, t + 1000, attrs, (), None
    raise ValueError(f"unknown short span record {tag!r}")


def resource(service: str) -> Resource:
    return Resource.create({"service.name": service, "openinference.project.name": PROJECT})


def readable(rec: tuple[Any, ...], res: Resource, privacy: Privacy) -> ReadableSpan:
    name, trace_id, span_id, parent, kind, start_ns, end_ns, attributes, links, error = expand(rec)
    attributes = privacy.scrub(attributes)
    status = Status(StatusCode.ERROR, error) if error else Status(StatusCode.UNSET)
    return ReadableSpan(
        name=name,
        context=SpanContext(trace_id, span_id, False, TraceFlags(1)),
        parent=SpanContext(parent[0], parent[1], parent[2], TraceFlags(1)) if parent else None,
        resource=res,
        attributes=attributes,
        links=[Link(SpanContext(t, s, True, TraceFlags(1))) for t, s in links],
        kind=SpanKind(kind),
        status=status,
        start_time=start_ns,
        end_time=max(end_ns, start_ns),
        instrumentation_scope=SCOPE,
    )


class SpanSink:
    """Where finished spans go: ``emit`` must be cheap, it runs on the worker's hot path."""

    def emit(self, rec: SpanRecord) -> None: ...

    def appender(self) -> Callable[[SpanRecord], None]:
        """``emit``, or a cheaper callable doing the same (a bound ``deque.append``)."""
        return self.emit

    def flush(self, timeout_ms: int = 5000) -> bool:
        return True

    def shutdown(self) -> None: ...


class SdkSink(SpanSink):
    """In process, through an SDK span processor (tests with an in-memory exporter)."""

    def __init__(self, processor: SpanProcessor, service: str, privacy: Privacy | None = None) -> None:
        self.processor, self.resource, self.privacy = processor, resource(service), privacy or Privacy()

    def emit(self, rec: SpanRecord) -> None:
        for span in spans(rec):
            self.processor.on_end(readable(span, self.resource, self.privacy))

    def flush(self, timeout_ms: int = 5000) -> bool:
        return bool(self.processor.force_flush(timeout_ms))

    def shutdown(self) -> None:
        self.processor.shutdown()
