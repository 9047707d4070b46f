"""A story the pipeline published for an evaluation sheet, and the editors' label of it."""

from __future__ import annotations

from dataclasses import dataclass

from .sets import EvalSet, Sheet


@dataclass(frozen=True, slots=True)
class Published:
    sheet: Sheet
    text: str
    model_written: bool
    # The editors' label of this text for this sheet; None when no editor has read it. Never the gate's
    # verdict: every published story passed the gate, so the gate would call them all acceptable.
    acceptable: bool | None


def labels_of(es: EvalSet) -> dict[tuple[str, str], bool]:
    return {(t.sheet, t.text): t.acceptable for t in es.labelled}


def judge(labels: dict[tuple[str, str], bool], sheet: Sheet, text: str) -> bool | None:
    """The editors' label of this text for this sheet, or None when it has none."""
    return labels.get((sheet.id, text))
