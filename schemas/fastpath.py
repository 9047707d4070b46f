"""A hand-specialised Avro writer for ``ListeningEvent``, the one record type produced at volume.

fastavro's generic writer walks the schema for every record; this one is the schema written out,
and caches the encodings of repeated values (ids, enums, reasons). Its bytes are identical to fastavro's for the
current schema: ``tests/unit/test_fastpath.py`` checks that on generated records, so a schema
change that is not mirrored here fails the tests instead of corrupting data.
"""

from __future__ import annotations

import struct
from typing import Any

from schemas.records import CONTEXT_TYPES, PLATFORMS

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


_PLATFORM = {p: varint_long(i) for i, p in enumerate(PLATFORMS)}
_CONTEXT = {c: varint_long(i) for i, c in enumerate(CONTEXT_TYPES)}
_NULL = varint_long(0)
_SOME = varint_long(1)
_BOOL = {False: b"\x00", True: b"\x01"}


def avro_string(s: str) -> bytes:
    b = s.encode()
    n = len(b) << 1
    return (_FINAL14[n] if n < 0x4000 else _uvarint(n)) + b


class ListeningEventWriter:
    """Encodes ListeningEvent dicts to framed Confluent wire-format bytes."""

    def __init__(self, schema_id: int) -> None:
        self.header = b"\x00" + schema_id.to_bytes(4, "big")
        self._strings: dict[str, bytes] = {}
        self._optional: dict[str | None, bytes] = {None: _NULL}

    def _s(self, s: str) -> bytes:
        cache = self._strings
        b = cache.get(s)
        if b is None:
            if len(cache) > _MAX_CACHE:
                cache.clear()
            b = cache[s] = avro_string(s)
        return b

    def _o(self, s: str | None) -> bytes:
        cache = self._optional
        b = cache.get(s)
        if b is None:
            if len(cache) > _MAX_CACHE:
                cache.clear()
                cache[None] = _NULL
            b = cache[s] = _SOME + avro_string(s)  # type: ignore[arg-type]
        return b

    def encode(self, e: dict[str, Any]) -> bytes:
        strings, optional = self._strings, self._optional
        ctx = e["context"]
        user, track, country, r_start, r_end, uri, tz = (
            e["user_id"],
            e["track_id"],
            e["country"],
            e["reason_start"],
            e["reason_end"],
            ctx["uri"],
            e.get("tz"),  # (absent in a dict made for the schema before it: null, its default)
        )
        return b"".join(
            (
                self.header,
                avro_string(e["event_id"]),
                strings.get(user) or self._s(user),
                strings.get(track) or self._s(track),
                varint_long(e["event_time"]),
                varint_long(e["ms_played"]),
                _PLATFORM[e["platform"]],
                optional.get(country) or self._o(country),
                strings.get(r_start) or self._s(r_start),
                strings.get(r_end) or self._s(r_end),
                _BOOL[e["shuffle"]],
                _BOOL[e["skipped"]],
                _BOOL[e["offline"]],
                _CONTEXT[ctx["type"]],
                optional.get(uri) or self._o(uri),
                optional.get(tz) or self._o(tz),
            )
        )


# -- UserFeatures ------------------------------------------------------------------------------
# Snapshots are published once per changed user per flush, and are the biggest records written
# (nested windows, arrays of records), where a generic writer's walk of the schema costs most. This
# writer mirrors the schema field by field; tests/unit/test_fastpath.py checks it byte for byte
# against fastavro.

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
