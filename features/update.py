"""``update``: apply a batch of one listener's events to their state, in event time.

Every feature is commutative over the accepted events (counts, sums, min/max, sorted inserts,
interval merges), so events that arrive out of order within the grace period give exactly the
state in-order arrival gives. Events older than ``as_of - grace`` are counted as late and
otherwise not applied; nothing is dropped silently.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from features import decay, localtime, sessions, streaks, weeks
from features.config import DAY_MS, HOUR_MS, FeatureConfig
from features.result import UpdateResult
from features.state import A_FIRST, A_LAST, A_MS, A_PLAYS, L_TIME, S_END, UserState
from features.windows import RETENTION_MS

DEFAULT_CONFIG = FeatureConfig()
_event_time = operator.itemgetter("event_time")  # (no generator frame: a first batch can be long)


class Track(Protocol):
    """What update needs from a catalog entry (``schemas.records.TrackInfo`` fits)."""

    @property
    def track_name(self) -> str: ...

    @property
    def artist_id(self) -> str: ...
    @property
    def artist_name(self) -> str: ...
    @property
    def genres(self) -> Sequence[str]: ...


def update(
    state: UserState,
    events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    config: FeatureConfig = DEFAULT_CONFIG,
    watch: frozenset[int] = frozenset(),
) -> UpdateResult:
    """Apply ``events`` (ListeningEvent dicts of ``state.user_id``) to ``state`` in place.

    ``watch``: play counts of an artist to report as they are reached (``result.reached``), so the
    triggers need not look at every artist a batch played (see ``features.triggers``)."""
    result = UpdateResult()
    if not events:
        return result
    result.watched = watch
    days = state.days
    result.last_day = days[-1] if days else -1
    new_days = 0
    reached, first_watched = result.reached, 1 in watch
    grace, gap, hl = config.grace_ms, config.session_gap_ms, config.decay_half_life_ms
    artists, genres, log, hours = state.artists, state.genres, state.log, state.local_hours
    a_scores, g_scores = state.artist_scores, state.genre_scores
    first_batch = not state.total_plays and not a_scores
    if first_batch:
        # The first play that counts, in arrival order (not the batch's earliest, which may have come
        # late): the same for any batching, so is every score. (A loop: no generator per listener.)
        state.landmark = events[0]["event_time"]
        for e in events:
            if e["track_id"] in catalog:
                state.landmark = e["event_time"]
                break
    landmark = state.landmark
    as_of = state.as_of
    pow2 = (2.0).__pow__
    latest = localtime.latest

    batch_plays, new_artists = result.artist_plays, result.new_artists
    old_as_of = as_of
    applied = 0  # (counted in a local, stored in the result once)
    # The UTC offset of the last zone seen, and the UTC times [lo, hi) it holds for: one listener's
    # batch is nearly always one zone within one offset, so the zone is looked up once a batch.
    span_tz: str | None = None
    offset: int | None = None
    lo = hi = 0
    for i, e in enumerate(events):
        t = e["event_time"]
        if t < as_of - grace:
            state.late_events += 1
            result.late += 1
            result.skipped_idx.append(i)
            continue
        track = catalog.get(e["track_id"])
        if track is None:
            result.unknown_track += 1
            result.skipped_idx.append(i)
            continue
        ms, skipped = e["ms_played"], e["skipped"]
        artist = track.artist_id
        track_genres = track.genres
        genre = track_genres[0] if track_genres else ""
        family = track_genres[-1] if track_genres else ""

        state.total_plays += 1
        state.total_ms += ms
        if skipped:
            state.skips += 1
        batch_plays[artist] = batch_plays.get(artist, 0) + 1
        rec = artists.get(artist)
        if rec is None:
            artists[artist] = [1, ms, t, t, track.artist_name]
            new_artists.append((artist, track.artist_name, t, i))
            if first_watched:
                reached.append(artist)
                result.reached_n.append(1)
                result.reached_at.append(i)
        else:
            n = rec[A_PLAYS] + 1
            rec[A_PLAYS] = n
            if n in watch:
                reached.append(artist)
                result.reached_n.append(n)
                result.reached_at.append(i)
            rec[A_MS] += ms
            rec[A_FIRST] = min(rec[A_FIRST], t)
            rec[A_LAST] = max(rec[A_LAST], t)
        w = pow2((t - landmark) / hl)
        a_scores[artist] = a_scores.get(artist, 0.0) + w
        if genre:
            g = genres.get(genre)
            if g is None:
                genres[genre] = [1, ms]
            else:
                g[0] += 1
                g[1] += ms
            g_scores[genre] = g_scores.get(genre, 0.0) + w
        tz = e.get("tz")
        hour = -1  # local hour of day; -1: the event's zone is missing or unknown
        if tz is not None:
            if tz != span_tz or t < lo or t >= hi:
                offset, lo, hi = latest.get(tz) or localtime.span(tz, t)
                if t < lo or t >= hi:
                    offset, lo, hi = localtime.span(tz, t)
                span_tz = tz
            if offset is not None:
                hour = ((t + offset) // HOUR_MS) % 24
                hours[hour] += 1
        entry = [t, artist, genre, ms, skipped, hour]
        if not log or log[-1] <= entry:
            log.append(entry)
        else:  # out of order (within grace): same place in-order arrival would have put it
            bisect.insort(log, entry)
        day = t // DAY_MS
        if (not days or days[-1] != day) and streaks.add_day(days, day):
            new_days += 1
        if family:
            fam = state.genre_days.get(family)
            if fam is None:
                state.genre_days[family] = [day]
            elif fam[-1] != day:
                streaks.add_day(fam, day)
        sessions.add_play(state.open_sessions, t, ms, skipped, artist, gap, tz)
        as_of = max(as_of, t)
        applied += 1

    result.applied = applied
    result.new_days = new_days
    state.as_of = as_of
    if old_as_of:
        since = old_as_of
    elif applied:  # a first batch
        since = state.landmark if first_batch else min(map(_event_time, events))
    else:
        since = as_of
    if weeks.index(since) != weeks.index(as_of):  # weeks it moved past; the digest reads the log before trimming
        for week in range(weeks.index(since), min(weeks.index(as_of), weeks.index(since) + 520)):
            result.closed_weeks.append(weeks.summary(state, (week * 7 - 3) * DAY_MS))
    _housekeeping(state, result, config)
    return result


def _housekeeping(state: UserState, result: UpdateResult, config: FeatureConfig) -> None:
    as_of, grace = state.as_of, config.grace_ms
    # Window log: keep what the largest window can still see, plus grace.
    horizon = as_of - RETENTION_MS - grace
    log = state.log
    if log and log[0][L_TIME] < horizon:
        cut = bisect.bisect_left(log, horizon, key=lambda x: x[L_TIME])
        del log[:cut]
    # Sessions no accepted event can extend any more are closed.
    closed = sessions.close(state.open_sessions, as_of - grace, config.session_gap_ms)
    if closed:
        state.sessions_closed += len(closed)
        result.closed_sessions.extend(closed)
        latest = max(closed, key=lambda s: s[S_END])
        if state.last_session is None or latest[S_END] > state.last_session[S_END]:
            state.last_session = latest
    # Streak memory.
    if len(state.days) > config.days_kept:
        cut = len(state.days) - config.days_kept
        state.longest_before = max(state.longest_before, streaks.longest_streak(state.days[:cut]))
        del state.days[:cut]
    oldest = as_of // DAY_MS - config.genre_streak_days_kept
    for family, days in list(state.genre_days.items()):
        if days[-1] < oldest:
            del state.genre_days[family]
        elif days[0] < oldest:
            del days[: bisect.bisect_left(days, oldest)]
    state.landmark = decay.maybe_move_landmark(state.landmark, as_of, config, state.artist_scores, state.genre_scores)
