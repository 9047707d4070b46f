"""Span records, and how they become SDK spans for export.

A span record is a plain tuple (:data:`SpanRecord`): cheap to build on a hot path and to pickle to
the exporter process. :func:`readable` turns one into an SDK ``ReadableSpan``, and that is where
privacy is applied.

Privacy: code records a listener as ``enduser.id`` and a story's text as ``linernotes.story.text``,
but these never leave the process raw. Where records are exported (:func:`readable` for SDK
sinks, ``streams.otlp`` in the exporter process, both through :meth:`Privacy.scrub`), the user
id is replaced by a keyed hash, ``enduser.pseudo.id`` (HMAC-SHA256 with ``trace_user_key``), and
the text is dropped, unless ``trace_debug`` is set.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from streams.settings import DEV_TRACE_USER_KEY

SCOPE = InstrumentationScope("linernotes", "0.1.0")
PROJECT = "linernotes"


SpanRecord = tuple[Any, ...]
"""(name, trace_id, span_id, parent (trace_id, span_id, is_remote) | None, kind value, start_ns, end_ns,
attributes, links [(trace_id, span_id)], error | None): what crosses to the exporter process."""


USER_ATTR = "enduser.id"  # recorded raw in process; exported only with trace_debug
PSEUDO_USER_ATTR = "enduser.pseudo.id"
TEXT_ATTR = "linernotes.story.text"  # exported only with trace_debug


@dataclass(frozen=True)
class Privacy:
    key: bytes = DEV_TRACE_USER_KEY.encode()
    debug: bool = False

    def pseudonym(self, user: str) -> str:
        return hmac.new(self.key, user.encode(), hashlib.sha256).hexdigest()[:32]

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


def resource(service: str) -> Resource:
    return Resource.create({"service.name": service, "openinference.project.name": PROJECT})


def readable(rec: SpanRecord, res: Resource, privacy: Privacy) -> ReadableSpan:
    name, trace_id, span_id, parent, kind, start_ns, end_ns, attributes, links, error = rec
    attributes = privacy.scrub(attributes)
    status = Status(StatusCode.ERROR, error) if error else Status(StatusCode.UNSET)
    return ReadableSpan(
        name=name, context=SpanContext(trace_id, span_id, False, TraceFlags(1)),
        parent=SpanContext(parent[0], parent[1], parent[2], TraceFlags(1)) if parent else None, resource=res,
        attributes=attributes, links=[Link(SpanContext(t, s, True, TraceFlags(1))) for t, s in links],
        kind=SpanKind(kind), status=status, start_time=start_ns, end_time=max(end_ns, start_ns),
        instrumentation_scope=SCOPE,
    )  # fmt: skip


class SpanSink:
    """Where finished spans go: ``emit`` must be cheap, it runs on the worker's hot path."""

    def emit(self, rec: SpanRecord) -> None: ...

    def flush(self, timeout_ms: int = 5000) -> bool:
        return True

    def shutdown(self) -> None: ...


class SdkSink(SpanSink):
    """In process, through an SDK span processor (tests with an in-memory exporter)."""

    def __init__(self, processor: SpanProcessor, service: str, privacy: Privacy | None = None) -> None:
        self.processor, self.resource, self.privacy = processor, resource(service), privacy or Privacy()

    def emit(self, rec: SpanRecord) -> None:
        self.processor.on_end(readable(rec, self.resource, self.privacy))

    def flush(self, timeout_ms: int = 5000) -> bool:
        return bool(self.processor.force_flush(timeout_ms))

    def shutdown(self) -> None:
        self.processor.shutdown()
