"""Triggers of an artist's plays: milestones (the Nth play) and discoveries (see ``features.triggers``
for the kinds, keys and cooldowns)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from features.config import DAY_MS, NEVER, TriggerConfig
from features.facts import Trigger, new_trigger
from features.result import UpdateResult
from features.state import A_FIRST, A_NAME, A_PLAYS, UserState
from features.update import Track


def reached_in(result: UpdateResult, artists: Mapping[str, list[Any]], watch: frozenset[int]) -> list[str]:
    """The artists whose play count reached one in ``watch`` in this batch: what ``update`` notes when
    asked to watch those counts (``result.reached``), for a result it was not asked for."""
    out = []
    for a, k in result.artist_plays.items():
        plays = artists[a][A_PLAYS]
        if any(plays - k < n <= plays for n in watch):
            out.append(a)
    return out


def _plays_by_artist(
    events: Sequence[Mapping[str, Any]], catalog: Mapping[str, Track], artists: set[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """The events of ``artists``, by artist."""
    by: dict[str, list[Mapping[str, Any]]] = {a: [] for a in artists}
    get = catalog.get
    for e in events:
        track = get(e["track_id"])
        if track is not None and (plays := by.get(track.artist_id)) is not None:
            plays.append(e)
    return by


def milestones_and_discoveries(
    state: UserState,
    result: UpdateResult,
    reached: list[str],
    events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    cfg: TriggerConfig,
    suppressed: dict[str, int],
    milestones: tuple[int, ...],
    want_d: bool,
    indexed: bool = False,
) -> list[Trigger]:
    """``reached``: the artists whose play count reached a watched one in this batch (``result.reached``,
    or :func:`reached_in` when ``update`` watched other counts); ``milestones``: the enabled ones (none:
    milestones are off); ``want_d``: discoveries are on and the listener has the history for one;
    ``indexed``: ``update`` watched the counts these triggers look for, so its event indexes name the
    plays that reached them (``features.triggers.detect`` decides all four)."""
    counts = result.artist_plays
    artists = state.artists
    # Most calls find nothing (a second play, or a new artist of a listener without the history for a
    # discovery): that is decided first, in plain loops (no set, no bisect call).
    crossing: list[str] = []
    second_play: list[str] = []  # artists played for the second time ever (so not new in this batch)
    for a in reached if len(reached) <= 1 else list(dict.fromkeys(reached)):  # (one needs no de-duplication)
        count: int = artists[a][A_PLAYS]
        old = count - counts[a]
        for n in milestones:  # sorted: the first one above the old count
            if n > old:
                if n <= count:
                    crossing.append(a)
                break
        if want_d and old == 1:
            second_play.append(a)
    new_artists = result.new_artists if want_d else []
    if not crossing and not new_artists and not second_play:  # what most batches find
        return []
    fresh: dict[str, int] = {a: i for a, _, _, i in new_artists}  # new artist -> its first play's index
    # The plays a trigger names are an artist's Nth in (event time, track id) order. When the batch's
    # times increase (live batches nearly always) that is the order they came in, and update noted the
    # index of each watched count's play and each new artist's first: no pass over the batch by artist.
    applied = events
    by_artist: dict[str, list[Mapping[str, Any]]] | None = None
    if not indexed or result.skipped_idx or not _increasing(events):
        skipped = set(result.skipped_idx)
        applied = [e for i, e in enumerate(events) if i not in skipped] if skipped else events
        by_artist = _plays_by_artist(applied, catalog, {*crossing, *fresh, *second_play})
    out = _milestones(state, result, crossing, events, catalog, milestones, by_artist)
    if fresh or second_play:
        out += _discoveries(state, result, fresh, second_play, events, applied, catalog, cfg, suppressed, by_artist)
    return out


def _milestones(
    state: UserState,
    result: UpdateResult,
    crossing: list[str],
    events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    milestones: tuple[int, ...],
    by_artist: dict[str, list[Mapping[str, Any]]] | None,
) -> list[Trigger]:
    """A MILESTONE for each watched count an artist of ``crossing`` passed in this batch, at the play
    that reached it (``by_artist``: the batch's plays by artist, None when ``update``'s indexes name
    those plays)."""
    out: list[Trigger] = []
    artists, counts, user = state.artists, result.artist_plays, state.user_id
    for a in crossing:
        rec = artists[a]
        plays = _in_order(by_artist.get(a, [])) if by_artist is not None else None
        old = rec[A_PLAYS] - counts[a]
        for n in milestones:
            if old < n <= rec[A_PLAYS]:
                if plays is None:
                    e = events[_reached_at(result, a, n)]
                elif n - old - 1 < len(plays):
                    e = plays[n - old - 1]
                else:
                    continue
                milestone = (n, rec[A_NAME], catalog[e["track_id"]].track_name, rec[A_FIRST])
                out.append(new_trigger((e["event_time"], "MILESTONE", f"{a}:{n}", user, milestone)))
    return out


def _discoveries(
    state: UserState,
    result: UpdateResult,
    fresh: dict[str, int],
    second_play: list[str],
    events: Sequence[Mapping[str, Any]],
    applied: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    cfg: TriggerConfig,
    suppressed: dict[str, int],
    by_artist: dict[str, list[Mapping[str, Any]]] | None,
) -> list[Trigger]:
    """A DISCOVERY for each artist first played in this batch (``fresh``: its first play's index) or
    played for the second time ever (``second_play``) whose first play was played through or replayed
    soon enough, at the first such play at which the listener had the history for one. Discoveries
    inside a cooldown are counted in ``suppressed`` and remembered as made."""
    out: list[Trigger] = []
    artists, user = state.artists, state.user_id
    times: list[int] | None = None  # the batch's applied event times, sorted (when needed)
    last = state.story_times
    d_last, any_last = last.get("DISCOVERY", NEVER), last.get("*", NEVER)
    d_cd, user_cd = cfg.cooldown_ms.get("DISCOVERY", 0), cfg.user_cooldown_ms
    for a in sorted({*fresh, *second_play}):
        rec = artists[a]
        if a in state.discovered:
            continue
        first_play: Mapping[str, Any] | None = None  # the artist's first play ever, if in this batch
        second: Mapping[str, Any] | None = None  # and its second, if in this batch
        if by_artist is None:
            i = _reached_at(result, a, 2)
            first_play, second = events[fresh[a]] if a in fresh else None, events[i] if i >= 0 else None
        else:
            plays = _in_order(by_artist.get(a, []))
            i = 1 if a in fresh else 0  # where the artist's second play ever is in this batch
            first_play, second = plays[0] if a in fresh else None, plays[i] if i < len(plays) else None
        candidates = []
        if first_play is not None and not first_play["skipped"] and first_play["ms_played"] >= cfg.discovery_min_ms:
            candidates.append(first_play)  # played through
        if second is not None and second["event_time"] - rec[A_FIRST] <= cfg.discovery_replay_ms:
            candidates.append(second)  # replayed within a day
        # the first candidate at which the listener had enough history (everything is new at first):
        # the plays before the batch plus the batch's plays before the candidate
        history = state.total_plays - result.applied - cfg.discovery_min_history
        if history >= 0 or not candidates:
            trigger = candidates[0] if candidates else None
        else:
            if times is None:
                times = sorted(e["event_time"] for e in applied)
            trigger = next((c for c in candidates if history + bisect.bisect_left(times, c["event_time"]) >= 0), None)
        if trigger is None:
            continue
        t = trigger["event_time"]
        state.discovered[a] = t
        if t - d_last < d_cd or t - any_last < user_cd:  # dropped by the cooldown pass too (see _sessions)
            suppressed["DISCOVERY"] = suppressed.get("DISCOVERY", 0) + 1
            continue
        track = catalog[trigger["track_id"]]
        args = (
            rec[A_NAME],
            track.track_name,
            _new_since(artists, t - 7 * DAY_MS, t),
            track.genres[0] if track.genres else None,
        )
        out.append(new_trigger((t, "DISCOVERY", a, user, args)))
    return out


def _new_since(artists: Mapping[str, list[Any]], since: int, t: int) -> int:
    """How many artists were first played in (``since``, ``t``]."""
    n = 0
    for r in artists.values():
        first_seen: int = r[A_FIRST]
        if since < first_seen <= t:
            n += 1
    return n


def _increasing(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the events' times strictly increase."""
    last = NEVER
    for e in events:
        t: int = e["event_time"]
        if t <= last:
            return False
        last = t
    return True


def _reached_at(result: UpdateResult, artist: str, n: int) -> int:
    """The index of the event at which ``artist``'s play count reached ``n`` in this batch (``n``
    watched), -1 if it did not."""
    reached, counts = result.reached, result.reached_n
    for j in range(len(reached)):
        if counts[j] == n and reached[j] == artist:
            return result.reached_at[j]
    return -1


def _order(e: Mapping[str, Any]) -> tuple[int, str]:
    return e["event_time"], e["track_id"]


def _in_order(plays: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``plays`` sorted by (event time, track id); as they came when their times increase (the usual
    case), so that the usual case neither sorts nor calls the key for each play."""
    last = NEVER
    for e in plays:
        t: int = e["event_time"]
        if t <= last:
            return sorted(plays, key=_order)
        last = t
    return plays
