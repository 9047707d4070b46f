"""Preference tuning on the model's own frames (DPO): for one sheet, a frame the gate accepted is
preferred over one it refused; the adapter moves towards the first and away from the second,
measured against the frozen supervised adapter (the reference)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.records import FactSheet

from .examples import Example
from .sft import IGNORE_INDEX, collate, encode


@dataclass(frozen=True, slots=True)
class Pair:
    kind: str
    sheet: FactSheet
    chosen: str
    rejected: str


@dataclass(frozen=True, slots=True)
class DpoConfig:
    steps: int = 10
    batch: int = 4
    lr: float = 2e-4
    beta: float = 0.1
    max_tokens: int = 160
    seed: int = 11


def _logps(model: Any, torch: Any, batch: dict[str, Any]) -> Any:
    """Sum of the log-probabilities of each row's labelled tokens."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    labels = batch["labels"][:, 1:]
    mask = labels != IGNORE_INDEX
    picked = torch.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def train(
    model: Any,
    tok: Any,
    pairs: list[Pair],
    cfg: DpoConfig,
    *,
    device: Any,
    progress: Callable[[int, int, float], None] = lambda _s, _n, _l: None,
) -> list[float]:
    """DPO on ``pairs`` with ``model`` a peft model whose adapter is the reference at the start."""
    import torch

    def enc(kind: str, sheet: FactSheet, frame: str) -> tuple[list[int], list[int]]:
        return encode(tok, Example(kind, sheet, frame), cfg.max_tokens)

    chosen = [enc(p.kind, p.sheet, p.chosen) for p in pairs]
    rejected = [enc(p.kind, p.sheet, p.rejected) for p in pairs]
    ref_c, ref_r = [], []
    model.train(False)
    with torch.no_grad():  # the reference: the adapter as it is before this tuning
        for i in range(0, len(pairs), cfg.batch):
            ref_c.append(_logps(model, torch, _to(collate(torch, chosen[i : i + cfg.batch], tok.pad_token_id), device)))
            ref_r.append(
                _logps(model, torch, _to(collate(torch, rejected[i : i + cfg.batch], tok.pad_token_id), device))
            )
    ref_chosen, ref_rejected = torch.cat(ref_c), torch.cat(ref_r)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    rng = random.Random(cfg.seed)
    model.train()
    losses = []
    for step in range(cfg.steps):
        idx = rng.sample(range(len(pairs)), min(cfg.batch, len(pairs)))
        c = _logps(model, torch, _to(collate(torch, [chosen[i] for i in idx], tok.pad_token_id), device))
        r = _logps(model, torch, _to(collate(torch, [rejected[i] for i in idx], tok.pad_token_id), device))
        margin = (c - ref_chosen[idx]) - (r - ref_rejected[idx])
        loss = -torch.nn.functional.logsigmoid(cfg.beta * margin).mean()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        progress(step + 1, cfg.steps, losses[-1])
    model.train(False)
    return losses


def _to(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: v.to(device) for k, v in batch.items()}
