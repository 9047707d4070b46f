"""Claims a reader takes as facts, found in a story's text: names (of the sheet or not), numbers,
dates, times of day, superlatives, and words that claim what the sheet does not have ("album",
"tour"). See ``inference.grounding`` for how each is checked."""

from __future__ import annotations

import re
from functools import cache

from english_words import get_english_words_set

from schemas.genres import genre_names
from schemas.records import Fact, FactSheet

from .claim_text import Claim, Found, Text, normalize
from .claims_numbers import find_dates, find_numbers, find_times_of_day
from .vocabulary import (
    _COMMON_GENRE_WORDS,
    _ENTITY_TYPES,
    _FILLERS,
    _INVENTIONS,
    _MONTHS,
    _STOP,
    _SUPERLATIVES,
    _UNITS,
    _WEEKDAYS,
)


def _name_pattern(name: str, case_sensitive: bool) -> re.Pattern[str]:
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(r"(?<![\w])" + re.escape(name) + r"(?![\w])", flags)


def _known_names(sheet: FactSheet) -> list[tuple[str, Fact]]:
    names = [(f.value, f) for f in sheet.facts if f.type in _ENTITY_TYPES and f.value.strip()]
    return sorted(names, key=lambda nf: -len(nf[0]))


def _cap_run(t: Text, start: int, end: int) -> tuple[int, int]:
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


def _match_entities(t: Text, sheet: FactSheet, claims: Found) -> None:
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


def _superlatives(t: Text, claims: Found) -> None:
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


def _inventions(t: Text, claims: Found, sheet: FactSheet) -> None:
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


def _genres(t: Text, claims: Found) -> None:
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


def _capitalised(t: Text, claims: Found) -> None:
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


def extract_claims(text: str, sheet: FactSheet) -> Found:
    """Claims in order of appearance, each with the fact it was matched to by name (if any) or a reason."""
    t = Text(normalize(text))
    claims: Found = []
    _match_entities(t, sheet, claims)
    find_dates(t, claims, sheet)
    find_times_of_day(t, claims, sheet)
    find_numbers(t, claims)
    _superlatives(t, claims)
    _inventions(t, claims, sheet)
    _genres(t, claims)
    _capitalised(t, claims)
    claims.sort(key=lambda c: c[0].start)
    return claims
