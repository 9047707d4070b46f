"""Calendar weeks in event time: Monday 00:00 UTC to the next Monday (epoch day 0 was a Thursday)."""

from __future__ import annotations

from typing import Any

from features.config import DAY_MS, WEEK_MS
from features.state import A_FIRST, L_ARTIST, L_GENRE, L_MS, L_TIME, UserState


def index(t_ms: int) -> int:
    return (t_ms // DAY_MS + 3) // 7


def start(t_ms: int) -> int:
    return (index(t_ms) * 7 - 3) * DAY_MS


def summary(state: UserState, week_start: int) -> dict[str, Any]:
    """Plays, ms, top artist id, top genre and new artists of one week, from the window log.

    The log holds the last 7 days plus grace before the latest event, so a week is complete in it
    as long as this is called before the log is trimmed past the week (``update`` does).
    """
    end = week_start + WEEK_MS
    plays = ms = 0
    artists: dict[str, int] = {}
    genres: dict[str, int] = {}
    for e in state.log:
        if week_start <= e[L_TIME] < end:
            plays += 1
            ms += e[L_MS]
            artists[e[L_ARTIST]] = artists.get(e[L_ARTIST], 0) + 1
            if e[L_GENRE]:
                genres[e[L_GENRE]] = genres.get(e[L_GENRE], 0) + 1
    new = sum(1 for r in state.artists.values() if week_start <= r[A_FIRST] < end)
    top_a = max(artists.items(), key=lambda kv: (kv[1], kv[0]))[0] if artists else None
    top_g = max(genres.items(), key=lambda kv: (kv[1], kv[0]))[0] if genres else None
    return {"week_start": week_start, "plays": plays, "ms": ms, "top_artist": top_a, "top_genre": top_g, "new": new}
