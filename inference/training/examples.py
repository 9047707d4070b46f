"""Training examples: a fact sheet, and a house-style frame that fits it (``inference/data/frames.jsonl``)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from inference.frames import house_frames, problems
from schemas.records import FactSheet


@dataclass(frozen=True, slots=True)
class Example:
    kind: str
    sheet: FactSheet
    frame: str


def load_frames() -> dict[str, list[str]]:
    """The shipped frames by kind."""
    return {kind: list(frames) for kind, frames in house_frames().items()}


def fitting(frames: list[str], sheet: FactSheet) -> list[str]:
    return [f for f in frames if not problems(f, sheet)]


def build(
    sheets: Iterable[tuple[str, FactSheet]], frames: dict[str, list[str]], seed: int, at_least: int = 400
) -> list[Example]:
    """One example per sheet: a frame drawn at random from those that fit it (frames that use more of
    the sheet's facts drawn more often, so the model learns to use what it is given). A kind with
    fewer than ``at_least`` sheets is drawn again, with fresh frames, until it has that many examples."""
    rng = random.Random(seed)
    by_kind: dict[str, list[tuple[FactSheet, list[str]]]] = {}
    for kind, sheet in sheets:
        options = fitting(frames.get(kind, []), sheet)
        if options:
            by_kind.setdefault(kind, []).append((sheet, options))
    out = []
    for kind, rows in by_kind.items():
        for k in range(max(len(rows), at_least)):
            sheet, options = rows[k % len(rows)]
            out.append(Example(kind, sheet, rng.choices(options, [1 + f.count("{") for f in options])[0]))
    rng.shuffle(out)
    return out
