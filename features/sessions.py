"""Gap-based sessions that tolerate out-of-order events.

A play joins every open session it is within ``gap`` of, merging them (as Flink's session windows
do), so the resulting sessions do not depend on arrival order. A session is closed once the
user's watermark (latest event time - grace) has passed its end + gap: no event that is still
accepted can reach it any more, so closing never has to be undone.
"""

from __future__ import annotations

from typing import Any

from features.state import S_ARTISTS, S_END, S_MS, S_PLAYS, S_SKIPS, S_START, S_TZ, session_tz


def add_play(
    sessions: list[list[Any]], t: int, ms: int, skipped: bool, artist: str, gap: int, tz: str | None = None
) -> None:
    """Add a play that ended at ``t`` (its event's zone: ``tz``). A session keeps the zone of its first play."""
    start = t - max(ms, 0)
    # Fast path: extends the latest session (the common, in-order case). Open sessions are
    # disjoint and sorted, so only the last two can be within reach of a play after the last start.
    if sessions:
        last = sessions[-1]
        if last[S_START] <= start <= last[S_END] + gap and (len(sessions) == 1 or sessions[-2][S_END] + gap < start):
            _absorb(last, start, t, ms, skipped, artist, tz)
            return
        if start > last[S_END] + gap:  # a new session after every open one
            sessions.append([start, t, 1, ms, 1 if skipped else 0, {artist: 1}, tz])
            return
    else:
        sessions.append([start, t, 1, ms, 1 if skipped else 0, {artist: 1}, tz])
        return
    new: list[Any] = [start, t, 0, 0, 0, {}, tz]
    _absorb(new, start, t, ms, skipped, artist, tz)
    keep: list[list[Any]] = []
    for s in sessions:
        if s[S_START] - gap <= new[S_END] and new[S_START] <= s[S_END] + gap:
            _merge(new, s)
        else:
            keep.append(s)
    keep.append(new)
    keep.sort(key=lambda s: s[S_START])
    sessions[:] = keep


def _absorb(s: list[Any], start: int, end: int, ms: int, skipped: bool, artist: str, tz: str | None) -> None:
    if start <= s[S_START]:  # (out of order) a new first play: its zone is the session's
        _first_tz(s, start, tz)
    s[S_START] = min(s[S_START], start)
    s[S_END] = max(s[S_END], end)
    s[S_PLAYS] += 1
    s[S_MS] += ms
    s[S_SKIPS] += 1 if skipped else 0
    counts = s[S_ARTISTS]
    counts[artist] = counts.get(artist, 0) + 1


def _first_tz(s: list[Any], start: int, tz: str | None) -> None:
    """Give ``s`` the zone ``tz`` of a play starting at ``start`` <= its start if that play is its
    first (two plays starting together: the greater zone name, so that arrival order does not matter)."""
    old = session_tz(s)
    if start < s[S_START] or (tz or "") > (old or ""):
        if len(s) > S_TZ:
            s[S_TZ] = tz
        else:  # a session saved before time zones
            s.append(tz)


def _merge(into: list[Any], other: list[Any]) -> None:
    if other[S_START] <= into[S_START]:
        _first_tz(into, other[S_START], session_tz(other))
    into[S_START] = min(into[S_START], other[S_START])
    into[S_END] = max(into[S_END], other[S_END])
    into[S_PLAYS] += other[S_PLAYS]
    into[S_MS] += other[S_MS]
    into[S_SKIPS] += other[S_SKIPS]
    counts = into[S_ARTISTS]
    for artist, n in other[S_ARTISTS].items():
        counts[artist] = counts.get(artist, 0) + n


def close(sessions: list[list[Any]], watermark: int, gap: int) -> list[list[Any]]:
    """Remove and return (oldest first) the sessions no accepted event can extend any more."""
    closed = [s for s in sessions if s[S_END] + gap < watermark]
    if closed:
        sessions[:] = [s for s in sessions if s[S_END] + gap >= watermark]
    return closed
