"""Triggers: pure functions of (state before, state after, the batch) that ask for stories.

``update`` notes in its result the little they need of the state before it (its latest active day,
the days and plays it added); ``fire`` compares that with the state after it and returns
``StoryRequest``s with their fact sheets. Every trigger is a
*crossing* (a count passing a threshold, a session closing, a week ending), so a trigger key is
crossed once in a listener's history, however the events were batched; the story id is derived from
(user, kind, trigger key), so a retry or a replay asks for the same story under the same id.

Kinds and their keys:

- ``SESSION_RECAP`` — a session closed (the watermark passed its end + gap) with at least
  ``session_min_plays`` plays. Key: the session's start time. Event time: the session's last play.
  Its time of day is the local time of its start in the zone of its first play; a session whose
  first play had no (known) zone gets no time-of-day fact.
- ``MILESTONE`` — the Nth play of an artist, N in ``milestones``. Key: artist id and N. Event time:
  that Nth play.
- ``DISCOVERY`` — an artist never played before is played through (``discovery_min_ms``, not
  skipped) or replayed within ``discovery_replay_ms`` of the first play, for a listener with at least
  ``discovery_min_history`` plays before. Key: the artist id (once per artist, ever).
- ``STREAK`` — the run of consecutive active days reaches a length in ``streak_days``. Key: the
  length and the run's first day.
- ``TIME_OF_DAY_SHIFT`` — on a new day, the dominant part of the day of the last 6 days differs from
  the listener's lifetime one, with enough plays. Parts of the day are by each play's local hour, and
  plays without a (known) zone are not counted at all. Key: the day and the new part of day (the 7-day
  cooldown keeps it to one a week). It looks
  back 6 days in the window log (which keeps 7), so it is exact when one call's batch spans less than
  a day of one listener's event time (live batches span seconds; replay cuts batches at days).
- ``WEEKLY_DIGEST`` — the listener's event time passed into a new week (Monday 00:00 UTC), and the
  past week had plays. Key: the week's first day.

Cooldowns: a kind fires for a listener at most once per ``cooldown_ms[kind]`` of event time, and any
two stories of one listener are at least ``user_cooldown_ms`` apart; a trigger inside a cooldown is
dropped and counted (``FireResult.suppressed``), not deferred. Cooldowns are applied in the order of
the triggers' event times, so they decide the same way for any batching of the same events.

Batching: events that come in time order (as producers send them), at distinct times, in batches that
span less than a day of the listener's time, give the same stories and the same ``UserState`` for any
batching (``tests/unit/features/test_batching_property.py``). Outside that: a late event (within
grace) can change which play is a batch's Nth, so a trigger's time and the cooldown and discovery it
records; plays at one millisecond are taken by kind and key, not by arrival; and once a listener's
events span 64 half-lives the decayed scores' landmark moves at a batch's end (``features.decay``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from features import artist_triggers as artist
from features import calendar_triggers as calendar
from features import localtime
from features.config import DAY_MS, DEFAULT_TRIGGERS, KINDS, NEVER, FeatureConfig, TriggerConfig
from features.facts import Trigger, new_trigger, request, story_id
from features.result import UpdateResult
from features.state import (
    A_FIRST,
    A_NAME,
    S_ARTISTS,
    S_END,
    S_MS,
    S_PLAYS,
    S_SKIPS,
    S_START,
    UserState,
    session_tz,
)
from features.update import DEFAULT_CONFIG, Track
from schemas.records import StoryRequest


@dataclass(slots=True)
class FireResult:
    requests: list[StoryRequest] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Detected:
    """What :func:`detect` found: the triggers that passed the cooldowns (fact sheets not yet
    written, see ``features.facts.request``) and the ones the cooldowns dropped, by kind."""

    triggers: list[Trigger]
    suppressed: dict[str, int]


_NOTHING = Detected([], {})  # what most calls find: shared, never changed


class Rules:
    """A configuration's values as a detection reads them, worked out once per configuration
    (:func:`rules`): which kinds are on, the cooldowns as a dict, when a session closes."""

    def __init__(self, cfg: TriggerConfig, fcfg: FeatureConfig) -> None:
        self.cfg, self.fcfg = cfg, fcfg
        enabled = cfg.enabled
        self.session, self.milestone = "SESSION_RECAP" in enabled, "MILESTONE" in enabled
        self.discovery, self.streak = "DISCOVERY" in enabled, "STREAK" in enabled
        self.tod, self.weekly = "TIME_OF_DAY_SHIFT" in enabled, "WEEKLY_DIGEST" in enabled
        self.watch: frozenset[int] = cfg.watch
        self.milestones: tuple[int, ...] = cfg.milestones
        self.streak_days: tuple[int, ...] = cfg.streak_days
        self.session_min_plays: int = cfg.session_min_plays
        self.closing_ms: int = fcfg.session_gap_ms + fcfg.grace_ms + 1  # a session closes this long after its end
        self.cooldown: dict[str, int] = dict(cfg.cooldown_ms)
        self.session_cd: int = self.cooldown.get("SESSION_RECAP", 0)
        self.user_cd: int = cfg.user_cooldown_ms
        self.tod_min_lifetime: int = cfg.tod_min_plays_lifetime
        self.discovery_min_history: int = cfg.discovery_min_history
        self.discovered_kept_ms: int = cfg.discovery_replay_ms + DAY_MS


_rules: list[Rules] = []  # the last configuration's (a worker has one)


def rules(cfg: TriggerConfig, fcfg: FeatureConfig) -> Rules:
    if _rules and _rules[0].cfg is cfg and _rules[0].fcfg is fcfg:
        return _rules[0]
    r = Rules(cfg, fcfg)
    _rules[:] = [r]
    return r


# -- the triggers -------------------------------------------------------------------------------


def _sessions(state: UserState, result: UpdateResult, r: Rules, suppressed: dict[str, int]) -> list[Trigger]:
    # The story's event time is the moment the session closed in event time (the watermark passed its
    # end + gap): no later than the event that closed it and no earlier than any event before that.
    closing, min_plays = r.closing_ms, r.session_min_plays
    artists, user, out = state.artists, state.user_id, []
    # Most recaps fall inside a cooldown. One that does against the cooldowns as they were before this
    # batch is dropped by the cooldown pass too (cooldowns only move forward): count it, skip its facts.
    last = state.story_times
    kind_last, any_last = last.get("SESSION_RECAP", NEVER), last.get("*", NEVER)
    kind_cd, user_cd = r.session_cd, r.user_cd
    for s in result.closed_sessions:
        if s[S_PLAYS] < min_plays:
            continue
        t = s[S_END] + closing
        if t - kind_last < kind_cd or t - any_last < user_cd:
            suppressed["SESSION_RECAP"] = suppressed.get("SESSION_RECAP", 0) + 1
            continue
        counts: dict[str, int] = s[S_ARTISTS]
        start, end = s[S_START], s[S_END]
        top: str | None = None  # most plays, then the greatest name
        most, new = 0, 0
        for a, n in counts.items():
            if n > most or (n == most and top is not None and a > top):
                top, most = a, n
            rec = artists.get(a)
            if rec is not None and start <= rec[A_FIRST] <= end:
                new += 1
        top_rec = artists.get(top) if top is not None else None
        hour = localtime.local_hour(session_tz(s), start)  # -1 when its first play had no known zone
        args = (s[S_MS], s[S_PLAYS], hour, top_rec[A_NAME] if top_rec else None, s[S_SKIPS], new)
        out.append(new_trigger((t, "SESSION_RECAP", str(start), user, args)))
    return out


def detect(
    state: UserState,
    result: UpdateResult,
    events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    cfg: TriggerConfig = DEFAULT_TRIGGERS,
    fcfg: FeatureConfig = DEFAULT_CONFIG,
    prepared: Rules | None = None,
) -> Detected:
    """The triggers this batch crossed, after cooldowns (which it records in ``state``), with their
    fact sheets still to write: the feature worker's hot path. :func:`fire` writes them too.
    ``prepared``: ``rules(cfg, fcfg)``, which a caller with many batches makes once (ignored if it
    was made for another configuration)."""
    closed = result.closed_sessions
    if not result.applied and not closed:
        return _NOTHING
    r = prepared if prepared is not None and prepared.cfg is cfg and prepared.fcfg is fcfg else rules(cfg, fcfg)
    new_day = result.new_days > 0
    found: list[Trigger] = []
    suppressed: dict[str, int] = {}
    if closed and r.session:
        found += _sessions(state, result, r, suppressed)
    # (most batches reach no watched count, and a new artist matters only with the history for a
    # discovery: skip the call)
    want_d = r.discovery and state.total_plays > r.discovery_min_history
    if result.artist_plays and (r.milestone or want_d):
        indexed = result.watched is r.watch  # (what update noted is what the triggers look for)
        reached = result.reached if indexed else artist.reached_in(result, state.artists, r.watch)
        if reached or (want_d and result.new_artists):
            found += artist.milestones_and_discoveries(
                state,
                result,
                reached,
                events,
                catalog,
                cfg,
                suppressed,
                r.milestones if r.milestone else (),
                want_d,
                indexed,
            )
    if new_day and r.streak:
        found += calendar.streaks(state, result, r.streak_days)
    # (a shift needs tod_min_plays_lifetime plays before the day's first play; hours sum to total_plays)
    if new_day and r.tod and state.total_plays > r.tod_min_lifetime:
        skipped = set(result.skipped_idx)
        found += calendar.time_of_day(state, result, [e for i, e in enumerate(events) if i not in skipped], cfg)
    if result.closed_weeks and r.weekly:
        found += calendar.weekly(state, result, cfg)
    discovered = state.discovered
    if discovered and new_day:  # pruned once a day is enough
        # From the start of the (UTC) day the batch ends in, not from its last event: a batch that adds
        # a day ends in the listener's latest day, where one event at a time last pruned too, so any
        # batching keeps the same entries. An entry is read only while a replay can still make a
        # discovery (up to discovery_replay_ms after the artist's first play, so with as_of less than
        # that plus grace past the entry): the horizon stays a day further back.
        horizon = state.as_of // DAY_MS * DAY_MS - r.discovered_kept_ms
        for a in [a for a, t in discovered.items() if t < horizon]:
            del discovered[a]
    return _after_cooldowns(state, r, found, suppressed)


def _after_cooldowns(state: UserState, r: Rules, found: list[Trigger], suppressed: dict[str, int]) -> Detected:
    """``found`` less the triggers inside a cooldown (counted in ``suppressed``), taken in event-time
    order so that any batching of the same events decides the same way; records the cooldowns of those
    kept in ``state``."""
    if not found:
        return Detected([], suppressed) if suppressed else _NOTHING
    out = Detected([], suppressed)
    if len(found) > 1:  # by (event time, kind, key): a trigger's fields in order, and (kind, key) is unique
        found.sort()
    last, cooldown, user_cooldown = state.story_times, r.cooldown, r.user_cd
    for tr in found:
        t, kind = tr[0], tr[1]  # (a named tuple's fields by name cost a Python attribute lookup each)
        if t - last.get(kind, NEVER) < cooldown.get(kind, 0) or t - last.get("*", NEVER) < user_cooldown:
            out.suppressed[kind] = out.suppressed.get(kind, 0) + 1
            continue
        last[kind] = max(last.get(kind, t), t)
        last["*"] = max(last.get("*", t), t)
        out.triggers.append(tr)
    return out


def fire(
    state: UserState,
    result: UpdateResult,
    events: Sequence[Mapping[str, Any]],
    catalog: Mapping[str, Track],
    cfg: TriggerConfig = DEFAULT_TRIGGERS,
    fcfg: FeatureConfig = DEFAULT_CONFIG,
) -> FireResult:
    """The story requests this batch triggers, after cooldowns (which it records in ``state``)."""
    found = detect(state, result, events, catalog, cfg, fcfg)
    return FireResult([request(t) for t in found.triggers], found.suppressed)


__all__ = [
    "KINDS",
    "Detected",
    "FireResult",
    "Rules",
    "Trigger",
    "TriggerConfig",
    "detect",
    "fire",
    "request",
    "story_id",
]
