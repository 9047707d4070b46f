"""The OTLP encoder the exporter process uses: every span record, field by field (streams.tracing.otlp)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.tracing.otlp import _attributes, _len, _span, _str
from streams.tracing.records import SCOPE, Privacy, resource, split


class Encoder:
    """``ExportTraceServiceRequest`` bytes for a batch of records of one service."""

    def __init__(self, service: str, privacy: Privacy) -> None:
        self.privacy = privacy
        res = resource(service)
        self._resource = _len(1, _attributes(1, dict(res.attributes)))
        self._scope = _len(1, _str(1, SCOPE.name) + (_str(2, SCOPE.version) if SCOPE.version else b""))

    def encode(self, records: Iterable[tuple[Any, ...]]) -> bytes:
        privacy = self.privacy
        spans = b"".join(_len(2, _span(r, privacy)) for rec in records for r in split(rec))
        return _len(1, self._resource + _len(2, self._scope + spans))
