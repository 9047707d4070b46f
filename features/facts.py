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
import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

from features.config import MINUTE_MS
from schemas.records import Fact, FactSheet, StoryRequest

PARTS_OF_DAY = (("late night", 0, 5), ("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 22),
                ("late night", 22, 24))  # fmt: skip
_PART_OF_HOUR = tuple(next(name for name, lo, hi in PARTS_OF_DAY if lo <= h < hi) for h in range(24))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip


class Trigger(NamedTuple):
    """A trigger that fired, before its fact sheet is written. ``args`` depend on the kind (see
    the ``_facts_*`` functions); they are plain values, so a trigger pickles small and cheap."""

    event_time: int
    kind: str
    key: str
    user: str
    args: tuple[Any, ...]


def part_of_day(hour: int) -> str:
    return _PART_OF_HOUR[hour]


def date_text(t_ms: int) -> str:
    """``Monday, March 3, 2025`` in UTC (tables, not strftime: no locale, and fast)."""
    d = dt.datetime.fromtimestamp(t_ms / 1000, tz=dt.UTC)
    return f"{_WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}"


def story_id(user: str, kind: str, key: str) -> str:
    return "st-" + hashlib.sha256(f"{user}\x1f{kind}\x1f{key}".encode()).hexdigest()[:24]


def _seed(sid: str) -> int:
    return int(sid[3:19], 16) & ((1 << 62) - 1)


def _n(count: float, noun: str) -> str:
    count = round(count)
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def fact_count(name: str, count: float, noun: str, unit: str | None = None) -> Fact:
    return Fact(name, "NUMBER", _n(count, noun), float(round(count)), unit or noun)


def fact_minutes(name: str, ms: int) -> Fact:
    minutes = max(1, round(ms / MINUTE_MS))
    return Fact(name, "DURATION", _n(minutes, "minute"), float(minutes), "minute")


# -- one writer per kind: (key fact, facts) from the trigger's args ---------------------------------


def _facts_session(ms: int, plays: int, start_hour: int, top: str | None, skips: int, new: int) -> list[Fact]:
    facts = [fact_minutes("minutes", ms), fact_count("tracks", plays, "track"),
             Fact("time_of_day", "TIME_OF_DAY", part_of_day(start_hour))]  # fmt: skip
    if top is not None:
        facts.append(Fact("top_artist", "ARTIST", top))
    if skips:
        facts.append(fact_count("skips", skips, "skip"))
    if new:
        facts.append(fact_count("new_artists", new, "new artist", "artist"))
    return facts


def _facts_milestone(n: int, artist: str, track: str, first_played: int) -> list[Fact]:
    return [fact_count("play_count", n, "play"), Fact("artist", "ARTIST", artist), Fact("track", "TRACK", track),
            Fact("first_played", "DATE", date_text(first_played))]  # fmt: skip


def _facts_discovery(artist: str, track: str, new_7d: int, genre: str | None) -> list[Fact]:
    facts = [Fact("artist", "ARTIST", artist), Fact("track", "TRACK", track),
             fact_count("new_artists_7d", new_7d, "new artist", "artist")]  # fmt: skip
    if genre is not None:
        facts.append(Fact("genre", "GENRE", genre))
    return facts


def _facts_streak(run: int) -> list[Fact]:
    return [Fact("streak_days", "STREAK", _n(run, "day"), float(run), "day")]


def _facts_time_of_day(new_part: str, old_part: str, pct: int) -> list[Fact]:
    return [Fact("new_time_of_day", "TIME_OF_DAY", new_part), Fact("old_time_of_day", "TIME_OF_DAY", old_part),
            Fact("share", "NUMBER", f"{pct}%", float(pct), "percent")]  # fmt: skip


def _facts_weekly(ms: int, top: str, plays: int, week_start: int, genre: str | None, new: int) -> list[Fact]:
    d = dt.datetime.fromtimestamp(week_start / 1000, tz=dt.UTC)
    facts = [fact_minutes("minutes", ms), Fact("top_artist", "ARTIST", top), fact_count("plays", plays, "play"),
             Fact("week_of", "DATE", f"{MONTHS[d.month - 1]} {d.day}")]  # fmt: skip
    if genre:
        facts.append(Fact("top_genre", "GENRE", genre))
    if new:
        facts.append(fact_count("new_artists", new, "new artist", "artist"))
    return facts


_WRITERS: dict[str, tuple[str, Callable[..., list[Fact]]]] = {
    "SESSION_RECAP": ("minutes", _facts_session),
    "MILESTONE": ("play_count", _facts_milestone),
    "DISCOVERY": ("artist", _facts_discovery),
    "STREAK": ("streak_days", _facts_streak),
    "TIME_OF_DAY_SHIFT": ("new_time_of_day", _facts_time_of_day),
    "WEEKLY_DIGEST": ("minutes", _facts_weekly),
}


def request(t: Trigger | tuple[Any, ...]) -> StoryRequest:
    """The ``StoryRequest`` of a fired trigger: its fact sheet and deterministic story id."""
    event_time, kind, key, user, args = t
    key_fact, write = _WRITERS[kind]
    sid = story_id(user, kind, key)
    return StoryRequest(sid, user, kind, key, event_time, FactSheet(key_fact, tuple(write(*args))), seed=_seed(sid))
