"""The decoder's nucleus from the head of the distribution equals the one from a full sort."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from inference.generator import NUCLEUS_HEAD, _draw, _head  # noqa: E402 - after the skip


def _full(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    sorted_p, sorted_ix = torch.sort(probs, dim=-1, descending=True)
    return sorted_p, sorted_ix, sorted_p.cumsum(-1)


def _nucleus(sorted_p: torch.Tensor, sorted_ix: torch.Tensor, cum: torch.Tensor, top_p: torch.Tensor) -> list[set]:
    keep = ~(cum - sorted_p > top_p)
    return [set(sorted_ix[r][keep[r]].tolist()) for r in range(sorted_p.shape[0])]


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("p", [0.5, 0.9, 1.0])
def test_the_heads_nucleus_is_the_full_sorts(temperature: float, p: float) -> None:
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(6, 5000, generator=g) * 4
    probs = torch.softmax(logits / temperature, dim=-1)
    top_p = torch.full((6, 1), p)
    head, full = _head(torch, probs, top_p), _full(probs)
    assert _nucleus(*head, top_p) == _nucleus(*full, top_p)
    if temperature == 3.0 and p == 1.0:  # a nucleus wider than the head: the full sort is taken
        assert head[0].shape[-1] == probs.shape[-1] > NUCLEUS_HEAD


def test_a_draw_is_the_one_a_full_sort_gives() -> None:
    """The same generators draw the same tokens as the decoder did when it sorted the whole vocabulary."""
    logits = torch.randn(4, 5000, generator=torch.Generator().manual_seed(3)) * 4
    temps, top_p = torch.full((4, 1), 0.5), torch.full((4, 1), 0.9)
    got = _draw(
        torch,
        logits,
        temps=temps,
        top_p=top_p,
        greedy=torch.zeros(4, dtype=torch.bool),
        gens=[torch.Generator().manual_seed(k) for k in range(4)],
    )
    sorted_p, sorted_ix, cum = _full(torch.softmax(logits / temps, dim=-1))
    sorted_p = torch.where(cum - sorted_p > top_p, torch.zeros_like(sorted_p), sorted_p)
    cum = sorted_p.cumsum(-1)
    gens = [torch.Generator().manual_seed(k) for k in range(4)]
    draws = torch.cat([torch.rand(1, generator=g) for g in gens]).unsqueeze(-1) * cum[:, -1:]
    pick = torch.searchsorted(cum, draws).clamp(max=cum.shape[-1] - 1)
    assert got.tolist() == sorted_ix.gather(-1, pick).squeeze(-1).tolist()
