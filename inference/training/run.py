"""``linernotes train``: the story model's adapter, from a seed, in three stages.

1. Supervised: each training sheet paired with a house-style frame that fits it (``examples``).
2. Self-improvement: the model samples frames for fresh sheets; the frames the gate accepts join the
   examples for a second, shorter supervised round.
3. Preference: for the same sheet, an accepted frame is preferred over a refused one (DPO).

Training sheets come from the simulator with seeds of their own; the evaluation's sheets are never
among them. Every stage is seeded; the first resumes from its checkpoint.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from inference.generator import Generation, StoryModel, ensure_weights
from inference.prompt import Sampling
from inference.writer import read, score
from schemas.records import FactSheet

from . import preference, sft
from .examples import Example, build, fitting, load_frames
from .preference import DpoConfig
from .sft import SftConfig

Progress = Callable[[str, int, int, float], None]


@dataclass(frozen=True, slots=True)
class Plan:
    sft: SftConfig = field(default_factory=SftConfig)
    second: SftConfig = field(default_factory=lambda: SftConfig(steps=10, lr=3e-4, warmup=2, seed=8))
    dpo: DpoConfig = field(default_factory=DpoConfig)
    # Sampling on a CPU costs what supervised steps cost; the run spends its time on stage 1.
    sample_sheets: int = 32
    samples: int = 4
    own_likeness: float = 0.8
    seed: int = 7


Sampled = tuple[list[Example], list[preference.Pair], int]


class Writes(Protocol):
    """What stage 2 needs of a model: its frames for a batch of requests (``StoryModel.generate``)."""

    def generate(self, requests: list[tuple[str, Any, str | None, Sampling]]) -> list[Generation]: ...


def _sample(model: Writes, sheets: list[tuple[str, FactSheet]], plan: Plan) -> Sampled:
    """The model's own frames for ``sheets``. Examples: frames the frame checks and the gate accept and
    that read like house frames (``frames.likeness`` at least ``plan.own_likeness``): the gate alone also
    passes dull, well-formed frames ("{play_count} of {artist}."), and training on those teaches them.
    Pairs: the best of those (or, when the model wrote none, a house frame that fits the sheet) preferred
    over each frame the checks refused."""
    examples, pairs, seen = [], [], 0
    house = load_frames()
    rng = random.Random(plan.seed)
    for start in range(0, len(sheets), 16):
        part = sheets[start : start + 16]
        asks: list[tuple[str, Any, str | None, Sampling]] = [
            (k, s, None, Sampling(n=plan.samples, temperature=0.9, top_p=0.95, seed=plan.seed + start + i))
            for i, (k, s) in enumerate(part)
        ]
        for (kind, sheet), gen in zip(part, model.generate(asks), strict=True):
            written = dict(zip(gen.candidates, gen.logprobs or [0.0] * len(gen.candidates), strict=True))
            cands = [read(kind, sheet, c, lp) for c, lp in written.items() if c]
            seen += len(cands)
            good = [c for c in cands if c.accepted and "{" in c.written and c.likeness >= plan.own_likeness]
            good.sort(key=score, reverse=True)
            bad = [c for c in cands if not c.accepted]
            examples += [Example(kind, sheet, c.written) for c in good[:2]]
            fitting_frames = fitting(house.get(kind, []), sheet)
            chosen = good[0].written if good else (rng.choice(fitting_frames) if fitting_frames else None)
            if chosen is not None:
                pairs += [preference.Pair(kind, sheet, chosen, b.written) for b in bad[:2]]
    return examples, pairs, seen


def train(
    sheets: list[tuple[str, FactSheet]],
    out: Path,
    plan: Plan,
    *,
    device: str | None = None,
    progress: Progress = lambda _stage, _s, _n, _l: None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the adapter into ``out/adapter``; returns what was done and measured (also ``out/train.json``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(plan.seed)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    path = ensure_weights()
    tok = AutoTokenizer.from_pretrained(path)
    tok.pad_token = "<|endoftext|>"  # noqa: S105 - a token, not a secret
    tok.padding_side = "left"
    model = sft.with_lora(AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32), plan.sft).to(dev)
    rng = random.Random(plan.seed)
    order = list(sheets)
    rng.shuffle(order)
    held = order[: plan.sample_sheets]  # sampled in stage 2, never trained on in stage 1
    rest = order[plan.sample_sheets :]
    frames = load_frames()
    examples = build(rest, frames, plan.seed)
    t0 = time.perf_counter()
    log(f"stage 1: {len(examples)} examples, {plan.sft.steps} steps of {plan.sft.batch} on {dev}")
    losses1 = sft.train(
        model,
        tok,
        examples,
        plan.sft,
        out / "stage1",
        device=dev,
        progress=lambda s, n, loss: progress("supervised", s, n, loss),
    )
    t1 = time.perf_counter()
    sampler = StoryModel.around(model, tok, adapter=out / "stage1" / "adapter", generator_id="training")
    own, pairs, seen = _sample(sampler, held, plan)
    log(
        f"stage 2: the model's own frames for {len(held)} sheets: {len(own)} accepted of {seen} distinct; "
        f"{len(pairs)} preference pairs"
    )
    mixed = own + build(rest, frames, plan.seed + 1)[: max(len(own), plan.second.batch * 4)]
    losses2 = sft.train(
        model,
        tok,
        mixed,
        plan.second,
        out / "stage2",
        device=dev,
        progress=lambda s, n, loss: progress("own frames", s, n, loss),
    )
    t2 = time.perf_counter()
    losses3: list[float] = []
    if pairs:
        losses3 = preference.train(
            model, tok, pairs, plan.dpo, device=dev, progress=lambda s, n, loss: progress("preference", s, n, loss)
        )
    t3 = time.perf_counter()
    model.save_pretrained(str(out / "adapter"))
    summary = {
        "plan": asdict(plan),
        "device": str(dev),
        "sheets": len(sheets),
        "examples": len(examples),
        "own_frames_accepted": len(own),
        "own_frames_seen": seen,
        "preference_pairs": len(pairs),
        "loss": {"supervised": _ends(losses1), "own_frames": _ends(losses2), "preference": _ends(losses3)},
        "seconds": {"supervised": round(t1 - t0), "own_frames": round(t2 - t1), "preference": round(t3 - t2)},
    }
    (out / "train.json").write_text(json.dumps(summary, indent=2))
    return summary


def _ends(losses: list[float]) -> dict[str, float]:
    if not losses:
        return {}
    k = max(1, len(losses) // 10)
    return {"first": round(sum(losses[:k]) / k, 4), "last": round(sum(losses[-k:]) / k, 4), "steps": len(losses)}


def quick(plan: Plan) -> Plan:
    """A smoke-sized plan: every stage runs, in seconds (the tests use it)."""
    return replace(
        plan,
        sft=replace(plan.sft, steps=2, batch=2, checkpoint_every=1),
        second=replace(plan.second, steps=1, batch=2),
        dpo=replace(plan.dpo, steps=1, batch=2),
        sample_sheets=4,
        samples=2,
    )
