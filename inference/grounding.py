"""The grounding checker: every claim in a story must be backed by the fact sheet.

``check(text, sheet)`` extracts the claims a reader would take as facts and checks each one:

- **names**: the fact sheet's artist/track/genre/album names (whole words, longest first, so "Jeff Beck"
  is never read as "Beck"); any other capitalised name, quoted title or genre word is an *unsupported*
  entity, and so is a known name that is only part of a longer one ("Air" inside "Air Supply");
- **numbers** in digits or words ("40", "forty", "a dozen", "half an hour", "10th", "62%") with the noun
  they count. Counts must be equal. Durations convert between units and may be rounded to the precision
  the text states: "three hours" is supported by 178 minutes (2.97 h), "two hours" is not;
- **dates and times of day**: weekdays, months with their day, years, and "morning"/"late night"...,
  checked against DATE and TIME_OF_DAY facts;
- **superlatives** ("top", "most", "favorite", "longest"...): supported only in a sentence that names
  the value of a fact licensed for superlatives (``top_*``, ``most_*``, ``longest_*``, ``record_*``).

A story is grounded when every claim is supported and one of them is the key fact. The checker errs
towards rejecting: a false rejection costs a template story, a false acceptance publishes a lie.
Relative times ("yesterday", "this week") are not treated as claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from english_words import get_english_words_set

from schemas.genres import genre_names
from schemas.records import Fact, FactSheet

from .factsheet import SUPERLATIVE_PREFIXES
from .vocabulary import (
    _COMMON_GENRE_WORDS,
    _ENTITY_TYPES,
    _FILLERS,
    _INVENTIONS,
    _MINUTES,
    _MONTHS,
    _NUMERIC_TYPES,
    _ORDINALS,
    _SCALES,
    _SMALL,
    _STOP,
    _SUPERLATIVES,
    _TENS,
    _TIMES_OF_DAY,
    _UNITS,
    _WEEKDAYS,
    _WORD,
)


@dataclass(frozen=True, slots=True)
class Claim:
    kind: str  # "entity" | "number" | "date" | "time_of_day" | "superlative"
    text: str
    start: int
    end: int
    number: float | None = None
    unit: str | None = None
    precision: float = 1.0


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    claim: Claim
    supported: bool
    fact: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class GroundingReport:
    checks: tuple[ClaimCheck, ...]
    covers_key_fact: bool
    facts_used: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def grounded(self) -> bool:
        return self.covers_key_fact and not self.problems and all(c.supported for c in self.checks)

    @property
    def unsupported(self) -> tuple[ClaimCheck, ...]:
        return tuple(c for c in self.checks if not c.supported)

    def summary(self) -> str:
        if self.grounded:
            return "grounded"
        parts = [f"{c.claim.text!r}: {c.reason}" for c in self.unsupported]
        parts += list(self.problems)
        if not self.covers_key_fact:
            parts.append("key fact not stated")
        return "; ".join(parts)


# --- extraction ---------------------------------------------------------------------------------


class _Text:
    """The text plus which characters have been claimed already."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.taken = bytearray(len(text))
        self.sentences = [(m.start(), m.end()) for m in _sentences(text)]

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def take(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def sentence_of(self, pos: int) -> tuple[int, int]:
        for s, e in self.sentences:
            if s <= pos < e:
                return s, e
        return 0, len(self.text)

    def sentence_start(self, pos: int) -> bool:
        s, _ = self.sentence_of(pos)
        head = self.text[s:pos]
        return not re.search(r"[A-Za-z0-9]", head)


def _sentences(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"[^.!?\n]+(?:[.!?]+|$)", text))


def normalize(text: str) -> str:
    return (
        text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
        .replace("\u2013", "-").replace("\u2014", " - ").replace("\u00a0", " ")
    )  # fmt: skip


def _name_pattern(name: str, case_sensitive: bool) -> re.Pattern[str]:
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(r"(?<![\w])" + re.escape(name) + r"(?![\w])", flags)


def _known_names(sheet: FactSheet) -> list[tuple[str, Fact]]:
    names = [(f.value, f) for f in sheet.facts if f.type in _ENTITY_TYPES and f.value.strip()]
    return sorted(names, key=lambda nf: -len(nf[0]))


def _cap_run(t: _Text, start: int, end: int) -> tuple[int, int]:
    """Grow [start, end) over adjacent capitalised words (a name this one may be part of)."""
    text = t.text
    s, e = start, end
    while True:
        m = re.search(r"([A-Z][\w'.&\-]*)\s+$", text[max(0, s - 40) : s])
        if not m or m.group(1).lower().strip("'") in _STOP:
            break
        s = s - (len(text[max(0, s - 40) : s]) - m.start())
    while True:  # capitalised words, or a bare number ("Crimson Pilots 10" is not "Crimson Pilots")
        m = re.match(r"\s+([A-Z][\w'.&\-]*|\d+\b)", text[e : e + 40])
        if not m or m.group(1).lower().strip("'.") in _STOP or m.group(1).lower() in _WEEKDAYS + _MONTHS:
            break
        if m.group(1)[0].isdigit():  # "Crimson Pilots 10 is" extends the name; "Crimson Pilots 10 times" does not
            after = re.match(r"[\s-]*([A-Za-z%]+)", text[e + m.end() : e + m.end() + 30])
            if after and (after.group(1).lower() in _UNITS or after.group(1).lower() in _FILLERS):
                break
        e += m.end()
    return s, e


def _match_entities(t: _Text, sheet: FactSheet, claims: list[tuple[Claim, Fact | None, str]]) -> None:
    text = t.text
    # quoted titles first: a quoted span must be a name from the sheet, exactly
    for m in re.finditer(r'"([^"\n]{1,80})"|(?<![\w])\'([A-Z][^\'\n]{1,60})\'(?![\w])', text):
        inner = (m.group(1) or m.group(2) or "").strip()
        fact = next((f for name, f in _known_names(sheet) if name.lower() == inner.lower()), None)
        claim = Claim("entity", inner, m.start(), m.end())
        claims.append((claim, fact, "" if fact else "quoted title is not in the facts"))
        t.take(m.start(), m.end())
    for name, fact in _known_names(sheet):
        case_sensitive = fact.type in ("ARTIST", "TRACK", "ALBUM") and name != name.lower()
        for m in _name_pattern(name, case_sensitive).finditer(text):
            if not t.free(m.start(), m.end()):
                continue
            s, e = _cap_run(t, m.start(), m.end()) if fact.type in ("ARTIST", "TRACK", "ALBUM") else m.span()
            if (s, e) != m.span() and t.free(s, e):
                run = text[s:e]
                claims.append((Claim("entity", run, s, e), None, f"names {run!r}, not {name!r}"))
                t.take(s, e)
                continue
            claims.append((Claim("entity", m.group(0), m.start(), m.end()), fact, ""))
            t.take(m.start(), m.end())
    for name, fact in _known_names(sheet):  # part of a name ("cosmic rivers" for Cosmic Rivers 42) is another name
        words = name.split()
        if fact.type not in ("ARTIST", "TRACK", "ALBUM") or len(words) < 3:
            continue
        for size in range(len(words) - 1, 1, -1):
            for i in range(len(words) - size + 1):
                part = " ".join(words[i : i + size])
                for m in _name_pattern(part, False).finditer(text):
                    if t.free(m.start(), m.end()):
                        reason = f"{m.group(0)!r} is part of {name!r}"
                        claims.append((Claim("entity", m.group(0), m.start(), m.end()), None, reason))
                        t.take(m.start(), m.end())
    for name, fact in _known_names(sheet):  # a name in the wrong case ("the air" for Air) is no mention of it
        if fact.type in ("ARTIST", "TRACK", "ALBUM") and name != name.lower():
            for m in _name_pattern(name, False).finditer(text):
                if t.free(m.start(), m.end()):
                    claims.append(
                        (Claim("entity", m.group(0), m.start(), m.end()), None, f"{name!r} in the wrong case")
                    )
                    t.take(m.start(), m.end())


def _dates(t: _Text, claims: list[tuple[Claim, Fact | None, str]], sheet: FactSheet) -> None:
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


def _times_of_day(t: _Text, claims: list[tuple[Claim, Fact | None, str]], sheet: FactSheet) -> None:
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


def _numbers(t: _Text, claims: list[tuple[Claim, Fact | None, str]]) -> None:
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


def _superlatives(t: _Text, claims: list[tuple[Claim, Fact | None, str]]) -> None:
    pattern = re.compile(r"(?<![\w#])(" + "|".join(re.escape(w) for w in _SUPERLATIVES) + r")(?![\w])", re.IGNORECASE)
    for m in pattern.finditer(t.text):
        if t.free(m.start(), m.end()):
            claims.append((Claim("superlative", m.group(0), m.start(), m.end()), None, ""))
            t.take(m.start(), m.end())


@cache
def _dictionary() -> frozenset[str]:
    """Lower-case English words (Webster's 2nd, as shipped by the english-words package)."""
    return frozenset(w for w in get_english_words_set(["web2"], lower=False) if w.islower())


def _common_word(word: str) -> bool:
    w = word.lower().rstrip(".'!?,").removesuffix("'s")
    if w in _STOP or w.split("'")[0] in _STOP or w.split("'")[0] in {"they", "we", "don", "can", "won", "isn"}:
        return True
    words = _dictionary()
    return w in words or (w.endswith("s") and w[:-1] in words) or (w.endswith("ly") and w[:-2] in words)


@cache
def _genre_vocabulary() -> tuple[str, ...]:
    return tuple(
        sorted((g for g in genre_names() if g not in _COMMON_GENRE_WORDS and len(g) > 2), key=len, reverse=True)
    )


def _inventions(t: _Text, claims: list[tuple[Claim, Fact | None, str]], sheet: FactSheet) -> None:
    """Words like "album", "tour", "lead singer": a claim about something the sheet does not have."""
    have = {f.type for f in sheet.facts}
    words = "|".join(sorted(map(re.escape, _INVENTIONS), key=len, reverse=True))
    pattern = re.compile(r"(?<![\w-])(" + words + r")(?![\w-])", re.IGNORECASE)
    for m in pattern.finditer(t.text):
        if not t.free(m.start(), m.end()):
            continue
        needs = _INVENTIONS[m.group(1).lower()]
        if needs != "TEXT" and needs in have:
            continue  # "the album" when the sheet has an album: the name itself is checked as an entity
        claims.append(
            (
                Claim("entity", m.group(0), m.start(), m.end()),
                None,
                f"mentions a {m.group(1).lower()} the facts do not have",
            )
        )
        t.take(m.start(), m.end())


def _genres(t: _Text, claims: list[tuple[Claim, Fact | None, str]]) -> None:
    lower = t.text.lower()
    for g in _genre_vocabulary():
        start = lower.find(g)
        while start != -1:
            end = start + len(g)
            bounded = (start == 0 or not lower[start - 1].isalnum()) and (end == len(lower) or not lower[end].isalnum())
            if bounded and t.free(start, end):
                claims.append((Claim("entity", t.text[start:end], start, end), None, "genre not in the facts"))
                t.take(start, end)
            start = lower.find(g, end)


def _capitalised(t: _Text, claims: list[tuple[Claim, Fact | None, str]]) -> None:
    text = t.text
    masked = "".join("\0" if taken else c for c, taken in zip(text, t.taken, strict=True))  # what is left to read
    for m in re.finditer(r"[A-Z][\w'.&\-]*(?:\s+(?:(?:of|the|and|&|de|la|del|von|van)\s+)?[A-Z][\w'.&\-]*)*", masked):
        words = list(re.finditer(r"\S+", m.group(0)))
        # a sentence's first word is capitalised anyway: it names something only if it is no common word
        opener = t.sentence_start(m.start())
        keep = [
            w
            for k, w in enumerate(words)
            if not (
                w.group(0) in ("I", "I'm", "I've", "I'll", "I'd")
                or (k == 0 and opener and _common_word(w.group(0)))
                or (len(words) == 1 and w.group(0).lower().rstrip(".'") in _STOP)
            )
        ]
        if not keep:
            continue
        s = m.start() + keep[0].start()
        e = m.start() + keep[-1].end()
        name = text[s:e].rstrip(".'")
        claims.append((Claim("entity", name, s, s + len(name)), None, "name not in the facts"))
        t.take(s, s + len(name))


def extract_claims(text: str, sheet: FactSheet) -> list[tuple[Claim, Fact | None, str]]:
    """Claims in order of appearance, each with the fact it was matched to by name (if any) or a reason."""
    t = _Text(normalize(text))
    claims: list[tuple[Claim, Fact | None, str]] = []
    _match_entities(t, sheet, claims)
    _dates(t, claims, sheet)
    _times_of_day(t, claims, sheet)
    _numbers(t, claims)
    _superlatives(t, claims)
    _inventions(t, claims, sheet)
    _genres(t, claims)
    _capitalised(t, claims)
    claims.sort(key=lambda c: c[0].start)
    return claims


# --- checking -----------------------------------------------------------------------------------


def _numeric_support(claim: Claim, facts: list[Fact]) -> Fact | None:
    assert claim.number is not None
    c = claim.number
    for f in facts:
        if f.number is None:
            continue
        if claim.unit in _MINUTES and (f.unit in _MINUTES or f.type in ("DURATION", "STREAK")):
            fact_minutes = f.number * _MINUTES.get(f.unit or ("minute" if f.type == "DURATION" else "day"), 1.0)
            x = fact_minutes / _MINUTES[claim.unit]
            if abs(x - c) <= claim.precision / 2 + 1e-9 and (x == c or abs(x - c) / max(abs(x), 1e-9) <= 0.05):
                return f
        elif claim.unit is None or f.unit is None or claim.unit == f.unit:
            if claim.unit is None and f.unit in _MINUTES:
                if c == f.number:
                    return f
                continue
            if abs(f.number - c) < 1e-9:
                return f
    return None


def check(text: str, sheet: FactSheet) -> GroundingReport:
    """Check every claim in ``text`` against ``sheet``; see the module doc for the rules."""
    facts = list(sheet.facts)
    numeric = [f for f in facts if f.type in _NUMERIC_TYPES and f.number is not None]
    licensed = [f for f in facts if f.name.startswith(SUPERLATIVE_PREFIXES)]
    norm = normalize(text)
    checks: list[ClaimCheck] = []
    problems: list[str] = []
    if not norm.strip():
        problems.append("empty text")
    for claim, fact, reason in extract_claims(norm, sheet):
        if claim.kind in ("entity", "date", "time_of_day"):
            checks.append(ClaimCheck(claim, fact is not None, fact.name if fact else None, reason or "in the facts"))
        elif claim.kind == "number":
            f = _numeric_support(claim, numeric)
            unit = f" {claim.unit}" if claim.unit else ""
            why = "in the facts" if f else f"no fact says {claim.number:g}{unit}"
            checks.append(ClaimCheck(claim, f is not None, f.name if f else None, why))
        else:  # superlative: needs a licensed fact named in the same sentence
            s, e = _sentences_span(norm, claim.start)
            sentence = norm[s:e]
            f = next((f for f in licensed if f.value and f.value.lower() in sentence.lower()), None)
            why = "licensed by a top/most fact" if f else "superlative without a top/most fact in its sentence"
            checks.append(ClaimCheck(claim, f is not None, f.name if f else None, why))
    used = tuple(dict.fromkeys(c.fact for c in checks if c.supported and c.fact))
    key = next((f for f in facts if f.name == sheet.key_fact), None)
    covers = key is not None and (key.name in used or (key.type == "TEXT" and key.value.lower() in norm.lower()))
    return GroundingReport(tuple(checks), covers, used, tuple(problems))


def _sentences_span(text: str, pos: int) -> tuple[int, int]:
    for m in _sentences(text):
        if m.start() <= pos < m.end():
            return m.start(), m.end()
    return 0, len(text)
