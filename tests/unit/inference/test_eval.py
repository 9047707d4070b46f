"""The evaluation's arithmetic, and the shipped evaluation set held to the gate's contract."""

from __future__ import annotations

import pytest

from inference.eval import sets
from inference.eval.metrics import distinct_n, repeats_per_listener, wilson
from inference.eval.run import evaluate, gate_figures

DAY = 86_400_000


def test_wilson_interval_is_sound_at_the_edges() -> None:
    p, lo, hi = wilson(0, 50)
    assert p == 0 and lo == 0 and 0.05 < hi < 0.08
    p, lo, hi = wilson(50, 50)
    assert p == 1 and hi == pytest.approx(1) and 0.92 < lo < 0.95
    p, lo, hi = wilson(24, 48)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(0.27, abs=0.02)


def test_repeats_count_the_same_skeleton_to_the_same_listener_within_a_week() -> None:
    stories = [
        ("u1", 0, "a {x}"),
        ("u1", 3 * DAY, "a {x}"),
        ("u1", 20 * DAY, "a {x}"),
        ("u2", DAY, "a {x}"),
        ("u1", 4 * DAY, "b {x}"),
    ]
    assert repeats_per_listener(stories) == (1, 5)


def test_distinct_2() -> None:
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)


def test_the_shipped_set_is_whole() -> None:
    es = sets.load()
    kinds = {s.kind for s in es.sheets.values()}
    assert len(kinds) == 6 and len(es.labelled) >= 400
    assert len(es.adversarial) >= 150 and len(es.paraphrases) >= 80
    held = es.split("heldout")
    assert held.labelled and held.adversarial and held.paraphrases
    assert not set(held.sheets) & set(es.split("dev").sheets)
    reasons = {t.reason for t in es.labelled if not t.acceptable}
    assert reasons <= {"leak", "false", "wrong_role", "unsupported", "opinion", "grammar", "dull"}


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_the_gate_meets_its_contract_on_the_shipped_set(split: str) -> None:
    """No false text accepted, true paraphrases and editors' labels followed (issue targets)."""
    figures = gate_figures(sets.load().split(split))
    assert figures["adversarial_false_accepted"] == 0, figures["adversarial_false_accepted_texts"]
    assert figures["true_paraphrase_recall"]["rate"] >= 0.90, figures["true_paraphrases_refused"]
    assert figures["gate_label_agreement"]["rate"] >= 0.95


def test_evaluate_reports_every_figure_with_its_interval() -> None:
    result = evaluate(sets.load(), "heldout")
    for key in ("true_paraphrase_recall", "gate_label_agreement"):
        assert set(result[key]) == {"rate", "ci95", "k", "n"}
    pipeline = result["pipeline"]
    for key in ("model_written_share", "model_acceptable_rate", "repeat_rate_per_listener"):
        lo, hi = pipeline[key]["ci95"]
        assert lo <= pipeline[key]["rate"] <= hi
    assert 0 < pipeline["distinct_2"] <= 1 and result["gate_us_per_text"] > 0
