"""The OTLP encoder the exporter process uses: short records by template, the rest field by field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.tracing.otlp import _attributes, _len, _span, _str
from streams.tracing.otlp_short import encode_short
from streams.tracing.records import SCOPE, Privacy, resource, split


class Encoder:
    """``ExportTraceServiceRequest`` bytes for a batch of records of one service."""

    def __init__(self, service: str, privacy: Privacy) -> None:
        self._encode_short = encode_short
        self.privacy = privacy
        res = resource(service)
        self._resource = _len(1, _attributes(1, dict(res.attributes)))
        self._scope = _len(1, _str(1, SCOPE.name) + (_str(2, SCOPE.version) if SCOPE.version else b""))

    def encode(self, records: Iterable[tuple[Any, ...]]) -> bytes:
        privacy = self.privacy
        if privacy.debug:  # raw user ids go out too: the generic path writes them
            spans = b"".join(_len(2, _span(r, privacy)) for rec in records for r in split(rec))
        else:  # the feature worker's short records (most spans) from templates, see streams.tracing.otlp_short
            spans = b"".join(
                self._encode_short(rec, privacy) if rec[0].__class__ is int else _len(2, _span(rec, privacy))
                for rec in records
            )
        return _len(1, self._resource + _len(2, self._scope + spans))
