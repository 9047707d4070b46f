"""Plays and minutes per artist and per genre over tumbling, hopping and sliding windows.

All are computed from the user's event log (the last 7 d + grace, sorted by event time) at the
user's own event time ``as_of``:

* sliding  ``(as_of - size, as_of]``
* tumbling the epoch-aligned window of ``size`` that contains ``as_of``
* hopping  the latest window of ``size`` advancing by ``hop`` that contains ``as_of``
"""

from __future__ import annotations

import bisect
import operator
from dataclasses import dataclass
from typing import Any

from features.config import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS
from features.state import L_ARTIST, L_GENRE, L_MS, L_SKIP, L_TIME


@dataclass(frozen=True, slots=True)
class WindowSpec:
    name: str
    kind: str  # sliding | tumbling | hopping
    size_ms: int
    hop_ms: int = 0

    def bounds(self, as_of: int) -> tuple[int, int]:
        """[start, end) in event time."""
        if self.kind == "sliding":
            return as_of - self.size_ms + 1, as_of + 1
        step = self.size_ms if self.kind == "tumbling" else self.hop_ms
        end = (as_of // step + 1) * step
        return end - self.size_ms, end


WINDOWS: tuple[WindowSpec, ...] = (
    WindowSpec("sliding_1h", "sliding", HOUR_MS),
    WindowSpec("sliding_24h", "sliding", DAY_MS),
    WindowSpec("sliding_7d", "sliding", WEEK_MS),
    WindowSpec("tumbling_1h", "tumbling", HOUR_MS),
    WindowSpec("tumbling_24h", "tumbling", DAY_MS),
    WindowSpec("tumbling_7d", "tumbling", WEEK_MS),
    WindowSpec("hopping_1h_by_15m", "hopping", HOUR_MS, 15 * MINUTE_MS),
    WindowSpec("hopping_24h_by_1h", "hopping", DAY_MS, HOUR_MS),
    WindowSpec("hopping_7d_by_1d", "hopping", WEEK_MS, DAY_MS),
)
RETENTION_MS = max(w.size_ms for w in WINDOWS)


@dataclass(frozen=True, slots=True)
class WindowAgg:
    name: str
    start: int
    end: int
    plays: int
    ms_played: int
    skips: int
    top_artists: list[tuple[str, int]]
    """Most played artists in the window, ties to the most recent; at most ``top_k``."""
    top_genres: list[tuple[str, int]]


_second = operator.itemgetter(1)


def _top(counts: dict[str, int], k: int) -> list[tuple[str, int]]:
    # == heapq.nlargest(k, ...) (stable: ties keep insertion order), but sorted() runs in C; nlargest
    # loops in Python over every item, which cost most of a snapshot.
    return sorted(counts.items(), key=_second, reverse=True)[:k]


def aggregate(log: list[list[Any]], spec: WindowSpec, as_of: int, top_k: int = 3) -> WindowAgg:
    """One window, the plain way (the reference for :func:`aggregate_all`)."""
    start, end = spec.bounds(as_of)
    lo = bisect.bisect_left(log, start, key=lambda e: e[L_TIME])
    hi = bisect.bisect_left(log, end, key=lambda e: e[L_TIME])
    plays = ms = skips = 0
    artists: dict[str, int] = {}
    genres: dict[str, int] = {}
    for e in reversed(log[lo:hi]):  # most recent first: ties go to the most recent
        plays += 1
        ms += e[L_MS]
        skips += 1 if e[L_SKIP] else 0
        a, g = e[L_ARTIST], e[L_GENRE]
        artists[a] = artists.get(a, 0) + 1
        if g:
            genres[g] = genres.get(g, 0) + 1
    return WindowAgg(spec.name, start, end, plays, ms, skips, _top(artists, top_k), _top(genres, top_k))


def aggregate_all(
    log: list[list[Any]], as_of: int, specs: tuple[WindowSpec, ...] = WINDOWS, top_k: int = 3
) -> list[WindowAgg]:
    """Every window at once (the snapshot's hot path); equal to :func:`aggregate` per spec.

    Every window ends after ``as_of`` (the latest event), so each is a suffix of the sorted log:
    one backward pass accumulates the smallest suffix first and takes the top-k of the running
    counts as it reaches each window's start. Windows reaching back to the same entry share their
    top lists (the same list objects).
    """
    bounds = [spec.bounds(as_of) for spec in specs]
    results: list[WindowAgg | None] = [None] * len(specs)
    plays = ms = skips = 0
    artists: dict[str, int] = {}
    genres: dict[str, int] = {}
    i = len(log) - 1
    tops: tuple[list[tuple[str, int]], list[tuple[str, int]]] | None = None
    for j in sorted(range(len(specs)), key=lambda j: -bounds[j][0]):  # the latest start first
        start = bounds[j][0]
        moved = False
        while i >= 0:
            e = log[i]
            if e[L_TIME] < start:
                break
            plays += 1
            ms += e[L_MS]
            if e[L_SKIP]:
                skips += 1
            a = e[L_ARTIST]
            artists[a] = artists.get(a, 0) + 1
            g = e[L_GENRE]
            if g:
                genres[g] = genres.get(g, 0) + 1
            i -= 1
            moved = True
        if moved or tops is None:
            tops = (_top(artists, top_k), _top(genres, top_k))
        results[j] = WindowAgg(specs[j].name, bounds[j][0], bounds[j][1], plays, ms, skips, tops[0], tops[1])
    return [r for r in results if r is not None]
