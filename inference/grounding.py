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

from dataclasses import dataclass, field

from schemas.records import Fact, FactSheet

from .claim_text import Claim, normalize, sentence_span
from .claims import extract_claims
from .factsheet import SUPERLATIVE_PREFIXES
from .vocabulary import (
    _MINUTES,
    _NUMERIC_TYPES,
)


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
            s, e = sentence_span(norm, claim.start)
            sentence = norm[s:e]
            f = next((f for f in licensed if f.value and f.value.lower() in sentence.lower()), None)
            why = "licensed by a top/most fact" if f else "superlative without a top/most fact in its sentence"
            checks.append(ClaimCheck(claim, f is not None, f.name if f else None, why))
    used = tuple(dict.fromkeys(c.fact for c in checks if c.supported and c.fact))
    key = next((f for f in facts if f.name == sheet.key_fact), None)
    covers = key is not None and (key.name in used or (key.type == "TEXT" and key.value.lower() in norm.lower()))
    return GroundingReport(tuple(checks), covers, used, tuple(problems))


__all__ = ["Claim", "ClaimCheck", "GroundingReport", "check", "extract_claims", "normalize"]
