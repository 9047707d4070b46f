"""The feature worker's spans, emitted as plain records (no SDK objects on its hot path).

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

from opentelemetry.trace import SpanKind

from features.facts import Trigger, story_id
from streams.tracing import Tracer, header, messaging, new_ids, parse_ids, traceparent


class TraceRef(NamedTuple):
    """Where a fired trigger's trace continues: its trigger span, and the story id it is about."""

    trace_id: int
    span_id: int
    story_id: str


class EventSpans:
    def __init__(self, tracer: Tracer, group: str | None) -> None:
        self.tracer, self.group = tracer, group

    def triggered(self, msg: Any, fired: Sequence[Trigger], batch_start_ns: int) -> list[TraceRef]:
        """Spans of the event whose batch fired ``fired``; one reference per trigger."""
        tracer = self.tracer
        process_attrs, process_id, parent = self._event(msg)
        trace_id = parent[0] if parent is not None else new_ids()[0]
        now = time.time_ns()
        record, service, out = tracer.record, tracer.service, []
        for r in fired:
            span_id, sid = new_ids()[1], story_id(r.user, r.kind, r.key)
            attrs = {"service.name": service, "linernotes.story_id": sid, "linernotes.trigger.kind": r.kind,
                     "linernotes.trigger.key": r.key, "enduser.id": r.user}  # fmt: skip
            record(f"trigger {r.kind}", trace_id, span_id, (trace_id, process_id, False), SpanKind.INTERNAL, now, now,
                   attrs)  # fmt: skip
            out.append(TraceRef(trace_id, span_id, sid))
        record(f"process {msg.topic}", trace_id, process_id, parent, SpanKind.CONSUMER, batch_start_ns, now,
               process_attrs)  # fmt: skip
        return out

    def sample(self, batch: Sequence[Any], batch_start_ns: int) -> None:
        """Spans for a random share (``trace_ratio``) of ordinary events."""
        tracer = self.tracer
        if not tracer.enabled or not tracer.ratio:
            return
        now = time.time_ns()
        for i in tracer.sampled_indexes(len(batch)):
            msg = batch[i]
            attrs, span_id, parent = self._event(msg)
            trace_id = parent[0] if parent is not None else new_ids()[0]
            tracer.record(f"process {msg.topic}", trace_id, span_id, parent, SpanKind.CONSUMER, batch_start_ns, now,
                          attrs)  # fmt: skip

    def sent(self, topic: str, ref: TraceRef) -> bytes:
        """The ``send`` span of a traced trigger's request, at the hand-over to the publisher; returns
        the ``traceparent`` the request carries."""
        now, span_id = time.time_ns(), new_ids()[1]
        attrs = {**messaging(topic, "send"), "service.name": self.tracer.service, "linernotes.story_id": ref.story_id}
        parent = (ref.trace_id, ref.span_id, False)
        self.tracer.record(f"send {topic}", ref.trace_id, span_id, parent, SpanKind.PRODUCER, now, now + 1000, attrs)
        return traceparent(ref.trace_id, span_id)

    def _event(self, msg: Any) -> tuple[dict[str, Any], int, tuple[int, int, bool] | None]:
        """Emit the event's ``send`` span (if its producer reserved ids); the attributes and id of its
        ``process`` span, and that span's parent."""
        tracer = self.tracer
        topic, partition, offset = msg.topic, msg.partition, msg.offset
        ids = parse_ids(header(getattr(msg, "headers", None)))
        parent = None
        if ids is not None:
            start = msg.timestamp * 1_000_000
            attrs = {"service.name": "producer", **messaging(topic, "send", partition=partition, offset=offset)}
            tracer.record(f"send {topic}", ids[0], ids[1], None, SpanKind.PRODUCER, start, start + 1000, attrs)
            parent = (ids[0], ids[1], True)
        process_attrs = messaging(topic, "process", partition=partition, offset=offset, group=self.group)
        process_attrs["service.name"] = tracer.service
        return process_attrs, new_ids()[1], parent
