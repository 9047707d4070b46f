"""``linernotes eval``: the served model on the golden set, scored by the grounding checker.

Metrics (all over the golden set, ``samples`` seeds per case):

- ``grounding_precision``: supported claims / claims, over every candidate the model wrote;
- ``key_fact_recall``: share of model candidates that state the key fact;
- ``model_accept_rate``: share of stories published as model-written (the rest fell back to a template);
- ``distinct_1`` / ``distinct_2``: distinct unigrams / bigrams over all tokens of the published stories;
- ``mean_words``; ``latency_p50_ms`` / ``latency_p99_ms`` of writing one story (all requests concurrent).

The judge mode asks ``story_judge`` about each human-labelled pair twice, in both orders. A verdict
counts only if it survives the swap; agreement is measured against the human label.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas.records import StoryRequest

from .client import StoryClient
from .golden import GoldenCase, data_text
from .grounding import check
from .writer import StoryWriter, Written, style_problems


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def distinct_n(texts: list[str], n: int) -> float:
    grams: list[tuple[str, ...]] = []
    for t in texts:
        words = t.lower().split()
        grams += [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


@dataclass
class EvalResult:
    stories: int
    model_candidates: int
    claims: int
    supported_claims: int
    grounding_precision: float
    key_fact_recall: float
    model_accept_rate: float
    distinct_1: float
    distinct_2: float
    mean_words: float
    latency_p50_ms: float
    latency_p99_ms: float
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    judge: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score(cases: list[GoldenCase], written: list[Written], latencies_ms: list[float]) -> EvalResult:
    claims = supported = covered = candidates = 0
    by_kind: dict[str, list[bool]] = {}
    for case, w in zip(cases, written, strict=True):
        for gen in w.generations:
            for text in gen.candidates:
                r = check(text, case.sheet)
                candidates += 1
                claims += len(r.checks)
                supported += sum(c.supported for c in r.checks)
                covered += r.covers_key_fact
        by_kind.setdefault(case.kind, []).append(w.model_written)
    texts = [w.story.text for w in written]
    examples = [
        {"case": c.id, "generator": w.story.generator, "grounded": w.story.grounded, "text": w.story.text,
         "rejected": [asdict(r) for r in w.rejected[:3]]}
        for c, w in zip(cases, written, strict=True)
    ]  # fmt: skip
    return EvalResult(
        stories=len(written),
        model_candidates=candidates,
        claims=claims,
        supported_claims=supported,
        grounding_precision=supported / claims if claims else 0.0,
        key_fact_recall=covered / candidates if candidates else 0.0,
        model_accept_rate=sum(w.model_written for w in written) / len(written) if written else 0.0,
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        mean_words=sum(len(t.split()) for t in texts) / len(texts) if texts else 0.0,
        latency_p50_ms=percentile(latencies_ms, 50),
        latency_p99_ms=percentile(latencies_ms, 99),
        by_kind={
            k: {"model_accept_rate": sum(v) / len(v), "stories": float(len(v))} for k, v in sorted(by_kind.items())
        },
        examples=examples,
    )


async def run_eval(client: StoryClient, writer: StoryWriter, cases: list[GoldenCase], samples: int = 2) -> EvalResult:
    jobs = [(c, s) for s in range(samples) for c in cases]

    async def one(case: GoldenCase, seed: int) -> tuple[Written, float]:
        request = StoryRequest(f"eval-{case.id}-{seed}", "eval", case.kind, case.id, 0, case.sheet, seed=seed)
        t0 = time.perf_counter()
        w = await writer.write(request, now_ms=0)
        return w, (time.perf_counter() - t0) * 1000

    results = await asyncio.gather(*(one(c, s) for c, s in jobs))
    return score([c for c, _ in jobs], [w for w, _ in results], [ms for _, ms in results])


@dataclass(frozen=True, slots=True)
class JudgePair:
    case: str
    a: str
    b: str
    human: str
    why: str = ""


def load_pairs(path: str | Path | None = None) -> list[JudgePair]:
    text = data_text("judge_pairs.jsonl", path)
    return [JudgePair(**json.loads(line)) for line in text.splitlines() if line.strip()]


async def run_judge(client: StoryClient, cases: list[GoldenCase], pairs: list[JudgePair]) -> dict[str, Any]:
    by_id = {c.id: c for c in cases}

    async def both(p: JudgePair) -> tuple[float, float]:
        case = by_id[p.case]
        ab, ba = await asyncio.gather(
            client.judge(case.kind, case.sheet, p.a, p.b), client.judge(case.kind, case.sheet, p.b, p.a)
        )
        return ab, ba

    scores = await asyncio.gather(*(both(p) for p in pairs))
    rows, agree, consistent = [], 0, 0
    for p, (ab, ba) in zip(pairs, scores, strict=True):
        verdict = "A" if ab > 0.5 and ba < 0.5 else "B" if ab < 0.5 and ba > 0.5 else "?"  # must survive the swap
        consistent += verdict != "?"
        agree += verdict == p.human
        rows.append({"case": p.case, "human": p.human, "judge": verdict, "p_a_first": round(ab, 3),
                     "p_a_second": round(1 - ba, 3)})  # fmt: skip
    # the checker as a judge, for comparison: prefer the grounded, publishable text
    checker_agree = 0
    for p in pairs:
        sheet = by_id[p.case].sheet
        ok_a = check(p.a, sheet).grounded and not style_problems(p.a)
        ok_b = check(p.b, sheet).grounded and not style_problems(p.b)
        checker_agree += ok_a != ok_b and ("A" if ok_a else "B") == p.human
    n = len(pairs)
    return {
        "pairs": n,
        "judge_agreement": agree / n if n else 0.0,
        "judge_consistency": consistent / n if n else 0.0,
        "checker_agreement": checker_agree / n if n else 0.0,
        "rows": rows,
        "limits": (
            f"{n} pairs labelled by one developer; the judge is the same 135M model that writes the stories, "
            "so it shares its blind spots; a verdict that flips when the order is swapped counts as no verdict."
        ),
    }
