"""The small grammar of numbers, durations and dates a story may use, and what each phrase claims.

A phrase claims a range of one quantity in one unit: "nearly an hour" claims 50-59 minutes, "a
week-long streak" 7 days, "18 tracks" exactly 18 tracks. The gate then looks for the one fact of that
unit whose number lies in the range (``inference.grounding.gate``). The grammar is deliberately
small: a phrase it cannot read is left to the gate, which refuses what it cannot bind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .text import Token

SMALL = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORDINALS = {
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "twentieth": 20,
    "twenty-fifth": 25,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
    "hundredth": 100,
    "two-hundredth": 200,
    "five-hundredth": 500,
    "thousandth": 1000,
}

MINUTES_PER_HOUR = 60.0
_UNITS = range(1, 10)  # the "one" of "twenty-one": one to nine
_FIRST_YEAR, _LAST_YEAR = 1900, 2100  # the years a number may name
_MAX_DAY = 31  # of a month

# noun -> (unit, multiplier to the unit's base: minutes for durations, days for streaks)
NOUNS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("minute", "minutes", "min", "mins"), ("minute", 1.0)),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), ("minute", MINUTES_PER_HOUR)),
    **dict.fromkeys(("day", "days"), ("day", 1.0)),
    **dict.fromkeys(("week", "weeks"), ("day", 7.0)),
    "fortnight": ("day", 14.0),
    **dict.fromkeys(("track", "tracks", "song", "songs", "tune", "tunes"), ("track", 1.0)),
    **dict.fromkeys(
        ("play", "plays", "listen", "listens", "spin", "spins", "stream", "streams", "time", "times"), ("play", 1.0)
    ),
    **dict.fromkeys(("artist", "artists", "band", "bands", "act", "acts"), ("artist", 1.0)),
    **dict.fromkeys(("skip", "skips"), ("skip", 1.0)),
    **dict.fromkeys(("percent", "%"), ("percent", 1.0)),
}
# Words between a number and its noun that change nothing it claims ("7 straight days"), and "new",
# which makes it a count of first plays ("3 new artists").
FILLERS = frozenset({"straight", "consecutive", "full", "whole", "different", "solid"})
NEW = frozenset({"new", "first-time"})
# Words before a number that widen what it claims: below, above, or around it.
BELOW = ("nearly", "almost")
ABOVE = ("over",)
AROUND = ("about", "around", "roughly")
TWO_WORD = {("just", "under"): "below", ("just", "over"): "above", ("more", "than"): "above"}


@dataclass(frozen=True, slots=True)
class Quantity:
    start: int  # token indexes [start, end)
    end: int
    unit: str  # "minute" | "day" | "track" | "play" | "artist" | "skip" | "percent" | "" (no noun)
    lo: float
    hi: float
    new: bool = False  # "new artists": a count of first plays
    ordinal: bool = False  # "your 100th play"


def _word_number(word: str) -> float | None:
    if word in SMALL:
        return float(SMALL[word])
    if word in TENS:
        return float(TENS[word])
    tens, _, unit = word.partition("-")
    if tens in TENS and SMALL.get(unit, 0) in _UNITS:
        return float(TENS[tens] + SMALL[unit])
    return None


def _number(toks: list[Token], i: int) -> tuple[float, int, bool, str] | None:
    """The number starting at token ``i``: (value, tokens used, is ordinal, a noun glued on by a
    hyphen as in "seven-day" or "" )."""
    t = toks[i]
    low = t.low
    nxt = toks[i + 1].low if i + 1 < len(toks) else ""
    if t.kind == "num":
        value = _value(t)
        if t.suffix == "%":
            return value, 1, False, "%"
        if i + 2 < len(toks) and nxt == "-" and toks[i + 2].low in NOUNS:  # "47-minute"
            return value, 3, False, toks[i + 2].low
        return value, 1, t.suffix in ("st", "nd", "rd", "th"), ""
    if low in ORDINALS:
        return float(ORDINALS[low]), 1, True, ""
    if (low in ("a", "an", "one") and nxt == "hundred") or low == "hundred":
        return 100.0, 2 if low != "hundred" else 1, False, ""
    if low in ("a", "an"):
        if nxt == "dozen":
            return 12.0, 2, False, ""
        if nxt in ("hour", "week", "day", "minute", "fortnight"):
            return 1.0, 1, False, ""
        if nxt in ("full", "whole", "solid") and i + 2 < len(toks) and toks[i + 2].low in ("hour", "week", "day"):
            return 1.0, 2, False, ""
        if nxt in ("week-long", "day-long", "hour-long"):
            return 1.0, 2, False, nxt.split("-")[0]
        return None
    if low == "half" and nxt in ("a", "an") and i + 2 < len(toks) and toks[i + 2].low == "hour":
        return 0.5, 2, False, ""
    head, _, glued = low.partition("-")
    word_value = _word_number(low)
    if word_value is None and glued in NOUNS:  # "seven-day", "two-hour"
        number = _word_number(head)
        return (number, 1, False, glued) if number is not None else None
    if word_value is None:
        return None
    value = word_value
    if nxt == "hundred":
        return value * 100, 2, False, ""
    return value, 1, False, ""


def _modifier(toks: list[Token], i: int) -> tuple[str, int]:
    """A widening word just before token ``i``: ("below" | "above" | "around" | "", its start)."""
    pair = tuple(t.low for t in toks[max(0, i - 2) : i])
    if pair in TWO_WORD:
        return TWO_WORD[pair], i - 2
    if i >= 1:
        w = toks[i - 1].low
        for name, words in (("below", BELOW), ("above", ABOVE), ("around", AROUND)):
            if w in words:
                return name, i - 1
    return "", i


def _widen(value: float, unit: str, how: str) -> tuple[float, float]:
    """The range a widened number claims. Durations: 10 minutes below, under half an hour above, 5
    minutes around; streaks: a day below or around; counts: 10% below or above, 5% around."""
    if how == "":
        return value, value
    if unit == "minute":
        return {"below": (value - 10, value - 1), "above": (value + 1, value + 29), "around": (value - 5, value + 5)}[
            how
        ]
    if unit == "day":
        return {"below": (value - 1, value - 1), "above": (value + 1, value + 1), "around": (value - 1, value + 1)}[how]
    if unit == "percent":  # a share is stated exactly or not at all
        return math.inf, -math.inf
    if how == "below":
        return max(value * 0.9, value - 2), value - 1
    if how == "above":
        return value + 1, min(value * 1.1, value + 2)
    return value - max(1.0, value * 0.05), value + max(1.0, value * 0.05)


def read_quantity(toks: list[Token], i: int) -> Quantity | None:
    """The quantity phrase whose number starts at token ``i``, or None if no number starts there."""
    parsed = _number(toks, i)
    if parsed is None:
        return None
    value, used, ordinal, glued = parsed
    j = i + used
    new = False
    unit, mult = NOUNS.get(glued, ("", 1.0))
    if not unit:
        while j < len(toks) and (toks[j].low in FILLERS or toks[j].low in NEW):
            new = new or toks[j].low in NEW
            j += 1
        if j < len(toks) and toks[j].low == "per" and j + 1 < len(toks) and toks[j + 1].low == "cent":
            unit, mult, j = "percent", 1.0, j + 2
        elif j < len(toks) and toks[j].low in NOUNS:
            unit, mult = NOUNS[toks[j].low]
            j += 1
        else:
            j = i + used  # no noun: the fillers are not part of it
    elif glued in ("week", "day", "hour") and j < len(toks) and toks[j].low in ("streak", "run"):
        pass  # "a week-long streak": the noun is the fact's own
    minutes = value * mult
    if unit == "minute" and value < 1 and mult == MINUTES_PER_HOUR:  # "half an hour"
        minutes = MINUTES_PER_HOUR / 2
    # "an hour and 14 minutes", "1 hour 14 minutes", "an hour and a half"
    if unit == "minute" and mult == MINUTES_PER_HOUR and j < len(toks):
        k = j + (toks[j].low == "and")
        if (
            k + 2 < len(toks) + 1
            and k < len(toks)
            and toks[k].low in ("a", "an")
            and k + 1 < len(toks)
            and (toks[k + 1].low == "half")
        ):
            minutes, j = minutes + 30, k + 2
        elif k < len(toks):
            more = _number(toks, k)
            if more and not more[2] and k + more[1] < len(toks) and toks[k + more[1]].low in ("minute", "minutes"):
                minutes, j = minutes + more[0], k + more[1] + 1
    how, start = _modifier(toks, i)
    after_a_count = start > 0 and (toks[start - 1].slot or toks[start - 1].low in NOUNS)
    if how == "above" and toks[start].low == "over" and (unit != "minute" or after_a_count):
        how, start = "", i  # "47 minutes over 18 tracks", "18 tracks over 47 minutes": a preposition
    lo, hi = _widen(minutes if unit == "minute" else value * mult, unit, how)
    if unit == "" and value == 1 and not ordinal and toks[i].low == "one":
        return None  # "one of", "the one": a pronoun, not a claim (a bare "1" still is)
    return Quantity(start, j, unit, lo, hi, new, ordinal)


# --- dates --------------------------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = (
    {m: n for n, m in enumerate(MONTHS, 1)} | {m[:3]: n for n, m in enumerate(MONTHS, 1) if m != "may"} | {"sept": 9}
)
_WEEKDAY = {d: n for n, d in enumerate(WEEKDAYS)} | {d[:3]: n for n, d in enumerate(WEEKDAYS)}


@dataclass(frozen=True, slots=True)
class DateClaim:
    start: int
    end: int
    weekday: int | None
    month: int | None
    day: int | None
    year: int | None


def _value(t: Token) -> float:
    """A number token's value ("1,690" is 1690)."""
    return float(t.text.replace(",", ""))


def _month(t: Token) -> int | None:
    if t.text == "may":  # the verb (the month is "May")
        return None
    return _MONTH.get(t.low)


def read_date(toks: list[Token], i: int) -> DateClaim | None:
    """A date starting at token ``i``: "Monday, November 2, 2026", "Nov 2nd", "2 November", "Monday",
    "November", "2026"."""
    j, weekday = i, None
    if toks[j].low in _WEEKDAY and toks[j].kind == "word":
        weekday = _WEEKDAY[toks[j].low]
        j += 1
        if j < len(toks) and toks[j].text == ",":
            j += 1
    month = day = year = None
    if j < len(toks) and _month(toks[j]) is not None:
        month = _month(toks[j])
        j += 1
        if j < len(toks) and toks[j].kind == "num" and toks[j].suffix != "%" and 1 <= _value(toks[j]) <= _MAX_DAY:
            day = int(_value(toks[j]))
            j += 1
    elif j + 1 < len(toks) and toks[j].kind == "num" and toks[j].suffix != "%" and _month(toks[j + 1]) is not None:
        day, month = int(_value(toks[j])), _month(toks[j + 1])
        j += 2
    elif j + 2 < len(toks) and toks[j].kind == "num" and toks[j + 1].low == "of" and _month(toks[j + 2]):
        day, month = int(_value(toks[j])), _month(toks[j + 2])
        j += 3
    if month is not None or weekday is not None:
        k = j + (j < len(toks) and toks[j].text == ",")
        if (
            k < len(toks)
            and toks[k].kind == "num"
            and not toks[k].suffix
            and _FIRST_YEAR <= _value(toks[k]) <= _LAST_YEAR
        ):
            year, j = int(_value(toks[k])), k + 1
    elif (
        toks[i].kind == "num"
        and not toks[i].suffix
        and toks[i].text.isdigit()
        and _FIRST_YEAR <= int(toks[i].text) <= _LAST_YEAR
    ):
        nxt = toks[i + 1].low if i + 1 < len(toks) else ""
        if nxt not in NOUNS and nxt != "-":
            year, j = int(toks[i].text), i + 1
    if weekday is None and month is None and year is None:
        return None
    return DateClaim(i, j, weekday, month, day, year)
