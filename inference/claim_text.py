"""What the grounding checker reads: a claim, and the text with the parts already claimed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.records import Fact


@dataclass(frozen=True, slots=True)
class Claim:
    kind: str  # "entity" | "number" | "date" | "time_of_day" | "superlative"
    text: str
    start: int
    end: int
    number: float | None = None
    unit: str | None = None
    precision: float = 1.0


Found = list[tuple[Claim, Fact | None, str]]
"""Claims found so far, each with the fact it was matched to by name (if any) or a reason."""


class Text:
    """The text plus which characters have been claimed already."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.taken = bytearray(len(text))
        self.sentences = [(m.start(), m.end()) for m in sentences(text)]

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


def sentences(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"[^.!?\n]+(?:[.!?]+|$)", text))


def normalize(text: str) -> str:
    return (
        text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
        .replace("\u2013", "-").replace("\u2014", " - ").replace("\u00a0", " ")
    )  # fmt: skip


def sentence_span(text: str, pos: int) -> tuple[int, int]:
    for m in sentences(text):
        if m.start() <= pos < m.end():
            return m.start(), m.end()
    return 0, len(text)
