"""The feature worker's spans, emitted as short records (``streams.span_records.expand``): plain
values only on its hot path, the attributes and story ids are written where spans are exported.

- a triggering event: its ``send`` span (ids its producer reserved in the ``traceparent`` header),
  ``process <topic>`` and one ``trigger <KIND>`` per fired trigger;
- a sampled share (``trace_ratio``) of ordinary events: ``send`` and ``process``;
- at flush, ``send story-requests`` for each traced trigger, whose ids travel in the request's
  ``traceparent`` header to the story agent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from features.facts import Trigger
from streams.span_records import EVENT_PROCESS, EVENT_SEND, REQUEST_SEND, TRIGGER
from streams.tracing import Tracer, header, new_ids, new_span_id, parse_ids, traceparent


class TraceRef(NamedTuple):
    """Where a fired trigger's trace continues: its trigger span."""

    trace_id: int
    span_id: int


class EventSpans:
    def __init__(self, tracer: Tracer, group: str | None) -> None:
        self.tracer, self.group = tracer, group

    def triggered(self, msg: Any, fired: Sequence[Trigger], batch_start_ns: int) -> list[TraceRef]:
        """Spans of the event whose batch fired ``fired``; one reference per trigger."""
        emit, service = self.tracer.emit_record, self.tracer.service
        trace_id, parent = self._event(msg)
        process_id, now, out = new_span_id(), time.time_ns(), []
        for r in fired:
            span_id = new_span_id()
            emit((TRIGGER, trace_id, span_id, process_id, now, service, r.user, r.kind, r.key))
            out.append(TraceRef(trace_id, span_id))
        emit((EVENT_PROCESS, trace_id, process_id, parent, batch_start_ns, now, service, msg.topic, msg.partition,
              msg.offset, self.group))  # fmt: skip
        return out

    def sample(self, batch: Sequence[Any], batch_start_ns: int) -> None:
        """Spans for a random share (``trace_ratio``) of ordinary events."""
        tracer = self.tracer
        if not tracer.enabled or not tracer.ratio:
            return
        emit, service, now = tracer.emit_record, tracer.service, time.time_ns()
        for i in tracer.sampled_indexes(len(batch)):
            msg = batch[i]
            trace_id, parent = self._event(msg)
            emit((EVENT_PROCESS, trace_id, new_span_id(), parent, batch_start_ns, now, service, msg.topic,
                  msg.partition, msg.offset, self.group))  # fmt: skip

    def sent(self, topic: str, ref: TraceRef, trigger: Trigger) -> bytes:
        """The ``send`` span of a traced trigger's request, at the hand-over to the publisher; returns
        the ``traceparent`` the request carries."""
        span_id = new_span_id()
        self.tracer.emit_record((REQUEST_SEND, ref.trace_id, span_id, ref.span_id, time.time_ns(), self.tracer.service,
                                 topic, trigger.user, trigger.kind, trigger.key))  # fmt: skip
        return traceparent(ref.trace_id, span_id)

    def _event(self, msg: Any) -> tuple[int, tuple[int, int, bool] | None]:
        """Emit the event's ``send`` span (if its producer reserved ids); the trace id and the parent
        of its ``process`` span."""
        ids = parse_ids(header(getattr(msg, "headers", None)))
        if ids is None:
            return new_ids()[0], None
        self.tracer.emit_record((EVENT_SEND, ids[0], ids[1], msg.topic, msg.partition, msg.offset, msg.timestamp))
        return ids[0], (ids[0], ids[1], True)
