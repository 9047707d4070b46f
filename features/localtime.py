"""Local time of day from an event's UTC time and its IANA time zone (``ListeningEvent.tz``).

``update`` needs a play's local hour for every event it applies (tens of thousands a second), and a
``zoneinfo`` lookup costs a few microseconds. :func:`span` returns a zone's UTC offset together
with the interval of UTC time over which that offset holds, so a caller keeps the offset while its
events stay inside the interval; the intervals are cached per (zone, UTC day) in a bounded dict.
A day in which the zone's offset changes (a daylight-saving switch) is split at the exact switch
(found by bisection to the millisecond), so plays on either side of it get their own offset.

A zone name that is unknown (not in the tz database, or not a zone name at all) counts as no zone:
local time is unknown and no time-of-day word is written. Nothing here reads the environment or a
clock; the tz database is data, as the catalog is.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

from features.config import DAY_MS, HOUR_MS

MAX_SPANS: Final = 100_000  # cached (zone, day) entries; cleared when full (a listener's zone changes rarely)
MAX_ZONES: Final = 2_000  # zone names looked up (the tz database has ~600; the rest are bad names in data)
UNKNOWN: Final = None
"""The offset :func:`span` gives for a missing or unknown zone."""

_zones: dict[str, ZoneInfo | None] = {}
latest: dict[str | None, tuple[int | None, int, int]] = {None: (None, -(1 << 62), 1 << 62)}
"""The span :func:`span` last gave for each zone: a caller checks ``lo <= t < hi`` itself and calls
:func:`span` only when ``t`` is outside (``update`` sees one listener's few events a call, and most
listeners' plays fall in their zone's current span)."""
# (zone, UTC day) -> (offset before the switch, switch time, offset from the switch on): the switch is
# the day's end when the offset holds all day.
_spans: dict[tuple[str, int], tuple[int, int, int]] = {}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FOREVER = 1 << 62


def zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None if there is none by that name."""
    if name in _zones:
        return _zones[name]
    z: ZoneInfo | None
    try:
        z = ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError; bad keys a ValueError
        z = None
    if len(_zones) >= MAX_ZONES:
        _zones.clear()
        for key in [k for k in latest if k is not None]:
            del latest[key]
    _zones[name] = z
    return z


def _offset_ms(z: ZoneInfo, t: int) -> int:
    off = (_EPOCH + dt.timedelta(milliseconds=t)).astimezone(z).utcoffset()
    return 0 if off is None else off // dt.timedelta(milliseconds=1)


def _day(z: ZoneInfo, day: int) -> tuple[int, int, int]:
    start, end = day * DAY_MS, (day + 1) * DAY_MS
    before, after = _offset_ms(z, start), _offset_ms(z, end - 1)
    if before == after:
        return before, end, after
    lo, hi = start, end - 1  # offset(lo) == before, offset(hi) == after: the first ms with `after`
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_ms(z, mid) == before:
            lo = mid
        else:
            hi = mid
    return before, hi, after


def span(name: str | None, t: int) -> tuple[int | None, int, int]:
    """``(offset_ms, lo, hi)``: zone ``name``'s UTC offset at ``t`` (UTC epoch millis), which holds for
    every ``lo <= t' < hi``; offset ``None`` (for all time) when the zone is missing or unknown."""
    if name is None:
        return UNKNOWN, -_FOREVER, _FOREVER
    day = t // DAY_MS
    key = (name, day)
    got = _spans.get(key)
    if got is None:
        z = zone(name)
        if z is None:
            latest[name] = (UNKNOWN, -_FOREVER, _FOREVER)
            return UNKNOWN, -_FOREVER, _FOREVER
        if len(_spans) >= MAX_SPANS:
            _spans.clear()
        got = _spans[key] = _day(z, day)
    before, switch, after = got
    found = (before, day * DAY_MS, switch) if t < switch else (after, switch, (day + 1) * DAY_MS)
    if name in _zones:  # (bounded with the zones: cleared with them)
        latest[name] = found
    return found


def local_hour(name: str | None, t: int) -> int:
    """The hour of day (0..23) at UTC time ``t`` in zone ``name``; -1 when the zone is missing or unknown."""
    off, _lo, _hi = span(name, t)
    if off is None:
        return -1
    return ((t + off) // HOUR_MS) % 24
