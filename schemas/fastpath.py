"""A hand-specialised Avro writer for ``UserFeatures``, the biggest record written at volume (one
snapshot per changed listener per flush).

fastavro's generic writer walks the schema for every record; this one is the schema written out, and
caches the encodings of names that repeat across listeners. Its bytes are identical to fastavro's for
the current schema: ``tests/unit/schemas/test_fastpath.py`` checks that on generated records, so a
schema change that is not mirrored here fails the tests instead of corrupting data. Kept with the
event reader ``schemas/fastread.py`` as the codec's fast path (docs/decisions.md, decision 12).
"""

from __future__ import annotations

import struct
from typing import Any

_MAX_CACHE = 200_000


def _uvarint_slow(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Table-driven varints: 14 bits per lookup instead of 7 bits per loop turn (event times take 3).
_FINAL14 = [_uvarint_slow(i) for i in range(1 << 14)]  # the last group(s): no continuation bit at the end
_CONT14 = [bytes(((i & 0x7F) | 0x80, ((i >> 7) & 0x7F) | 0x80)) for i in range(1 << 14)]  # more follows


def _uvarint(n: int) -> bytes:
    if n < 0x4000:
        return _FINAL14[n]
    parts = []
    while n >= 0x4000:
        parts.append(_CONT14[n & 0x3FFF])
        n >>= 14
    parts.append(_FINAL14[n])
    return b"".join(parts)


def varint_long(n: int) -> bytes:
    """Avro ``long``: zig-zag, then little-endian base-128 varint (small ones from a table, without
    calling ``_uvarint``: a Python call costs more than the lookup, and a request or a snapshot writes
    dozens of longs)."""
    n = (n << 1) ^ (n >> 63)
    return _FINAL14[n] if n < 0x4000 else _uvarint(n)


def avro_string(s: str) -> bytes:
    b = s.encode()
    n = len(b) << 1
    return (_FINAL14[n] if n < 0x4000 else _uvarint(n)) + b


# -- UserFeatures ------------------------------------------------------------------------------
# Nested windows and arrays of records: where a generic writer's walk of the schema costs most.

_double = struct.Struct("<d").pack


_long = varint_long


_names: dict[str, bytes] = {}


def _name(s: str) -> bytes:
    """``avro_string`` for names that repeat across users (artists, genres, windows): cached."""
    b = _names.get(s)
    if b is None:
        if len(_names) >= _MAX_CACHE:
            _names.clear()
        b = _names[s] = avro_string(s)
    return b


def _counted(items: list[dict[str, Any]]) -> bytes:
    """An Avro array of Counted {name, count} records."""
    if not items:
        return b"\x00"
    parts = [_long(len(items))]
    final = _FINAL14
    for c in items:
        parts.append(_name(c["name"]))
        n = c["count"]
        parts.append(final[n << 1] if 0 <= n < 0x2000 else _long(n))
    parts.append(b"\x00")
    return b"".join(parts)


def _scored(items: list[dict[str, Any]]) -> bytes:
    """An Avro array of Scored {name, score} records."""
    if not items:
        return b"\x00"
    parts = [_long(len(items))]
    for c in items:
        parts.append(_name(c["name"]))
        parts.append(_double(c["score"]))
    parts.append(b"\x00")
    return b"".join(parts)


class UserFeaturesWriter:
    def __init__(self, schema_id: int) -> None:
        self.header = b"\x00" + schema_id.to_bytes(4, "big")

    def encode(self, f: dict[str, Any]) -> bytes:
        parts = [
            self.header,
            avro_string(f["user_id"]),
            _long(f["as_of"]),
            _long(f["total_plays"]),
            _long(f["total_ms_played"]),
            _double(f["skip_rate"]),
            _double(f["skip_rate_7d"]),
            _long(f["plays_1h"]),
            _long(f["plays_24h"]),
            _long(f["plays_7d"]),
            _double(f["minutes_24h"]),
            _double(f["minutes_7d"]),
        ]
        windows = f["windows"]
        if windows:
            parts.append(_long(len(windows)))
            tops: dict[int, bytes] = {}  # windows reaching back to the same event share their lists
            for w in windows:
                ta, tg = w["top_artists"], w["top_genres"]
                eta = tops.get(id(ta))
                if eta is None:
                    eta = tops[id(ta)] = _counted(ta)
                etg = tops.get(id(tg))
                if etg is None:
                    etg = tops[id(tg)] = _counted(tg)
                parts += (
                    _name(w["name"]),
                    _long(w["start"]),
                    _long(w["end"]),
                    _long(w["plays"]),
                    _double(w["minutes"]),
                    eta,
                    etg,
                )
        parts.append(b"\x00")
        parts += (
            _scored(f["top_artists"]),
            _scored(f["top_genres"]),
            _counted(f["artist_plays"]),
            _long(f["streak_days"]),
            _long(f["longest_streak_days"]),
            _counted(f["genre_streaks"]),
            _long(f["distinct_artists"]),
            _long(f["new_artists_7d"]),
            _long(f["sessions"]),
        )
        last = f["last_session"]
        if last is None:
            parts.append(b"\x00")
        else:
            parts += (
                b"\x02",
                _long(last["start"]),
                _long(last["end"]),
                _long(last["plays"]),
                _double(last["minutes"]),
                _long(last["skips"]),
                b"\x00" if last["top_artist"] is None else b"\x02" + avro_string(last["top_artist"]),
            )
        profile = f["hour_profile"]
        if profile:
            parts.append(_long(len(profile)))
            parts.append(struct.pack(f"<{len(profile)}d", *profile))
        parts.append(b"\x00")
        parts.append(_long(f["late_events"]))
        return b"".join(parts)
