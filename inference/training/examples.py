"""Training examples: a fact sheet, and a house-style frame that fits it (``inference/data/frames.jsonl``)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from inference.frames import problems
from schemas.records import FactSheet


@dataclass(frozen=True, slots=True)
class Example:
    kind: str
    sheet: FactSheet
    frame: str


def load_frames() -> dict[str, list[str]]:
    """The shipped frames by kind."""
    text = resources.files("inference").joinpath("data", "frames.jsonl").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            d = json.loads(line)
            out.setdefault(d["kind"], []).append(d["frame"])
    return out


def fitting(frames: list[str], sheet: FactSheet) -> list[str]:
    return [f for f in frames if not problems(f, sheet)]


def build(sheets: Iterable[tuple[str, FactSheet]], frames: dict[str, list[str]], seed: int) -> list[Example]:
    """One example per sheet: a frame drawn at random from those that fit it. Frames that use more of
    the sheet's facts are drawn more often, so the model learns to use what it is given."""
    rng = random.Random(seed)
    out = []
    for kind, sheet in sheets:
        options = fitting(frames.get(kind, []), sheet)
        if not options:
            continue
        weights = [1 + f.count("{") for f in options]
        out.append(Example(kind, sheet, rng.choices(options, weights)[0]))
    return out
