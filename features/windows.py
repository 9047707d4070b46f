"""Plays and minutes per artist and per genre over tumbling, hopping and sliding windows.

All are computed from the user's event log (the last 7 d + grace, sorted by event time) at the
user's own event time ``as_of``:

* sliding  ``(as_of - size, as_of]``
* tumbling the epoch-aligned window of ``size`` that contains ``as_of``
* hopping  the latest window of ``size`` advancing by ``hop`` that contains ``as_of``
"""

from __future__ import annotations

import bisect
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
    artist_plays: dict[str, int]
    genre_plays: dict[str, int]


def aggregate(log: list[list[Any]], spec: WindowSpec, as_of: int) -> WindowAgg:
    start, end = spec.bounds(as_of)
    lo = bisect.bisect_left(log, start, key=lambda e: e[L_TIME])
    hi = bisect.bisect_left(log, end, key=lambda e: e[L_TIME])
    plays = ms = skips = 0
    artists: dict[str, int] = {}
    genres: dict[str, int] = {}
    for e in log[lo:hi]:
        plays += 1
        ms += e[L_MS]
        skips += 1 if e[L_SKIP] else 0
        a, g = e[L_ARTIST], e[L_GENRE]
        artists[a] = artists.get(a, 0) + 1
        if g:
            genres[g] = genres.get(g, 0) + 1
    return WindowAgg(spec.name, start, end, plays, ms, skips, artists, genres)


def aggregate_all(log: list[list[Any]], as_of: int, specs: tuple[WindowSpec, ...] = WINDOWS) -> list[WindowAgg]:
    """Every window in one pass over the log (the snapshot's hot path); equal to :func:`aggregate` per spec."""
    bounds = [spec.bounds(as_of) for spec in specs]
    earliest = min(b[0] for b in bounds)
    lo = bisect.bisect_left(log, earliest, key=lambda e: e[L_TIME])
    n = len(specs)
    plays, ms, skips = [0] * n, [0] * n, [0] * n
    artists: list[dict[str, int]] = [{} for _ in range(n)]
    genres: list[dict[str, int]] = [{} for _ in range(n)]
    indexed = list(enumerate(bounds))
    for e in log[lo:]:
        t, a, g, m, sk = e[L_TIME], e[L_ARTIST], e[L_GENRE], e[L_MS], e[L_SKIP]
        for i, (start, end) in indexed:
            if start <= t < end:
                plays[i] += 1
                ms[i] += m
                if sk:
                    skips[i] += 1
                ad = artists[i]
                ad[a] = ad.get(a, 0) + 1
                if g:
                    gd = genres[i]
                    gd[g] = gd.get(g, 0) + 1
    return [
        WindowAgg(spec.name, b[0], b[1], plays[i], ms[i], skips[i], artists[i], genres[i])
        for i, (spec, b) in enumerate(zip(specs, bounds, strict=True))
    ]
