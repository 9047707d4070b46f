"""Triggers of the calendar: streaks of active days, a time-of-day shift, the weekly digest (see
``features.triggers`` for the kinds, keys and cooldowns)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from features import localtime
from features.config import DAY_MS, WEEK_MS, TriggerConfig
from features.facts import Trigger, new_trigger, part_of_day
from features.result import UpdateResult
from features.state import A_NAME, L_TIME, UserState, local_hour_of

TOD_RECENT_MS = 6 * DAY_MS  # the log keeps 7 days + grace before the latest event: 6 leave a day of batch span


def streaks(state: UserState, result: UpdateResult, lengths: tuple[int, ...]) -> list[Trigger]:
    """Every run of consecutive days that reached one of ``lengths`` (sorted) on a day this batch added."""
    days = state.days
    if not result.new_days:
        return []
    out = []
    for i in range(bisect.bisect_right(days, result.last_day), len(days)):  # days after the last one before the batch
        # The run ending on day i is >= n days iff the day n-1 entries back is n-1 days earlier (days
        # are distinct and sorted): a check per threshold (ascending), not a walk back over the run.
        day, run = days[i], 0
        for n in lengths:
            if n - 1 > i or days[i - n + 1] != day - n + 1:
                break  # shorter than n, so than every larger threshold
            if n > i or days[i - n] != day - n:
                run = n  # exactly n days
                break
        if not run:
            continue
        first_day = days[i] - run + 1
        day_start = days[i] * DAY_MS  # the run reached `run` days with the first play of this day
        log = state.log  # sorted: its first play of the day by bisection ([t] sorts before [t, ...])
        k = bisect.bisect_left(log, [day_start])
        t = log[k][L_TIME] if k < len(log) and log[k][L_TIME] < day_start + DAY_MS else day_start
        out.append(new_trigger((t, "STREAK", f"{run}:{first_day}", state.user_id, (run,))))
    return out


def _part_shares(hour_counts: Sequence[int]) -> dict[str, int]:
    shares: dict[str, int] = {}
    for h, c in enumerate(hour_counts):
        part = part_of_day(h)
        shares[part] = shares.get(part, 0) + c
    return shares


def time_of_day(
    state: UserState, result: UpdateResult, applied: Sequence[Mapping[str, Any]], cfg: TriggerConfig
) -> list[Trigger]:
    """Evaluated at the first play of each new day, with the profile as it was at that play. Parts of
    the day are by local hour (``state.local_hours``, the log's local hours): plays without a known
    zone do not count."""
    out: list[Trigger] = []
    if not result.new_days:
        return out
    times: list[int] = [e["event_time"] for e in applied]
    local: list[int] = [localtime.local_hour(e.get("tz"), e["event_time"]) for e in applied]
    firsts: dict[int, int] = {}
    for et in times:
        day = et // DAY_MS
        if day > result.last_day and (day not in firsts or et < firsts[day]):
            firsts[day] = et
    log = state.log
    for day in sorted(firsts):
        t = firsts[day]
        lifetime = list(state.local_hours)
        for k in range(len(times)):  # plays after t were not there yet
            if times[k] >= t and local[k] >= 0:
                lifetime[local[k]] -= 1
        if sum(lifetime) < cfg.tod_min_plays_lifetime:
            continue
        recent = [0] * 24
        for k in range(bisect.bisect_left(log, [t - TOD_RECENT_MS]), bisect.bisect_left(log, [t])):
            hour = local_hour_of(log[k])
            if hour >= 0:
                recent[hour] += 1
        n_recent = sum(recent)
        if n_recent < cfg.tod_min_plays_7d:
            continue
        now, life = _part_shares(recent), _part_shares(lifetime)
        new_part = max(now.items(), key=lambda kv: (kv[1], kv[0]))[0]
        old_part = max(life.items(), key=lambda kv: (kv[1], kv[0]))[0]
        share = now[new_part] / n_recent
        if new_part == old_part or share < cfg.tod_min_share:
            continue
        args = (new_part, old_part, round(share * 100))
        out.append(new_trigger((t, "TIME_OF_DAY_SHIFT", f"{day}:{new_part}", state.user_id, args)))
    return out


def weekly(state: UserState, result: UpdateResult, cfg: TriggerConfig) -> list[Trigger]:
    out = []
    for w in result.closed_weeks:
        if w["plays"] < cfg.weekly_min_plays or w["top_artist"] not in state.artists:
            continue
        start = w["week_start"]
        args = (w["ms"], state.artists[w["top_artist"]][A_NAME], w["plays"], start, w["top_genre"] or None, w["new"])
        out.append(new_trigger((start + WEEK_MS, "WEEKLY_DIGEST", str(start // DAY_MS), state.user_id, args)))
    return out
