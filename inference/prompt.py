"""Prompts for the story model, and the clean-up of what the model writes.

Pure text: the Triton model imports this, and the tests check it without torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.records import FactSheet

from .factsheet import render

SYSTEM = (
    "You write liner notes for a music listener: one or two short, warm sentences about their listening. "
    "Use only the facts given. Do not add any other numbers, names, places, dates or albums."
)
REWRITE_SYSTEM = (
    "You rewrite short sentences about a listener's music. Keep every name and number exactly as written. Add nothing."
)

FRAME_SYSTEM = "Write a liner note as a frame: each fact you use as its {slot}."

_KIND_HINT = {
    "SESSION_RECAP": "a listening session that just ended",
    "MILESTONE": "a milestone in how often they played an artist",
    "DISCOVERY": "an artist they just discovered",
    "STREAK": "their listening streak",
    "TIME_OF_DAY_SHIFT": "a change in the time of day they listen",
    "WEEKLY_DIGEST": "their week of listening",
}


# The bounds a request's sampling is checked against (``Sampling``).
MAX_CANDIDATES = 8
MAX_TEMPERATURE = 2.0
MIN_NEW_TOKENS, MAX_NEW_TOKENS = 4, 256


@dataclass(frozen=True, slots=True)
class Sampling:
    """How one request is sampled. ``seed`` fixes the text for a given prompt and model."""

    n: int = 2
    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int = 48
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_CANDIDATES:
            raise ValueError(f"n must be 1..{MAX_CANDIDATES}")
        if not 0.0 <= self.temperature <= MAX_TEMPERATURE or not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"temperature must be in [0, {MAX_TEMPERATURE:g}] and top_p in (0, 1]")
        if not MIN_NEW_TOKENS <= self.max_new_tokens <= MAX_NEW_TOKENS:
            raise ValueError(f"max_new_tokens must be {MIN_NEW_TOKENS}..{MAX_NEW_TOKENS}")


def frame_messages(kind: str, sheet: FactSheet) -> list[dict[str, str]]:
    """The trained model's prompt: the kind and each fact as ``name: value``, key fact first. It
    answers with a frame (``inference.frames``), never with the values themselves."""
    ordered = sorted(sheet.facts, key=lambda f: f.name != sheet.key_fact)
    facts = "\n".join(f"{f.name}: {f.value}" for f in ordered)
    return [{"role": "system", "content": FRAME_SYSTEM}, {"role": "user", "content": f"{kind}\n{facts}"}]


def clean_frame(raw: str) -> str:
    """The frame in a raw completion: its first non-empty line, without quotes around it."""
    line = next((ln.strip() for ln in raw.replace("\r", "").split("\n") if ln.strip()), "")
    return line.strip('"').strip()


def story_messages(kind: str, sheet: FactSheet, draft: str | None) -> list[dict[str, str]]:
    """With a template draft, ask for a rewrite that keeps every name and number (a 135M model copies
    far better than it composes: 6/18 grounded against 4/18 for a facts-first prompt in a trial run).
    Without one, ask from the facts."""
    if draft:
        return [
            {"role": "system", "content": REWRITE_SYSTEM},
            {"role": "user", "content": f"Rewrite this sentence in a warm tone: {draft}"},
        ]
    about = _KIND_HINT.get(kind, "their listening")
    user = f"Write about {about}.\nFacts:\n{render(sheet)}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


_PREAMBLE = re.compile(r"^(here'?s|here is|sure|rewrite|rewritten|draft|certainly|okay|ok|note)\b", re.IGNORECASE)


_LABEL = re.compile(
    r"^(the )?(original|rewritten|revised|new|final|warm)( sentence| version| text| draft)?( was| is)?\s*:\s*",
    re.IGNORECASE,
)


def clean(raw: str, max_sentences: int = 2) -> str:
    """The story in a raw completion: the first real paragraph, whole sentences only, at most two.

    Returns "" when nothing usable is left (a cut-off sentence, only a preamble).
    """
    lines = [_LABEL.sub("", ln.strip()) for ln in raw.replace("\r", "").split("\n")]
    body = next((ln for ln in lines if ln and not ln.endswith(":") and not _PREAMBLE.match(ln)), "")
    body = body.strip().strip('"').strip()
    sentences = re.findall(r"[^.!?]+[.!?]+(?=\s|$)", body)
    text = " ".join(s.strip() for s in sentences[:max_sentences])
    return text.strip().strip('"')
