"""One exception root for the contract package."""

from __future__ import annotations


class SchemaError(Exception):
    """Root of every error raised by :mod:`schemas`."""


class RegistryError(SchemaError):
    """The schema registry refused a request or could not be reached."""


class DecodeError(SchemaError):
    """A message could not be decoded. Keeps the raw bytes so nothing is lost (DLQ)."""

    def __init__(self, reason: str, raw: bytes | None, *, schema_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.schema_id = schema_id
