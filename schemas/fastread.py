"""A hand-specialised reader for ``ListeningEvent`` bodies written with the current schema.

Every event the worker reads is decoded, so a generic reader's walk of the schema is paid per event.
:func:`read_listening_event_core` keeps only the fields the feature path reads (:data:`CORE_FIELDS`, the
time zone among them) and checks the rest of the body without building it. It refuses every body that
fastavro (:class:`schemas.codec.Decoder`'s reference) refuses, raising ``ValueError``, ``IndexError`` or
``UnicodeDecodeError``, which the Decoder turns into a dead letter; for a body both accept, it returns
the values fastavro returns. It also refuses some bodies that fastavro reads but no Avro writer writes:
booleans other than 0 and 1, negative union branches and enum indexes (which fastavro's Python list
indexing reads from the end), longs past 64 bits (which fastavro truncates). tests/unit/schemas/
test_fastread.py checks this against fastavro.
"""

from __future__ import annotations

from typing import Any

from schemas.records import CONTEXT_TYPES, PLATFORMS

_N_PLATFORMS, _N_CONTEXT_TYPES = len(PLATFORMS), len(CONTEXT_TYPES)
CORE_FIELDS = ("event_id", "user_id", "track_id", "event_time", "ms_played", "skipped", "tz")


def _read_long(b: bytes, pos: int) -> tuple[int, int]:
    byte = b[pos]
    pos += 1
    n = byte & 0x7F
    shift = 7
    while byte & 0x80:
        byte = b[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        shift += 7
    # fastavro accumulates in 64 bits: past them its value is no longer the varint's.
    if shift > 63 and n >> 64:
        raise ValueError("long varint past 64 bits")
    return (n >> 1) ^ -(n & 1), pos


def _read_string(b: bytes, pos: int) -> tuple[str, int]:
    n, pos = _read_long(b, pos)
    end = pos + n
    if n < 0 or end > len(b):
        raise ValueError("string runs past the end of the message")
    return b[pos:end].decode(), end


def _optional(b: bytes, pos: int) -> tuple[str | None, int]:
    branch, pos = _read_long(b, pos)
    if branch == 0:
        return None, pos
    if branch != 1:
        raise ValueError(f"bad union branch {branch}")
    return _read_string(b, pos)


def _enum(b: bytes, pos: int, n_symbols: int) -> int:
    index, pos = _read_long(b, pos)
    if not 0 <= index < n_symbols:
        raise ValueError(f"bad enum index {index}")
    return pos


def _parse(b: bytes, pos: int) -> dict[str, Any]:
    """The general reader: any varint lengths, every string decoded, every malformed body refused."""
    rs = _read_string
    event_id, pos = rs(b, pos)
    user_id, pos = rs(b, pos)
    track_id, pos = rs(b, pos)
    event_time, pos = _read_long(b, pos)
    ms_played, pos = _read_long(b, pos)
    pos = _enum(b, pos, _N_PLATFORMS)
    pos = _optional(b, pos)[1]  # country
    pos = rs(b, rs(b, pos)[1])[1]  # reason_start, reason_end
    shuffle, skipped, offline = b[pos], b[pos + 1], b[pos + 2]
    if shuffle > 1 or skipped > 1 or offline > 1:
        raise ValueError("bad boolean")
    pos = _enum(b, pos + 3, _N_CONTEXT_TYPES)
    pos = _optional(b, pos)[1]  # context uri
    tz, pos = _optional(b, pos)
    if pos != len(b):
        raise ValueError(f"{len(b) - pos} trailing bytes")
    return _core(event_id, user_id, track_id, event_time, ms_played, skipped, tz)


def _core(
    event_id: str, user_id: str, track_id: str, event_time: int, ms_played: int, skipped: int, tz: str | None
) -> dict[str, Any]:
    """The :data:`CORE_FIELDS` record."""
    return {
        "event_id": event_id,
        "user_id": user_id,
        "track_id": track_id,
        "event_time": event_time,
        "ms_played": ms_played,
        "skipped": skipped == 1,
        "tz": tz,
    }


def _skip_short_optional(b: bytes, p: int) -> int:
    """Past a ``["null", "string"]`` at ``p`` whose string (if any) has a one-byte length; -1 otherwise."""
    n = b[p]
    if n == 0:
        return p + 1
    if n == 2 and not b[p + 1] & 0x81:
        return p + 2 + (b[p + 1] >> 1)
    return -1


def read_listening_event_core(b: bytes, pos: int = 5) -> dict[str, Any]:
    """Only :data:`CORE_FIELDS`, after checking the whole body (``pos``: after the 5-byte header).

    The common case inline: every string shorter than 64 bytes (one length byte), enums and union
    branches in one byte. Anything else, including every malformed body, goes to :func:`_parse`,
    which validates and raises."""
    n = b[pos]
    if n & 0x81:  # a length of 64+ bytes (continuation bit) or a negative one
        return _parse(b, pos)
    p = pos + 1 + (n >> 1)
    event_id = b[pos + 1 : p].decode()
    n = b[p]
    if n & 0x81:
        return _parse(b, pos)
    q = p + 1 + (n >> 1)
    user_id = b[p + 1 : q].decode()
    n = b[q]
    if n & 0x81:
        return _parse(b, pos)
    p = q + 1 + (n >> 1)
    track_id = b[q + 1 : p].decode()
    event_time, p = _read_long(b, p)
    ms_played, p = _read_long(b, p)
    rest = p  # from here to the end: the strings that are skipped, and the zone
    n = b[p]  # platform
    if n & 0x81 or (n >> 1) >= _N_PLATFORMS:
        return _parse(b, pos)
    p = _skip_short_optional(b, p + 1)  # country
    if p < 0:
        return _parse(b, pos)
    for _ in (0, 1):  # reason_start, reason_end
        n = b[p]
        if n & 0x81:
            return _parse(b, pos)
        p += 1 + (n >> 1)
    shuffle, skipped, offline, ctx = b[p], b[p + 1], b[p + 2], b[p + 3]
    if shuffle > 1 or skipped > 1 or offline > 1 or ctx & 0x81 or (ctx >> 1) >= _N_CONTEXT_TYPES:
        return _parse(b, pos)
    p = _skip_short_optional(b, p + 4)  # context uri
    if p < 0:
        return _parse(b, pos)
    n = b[p]  # tz: null, or a zone name shorter than 64 bytes (IANA names are at most ~30)
    if n == 0:
        tz = None
        p += 1
    elif n == 2 and not b[p + 1] & 0x81:
        q = p + 2 + (b[p + 1] >> 1)
        tz = b[p + 2 : q].decode()
        p = q
    else:
        return _parse(b, pos)
    if p != len(b):
        return _parse(b, pos)
    # The skipped strings must be UTF-8, as fastavro decodes them. One decode of everything after
    # ms_played checks them all: on this path every other byte there (one-byte lengths, union
    # branches, enum indexes, booleans) is below 0x80, which is never part of a multi-byte sequence,
    # so the whole decodes exactly when each string does. _parse says which string did not.
    try:
        b[rest:].decode()
    except UnicodeDecodeError:
        return _parse(b, pos)
    return _core(event_id, user_id, track_id, event_time, ms_played, skipped, tz)
