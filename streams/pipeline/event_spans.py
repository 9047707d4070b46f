"""The feature worker's spans, emitted as short records (``streams.tracing.records.split``/``expand``):
plain values only on its hot path, the attributes and story ids are written where spans are exported.

- a triggering event: one ``EVENT`` record holding its ``send`` span (ids its producer reserved in
  the ``traceparent`` header), ``process <topic>`` and one ``trigger <KIND>`` per fired trigger;
- a sampled share (``trace_ratio``) of ordinary events: ``send`` and ``process``, the same way;
- at flush, ``send story-requests`` for each traced trigger, whose ids travel in the request's
  ``traceparent`` header to the story agent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from features.facts import Trigger
from streams.tracing.records import EVENT, REQUEST_SEND
from streams.tracing.tracer import Tracer, header, new_ids, new_span_id, parse_ids, traceparent

TraceRef = tuple[int, int]
"""Where a fired trigger's trace continues: (trace id, span id) of its trigger span."""


class EventSpans:
    def __init__(self, tracer: Tracer, group: str | None) -> None:
        self.tracer, self.group = tracer, group
        self._emit = tracer.appender()

    def triggered(self, msg: Any, fired: Sequence[Trigger], batch_start_ns: int) -> list[TraceRef]:
        """Spans of the event whose batch fired ``fired``; one reference per trigger."""
        trace_id, send_id = self._ids(msg)
        if len(fired) == 1:  # the usual case, without a loop
            r = fired[0]
            spans: tuple[tuple[int, str, str, str], ...] = ((new_span_id(), r.user, r.kind, r.key),)
        else:
            spans = tuple([(new_span_id(), r.user, r.kind, r.key) for r in fired])
        self._emit(
            (
                EVENT,
                trace_id,
                send_id,
                msg.topic,
                msg.partition,
                msg.offset,
                msg.timestamp,
                new_span_id(),
                batch_start_ns,
                time.time_ns(),
                self.tracer.service,
                self.group,
                spans,
            )
        )
        self.tracer.emitted += (2 if send_id else 1) + len(spans)
        return [(trace_id, s[0]) for s in spans]

    def sample(self, batch: Sequence[Any], batch_start_ns: int) -> None:
        """Spans for a random share (``trace_ratio``) of ordinary events."""
        tracer = self.tracer
        if not tracer.enabled or not tracer.ratio:
            return
        emit, service, group, now, n = self._emit, tracer.service, self.group, time.time_ns(), 0
        for i in tracer.sampled_indexes(len(batch)):
            msg = batch[i]
            trace_id, send_id = self._ids(msg)
            emit(
                (
                    EVENT,
                    trace_id,
                    send_id,
                    msg.topic,
                    msg.partition,
                    msg.offset,
                    msg.timestamp,
                    new_span_id(),
                    batch_start_ns,
                    now,
                    service,
                    group,
                    (),
                )
            )
            n += 2 if send_id else 1
        tracer.emitted += n

    def sent(self, topic: str, ref: TraceRef, trigger: Trigger) -> bytes:
        """The ``send`` span of a traced trigger's request, at the hand-over to the publisher; returns
        the ``traceparent`` the request carries."""
        span_id = new_span_id()
        trace_id, parent_id = ref
        self._emit(
            (
                REQUEST_SEND,
                trace_id,
                span_id,
                parent_id,
                time.time_ns(),
                self.tracer.service,
                topic,
                trigger.user,
                trigger.kind,
                trigger.key,
            )
        )
        self.tracer.emitted += 1
        return traceparent(trace_id, span_id)

    @staticmethod
    def _ids(msg: Any) -> tuple[int, int]:
        """The event's trace id and its producer's span id, reserved in its header (0: none, the
        event starts a new trace here)."""
        headers = getattr(msg, "headers", None)
        ids = parse_ids(header(headers)) if headers else None
        return ids if ids is not None else (new_ids()[0], 0)
