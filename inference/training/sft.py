"""Supervised fine-tuning of a LoRA adapter: the prompt (``prompt.frame_messages``) in, the frame out.

Resumable: every ``checkpoint_every`` steps the adapter, the optimizer, the step and the random
states are saved under ``out/checkpoint``; a rerun with the same folder continues from there.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inference.prompt import frame_messages

from .examples import Example

IGNORE_INDEX = -100
"""The label of a token not learnt: PyTorch's cross-entropy skips it (its ``ignore_index``)."""

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj")


@dataclass(frozen=True, slots=True)
class SftConfig:
    steps: int = 300
    # A LoRA adapter learns these frames in far fewer examples at 1e-3 than at 3e-4 (loss 1.26 after 35
    # steps of 8 against 2.1 after 30 of 16, docs/model-card.md); smaller steps fit more of them in a run.
    batch: int = 8
    lr: float = 1e-3
    warmup: int = 10
    lora_r: int = 8
    lora_alpha: int = 16
    lora_layers: tuple[int, int] = (14, 30)  # the top half: backward stops there, and the adapter stays small
    lora_dropout: float = 0.05
    max_tokens: int = 160
    checkpoint_every: int = 20
    seed: int = 7


def encode(tok: Any, example: Example, max_tokens: int) -> tuple[list[int], list[int]]:
    """Token ids and labels: the prompt's labels are :data:`IGNORE_INDEX`, so only the frame (and its end) is learnt."""
    prompt = str(
        tok.apply_chat_template(frame_messages(example.kind, example.sheet), tokenize=False, add_generation_prompt=True)
    )
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    a = tok(example.frame + "<|im_end|>", add_special_tokens=False)["input_ids"]
    ids = (p + a)[:max_tokens]
    labels = ([IGNORE_INDEX] * len(p) + a)[:max_tokens]
    return ids, labels


def collate(torch: Any, pairs: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    width = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    labels = torch.full((len(pairs), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for r, (i, lab) in enumerate(pairs):
        ids[r, : len(i)] = torch.tensor(i)
        labels[r, : len(lab)] = torch.tensor(lab)
        mask[r, : len(i)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def with_lora(model: Any, cfg: SftConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(LORA_TARGETS),
        layers_to_transform=list(range(*cfg.lora_layers)),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def train(
    model: Any,
    tok: Any,
    examples: list[Example],
    cfg: SftConfig,
    out: Path,
    *,
    device: Any,
    progress: Callable[[int, int, float], None] = lambda _s, _n, _l: None,
) -> list[float]:
    """Train ``model`` (a peft model) on ``examples``; returns the loss of every step taken in this
    call. Saves the adapter to ``out/adapter`` at the end."""
    import torch

    ckpt = out / "checkpoint"
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    state: dict[str, Any] = {"step": 0, "losses": []}
    rng = random.Random(cfg.seed)
    order = list(range(len(examples)))
    if (ckpt / "state.json").exists():
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = json.loads((ckpt / "state.json").read_text())
        set_peft_model_state_dict(model, load_file(str(ckpt / "adapter_model.safetensors")))
        opt.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        rng.setstate(_tuple(state["rng"]))
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    encoded = [encode(tok, e, cfg.max_tokens) for e in examples]
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / cfg.warmup) * max(0.05, 1 - s / cfg.steps)
    )
    for _ in range(int(state["step"])):
        sched.step()
    model.train()
    losses: list[float] = []
    while int(state["step"]) < cfg.steps:
        step = int(state["step"])
        if step * cfg.batch % len(order) < cfg.batch:
            rng.shuffle(order)
        start = step * cfg.batch % len(order)
        batch = [encoded[order[(start + k) % len(order)]] for k in range(cfg.batch)]
        inputs = {k: v.to(device) for k, v in collate(torch, batch, tok.pad_token_id).items()}
        loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        state["step"] = step + 1
        state["losses"] = [*state["losses"], losses[-1]]
        progress(step + 1, cfg.steps, losses[-1])
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            _checkpoint(model, opt, state=state, rng=rng, ckpt=ckpt, torch=torch)
    model.train(False)
    model.save_pretrained(str(out / "adapter"))
    (out / "sft.json").write_text(json.dumps({"config": asdict(cfg), "losses": state["losses"]}))
    return losses


def _tuple(x: Any) -> Any:
    return tuple(_tuple(v) for v in x) if isinstance(x, list) else x


def _checkpoint(model: Any, opt: Any, *, state: dict[str, Any], rng: random.Random, ckpt: Path, torch: Any) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt.with_name(ckpt.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous().cpu() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, str(tmp / "adapter_model.safetensors"))
    torch.save(opt.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(
        json.dumps({**state, "rng": rng.getstate(), "torch_rng": torch.get_rng_state().tolist()})
    )
    for f in tmp.iterdir():  # each file replaced whole: a crash mid-save keeps the last checkpoint readable
        f.replace(ckpt / f.name)
    tmp.rmdir()
