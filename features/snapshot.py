"""The published view of a state: a ``UserFeatures`` record (as the Avro dict).

Decayed scores are rounded to 6 decimals so that snapshots of equal states are equal even when float
additions happened in a different order (out-of-order events, a moved decay landmark).
"""

from __future__ import annotations

from typing import Any

from features import decay, streaks
from features.config import DAY_MS, MINUTE_MS, WEEK_MS, FeatureConfig
from features.state import A_FIRST, A_NAME, A_PLAYS, S_ARTISTS, S_END, S_MS, S_PLAYS, S_SKIPS, S_START, UserState
from features.update import DEFAULT_CONFIG
from features.windows import aggregate_all


def _r(x: float) -> float:
    return round(x, 6)


def _by_value_then_key(kv: tuple[str, Any]) -> tuple[Any, str]:
    return kv[1], kv[0]


def _top(items: dict[str, Any], k: int) -> list[tuple[str, Any]]:
    return sorted(items.items(), key=_by_value_then_key, reverse=True)[:k]  # == heapq.nlargest, in C


def snapshot(state: UserState, config: FeatureConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    as_of = state.as_of
    names = state.artists
    windows = []
    by_name = {}
    converted: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for agg in aggregate_all(state.log, as_of, top_k=config.window_top_k):
        by_name[agg.name] = agg
        # Windows reaching back to the same event share their top lists: convert those once.
        tops = converted.get(id(agg.top_artists))
        if tops is None:
            tops = converted[id(agg.top_artists)] = (
                [{"name": names[a][A_NAME], "count": n} for a, n in agg.top_artists],
                [{"name": g, "count": n} for g, n in agg.top_genres],
            )
        windows.append(
            {
                "name": agg.name,
                "start": agg.start,
                "end": agg.end,
                "plays": agg.plays,
                "minutes": agg.ms_played / MINUTE_MS,
                "top_artists": tops[0],
                "top_genres": tops[1],
            }
        )
    s1h, s24h, s7d = by_name["sliding_1h"], by_name["sliding_24h"], by_name["sliding_7d"]
    today = as_of // DAY_MS
    top_artists = [
        {"name": names[a][A_NAME], "score": _r(decay.at(v, state.landmark, as_of, config))}
        for a, v in _top(state.artist_scores, config.top_k)
    ]
    plays_by_artist = {a: rec[A_PLAYS] for a, rec in names.items()}
    genre_streaks = sorted(
        ((fam, streaks.current_streak(days, today)) for fam, days in state.genre_days.items()),
        key=lambda kv: (-kv[1], kv[0]),
    )
    total = state.total_plays
    last = state.last_session
    hours = state.local_hours
    located = sum(hours)  # plays with a known zone: the profile is a share of those
    return {
        "user_id": state.user_id,
        "as_of": as_of,
        "total_plays": total,
        "total_ms_played": state.total_ms,
        "skip_rate": state.skips / total if total else 0.0,
        "skip_rate_7d": s7d.skips / s7d.plays if s7d.plays else 0.0,
        "plays_1h": s1h.plays,
        "plays_24h": s24h.plays,
        "plays_7d": s7d.plays,
        "minutes_24h": s24h.ms_played / MINUTE_MS,
        "minutes_7d": s7d.ms_played / MINUTE_MS,
        "windows": windows,
        "top_artists": top_artists,
        "top_genres": [
            {"name": g, "score": _r(decay.at(v, state.landmark, as_of, config))}
            for g, v in _top(state.genre_scores, config.top_k)
        ],
        "artist_plays": [{"name": names[a][A_NAME], "count": n} for a, n in _top(plays_by_artist, config.top_k)],
        "streak_days": streaks.current_streak(state.days, today),
        "longest_streak_days": max(state.longest_before, streaks.longest_streak(state.days)),
        "genre_streaks": [{"name": f, "count": n} for f, n in genre_streaks if n > 0][: config.top_k],
        "distinct_artists": len(names),
        "new_artists_7d": sum(1 for rec in names.values() if rec[A_FIRST] > as_of - WEEK_MS),
        "sessions": state.sessions_closed,
        "last_session": None
        if last is None
        else {
            "start": last[S_START],
            "end": last[S_END],
            "plays": last[S_PLAYS],
            "minutes": last[S_MS] / MINUTE_MS,
            "skips": last[S_SKIPS],
            "top_artist": names[_top(last[S_ARTISTS], 1)[0][0]][A_NAME] if last[S_ARTISTS] else None,
        },
        "hour_profile": [h / located for h in hours] if located else [0.0] * 24,
        "late_events": state.late_events,
    }
