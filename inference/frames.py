"""Slot frames: a story with ``{slot}`` where each fact goes, filled from the fact sheet by code.

The story model writes frames ("Your {time_of_day} session ran {minutes} across {tracks}."), not
stories: every name and number then comes from the sheet, right by construction, and the truth gate
only has the words around them to judge. A frame is refused before filling when it names a slot the
sheet does not have, states a fact twice, writes a number or a name of its own, or puts a slot in a role
its value cannot have (the same rules the gate reads off a story's skeleton).
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache
from importlib import resources

from schemas.records import FactSheet

from .factsheet import facts_by_name
from .grounding import kind_of, roles

_DIGIT = re.compile(r"\d")
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand dozen".split()
)


class FrameError(ValueError):
    """A frame the writer must not fill."""


@dataclass(frozen=True, slots=True)
class Frame:
    text: str
    slots: tuple[str, ...]


@cache
def parse(frame: str) -> Frame:
    """The frame and its slots in order; raises FrameError for a malformed one ("{", "{}", "{a!r}")."""
    try:
        parts = list(string.Formatter().parse(frame))
    except ValueError as e:
        raise FrameError(f"malformed frame: {e}") from e
    slots = []
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            raise FrameError(f"malformed slot {{{name}}}")
        slots.append(name)
    return Frame(frame, tuple(slots))


def _names(words: str) -> list[str]:
    """Capitalised words that open no sentence (nor follow a colon): names the frame made up."""
    out, opener = [], True
    for m in re.finditer(r"[A-Za-z][\w'-]*|[.!?:]", words):
        w = m.group(0)
        if w in ".!?:":
            opener = True
            continue
        if not opener and w[0].isupper() and w not in ("SLOT", "I"):
            out.append(w)
        opener = False
    return out


def problems(frame: str, sheet: FactSheet, kind: str = "") -> list[str]:
    """Why ``frame`` may not be filled from ``sheet`` (empty when it may): facts of its own, or slots in
    roles their values cannot have (``grounding.roles``: "{tracks} led", "across {time_of_day}"), whatever
    the values. ``kind`` is the story's kind; without it, the kind the sheet's facts belong to."""
    try:
        f = parse(frame)
    except FrameError as e:
        return [str(e)]
    names = facts_by_name(sheet)
    out = [f"unknown slot {{{s}}}" for s in dict.fromkeys(f.slots) if s not in names]
    out += [f"slot {{{s}}} twice" for s in dict.fromkeys(f.slots) if f.slots.count(s) > 1]
    # "in the last seven days" is the house style's phrase for a 7-day count, not a number of its own
    words = re.sub(r"\{[^{}]*\}", "SLOT", re.sub(r"\b(?:last|past) seven days\b", "week", frame))
    if _DIGIT.search(words):
        out.append("a number of its own")
    if any(w in _NUMBER_WORDS for w in re.findall(r"[a-z]+", words.lower())):
        out.append("a number word of its own")
    named = _names(words)
    if named:
        out.append(f"a name of its own: {named[0]!r}")
    if sheet.key_fact not in f.slots:
        out.append(f"no slot for the key fact {{{sheet.key_fact}}}")
    out += roles.problems(roles.skeleton_of_frame(frame), kind or kind_of(sheet))
    return out


def fill(frame: str, sheet: FactSheet) -> str:
    """The story: the frame with each slot replaced by its fact's value. Raises FrameError when
    ``problems`` finds any."""
    found = problems(frame, sheet)
    if found:
        raise FrameError("; ".join(found))
    names = facts_by_name(sheet)
    text = frame.format(**{s: names[s].value for s in parse(frame).slots})
    return text[0].upper() + text[1:] if text else text


@cache
def house_frames() -> dict[str, tuple[str, ...]]:
    """The house-style frames by kind (``inference/data/frames.jsonl``): what the model is trained on."""
    text = resources.files("inference").joinpath("data", "frames.jsonl").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            d = json.loads(line)
            out.setdefault(d["kind"], []).append(d["frame"])
    return {k: tuple(v) for k, v in out.items()}


@cache
def _house_skeletons(kind: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(roles.skeleton_of_frame(f).split()) for f in house_frames().get(kind, ()))


@lru_cache(maxsize=8192)  # a model repeats its frames; the comparison is the costly part of ranking
def likeness(frame: str, kind: str) -> float:
    """How close ``frame`` is to the nearest house frame of its kind, word for word with the slots as
    words: 1.0 for a house frame, near 0 for nothing in common. The model recombines house frames; the
    further it strays from them, the likelier an editor finds the words around the facts wanting."""
    words = tuple(roles.skeleton_of_frame(frame).split())
    return max((SequenceMatcher(None, words, h, autojunk=False).ratio() for h in _house_skeletons(kind)), default=0.0)
