"""Triggers: pure functions of (state before, state after, the batch) that ask for stories.

``before(state)`` takes a few numbers from the state before ``update``; ``fire`` compares them with
the state after it and returns ``StoryRequest``s with their fact sheets. Every trigger is a
*crossing* (a count passing a threshold, a session closing, a week ending), so a trigger key is
crossed once in a listener's history, however the events were batched; the story id is derived from
(user, kind, trigger key), so a retry or a replay asks for the same story under the same id.

Kinds and their keys:

- ``SESSION_RECAP`` — a session closed (the watermark passed its end + gap) with at least
  ``session_min_plays`` plays. Key: the session's start time. Event time: the session's last play.
- ``MILESTONE`` — the Nth play of an artist, N in ``milestones``. Key: artist id and N. Event time:
  that Nth play.
- ``DISCOVERY`` — an artist never played before is played through (``discovery_min_ms``, not
  skipped) or replayed within ``discovery_replay_ms`` of the first play, for a listener with at least
  ``discovery_min_history`` plays before. Key: the artist id (once per artist, ever).
- ``STREAK`` — the run of consecutive active days reaches a length in ``streak_days``. Key: the
  length and the run's first day.
- ``TIME_OF_DAY_SHIFT`` — on a new day, the dominant part of the day of the last 6 days differs from
  the listener's lifetime one, with enough plays. Key: the day and the new part of day (the 7-day
  cooldown keeps it to one a week). It looks
  back 6 days in the window log (which keeps 7), so it is exact when one call's batch spans less than
  a day of one listener's event time (live batches span seconds; replay cuts batches at days).
- ``WEEKLY_DIGEST`` — the listener's event time passed into a new week (Monday 00:00 UTC), and the
  past week had plays. Key: the week's first day.

Cooldowns: a kind fires for a listener at most once per ``cooldown_ms[kind]`` of event time, and any
two stories of one listener are at least ``user_cooldown_ms`` apart; a trigger inside a cooldown is
dropped and counted (``FireResult.suppressed``), not deferred. Cooldowns are applied in the order of
the triggers' event times, so they decide the same way for any batching of the same events.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from features.config import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, FeatureConfig
from features.state import (
    A_FIRST,
    A_NAME,
    A_PLAYS,
    L_TIME,
    S_ARTISTS,
    S_END,
    S_MS,
    S_PLAYS,
    S_SKIPS,
    S_START,
    UserState,
)
from features.update import DEFAULT_CONFIG, Track, UpdateResult
from schemas.records import Fact, FactSheet, StoryRequest

TOD_RECENT_MS = 6 * DAY_MS  # the log keeps 7 days + grace before the latest event: 6 leave a day of batch span
KINDS = ("SESSION_RECAP", "MILESTONE", "DISCOVERY", "STREAK", "TIME_OF_DAY_SHIFT", "WEEKLY_DIGEST")
PARTS_OF_DAY = (("late night", 0, 5), ("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 22),
                ("late night", 22, 24))  # fmt: skip


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    enabled: frozenset[str] = frozenset(KINDS)
    session_min_plays: int = 5
    milestones: tuple[int, ...] = (10, 50, 100, 250, 500, 1000)
    discovery_min_ms: int = 60_000
    discovery_replay_ms: int = DAY_MS
    discovery_min_history: int = 50
    streak_days: tuple[int, ...] = (3, 7, 30, 100, 365)
    tod_min_plays_7d: int = 30
    tod_min_plays_lifetime: int = 150
    tod_min_share: float = 0.4
    weekly_min_plays: int = 5
    cooldown_ms: Mapping[str, int] = field(
        default_factory=lambda: {
            "SESSION_RECAP": 6 * HOUR_MS, "MILESTONE": HOUR_MS, "DISCOVERY": 6 * HOUR_MS, "STREAK": 0,
            "TIME_OF_DAY_SHIFT": WEEK_MS, "WEEKLY_DIGEST": 0,
        }
    )  # fmt: skip
    user_cooldown_ms: int = 10 * MINUTE_MS

    def __post_init__(self) -> None:
        unknown = set(self.enabled) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown trigger kinds: {', '.join(sorted(unknown))}")
        if any(v < 0 for v in self.cooldown_ms.values()) or self.user_cooldown_ms < 0:
            raise ValueError("cooldowns must be >= 0")


DEFAULT_TRIGGERS = TriggerConfig()


class Before(NamedTuple):  # a tuple: built for every user batch, a frozen dataclass costs 3x
    as_of: int
    days: int
    last_day: int
    total_plays: int


def before(state: UserState) -> Before:
    return Before(state.as_of, len(state.days), state.days[-1] if state.days else -1, state.total_plays)


@dataclass(slots=True)
class FireResult:
    requests: list[StoryRequest] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)


# -- fact formatting ------------------------------------------------------------------------------


def _n(count: float, noun: str) -> str:
    count = round(count)
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def fact_count(name: str, count: float, noun: str, unit: str | None = None) -> Fact:
    return Fact(name, "NUMBER", _n(count, noun), float(round(count)), unit or noun)


def fact_minutes(name: str, ms: int) -> Fact:
    minutes = max(1, round(ms / MINUTE_MS))
    return Fact(name, "DURATION", _n(minutes, "minute"), float(minutes), "minute")


def part_of_day(hour: int) -> str:
    return next(name for name, lo, hi in PARTS_OF_DAY if lo <= hour < hi)


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


def date_text(t_ms: int) -> str:
    """``Monday, March 3, 2025`` in UTC (tables, not strftime: no locale, and fast)."""
    d = dt.datetime.fromtimestamp(t_ms / 1000, tz=dt.UTC)
    return f"{_WEEKDAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}"


def story_id(user: str, kind: str, key: str) -> str:
    return "st-" + hashlib.sha256(f"{user}\x1f{kind}\x1f{key}".encode()).hexdigest()[:24]


def _seed(sid: str) -> int:
    return int(sid[3:19], 16) & ((1 << 62) - 1)


def _request(user: str, kind: str, key: str, event_time: int, key_fact: str, facts: list[Fact]) -> StoryRequest:
    sid = story_id(user, kind, key)
    return StoryRequest(sid, user, kind, key, event_time, FactSheet(key_fact, tuple(facts)), seed=_seed(sid))


# -- the triggers -------------------------------------------------------------------------------


def _sessions(state: UserState, result: UpdateResult, cfg: TriggerConfig, fcfg: FeatureConfig) -> list[StoryRequest]:
    # The story's event time is the moment the session closed in event time (the watermark passed its
    # end + gap): no later than the event that closed it and no earlier than any event before that.
    closing = fcfg.session_gap_ms + fcfg.grace_ms + 1
    out = []
    for s in result.closed_sessions:
        if s[S_PLAYS] < cfg.session_min_plays:
            continue
        counts: dict[str, int] = s[S_ARTISTS]
        top = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0] if counts else None
        facts = [fact_minutes("minutes", s[S_MS]), fact_count("tracks", s[S_PLAYS], "track"),
                 Fact("time_of_day", "TIME_OF_DAY", part_of_day((s[S_START] // HOUR_MS) % 24))]  # fmt: skip
        if top is not None and top in state.artists:
            facts.append(Fact("top_artist", "ARTIST", state.artists[top][A_NAME]))
        if s[S_SKIPS]:
            facts.append(fact_count("skips", s[S_SKIPS], "skip"))
        new = sum(1 for a in counts if a in state.artists and s[S_START] <= state.artists[a][A_FIRST] <= s[S_END])
        if new:
            facts.append(fact_count("new_artists", new, "new artist", "artist"))
        out.append(_request(state.user_id, "SESSION_RECAP", str(s[S_START]), s[S_END] + closing, "minutes", facts))
    return out


def _plays_by_artist(
    events: Sequence[Mapping[str, Any]], catalog: Mapping[str, Track]
) -> dict[str, list[Mapping[str, Any]]]:
    by: dict[str, list[Mapping[str, Any]]] = {}
    for e in events:
        track = catalog.get(e["track_id"])
        if track is not None:
            by.setdefault(track.artist_id, []).append(e)
    return by


def _milestones_and_discoveries(
    b: Before, state: UserState, result: UpdateResult, events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track], cfg: TriggerConfig,
) -> list[StoryRequest]:  # fmt: skip
    out: list[StoryRequest] = []
    want_m = "MILESTONE" in cfg.enabled
    want_d = "DISCOVERY" in cfg.enabled and b.total_plays + result.applied > cfg.discovery_min_history
    if not (want_m or want_d):
        return out
    counts = result.artist_plays
    artists = state.artists
    crossing: list[str] = []
    fresh: set[str] = {a for a, _, _ in result.new_artists} if want_d and result.new_artists else set()
    second_play: list[str] = []
    milestones = cfg.milestones if want_m else ()
    lowest = milestones[0] if milestones else 1 << 62
    for a, k in counts.items():  # one pass: most artists cross nothing and are not new
        plays = artists[a][A_PLAYS]
        if plays >= lowest:
            i = bisect.bisect_right(milestones, plays - k)  # the first milestone above the old count
            if i < len(milestones) and milestones[i] <= plays:
                crossing.append(a)
        if want_d and plays - k == 1 and a not in fresh:
            second_play.append(a)
    if not crossing and not fresh and not second_play:
        return out
    skipped = set(result.skipped_idx)
    applied = [e for i, e in enumerate(events) if i not in skipped]
    by_artist = _plays_by_artist(applied, catalog)
    for a in crossing:
        rec = state.artists[a]
        plays = sorted(by_artist.get(a, []), key=_order)
        old = rec[A_PLAYS] - counts[a]
        for n in cfg.milestones:
            if old < n <= rec[A_PLAYS] and n - old - 1 < len(plays):
                e = plays[n - old - 1]
                track = catalog[e["track_id"]]
                facts = [fact_count("play_count", n, "play"), Fact("artist", "ARTIST", rec[A_NAME]),
                         Fact("track", "TRACK", track.track_name),
                         Fact("first_played", "DATE", date_text(rec[A_FIRST]))]  # fmt: skip
                out.append(_request(state.user_id, "MILESTONE", f"{a}:{n}", e["event_time"], "play_count", facts))
    for a in sorted(fresh | set(second_play)):
        rec = state.artists[a]
        if a in state.discovered:
            continue
        plays = sorted(by_artist.get(a, []), key=_order)
        first = rec[A_FIRST]
        candidates = []
        if a in fresh and not plays[0]["skipped"] and plays[0]["ms_played"] >= cfg.discovery_min_ms:
            candidates.append(plays[0])  # played through
        i = 1 if a in fresh else 0  # where the artist's second play ever is in this batch
        if i < len(plays) and plays[i]["event_time"] - first <= cfg.discovery_replay_ms:
            candidates.append(plays[i])  # replayed within a day
        # the first candidate at which the listener had enough history (everything is new at first)
        history = b.total_plays - cfg.discovery_min_history
        trigger = next(
            (c for c in candidates if history + sum(e["event_time"] < c["event_time"] for e in applied) >= 0), None
        )
        if trigger is None:
            continue
        t = trigger["event_time"]
        state.discovered[a] = t
        track = catalog[trigger["track_id"]]
        new_7d = sum(1 for r in state.artists.values() if t - 7 * DAY_MS < r[A_FIRST] <= t)
        facts = [Fact("artist", "ARTIST", rec[A_NAME]), Fact("track", "TRACK", track.track_name),
                 fact_count("new_artists_7d", new_7d, "new artist", "artist")]  # fmt: skip
        if track.genres:
            facts.append(Fact("genre", "GENRE", track.genres[0]))
        out.append(_request(state.user_id, "DISCOVERY", a, t, "artist", facts))
    return out


def _order(e: Mapping[str, Any]) -> tuple[int, str]:
    return e["event_time"], e["track_id"]


def _streaks(b: Before, state: UserState, cfg: TriggerConfig) -> list[StoryRequest]:
    """Every run of consecutive days that reached a threshold on a day this batch added."""
    days = state.days
    if len(days) == b.days:
        return []
    out = []
    new = [i for i in range(len(days)) if days[i] > b.last_day]  # days after the last one before the batch
    for i in new:
        run = 1
        while run <= i and days[i - run] == days[i] - run:
            run += 1
        if run not in cfg.streak_days:
            continue
        first_day = days[i] - run + 1
        day_start = days[i] * DAY_MS  # the run reached `run` days with the first play of this day
        t = next((e[L_TIME] for e in state.log if day_start <= e[L_TIME] < day_start + DAY_MS), day_start)
        facts = [Fact("streak_days", "STREAK", _n(run, "day"), float(run), "day")]
        out.append(_request(state.user_id, "STREAK", f"{run}:{first_day}", t, "streak_days", facts))
    return out


def _part_shares(hour_counts: Sequence[int]) -> dict[str, int]:
    shares: dict[str, int] = {}
    for h, c in enumerate(hour_counts):
        part = part_of_day(h)
        shares[part] = shares.get(part, 0) + c
    return shares


def _time_of_day(
    b: Before, state: UserState, result: UpdateResult, applied: list[Mapping[str, Any]], cfg: TriggerConfig
) -> list[StoryRequest]:
    """Evaluated at the first play of each new day, with the profile as it was at that play."""
    out: list[StoryRequest] = []
    if len(state.days) == b.days:
        return out
    firsts: dict[int, int] = {}
    for e in applied:
        day = e["event_time"] // DAY_MS
        if day > b.last_day and (day not in firsts or e["event_time"] < firsts[day]):
            firsts[day] = e["event_time"]
    for day in sorted(firsts):
        t = firsts[day]
        lifetime = list(state.hours)
        for e in applied:  # plays after t were not there yet
            if e["event_time"] >= t:
                lifetime[(e["event_time"] // HOUR_MS) % 24] -= 1
        if sum(lifetime) < cfg.tod_min_plays_lifetime:
            continue
        recent = [0] * 24
        for entry in state.log:
            if t - TOD_RECENT_MS <= entry[L_TIME] < t:
                recent[(entry[L_TIME] // HOUR_MS) % 24] += 1
        n_recent = sum(recent)
        if n_recent < cfg.tod_min_plays_7d:
            continue
        now, life = _part_shares(recent), _part_shares(lifetime)
        new_part = max(now.items(), key=lambda kv: (kv[1], kv[0]))[0]
        old_part = max(life.items(), key=lambda kv: (kv[1], kv[0]))[0]
        share = now[new_part] / n_recent
        if new_part == old_part or share < cfg.tod_min_share:
            continue
        pct = round(share * 100)
        facts = [Fact("new_time_of_day", "TIME_OF_DAY", new_part), Fact("old_time_of_day", "TIME_OF_DAY", old_part),
                 Fact("share", "NUMBER", f"{pct}%", float(pct), "percent")]  # fmt: skip
        out.append(_request(state.user_id, "TIME_OF_DAY_SHIFT", f"{day}:{new_part}", t, "new_time_of_day", facts))
    return out


def _weekly(state: UserState, result: UpdateResult, cfg: TriggerConfig) -> list[StoryRequest]:
    out = []
    for w in result.closed_weeks:
        if w["plays"] < cfg.weekly_min_plays or w["top_artist"] not in state.artists:
            continue
        start = w["week_start"]
        d = dt.datetime.fromtimestamp(start / 1000, tz=dt.UTC)
        facts = [
            fact_minutes("minutes", w["ms"]),
            Fact("top_artist", "ARTIST", state.artists[w["top_artist"]][A_NAME]),
            fact_count("plays", w["plays"], "play"),
            Fact("week_of", "DATE", f"{_MONTHS[d.month - 1]} {d.day}"),
        ]
        if w["top_genre"]:
            facts.append(Fact("top_genre", "GENRE", w["top_genre"]))
        if w["new"]:
            facts.append(fact_count("new_artists", w["new"], "new artist", "artist"))
        out.append(_request(state.user_id, "WEEKLY_DIGEST", str(start // DAY_MS), start + WEEK_MS, "minutes", facts))
    return out


def fire(
    b: Before,
    state: UserState,
    result: UpdateResult,
    events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    cfg: TriggerConfig = DEFAULT_TRIGGERS,
    fcfg: FeatureConfig = DEFAULT_CONFIG,
) -> FireResult:
    """The story requests this batch triggers, after cooldowns (which it records in ``state``)."""
    out = FireResult()
    if not result.applied and not result.closed_sessions:
        return out
    enabled = cfg.enabled
    new_day = len(state.days) != b.days
    found: list[StoryRequest] = []
    if result.closed_sessions and "SESSION_RECAP" in enabled:
        found += _sessions(state, result, cfg, fcfg)
    if result.artist_plays:
        found += _milestones_and_discoveries(b, state, result, events, catalog, cfg)
    if new_day and "STREAK" in enabled:
        found += _streaks(b, state, cfg)
    # (a shift needs tod_min_plays_lifetime plays before the day's first play; hours sum to total_plays)
    if new_day and "TIME_OF_DAY_SHIFT" in enabled and state.total_plays > cfg.tod_min_plays_lifetime:
        skipped = set(result.skipped_idx)
        found += _time_of_day(b, state, result, [e for i, e in enumerate(events) if i not in skipped], cfg)
    if result.closed_weeks and "WEEKLY_DIGEST" in enabled:
        found += _weekly(state, result, cfg)
    if state.discovered and len(state.days) != b.days:  # pruned once a day is enough
        horizon = state.as_of - cfg.discovery_replay_ms - DAY_MS
        for a in [a for a, t in state.discovered.items() if t < horizon]:
            del state.discovered[a]
    if not found:
        return out
    last = state.story_times
    for r in sorted(found, key=lambda r: (r.event_time, r.kind, r.trigger_key)):
        since_kind = r.event_time - last.get(r.kind, -(10**15))
        since_any = r.event_time - last.get("*", -(10**15))
        if since_kind < cfg.cooldown_ms.get(r.kind, 0) or since_any < cfg.user_cooldown_ms:
            out.suppressed[r.kind] = out.suppressed.get(r.kind, 0) + 1
            continue
        last[r.kind] = max(last.get(r.kind, r.event_time), r.event_time)
        last["*"] = max(last.get("*", r.event_time), r.event_time)
        out.requests.append(r)
    return out
