"""Fact sheets: the only facts a story may state, and the conventions every kind follows.

A fact sheet (``schemas.records.FactSheet``) names a ``key_fact`` and lists typed facts. The
conventions below are what triggers produce and what the templates and the checker rely on:

- ``value`` is the display text, exactly as a story may print it: ``"47 minutes"``, ``"Radiohead"``,
  ``"late night"``, ``"Monday, March 3"``.
- ``number`` and ``unit`` carry the quantity of NUMBER, DURATION and STREAK facts. Durations are in
  minutes (``unit="minute"``), streaks in days (``unit="day"``), counts in their noun
  (``"track"``, ``"play"``, ``"artist"``, ``"skip"``, ``"session"``), shares in ``"percent"``.
- A fact whose name starts with ``top_``, ``most_``, ``longest_`` or ``record_`` licenses a
  superlative ("your top artist", "your longest session") in a sentence that names its value.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.records import Fact, FactSheet

# The facts each story kind is written from: (required, optional). Triggers emit these names.
KIND_FACTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "SESSION_RECAP": (("minutes", "tracks"), ("top_artist", "time_of_day", "skips", "new_artists")),
    "MILESTONE": (("play_count", "artist"), ("track", "first_played")),
    "DISCOVERY": (("artist",), ("genre", "track", "plays", "new_artists_7d")),
    "STREAK": (("streak_days",), ("genre", "top_artist")),
    "TIME_OF_DAY_SHIFT": (("new_time_of_day", "old_time_of_day"), ("share",)),
    "WEEKLY_DIGEST": (("minutes", "top_artist"), ("top_genre", "plays", "new_artists", "week_of")),
}


class FactSheetError(ValueError):
    """A fact sheet that breaks the conventions above."""


def facts_by_name(sheet: FactSheet) -> dict[str, Fact]:
    return {f.name: f for f in sheet.facts}


def key_fact(sheet: FactSheet) -> Fact:
    for f in sheet.facts:
        if f.name == sheet.key_fact:
            return f
    raise FactSheetError(f"key fact {sheet.key_fact!r} is not among the facts")


def validate(kind: str, sheet: FactSheet) -> None:
    """Raise FactSheetError unless the sheet has its key fact and the facts its kind requires."""
    key_fact(sheet)
    required, _ = KIND_FACTS.get(kind, ((), ()))
    names = facts_by_name(sheet)
    missing = [n for n in required if n not in names]
    if missing:
        raise FactSheetError(f"{kind} fact sheet lacks {', '.join(missing)}")
    for f in sheet.facts:
        if f.type in ("NUMBER", "DURATION", "STREAK") and f.number is None:
            raise FactSheetError(f"fact {f.name!r} of type {f.type} has no number")


def to_json(sheet: FactSheet, kind: str = "OTHER") -> str:
    return json.dumps({"kind": kind, **sheet.to_avro()}, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | bytes) -> tuple[str, FactSheet]:
    """Parse the model's FACT_SHEET input: (kind, sheet)."""
    try:
        d: dict[str, Any] = json.loads(text)
        return str(d.get("kind", "OTHER")), FactSheet.from_avro(d)
    except (ValueError, KeyError, TypeError) as e:
        raise FactSheetError(f"not a fact sheet: {e}") from e


def label(fact: Fact) -> str:
    return fact.name.replace("_", " ")


def render(sheet: FactSheet) -> str:
    """The facts as prompt lines, key fact first."""
    ordered = sorted(sheet.facts, key=lambda f: f.name != sheet.key_fact)
    return "\n".join(f"- {label(f)}: {f.value}" for f in ordered)
