"""One exception root for the contract package."""

from __future__ import annotations


class SchemaError(Exception):
    """Root of every error raised by :mod:`schemas`."""


class RegistryError(SchemaError):
    """The schema registry refused a request or could not be reached."""


class RegistryUnavailable(RegistryError):
    """The registry could not answer: unreachable, timed out, or an error of its own (5xx, 408, 429).

    An outage, not a verdict on any message: whoever holds the messages waits it out
    (:mod:`schemas.retry`) and decodes them again. ``schema_id`` is the id being looked up, if any."""

    def __init__(self, reason: str, *, schema_id: int | None = None) -> None:
        super().__init__(reason)
        self.schema_id = schema_id


class SchemaNotFound(RegistryError):
    """The registry answered that it has no schema with this id: messages naming it are bad data."""


class DecodeError(SchemaError):
    """A message could not be decoded. Keeps the raw bytes so nothing is lost (DLQ)."""

    def __init__(self, reason: str, raw: bytes | None, *, schema_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.schema_id = schema_id
