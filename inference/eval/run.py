"""The figures of ``linernotes eval``: the gate against labels and test texts, and what the pipeline
publishes (from the labelled model candidates, or from the served model)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from inference.grounding import check
from inference.templates import render

from . import recorded
from .metrics import distinct_n, rate, repeats_per_listener
from .published import Published, judge, labels_of
from .sets import EvalSet, Text


def _verdict(es: EvalSet, t: Text) -> bool:
    s = es.sheets[t.sheet]
    return check(t.text, s.sheet, s.kind).grounded


def _by_file(texts: list[Text], verdicts: dict[str, bool]) -> dict[str, str]:
    """Accepted / total per file of test texts (each file is one writer's batch)."""
    files: dict[str, list[bool]] = {}
    for t in texts:
        files.setdefault(t.source, []).append(verdicts[t.id])
    return {f: f"{sum(v)}/{len(v)}" for f, v in sorted(files.items())}


def gate_figures(es: EvalSet) -> dict[str, Any]:
    """Adversarial texts the gate accepts, true paraphrases it accepts, and its agreement with the
    editors' labels; with the gate's mean time per text."""
    texts = es.adversarial + es.paraphrases + es.labelled
    t0 = time.perf_counter()
    verdicts = {t.id: _verdict(es, t) for t in texts}
    per_text_us = (time.perf_counter() - t0) / max(1, len(texts)) * 1e6
    accepted = [t for t in es.adversarial if verdicts[t.id]]
    recall = sum(verdicts[t.id] for t in es.paraphrases)
    agree = sum(verdicts[t.id] == t.acceptable for t in es.labelled)
    false_pass = sum(verdicts[t.id] and not t.acceptable for t in es.labelled)
    refused_ok = sum(not verdicts[t.id] and t.acceptable for t in es.labelled)
    adv_cat: Counter[str] = Counter(t.reason for t in es.adversarial)
    par_cat: Counter[str] = Counter(t.reason for t in es.paraphrases)
    par_ok: Counter[str] = Counter(t.reason for t in es.paraphrases if verdicts[t.id])
    return {
        "adversarial_total": len(es.adversarial),
        "adversarial_false_accepted": len(accepted),
        "adversarial_false_accepted_texts": [{"id": t.id, "category": t.reason, "text": t.text} for t in accepted],
        "adversarial_by_category": dict(sorted(adv_cat.items())),
        "adversarial_accepted_by_file": _by_file(es.adversarial, verdicts),
        "true_paraphrase_recall_by_file": _by_file(es.paraphrases, verdicts),
        "true_paraphrase_recall": rate(recall, len(es.paraphrases)),
        "true_paraphrase_recall_by_category": {c: f"{par_ok[c]}/{n}" for c, n in sorted(par_cat.items())},
        "true_paraphrases_refused": [
            {
                "id": t.id,
                "text": t.text,
                "why": check(t.text, es.sheets[t.sheet].sheet, es.sheets[t.sheet].kind).summary(),
            }
            for t in es.paraphrases
            if not verdicts[t.id]
        ],
        "gate_label_agreement": rate(agree, len(es.labelled)),
        "gate_accepts_unacceptable": false_pass,
        "gate_refuses_acceptable": refused_ok,
        "gate_us_per_text": round(per_text_us, 1),
    }


BASE_SOURCE = "story_generator/smollm2-135m-instruct-q4_1"


def recorded_pipeline(es: EvalSet, model_source: str = BASE_SOURCE) -> list[Published]:
    """What the story writer publishes for each sheet, from the labelled candidates of the base model
    (``model_source``), in the order it wrote them: the first the gate passes, else the template."""
    candidates: dict[str, list[str]] = {}
    for t in es.labelled:
        if t.source.split("@")[0] == model_source:
            candidates.setdefault(t.sheet, []).append(t.text)
    labels = labels_of(es)
    out = []
    for sid, sheet in sorted(es.sheets.items()):
        if sid not in candidates:
            continue
        text = next((c for c in candidates[sid] if check(c, sheet.sheet, sheet.kind).grounded), None)
        if text is None:
            text = render(sheet.kind, sheet.sheet, 0).text
            out.append(Published(sheet, text, False, judge(labels, sheet, text)))
        else:
            out.append(Published(sheet, text, True, judge(labels, sheet, text)))
    return out


def _acceptable(stories: list[Published]) -> dict[str, Any]:
    labelled = [p for p in stories if p.acceptable is not None]
    return rate(sum(bool(p.acceptable) for p in labelled), len(labelled))


def pipeline_figures(published: list[Published]) -> dict[str, Any]:
    """What a pipeline published. Acceptability is the editors' (``docs/stories.md``), over the stories
    an editor has labelled; ``*_labelled`` says how many that is (``unlabelled`` lists the others for the
    next editor). A rate over part of the stories says nothing about the rest."""
    model = [p for p in published if p.model_written]
    skeletons = [
        (p.sheet.user, p.sheet.event_time, check(p.text, p.sheet.sheet, p.sheet.kind).skeleton) for p in published
    ]
    repeated, total = repeats_per_listener(skeletons)
    return {
        "stories": len(published),
        "model_written_share": rate(len(model), len(published)),
        "model_acceptable_rate": _acceptable(model),
        "model_labelled": rate(sum(p.acceptable is not None for p in model), len(model)),
        "published_acceptable_rate": _acceptable(published),
        "published_labelled": rate(sum(p.acceptable is not None for p in published), len(published)),
        "distinct_2": round(distinct_n([p.text for p in published], 2), 4),
        "repeat_rate_per_listener": rate(repeated, total),
    }


def unlabelled(published: list[Published]) -> list[dict[str, str]]:
    """The published stories no editor has labelled yet, to be labelled (``docs/stories.md``)."""
    return [
        {"sheet": p.sheet.id, "kind": p.sheet.kind, "model_written": str(p.model_written), "text": p.text}
        for p in published
        if p.acceptable is None
    ]


def template_figures(published: list[Published]) -> dict[str, Any]:
    """The editors' verdict on the stories the templates alone would publish for the same sheets: the
    floor a model must beat."""
    return {
        "stories": len(published),
        "acceptable_rate": _acceptable(published),
        "labelled": rate(sum(p.acceptable is not None for p in published), len(published)),
        "distinct_2": round(distinct_n([p.text for p in published], 2), 4),
    }


def evaluate(es: EvalSet, split: str = "heldout", recording: list[Any] | None = None) -> dict[str, Any]:
    """Every figure of ``linernotes eval`` on ``split``. With ``recording`` (``recorded.Recorded`` rows,
    default: the shipped recording of the shipped adapter), also what the story writer publishes from
    the adapter's recorded candidates, and from the templates alone."""
    part = es.split(split)
    out = {
        "split": split,
        "sheets": len(part.sheets),
        "labelled": len(part.labelled),
        **gate_figures(part),
        "pipeline": {
            "source": "the labelled candidates of the base model",
            **pipeline_figures(recorded_pipeline(part)),
        },
    }
    rows = recorded.load() if recording is None else recording
    labels = labels_of(part)
    templates = []
    for s, r in recorded.requests(part):
        text = render(r.kind, r.facts, r.seed).text
        templates.append(Published(s, text, False, judge(labels, s, text)))
    out["templates"] = {
        "source": "the template the writer falls back to, for every sheet",
        **template_figures(templates),
    }
    todo = {"templates": unlabelled(templates)}
    if rows:
        generators = sorted({r.generator for r in rows})
        adapter = recorded.replay(part, rows)
        out["adapter"] = {
            "source": f"the recorded candidates of {', '.join(generators)}, through the story writer's choice",
            "current": generators == [recorded.shipped_generator()],
            **pipeline_figures(adapter),
        }
        todo["adapter"] = unlabelled(adapter)
    out["unlabelled"] = todo
    return out
