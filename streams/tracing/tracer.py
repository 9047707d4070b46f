"""Tracing that keeps every story's trace complete and costs almost nothing per event.

Every message the project produces carries a W3C ``traceparent`` header. For listening events the
header is only *reserved* ids (a trace id and the producer span's id), costing a few hundred
nanoseconds; no span is recorded. Spans are built afterwards, with their original start and end
times and exactly those ids, only for what matters:

- when an event's batch fires a trigger, the worker emits the event's ``send listening-events``
  span (the reserved ids, start = the record's timestamp), ``process listening-events`` and
  ``trigger <KIND>`` as its descendants, and at flush ``send story-requests`` whose context travels
  in the request's headers;
- the story agent continues the same trace: ``process story-requests`` → ``chat <model>`` (the
  Triton call, GenAI attributes) → ``grounding check``, and ``send user-stories``;
- a configurable ratio of ordinary events (``LINERNOTES_TRACE_RATIO``, 1% by default) also gets its
  send/process spans, so the dashboards show normal traffic too.

Building and exporting spans is where the cost is (in the SDK, objects per span, protobuf encoding
and HTTP in an exporter thread that competes with the worker for the GIL). So a worker only appends a plain
tuple per span to a queue; a separate exporter *process* (:mod:`streams.tracing.export`) turns them into
SDK spans and sends them over OTLP/HTTP (Phoenix locally, any collector in production). The queue is
bounded: if the exporter cannot keep up, spans are dropped and counted, and the worker never waits.

Consumer spans are children of the producer span (not only links), because Phoenix
drops links; batch processing spans carry links to the messages they cover as well.

Span records, their export and privacy (user ids hashed, story texts dropped): ``streams.tracing.records``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags

from streams.tracing.records import Privacy, SdkSink, SpanSink

_ids = random.Random(int.from_bytes(os.urandom(16), "big"))  # ids need uniqueness, not secrecy

# A W3C traceparent: "00-<trace id>-<span id>-<flags>", the ids in hex of fixed width.
TRACE_ID_HEX, SPAN_ID_HEX = 32, 16
TRACEPARENT_LEN = len("00-") + TRACE_ID_HEX + len("-") + SPAN_ID_HEX + len("-01")


def new_ids() -> tuple[int, int]:
    return _ids.getrandbits(128) or 1, _ids.getrandbits(64) or 1


def new_span_id() -> int:
    return _ids.getrandbits(64) or 1


def traceparent(trace_id: int, span_id: int) -> bytes:
    return f"00-{trace_id:032x}-{span_id:016x}-01".encode()


def fresh_traceparent() -> bytes:
    """A header for a message whose producer span may be recorded later (with these ids)."""
    return traceparent(*new_ids())


def parse(header: bytes | str | None) -> SpanContext | None:
    if not header:
        return None
    text = header.decode() if isinstance(header, bytes) else header
    try:
        _version, trace_id, span_id, flags = text.split("-")
        if len(trace_id) != TRACE_ID_HEX or len(span_id) != SPAN_ID_HEX:
            return None
        return SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16)))
    except ValueError:  # not four parts, or not hex
        return None


def parse_ids(header: bytes | None) -> tuple[int, int] | None:
    """``(trace_id, span_id)`` of a traceparent, without building SDK objects (the worker's hot path)."""
    if not header or len(header) != TRACEPARENT_LEN:
        return None
    try:
        return int(header[3:35], 16), int(header[36:52], 16)
    except ValueError:
        return None


def header(headers: Any, name: str = "traceparent") -> bytes | None:
    """A header's value from aiokafka (tuples), confluent-kafka (list of tuples) or dict headers."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for k, v in items:
        if k == name:
            return v if isinstance(v, bytes) else str(v).encode()
    return None


@dataclass
class Span:
    """A span being built by hand; ``context`` can be handed to children before it ends."""

    tracer: Tracer
    name: str
    context: SpanContext
    parent: SpanContext | None
    kind: SpanKind
    start_ns: int
    attributes: dict[str, Any]
    links: Sequence[Link] = ()
    error: str | None = None

    def end(self, end_ns: int | None = None) -> None:
        self.tracer.emit(self, end_ns or time.time_ns())

    @property
    def header(self) -> bytes:
        return traceparent(self.context.trace_id, self.context.span_id)


class Tracer:
    """Builds spans with chosen ids and times and hands them to a :class:`SpanSink`."""

    def __init__(self, sink: SpanSink | None, service: str, ratio: float = 0.01) -> None:
        self.sink = sink
        self.ratio = ratio
        self.service = service
        self.emitted = 0

    @property
    def enabled(self) -> bool:
        return self.sink is not None

    def sampled_indexes(self, n: int) -> list[int]:
        """Which of ``n`` items to trace: geometric gaps, so the cost is per sampled item, not per item."""
        if not self.enabled or self.ratio <= 0 or n <= 0:
            return []
        if self.ratio >= 1:
            return list(range(n))
        out, i = [], int(random.expovariate(self.ratio))
        while i < n:
            out.append(i)
            i += 1 + int(random.expovariate(self.ratio))
        return out

    def start(
        self,
        name: str,
        *,
        parent: SpanContext | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        start_ns: int | None = None,
        attributes: Mapping[str, Any] | None = None,
        span_id: int | None = None,
        links: Sequence[SpanContext] = (),
    ) -> Span:
        trace_id = parent.trace_id if parent is not None else new_ids()[0]
        ctx = SpanContext(trace_id, span_id or new_ids()[1], is_remote=False, trace_flags=TraceFlags(1))
        attrs = {"service.name": self.service, **(attributes or {})}  # Phoenix drops resource attributes
        return Span(self, name, ctx, parent, kind, start_ns or time.time_ns(), attrs, [Link(c) for c in links])

    def emit(self, span: Span, end_ns: int) -> None:
        if self.sink is None:
            return
        ctx, p = span.context, span.parent
        self.sink.emit(
            (
                span.name,
                ctx.trace_id,
                ctx.span_id,
                (p.trace_id, p.span_id, p.is_remote) if p is not None else None,
                span.kind.value,
                span.start_ns,
                end_ns,
                span.attributes,
                [(lk.context.trace_id, lk.context.span_id) for lk in span.links],
                span.error,
            )
        )
        self.emitted += 1

    def appender(self) -> Callable[[tuple[Any, ...]], None]:
        """A callable taking records to the sink, for code emitting in bulk that counts its own spans
        (``emitted``): one C call per record with the exporter process's sink."""
        sink = self.sink
        return sink.appender() if sink is not None else (lambda rec: None)

    def flush(self, timeout_ms: int = 5000) -> bool:
        """Everything emitted so far has been exported (or ``timeout_ms`` passed: False)."""
        return self.sink.flush(timeout_ms) if self.sink is not None else True

    def shutdown(self) -> None:
        if self.sink is not None:
            self.sink.shutdown()


def make_tracer(
    service: str,
    endpoint: str | None,
    ratio: float,
    exporter: SpanExporter | None = None,
    privacy: Privacy | None = None,
) -> Tracer:
    """A tracer exporting over OTLP/HTTP to ``endpoint`` from an exporter process, or in process to
    ``exporter``; disabled without either."""
    privacy = privacy or Privacy()
    if exporter is not None:
        sink = SdkSink(BatchSpanProcessor(exporter, schedule_delay_millis=500), service, privacy)
        return Tracer(sink, service, ratio)
    if endpoint:
        from streams.tracing.export import ProcessSink

        return Tracer(ProcessSink(endpoint, service, privacy), service, ratio)
    return Tracer(None, service, ratio)


def disabled(service: str = "linernotes") -> Tracer:
    return Tracer(None, service, 0.0)
