"""The truth gate: a story passes only if every claim in it is bound to the one fact it claims, and
every other word is from the house vocabulary (``docs/stories.md``).

It reads the text in passes, each binding what it can and leaving the rest to the next:

1. names: each ARTIST/TRACK/GENRE/ALBUM/TEXT fact, matched without regard to case or a leading "The";
2. times of day and dates, against the sheet's TIME_OF_DAY and DATE facts;
3. phrases licensed by the kind or by a fact ("in a row" by a streak, "not the {old_time_of_day}" by a
   shift, "in the last seven days" by a 7-day count);
4. quantities (``quantities.read_quantity``), each bound to the one numeric fact of its unit whose
   number lies in the range the phrase claims ("nearly an hour": 50-59 minutes); a number of another
   fact's role ("you skipped 13 tracks" when 13 is the track count) is refused as a wrong role;
5. every word left must be a function word, a story word, or licensed by the kind or a fact on the
   sheet. Anything else is refused, with the reason a reader needs (opinion, negation, comparison,
   superlative, relative time, the world outside the plays, a leak, a name not on the sheet).

Then the facts must be in their roles (``roles``: "13 tracks led" is refused whatever the numbers), the
story must state its key fact (and what its kind must name: a milestone's artist, a shift's old
part of the day, a week's top artist), read as one or two sentences, and say no fact twice.

The gate errs towards refusing: a refusal costs a template story, an acceptance publishes a claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from inference.factsheet import KIND_FACTS
from schemas.records import Fact, FactSheet

from . import roles
from .quantities import Quantity, read_date, read_quantity
from .text import SENTENCE_END, Token, is_symbol, name_tokens, normalize, sentence_ids, tokenize
from .vocabulary import FACT_PHRASES, FACT_WORDS, FUNCTION, KIND_PHRASES, KIND_WORDS, PHRASES, REFUSED, STORY

NAME_TYPES = ("ARTIST", "TRACK", "GENRE", "ALBUM", "TEXT")
NUMERIC_TYPES = ("NUMBER", "DURATION", "STREAK")
# What a story of each kind must name besides its key fact (``docs/stories.md``, per kind).
MUST_NAME = {"MILESTONE": ("artist",), "TIME_OF_DAY_SHIFT": ("old_time_of_day",), "WEEKLY_DIGEST": ("top_artist",)}
TIMES_OF_DAY = frozenset(
    "morning mornings afternoon afternoons evening evenings night nights late-night midnight noon dawn dusk "
    "daytime nighttime night-time overnight am pm sunrise sunset".split()
)
_TOD_FORMS = {"late night": (("late", "night"), ("late-night",), ("night",), ("nights",), ("late", "nights"))}
_PUNCT_OK = frozenset(".,!?:;-()'")
_URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|net|org|io|fm|ly|me)\b", re.IGNORECASE)
_LABEL = re.compile(
    r"(?:^|[.!?] )(session|sessions|facts|minutes|tracks|plays|skips|artist|top artist|genre|share|streak days"
    r"|streak|play count|time of day|week of|first played|new artists) :"
)
MAX_WORDS = 45
MIN_WORDS = 4
MAX_SENTENCES = 2


@dataclass(frozen=True, slots=True)
class GroundingReport:
    """The gate's verdict on one text: the facts it states, and every reason it may not be published."""

    facts_used: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())
    skeleton: str = ""  # the text with each stated fact as {name}: what the listener reads, facts aside

    @property
    def grounded(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return "grounded" if self.grounded else "; ".join(self.problems)


@cache
def _common(word: str) -> bool:
    """A word the house vocabulary, the times of day or the refused lists know: ambiguous as a name."""
    known = FUNCTION | STORY | TIMES_OF_DAY | frozenset().union(*KIND_WORDS.values(), *REFUSED.values())
    return word in known or word in ("home", "time", "day", "night", "week")


def kind_of(sheet: FactSheet) -> str:
    """The kind whose required facts the sheet has (``inference.factsheet.KIND_FACTS``), most required first."""
    names = {f.name for f in sheet.facts}
    kinds = sorted(KIND_FACTS.items(), key=lambda kv: -len(kv[1][0]))
    return next((kind for kind, (required, _) in kinds if set(required) <= names), "")


@cache
def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(phrase.split())


class _Reader:
    def __init__(self, text: str, sheet: FactSheet, kind: str) -> None:
        self.text = normalize(text)
        self.sheet = sheet
        self.kind = kind or kind_of(sheet)
        self.toks = tokenize(self.text)
        self.sent = sentence_ids(self.toks)
        self.problems: list[str] = []
        self.facts = {f.name: f for f in sheet.facts}

    # -- helpers ---------------------------------------------------------------------------------

    def free(self, i: int, j: int) -> bool:
        return j <= len(self.toks) and not any(t.ok for t in self.toks[i:j])

    def bind(self, i: int, j: int, fact: str) -> None:
        for t in self.toks[i:j]:
            t.slot, t.ok = fact, True

    def allow(self, i: int, j: int) -> None:
        for t in self.toks[i:j]:
            t.ok = True

    def span(self, i: int, j: int) -> str:
        return self.text[self.toks[i].start : self.toks[j - 1].end]

    def refuse(self, why: str) -> None:
        if why not in self.problems:
            self.problems.append(why)

    # -- 1. names --------------------------------------------------------------------------------

    def names(self) -> None:
        named = [(name_tokens(f.value), f) for f in self.sheet.facts if f.type in NAME_TYPES and f.value.strip()]
        named.sort(key=lambda nf: -len(nf[0]))
        low = [t.low for t in self.toks]
        for seq, fact in named:
            n = len(seq)
            # A one-word name that is also a word a story uses otherwise ("Morning", "Home") is that name
            # only as the sheet writes it: "one morning" is a time of day, not the track.
            exact = [w.text for w in tokenize(normalize(fact.value))][-n:] if n == 1 and _common(seq[0]) else None
            for i in range(len(self.toks) - n + 1):
                if exact is not None and [t.text for t in self.toks[i : i + n]] != exact:
                    continue
                if low[i : i + n] == seq and self.free(i, i + n):
                    start = i - 1 if i > 0 and low[i - 1] == "the" and not self.toks[i - 1].ok else i
                    if start < i and start > 0 and low[start - 1] == "the":  # "in the The Velvet Poets"
                        self.refuse(f"grammar: {self.span(start - 1, i)!r}")
                    self.bind(start, i + n, fact.name)
                    self.quoted(start, i + n)

    def quoted(self, i: int, j: int) -> None:
        """Quotation marks around a bound name are the name's."""
        toks = self.toks
        if i > 0 and j < len(toks) and toks[i - 1].text == '"' and toks[j].text == '"':
            self.allow(i - 1, i)
            self.allow(j, j + 1)

    # -- 2. times of day and dates ---------------------------------------------------------------

    def times_of_day(self) -> None:
        low = [t.low for t in self.toks]
        for f in self.sheet.facts:
            if f.type != "TIME_OF_DAY":
                continue
            value = f.value.lower()
            forms = _TOD_FORMS.get(value, ((value,), (value + "s",), tuple(value.split())))
            for form in sorted(forms, key=len, reverse=True):
                n = len(form)
                for i in range(len(self.toks) - n + 1):
                    if tuple(low[i : i + n]) == form and self.free(i, i + n):
                        self.bind(i, i + n, f.name)
                        if i > 0 and low[i - 1] in ("this", "tonight", "today"):
                            self.refuse(f"relative time: {self.span(i - 1, i + n)!r}")
        for i, t in enumerate(self.toks):
            if not t.ok and (
                t.low in TIMES_OF_DAY or (t.low == "late" and i + 1 < len(low) and low[i + 1] in TIMES_OF_DAY)
            ):
                self.refuse(f"time of day not in the facts: {t.text!r}")
                t.ok = True

    def dates(self) -> None:
        facts = []
        for f in self.sheet.facts:
            if f.type == "DATE":
                d = read_date(tokenize(normalize(f.value)), 0)
                if d is not None:
                    facts.append((f, d))
        i = 0
        while i < len(self.toks):
            d = read_date(self.toks, i) if not self.toks[i].ok else None
            if d is None or not self.free(d.start, d.end):
                i += 1
                continue
            match = next(
                (
                    f
                    for f, v in facts
                    if all(
                        getattr(d, k) is None or getattr(d, k) == getattr(v, k)
                        for k in ("weekday", "month", "day", "year")
                    )
                ),
                None,
            )
            if match is None:
                self.refuse(f"date not in the facts: {self.span(d.start, d.end)!r}")
                self.allow(d.start, d.end)
            else:
                self.bind(d.start, d.end, match.name)
            i = d.end

    # -- 3. licensed phrases ---------------------------------------------------------------------

    def phrases(self) -> None:
        licensed = [p for name in self.facts for p in FACT_PHRASES.get(name, ())]
        licensed += [*KIND_PHRASES.get(self.kind, ()), *PHRASES]
        for phrase in sorted(licensed, key=lambda p: -len(_phrase_tokens(p))):
            want = _phrase_tokens(phrase)
            for i in range(len(self.toks)):
                j = self._match(want, i)
                if j is not None:
                    self.allow(i, j)

    def _match(self, want: tuple[str, ...], i: int) -> int | None:
        """End of ``want`` matched at token ``i`` (a ``{fact}`` matches that fact's bound run), or None."""
        toks, j = self.toks, i
        for w in want:
            if j >= len(toks):
                return None
            if w.startswith("{"):
                name = w[1:-1]
                if toks[j].slot != name:
                    return None
                while j < len(toks) and toks[j].slot == name:
                    j += 1
                continue
            if toks[j].ok or toks[j].low != w:
                return None
            j += 1
        return j

    # -- 4. quantities ---------------------------------------------------------------------------

    def quantities(self) -> None:
        numeric = [f for f in self.sheet.facts if f.type in NUMERIC_TYPES and f.number is not None]
        i = 0
        while i < len(self.toks):
            q = read_quantity(self.toks, i) if not self.toks[i].ok else None
            if q is None or not self.free(q.start, q.end):
                i += 1
                continue
            q = self._role(q)
            self._bind_quantity(q, numeric)
            i = q.end

    def _role(self, q: Quantity) -> Quantity:
        """Words around a count that change its role: "skipped 8 tracks", "8 of them skipped"."""
        toks = self.toks
        before = q.start - 1
        if before > 0 and toks[before].low == "you":
            before -= 1
        if q.unit == "track" and before >= 0 and toks[before].low == "skipped" and not toks[before].ok:
            return Quantity(before, q.end, "skip", q.lo, q.hi)
        if q.unit in ("track", "") and q.end < len(toks) and toks[q.end].low == "skipped":
            return Quantity(q.start, q.end + 1, "skip", q.lo, q.hi)
        if q.unit == "" and self._match(("of", "them", "skipped"), q.end) is not None:
            return Quantity(q.start, q.end + 3, "skip", q.lo, q.hi)
        return q

    def _bind_quantity(self, q: Quantity, numeric: list[Fact]) -> None:
        said = self.span(q.start, q.end)
        if q.unit == "":
            same = [f.name for f in numeric if f.number == q.lo]
            role = f" ({q.lo:g} is the {same[0].replace('_', ' ')})" if same else ""
            self.refuse(f"number without its noun: {said!r}{role}")
            self.allow(q.start, q.end)
            return
        sentence = {t.low for t, s in zip(self.toks, self.sent, strict=True) if s == self.sent[q.start]}
        discovering = bool(sentence & {"new", "discovered", "found", "discovery"})

        def unit_of(f: Fact) -> str:
            return {"DURATION": "minute", "STREAK": "day"}.get(f.type, f.unit or "")

        def fits(f: Fact) -> bool:
            if unit_of(f) != q.unit or (q.ordinal and q.unit != "play"):
                return False
            if f.name.startswith("new_") and not (q.new or discovering):
                return False
            return not (q.new and not f.name.startswith("new_"))

        candidates = [f for f in numeric if fits(f)]
        bound = next((f for f in candidates if f.number is not None and q.lo - 1e-9 <= f.number <= q.hi + 1e-9), None)
        if bound is not None:
            self.bind(q.start, q.end, bound.name)
            return
        self.allow(q.start, q.end)
        other = [f.name for f in numeric if f.number is not None and q.lo <= f.number <= q.hi and f not in candidates]
        if other:
            self.refuse(f"wrong role: {said!r} ({q.lo:g} is the {other[0].replace('_', ' ')})")
        elif q.unit in ("track", "play", "artist", "skip", "percent", "minute", "day") and not candidates:
            self.refuse(f"no such fact: {said!r}")
        else:
            self.refuse(f"no fact says {said!r}")

    # -- 5. every other word ---------------------------------------------------------------------

    def words(self) -> None:
        allowed = FUNCTION | STORY | KIND_WORDS.get(self.kind, frozenset())
        for name in self.facts:
            allowed |= FACT_WORDS.get(name, frozenset())
        tops = {s for t, s in zip(self.toks, self.sent, strict=True) if t.slot.startswith(("top_", "most_"))}
        toks = self.toks
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.ok:
                i += 1
                continue
            if t.kind == "punct":
                self._punct(t)
            elif t.kind == "num":
                self.refuse(f"number without a fact: {t.text!r}")
            elif t.low == "top" and self.sent[i] not in tops:
                self.refuse(f"superlative: {t.text!r} without the top fact in its sentence")
            elif t.low not in allowed:
                j = i + 1
                if self._is_name(i):  # gather a capitalised run into one name
                    while j < len(toks) and not toks[j].ok and toks[j].kind == "word" and toks[j].text[0].isupper():
                        j += 1
                    self.refuse(f"a name not in the facts: {self.span(i, j)!r}")
                    i = j
                    continue
                self.refuse(self._why(t))
            elif t.text[0].isupper() and t.text != "I" and self._mid_sentence(i):
                self.refuse(f"grammar: a capital letter mid-sentence: {t.text!r}")
            i += 1

    def _mid_sentence(self, i: int) -> bool:
        """Token ``i`` is neither a sentence's first word nor the first after a colon or a quote."""
        j = i - 1
        while j >= 0 and self.toks[j].kind == "punct" and self.toks[j].text in "\"'(":
            j -= 1
        return j >= 0 and not (self.toks[j].kind == "punct" and self.toks[j].text in SENTENCE_END | {":"})

    def _is_name(self, i: int) -> bool:
        t = self.toks[i]
        if not t.text[0].isupper() or t.low in (w for ws in REFUSED.values() for w in ws):
            return False
        return i > 0 and not (self.toks[i - 1].kind == "punct" and self.toks[i - 1].text in SENTENCE_END | {'"', ":"})

    @staticmethod
    def _why(t: Token) -> str:
        for reason, words in REFUSED.items():
            if t.low in words:
                return f"{reason}: {t.text!r}"
        return f"not in the house vocabulary: {t.text!r}"

    def _punct(self, t: Token) -> None:
        if t.text in _PUNCT_OK:
            return
        if t.text == "#":
            self.refuse("hashtag")
        elif t.text == "@":
            self.refuse("mention")
        elif t.text in "{}":
            self.refuse("an unfilled slot")
        elif t.text == '"':
            self.refuse("quotation marks around no name on the sheet")
        elif is_symbol(t.text):
            self.refuse(f"emoji or symbol: {t.text!r}")
        else:
            self.refuse(f"character {t.text!r}")

    # -- the whole story -------------------------------------------------------------------------

    def shape(self) -> None:
        words = sum(t.kind != "punct" for t in self.toks)
        if not self.text.strip():
            self.refuse("empty text")
            return
        if words < MIN_WORDS:
            self.refuse("too short")
        if words > MAX_WORDS:
            self.refuse(f"too long ({words} words)")
        if _URL.search(self.text):
            self.refuse("a link")
        if any(is_symbol(c) for c in self.text if not c.isspace() and c not in _PUNCT_OK):
            sym = next(c for c in self.text if is_symbol(c) and c not in _PUNCT_OK)
            self.refuse(f"emoji or symbol: {sym!r}")
        ends = [i for i, t in enumerate(self.toks) if t.kind == "punct" and t.text in SENTENCE_END]
        sentences = len([i for k, i in enumerate(ends) if k == 0 or ends[k - 1] != i - 1])  # "?!" ends one
        if sentences + (bool(self.toks) and self.toks[-1].text not in SENTENCE_END) > MAX_SENTENCES:
            self.refuse("more than two sentences")
        self._articles()

    def _articles(self) -> None:
        toks = self.toks
        for i, t in enumerate(toks[:-1]):
            nxt = toks[i + 1]
            if t.low == "one" and nxt.low == "of" and i + 2 < len(toks) and toks[i + 2].low in ("1", "one", "a", "an"):
                self.refuse(f"grammar: {self.span(i, i + 3)!r}")
            if (
                t.low == "a"
                and (
                    (nxt.kind == "num" and not (i + 2 < len(toks) and toks[i + 2].text == "-"))
                    or (nxt.kind == "word" and nxt.low[0] in "aeio" and not nxt.low.startswith(("one", "eu")))
                    or nxt.low.startswith(("eight", "eleven", "18", "8", "11"))
                )
            ) or (
                t.low == "an" and nxt.kind == "word" and nxt.low[0] not in "aeiouh" and nxt.low not in ("8", "18", "11")
            ):
                self.refuse(f"grammar: {self.span(i, i + 2)!r}")

    def coverage(self) -> tuple[str, ...]:
        runs: list[str] = []
        for i, t in enumerate(self.toks):
            if t.slot and (i == 0 or self.toks[i - 1].slot != t.slot):
                runs.append(t.slot)
        used = tuple(dict.fromkeys(runs))
        numbers = [r for r in runs if self.facts[r].type in NUMERIC_TYPES]
        for name in dict.fromkeys(numbers):
            if numbers.count(name) > 1:
                self.refuse(f"dull: states {name.replace('_', ' ')} twice")
        if self.sheet.key_fact not in used:
            self.refuse(f"key fact not stated: {self.sheet.key_fact.replace('_', ' ')}")
        for name in MUST_NAME.get(self.kind, ()):
            if name in self.facts and name not in used:
                self.refuse(f"does not name the {name.replace('_', ' ')}")
        return used

    def roles(self, skeleton: str) -> None:
        for why in roles.problems(skeleton, self.kind, self.text.lower()):
            self.refuse(why)
        for sentence in re.split(r"(?<=[.!?]) ", skeleton):
            if sentence.count(" : ") > 1:
                self.refuse("prompt leak: a label before the story (two colons in one sentence)")
            if "{first_played}" in sentence and not re.search(
                r"\b(?:since|first|began|started|from)\b.*\{first_played\}", sentence
            ):
                self.refuse("wrong role: the first-play date is not said as the date of the first play")
        m = _LABEL.search(skeleton)
        if m:
            self.refuse(f"prompt leak: a field label {m.group(1)!r}")

    def skeleton(self) -> str:
        out: list[str] = []
        for i, t in enumerate(self.toks):
            if t.slot:
                if i == 0 or self.toks[i - 1].slot != t.slot:
                    out.append("{" + t.slot + "}")
            else:
                out.append(t.low)
        return " ".join(out)


def check(text: str, sheet: FactSheet, kind: str = "") -> GroundingReport:
    """The gate's verdict on ``text`` against ``sheet`` (see the module doc). ``kind`` is the story's
    kind; without it, the kind the sheet's facts belong to."""
    r = _Reader(text, sheet, kind)
    r.shape()
    r.names()
    r.times_of_day()
    r.dates()
    r.phrases()
    r.quantities()
    r.words()
    used = r.coverage()
    skeleton = r.skeleton()
    r.roles(skeleton)
    return GroundingReport(used, tuple(r.problems), skeleton)


__all__ = ["GroundingReport", "check", "kind_of"]
