"""Claims of numbers, dates and times of day ("forty minutes", "a dozen", "March 3", "late night")."""

from __future__ import annotations

import re

from schemas.records import Fact, FactSheet

from .claim_text import Claim, Found, Text
from .vocabulary import (
    _FILLERS,
    _MONTHS,
    _ORDINALS,
    _SCALES,
    _SMALL,
    _TENS,
    _TIMES_OF_DAY,
    _UNITS,
    _WEEKDAYS,
    _WORD,
)


def find_dates(t: Text, claims: Found, sheet: FactSheet) -> None:
    text = t.text
    months = "|".join(_MONTHS)
    pattern = re.compile(
        rf"\b(?:({months})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({months})\b"
        rf"|({months})\b|({'|'.join(_WEEKDAYS)})s?\b|((?:19|20)\d\d)\b(?!\s*(?:-|\s)?(?:{'|'.join(_UNITS)})\b))",
        re.IGNORECASE,
    )
    dates = [f for f in sheet.facts if f.type == "DATE"]
    for m in pattern.finditer(text):
        if not t.free(m.start(), m.end()):
            continue
        if m.group(5) and m.group(5).lower() == "may" and not text[m.start()].isupper():
            continue  # the verb
        month = (m.group(1) or m.group(4) or m.group(5) or "").lower()
        day = m.group(2) or m.group(3)
        weekday = (m.group(6) or "").lower()
        year = m.group(7)

        def ok(
            f: Fact, month: str = month, day: str | None = day, weekday: str = weekday, year: str | None = year
        ) -> bool:
            v = f.value.lower()
            if month and month not in v:
                return False
            if day and not re.search(rf"(?<!\d){int(day)}(?!\d)", v):
                return False
            if weekday and weekday not in v:
                return False
            return not (year and year not in v)

        fact = next((f for f in dates if ok(f)), None)
        claims.append((Claim("date", m.group(0), m.start(), m.end()), fact, "" if fact else "date not in the facts"))
        t.take(m.start(), m.end())


def find_times_of_day(t: Text, claims: Found, sheet: FactSheet) -> None:
    tods = [f for f in sheet.facts if f.type == "TIME_OF_DAY"]
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in _TIMES_OF_DAY) + r")s?\b", re.IGNORECASE)
    for m in pattern.finditer(t.text):
        if not t.free(m.start(), m.end()):
            continue
        word = m.group(1).lower().replace("-", " ")
        fact = next((f for f in tods if word in f.value.lower().replace("-", " ")), None)
        claims.append(
            (Claim("time_of_day", m.group(0), m.start(), m.end()), fact, "" if fact else "time of day not in the facts")
        )
        t.take(m.start(), m.end())


def _parse_number_words(words: list[str]) -> tuple[float, int] | None:
    """Leading number words -> (value, words used): "twenty-one", "one hundred and five", "a dozen"."""
    total, current, used, seen = 0, 0, 0, False
    i = 0
    while i < len(words):
        w = words[i].lower()
        parts = w.split("-")
        if len(parts) == 2 and parts[0] in _TENS and parts[1] in _SMALL:
            current += _TENS[parts[0]] + _SMALL[parts[1]]
        elif w in _SMALL:
            current += _SMALL[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES and seen:
            current = max(current, 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total, current = total + current, 0
        elif w == "dozen":
            current = max(current, 1) * 12
        elif w == "and" and seen and i + 1 < len(words) and words[i + 1].lower().split("-")[0] in {**_SMALL, **_TENS}:
            i += 1
            continue
        else:
            break
        seen = True
        i += 1
        used = i
    return (float(total + current), used) if seen else None


def find_numbers(t: Text, claims: Found) -> None:
    text = t.text
    tokens = [m for m in _WORD.finditer(text) if t.free(m.start(), m.end())]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        w = tok.group(0)
        lw = w.lower()
        value: float | None = None
        precision = 1.0
        used = 1
        unit: str | None = None
        if w[0].isdigit():
            digits = re.match(r"[\d,]*\d(?:\.(\d+))?", w)
            assert digits is not None
            value = float(digits.group(0).replace(",", ""))
            if digits.group(1):
                precision = 10.0 ** -len(digits.group(1))
            if w.endswith("%"):
                unit = "percent"
            if re.search(r"(st|nd|rd|th)$", w):
                precision = 1.0
        elif lw in ("a", "an") and i + 1 < len(tokens):
            nxt = tokens[i + 1].group(0).lower()
            if nxt == "dozen":
                value, used = 12.0, 2
            elif nxt in ("hundred", "thousand"):
                value, used = float(_SCALES[nxt]), 2
            elif nxt == "couple" and i + 2 < len(tokens) and tokens[i + 2].group(0).lower() == "of":
                value, used = 2.0, 3
            elif _UNITS.get(nxt) in ("minute", "hour", "day", "week", "month", "year"):
                value, used = 1.0, 1
        elif lw == "half" and i + 2 < len(tokens) and tokens[i + 1].group(0).lower() in ("an", "a"):
            nxt = tokens[i + 2].group(0).lower()
            if _UNITS.get(nxt) in ("minute", "hour", "day", "week"):
                value, used, precision = 0.5, 2, 0.5
            elif nxt == "dozen":
                value, used = 6.0, 3
        elif lw in _ORDINALS:
            value = float(_ORDINALS[lw])
        elif lw == "one":
            nxt = tokens[i + 1].group(0).lower() if i + 1 < len(tokens) else ""
            if nxt in _UNITS or (nxt in _FILLERS and nxt != "of"):
                value = 1.0
        else:
            parsed = _parse_number_words([tok.group(0) for tok in tokens[i : i + 6]])
            if parsed:
                value, used = parsed
        if value is None:
            i += 1
            continue
        # the counted noun: "47 minutes", "47-minute", "12 different tracks", "seven-day"
        j = i + used
        end = tokens[i + used - 1].end()
        hyphen_unit = re.match(r"[\d.,]+-([a-z]+)", lw) or re.match(r"[a-z]+-([a-z]+)$", lw)
        if hyphen_unit and hyphen_unit.group(1) in _UNITS:
            unit = _UNITS[hyphen_unit.group(1)]
        skipped = 0
        while unit is None and j < len(tokens) and skipped <= 2:
            nxt = tokens[j].group(0).lower()
            if nxt in _UNITS:
                unit = _UNITS[nxt]
                end = tokens[j].end()
                break
            if nxt.split("-")[-1] in _UNITS and "-" in nxt:
                unit = _UNITS[nxt.split("-")[-1]]
                end = tokens[j].end()
                break
            if nxt not in _FILLERS:
                break
            skipped += 1
            j += 1
        start = tok.start()
        claims.append((Claim("number", text[start:end], start, end, value, unit, precision), None, ""))
        t.take(start, end)
        i = max(i + used, j + 1 if unit and j > i else i + used)
