"""Rates with their 95% intervals, and the diversity figures of published stories."""

from __future__ import annotations

import math
from collections.abc import Iterable

Z95 = 1.959964
WEEK_MS = 7 * 86_400_000


def wilson(k: int, n: int) -> tuple[float, float, float]:
    """Rate k/n with its 95% Wilson score interval (sound at 0 and 1, unlike the normal one)."""
    if n == 0:
        return 0.0, 0.0, 1.0
    p = k / n
    d = 1 + Z95**2 / n
    mid = (p + Z95**2 / (2 * n)) / d
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / d
    return p, max(0.0, mid - half), min(1.0, mid + half)


def rate(k: int, n: int) -> dict[str, float | int | list[float]]:
    p, lo, hi = wilson(k, n)
    return {"rate": round(p, 4), "ci95": [round(lo, 4), round(hi, 4)], "k": k, "n": n}


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct n-grams over all n-grams of the texts (lower-cased words)."""
    grams: list[tuple[str, ...]] = []
    for t in texts:
        words = t.lower().split()
        grams += [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repeats_per_listener(stories: Iterable[tuple[str, int, str]], window_ms: int = WEEK_MS) -> tuple[int, int]:
    """(stories whose skeleton the same listener got within ``window_ms`` before, stories), from
    (listener, event time, skeleton) triples."""
    by_user: dict[str, list[tuple[int, str]]] = {}
    for user, t, skeleton in stories:
        by_user.setdefault(user, []).append((t, skeleton))
    repeated = total = 0
    for items in by_user.values():
        items.sort()
        for i, (t, skeleton) in enumerate(items):
            total += 1
            repeated += any(s == skeleton and t - u <= window_ms for u, s in items[:i])
    return repeated, total


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]
