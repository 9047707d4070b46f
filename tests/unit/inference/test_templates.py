"""Templates: grounded by construction, varied by seed, every kind covered."""

from __future__ import annotations

from dataclasses import replace

import pytest

from inference import golden
from inference.eval import sets
from inference.factsheet import KIND_FACTS, FactSheetError, validate
from inference.grounding import check
from inference.templates import TEMPLATES, render, usable
from schemas.records import STORY_KINDS, FactSheet

CASES = golden.load()


def test_golden_set_covers_every_kind_and_is_valid() -> None:
    kinds = {c.kind for c in CASES}
    assert kinds == set(KIND_FACTS) == set(TEMPLATES) == set(STORY_KINDS) - {"OTHER"}
    for c in CASES:
        validate(c.kind, c.sheet)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_usable_template_is_grounded(case: golden.GoldenCase) -> None:
    for seed in range(len(TEMPLATES[case.kind])):
        story = render(case.kind, case.sheet, seed)
        report = check(story.text, case.sheet, case.kind)
        assert report.grounded, f"{story.template_id}: {story.text!r}: {report.summary()}"
        assert case.sheet.key_fact in story.facts_used


EVAL = sets.load()


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_template_passes_the_gate_on_every_evaluation_sheet(kind: str) -> None:
    """The templates are the floor: on every real sheet of the evaluation set, each usable one passes."""
    checked = 0
    for s in (s for s in EVAL.sheets.values() if s.kind == kind):
        for i, _ in usable(kind, s.sheet):
            story = render(kind, s.sheet, i)
            report = check(story.text, s.sheet, kind)
            assert report.grounded, f"{s.id} {story.template_id}: {story.text!r}: {report.summary()}"
            checked += 1
    assert checked >= 20


def test_seed_varies_the_template_deterministically() -> None:
    case = next(c for c in CASES if c.id == "session-1")
    texts = {render(case.kind, case.sheet, seed).text for seed in range(10)}
    assert len(texts) >= 3
    assert render(case.kind, case.sheet, 7) == render(case.kind, case.sheet, 7)
    assert len(usable(case.kind, case.sheet)) >= 3


def test_a_sheet_no_template_fits_is_stated_plainly() -> None:
    sheet = FactSheet("streak_days", (replace(CASES[12].sheet.facts[0]),))
    story = render("OTHER", sheet, 0)
    assert story.template_id == "template:other/plain" and check(story.text, sheet).grounded


def test_validation_names_what_is_missing() -> None:
    case = next(c for c in CASES if c.kind == "SESSION_RECAP")
    thin = FactSheet("minutes", tuple(f for f in case.sheet.facts if f.name != "tracks"))
    with pytest.raises(FactSheetError, match="tracks"):
        validate("SESSION_RECAP", thin)
    with pytest.raises(FactSheetError, match="key fact"):
        validate("SESSION_RECAP", FactSheet("nope", case.sheet.facts))
