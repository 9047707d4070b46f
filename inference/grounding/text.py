"""A story's text as the gate reads it: normalised, split into tokens that remember where they stand."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u00a0": " "})

# A number (digits with thousands commas, a decimal part, an ordinal suffix or a percent sign), a word
# (letters and digits, joined by inner hyphens, dots, ampersands or apostrophes), or one other character.
_TOKEN = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<suffix>st|nd|rd|th|%)?(?![\w])"
    r"|(?P<word>[^\W_]+(?:['\-.&/][^\W_]+)*'?)"
    r"|(?P<other>\S)"
)


@dataclass(slots=True)
class Token:
    text: str
    start: int
    end: int
    kind: str  # "num" | "word" | "punct"
    suffix: str = ""
    slot: str = ""  # the fact this token was bound to ("" while unbound)
    ok: bool = False  # read and accepted (bound, or an allowed word)

    @property
    def low(self) -> str:
        return self.text.lower()


def normalize(text: str) -> str:
    return text.translate(_QUOTES).replace("\u2014", " - ")


def tokenize(text: str) -> list[Token]:
    """Tokens of a normalised text. A possessive "'s" becomes its own token ("Machines's" reads as the
    name "Machines" and "'s")."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        if m.group("num"):
            out.append(Token(m.group("num"), m.start(), m.end(), "num", (m.group("suffix") or "").lower()))
        elif m.group("word"):
            w, s = m.group("word"), m.start()
            low = w.lower()
            if low.endswith("'s") and len(w) > len("'s"):
                out.append(Token(w[:-2], s, s + len(w) - 2, "word"))
                out.append(Token("'s", s + len(w) - 2, s + len(w), "word"))
            elif w.endswith("'") and len(w) > 1:
                out.append(Token(w[:-1], s, s + len(w) - 1, "word"))
                out.append(Token("'", s + len(w) - 1, s + len(w), "punct"))
            else:
                out.append(Token(w, s, s + len(w), "word"))
        else:
            out.append(Token(m.group("other"), m.start(), m.end(), "punct"))
    return out


def name_tokens(value: str) -> list[str]:
    """A fact value as the lower-case token sequence it matches, a leading "the" dropped."""
    words = [t.low for t in tokenize(normalize(value))]
    return words[1:] if len(words) > 1 and words[0] == "the" else words


def is_symbol(ch: str) -> bool:
    """Emoji, pictographs and other symbols a story never carries (letters of any script are fine)."""
    return unicodedata.category(ch)[0] in "SC" and ch not in "%&'/-$"


SENTENCE_END = frozenset(".!?")


def sentence_ids(tokens: list[Token]) -> list[int]:
    """For each token, the index of its sentence."""
    ids, n = [], 0
    for t in tokens:
        ids.append(n)
        if t.kind == "punct" and t.text in SENTENCE_END:
            n += 1
    return ids
