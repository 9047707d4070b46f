"""Deterministic template stories: several per kind, chosen by seed. The floor the model must beat.

A template only prints fact values (display text such as "47 minutes", "50 plays", "7 days", see
``inference.factsheet``) in the words of the house style (``docs/stories.md``), so it states nothing
the sheet does not. The truth gate still checks every template story, and the tests run every
template over the evaluation set's sheets.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

from schemas.records import Fact, FactSheet

from .factsheet import facts_by_name

TEMPLATES: dict[str, tuple[str, ...]] = {
    "SESSION_RECAP": (
        "Your {time_of_day} session ran {minutes} across {tracks}, with {top_artist} leading the way.",
        "{minutes} and {tracks}: your {time_of_day} session, with {top_artist} setting the tone.",
        "That was {minutes} of music over {tracks}, and {top_artist} got the most plays.",
        "Session wrapped: {tracks} in {minutes}, and you found {new_artists}.",
        "Session wrapped: {tracks} in {minutes}.",
    ),
    "MILESTONE": (
        "You have now given {artist} {play_count}.",
        "{artist} just reached {play_count} with you, the latest being {track}.",
        "{play_count} for {artist}, since you first pressed play on {first_played}.",
        "{artist} hit {play_count} in your library.",
    ),
    "DISCOVERY": (
        "New to you: {artist}, found through {track}.",
        "You found {artist} through {track} and kept listening.",
        "A new {genre} voice in your rotation: {artist}.",
        "{artist} is one of {new_artists_7d} you found in the last seven days.",
        "First time with {artist}, and {plays} to start.",
    ),
    "STREAK": (
        "You have listened {streak_days} in a row.",
        "{streak_days} of {genre} in a row, and counting.",
        "{streak_days} in a row with music, and counting.",
        "Streak check: {streak_days} without a silent day.",
    ),
    "TIME_OF_DAY_SHIFT": (
        "You are listening in the {new_time_of_day} now, not the {old_time_of_day} as before.",
        "Your listening moved from the {old_time_of_day} to the {new_time_of_day}.",
        "The {new_time_of_day} took {share} of your listening, a change from your usual {old_time_of_day}.",
    ),
    "WEEKLY_DIGEST": (
        "Your week: {minutes} of music, led by {top_artist}.",
        "The week of {week_of}: {minutes} and {plays}, with {top_artist} and {top_genre} on top.",
        "This week you found {new_artists} and spent {minutes} listening; {top_artist} was your top artist.",
        "{minutes} this week, and {top_artist} was the name you kept coming back to.",
    ),
}


@dataclass(frozen=True, slots=True)
class TemplateStory:
    text: str
    template_id: str
    facts_used: tuple[str, ...]


@cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _reads_well(template: str, names: dict[str, Fact]) -> bool:
    """A template saying "one of {x}" needs x to count at least two ("one of 1 new artist" does not read)."""
    for f in _fields(template):
        number = names[f].number
        if "one of {" + f + "}" in template and number is not None and number <= 1:
            return False
    return True


def usable(kind: str, sheet: FactSheet) -> list[tuple[int, str]]:
    """(index, template) pairs of this kind whose every placeholder the sheet can fill, and fill well."""
    names = facts_by_name(sheet)
    return [
        (i, t)
        for i, t in enumerate(TEMPLATES.get(kind, ()))
        if all(f in names for f in _fields(t)) and _reads_well(t, names)
    ]


def render(kind: str, sheet: FactSheet, seed: int = 0) -> TemplateStory:
    """A template story for the sheet; which of the usable templates is picked depends on the seed only."""
    names = facts_by_name(sheet)
    options = [(i, t) for i, t in usable(kind, sheet) if sheet.key_fact in _fields(t)]
    if not options:  # no template of the kind covers the key fact: state it plainly
        key = names[sheet.key_fact]
        in_a_row = " in a row" if key.type == "STREAK" else ""  # a streak's days are consecutive days
        text = f"Here's one from your listening: {key.value}{in_a_row}."
        return TemplateStory(text, f"template:{kind.lower()}/plain", (key.name,))
    i, template = options[seed % len(options)]
    fields = _fields(template)
    text = template.format(**{f: names[f].value for f in fields})
    return TemplateStory(text[0].upper() + text[1:], f"template:{kind.lower()}/{i}", tuple(dict.fromkeys(fields)))
