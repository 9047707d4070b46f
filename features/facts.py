"""Fact sheets: a fired trigger's raw numbers and names, written as a ``StoryRequest``.

Detection (``features.triggers``) runs for every listener's batch on the worker's hot path, so it
records only what it found: a :class:`Trigger`, a tuple of the kind, the key, the event time and
the raw values the facts need, all read off the state at that moment. Writing the facts (number
words, dates, the story id's hash) is deterministic formatting of those values; the feature worker
leaves it to its publishing helper process, the replay and the tests call it inline. Both give the
same request for the same trigger.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

from features.config import DAY_MS, MINUTE_MS
from schemas.records import Fact, FactSheet, StoryRequest

PARTS_OF_DAY = (
    ("late night", 0, 5),
    ("morning", 5, 12),
    ("afternoon", 12, 17),
    ("evening", 17, 22),
    ("late night", 22, 24),
)
_PART_OF_HOUR = tuple(next(name for name, lo, hi in PARTS_OF_DAY if lo <= h < hi) for h in range(24))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class Trigger(NamedTuple):
    """A trigger that fired, before its fact sheet is written. ``args`` depend on the kind (see
    the ``_facts_*`` functions); they are plain values, so a trigger pickles small and cheap."""

    event_time: int
    kind: str
    key: str
    user: str
    args: tuple[Any, ...]


new_trigger: Callable[[tuple[int, str, str, str, tuple[Any, ...]]], Trigger] = functools.partial(tuple.__new__, Trigger)
"""A :class:`Trigger` from its fields as one tuple, without the Python-level ``__new__`` of a named
tuple (a function call for every trigger)."""


def part_of_day(hour: int) -> str:
    return _PART_OF_HOUR[hour]


def date_text(t_ms: int) -> str:
    """``Monday, March 3, 2025`` in UTC (tables, not strftime: no locale, and fast)."""
    day = t_ms // DAY_MS
    text = _dates.get(day)
    if text is None:
        d = dt.datetime.fromtimestamp(day * (DAY_MS // 1000), tz=dt.UTC)
        text = _remember(_dates, day, f"{_WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}")
    return text


def story_id(user: str, kind: str, key: str) -> str:
    return "st-" + hashlib.sha256(f"{user}\x1f{kind}\x1f{key}".encode()).hexdigest()[:24]


_SEED_MASK = (1 << 62) - 1  # a request's seed: the story id's first 16 hex digits, masked


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


FactRow = tuple[str, str, str, float | None, str | None]
"""A fact as its fields (name, type, value, number, unit): what the writers below return."""


# Facts recur across listeners and days ("3 tracks", "12 minutes", a date): each is written once and
# kept (a worker's helper writes thousands of fact sheets a second in a backlog), up to a bound.
MAX_REMEMBERED = 100_000
_counts: dict[tuple[str, int, str, str | None], FactRow] = {}
_minutes: dict[tuple[str, int], FactRow] = {}
_dates: dict[int, str] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= MAX_REMEMBERED:
        cache.clear()
    cache[key] = value
    return value


def _f(name: str, type_: str, value: str) -> FactRow:
    return name, type_, value, None, None


def fact_count(name: str, count: float, noun: str, unit: str | None = None) -> FactRow:
    n = round(count)
    row = _counts.get((name, n, noun, unit))
    if row is None:
        row = _remember(_counts, (name, n, noun, unit), (name, "NUMBER", _n(n, noun), float(n), unit or noun))
    return row


def fact_minutes(name: str, ms: int) -> FactRow:
    minutes = max(1, round(ms / MINUTE_MS))
    row = _minutes.get((name, minutes))
    if row is None:
        row = _remember(_minutes, (name, minutes), (name, "DURATION", _n(minutes, "minute"), float(minutes), "minute"))
    return row


# -- one writer per kind: the facts from the trigger's args (the key fact's name: _WRITERS) -----------
# (The writers of the frequent kinds spell their plain facts out, as ``_f`` would write them: a Python
# call costs more than the tuple it returns.)


def _facts_session(ms: int, plays: int, start_hour: int, top: str | None, skips: int, new: int) -> list[FactRow]:
    """``start_hour``: the local hour of the session's start; -1 (zone unknown): no time of day."""
    facts = [fact_minutes("minutes", ms), fact_count("tracks", plays, "track")]
    if start_hour >= 0:
        facts.append(("time_of_day", "TIME_OF_DAY", _PART_OF_HOUR[start_hour], None, None))
    if top is not None:
        facts.append(("top_artist", "ARTIST", top, None, None))
    if skips:
        facts.append(fact_count("skips", skips, "skip"))
    if new:
        facts.append(fact_count("new_artists", new, "new artist", "artist"))
    return facts


def _facts_milestone(n: int, artist: str, track: str, first_played: int) -> list[FactRow]:
    return [
        fact_count("play_count", n, "play"),
        ("artist", "ARTIST", artist, None, None),
        ("track", "TRACK", track, None, None),
        ("first_played", "DATE", date_text(first_played), None, None),
    ]


def _facts_discovery(artist: str, track: str, new_7d: int, genre: str | None) -> list[FactRow]:
    facts = [
        _f("artist", "ARTIST", artist),
        _f("track", "TRACK", track),
        fact_count("new_artists_7d", new_7d, "new artist", "artist"),
    ]
    if genre is not None:
        facts.append(_f("genre", "GENRE", genre))
    return facts


def _facts_streak(run: int) -> list[FactRow]:
    return [("streak_days", "STREAK", _n(run, "day"), float(run), "day")]


def _facts_time_of_day(new_part: str, old_part: str, pct: int) -> list[FactRow]:
    return [
        _f("new_time_of_day", "TIME_OF_DAY", new_part),
        _f("old_time_of_day", "TIME_OF_DAY", old_part),
        ("share", "NUMBER", f"{pct}%", float(pct), "percent"),
    ]


def _facts_weekly(ms: int, top: str, plays: int, week_start: int, genre: str | None, new: int) -> list[FactRow]:
    d = dt.datetime.fromtimestamp(week_start / 1000, tz=dt.UTC)
    facts = [
        fact_minutes("minutes", ms),
        _f("top_artist", "ARTIST", top),
        fact_count("plays", plays, "play"),
        _f("week_of", "DATE", f"{MONTHS[d.month - 1]} {d.day}"),
    ]
    if genre:
        facts.append(_f("top_genre", "GENRE", genre))
    if new:
        facts.append(fact_count("new_artists", new, "new artist", "artist"))
    return facts


_WRITERS: dict[str, tuple[str, Callable[..., list[FactRow]]]] = {
    "SESSION_RECAP": ("minutes", _facts_session),
    "MILESTONE": ("play_count", _facts_milestone),
    "DISCOVERY": ("artist", _facts_discovery),
    "STREAK": ("streak_days", _facts_streak),
    "TIME_OF_DAY_SHIFT": ("new_time_of_day", _facts_time_of_day),
    "WEEKLY_DIGEST": ("minutes", _facts_weekly),
}


def request_fields(t: Trigger | tuple[Any, ...]) -> tuple[str, str, str, str, int, str, list[FactRow], int]:
    """A fired trigger's ``StoryRequest`` as its fields: story id, user, kind, trigger key, event time,
    key fact, facts (rows) and seed."""
    event_time, kind, key, user, args = t
    key_fact, write = _WRITERS[kind]
    sid = story_id(user, kind, key)
    return sid, user, kind, key, event_time, key_fact, write(*args), int(sid[3:19], 16) & _SEED_MASK


def request(t: Trigger | tuple[Any, ...]) -> StoryRequest:
    """The ``StoryRequest`` of a fired trigger: its fact sheet and deterministic story id."""
    sid, user, kind, key, event_time, key_fact, rows, seed = request_fields(t)
    return StoryRequest(sid, user, kind, key, event_time, FactSheet(key_fact, tuple(Fact(*r) for r in rows)), seed=seed)
