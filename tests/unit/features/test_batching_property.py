"""A listener's final state and stories do not depend on how its events were batched.

The worker cuts one listener's events into batches wherever a poll happens to end; replay cuts them at
days; the fault bench's truth folds them one at a time. All must end in the same ``UserState`` (every
field, compared with ``==`` as the bench does) and fire the same stories, for events that come in
event-time order as the producers send them. Two cases are left out, knowingly: plays of one listener
at the same millisecond (triggers at one time are taken by kind and key, not by arrival) and events
that come late (within grace), where a trigger names the Nth play in its batch's time order, so its
time, the cooldowns it sets and the discoveries it records can depend on the batch; the rest of the
state does not.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from features import FeatureConfig, UserState, update
from features.config import DAY_MS, HOUR_MS, MINUTE_MS
from features.triggers import TriggerConfig, fire
from schemas.records import StoryRequest, TrackInfo
from tests.unit.features.helpers import T0, ev

CONFIG = FeatureConfig(session_gap_ms=30 * MINUTE_MS, grace_ms=10 * MINUTE_MS)
# Few plays before a discovery counts and short cooldowns, so that short histories fire every kind
# (and fill ``discovered``) while the cooldowns still drop some.
TRIGGERS = TriggerConfig(
    discovery_min_history=5,
    milestones=(3, 10, 25),
    tod_min_plays_lifetime=20,
    tod_min_plays_7d=5,
    cooldown_ms={"SESSION_RECAP": HOUR_MS, "MILESTONE": 10 * MINUTE_MS, "DISCOVERY": 2 * HOUR_MS},
    user_cooldown_ms=MINUTE_MS,
)
# 30 artists of 2 tracks each: a listener keeps meeting new ones over the days.
CATALOG = {
    f"t{i}": TrackInfo(
        f"t{i}", f"Song {i}", f"a{i % 30}", f"Artist {i % 30}", genres=(("bebop", "jazz"), ("dub", "reggae"))[i % 2]
    )
    for i in range(60)
}
TRACKS = sorted(CATALOG)
ZONES = (None, "Europe/London", "Asia/Kolkata")
MAX_SPAN_MS = 12 * HOUR_MS  # of a batch, plus at most grace for an event that came late


@st.composite
def listenings(draw: st.DrawFn, *, late: bool = False) -> tuple[list[dict[str, Any]], list[int]]:
    """One listener's sessions over up to two weeks, at distinct times, and batch sizes to cut them
    into. ``late``: they come in an order in which each is at most ``grace`` older than the latest
    before it, else in time order."""
    times: list[int] = []
    for day in range(draw(st.integers(min_value=1, max_value=14))):
        hours = draw(st.lists(st.integers(min_value=0, max_value=23), min_size=day == 0, max_size=3, unique=True))
        for hour in sorted(hours):
            t = T0 + day * DAY_MS + hour * HOUR_MS + draw(st.integers(min_value=0, max_value=HOUR_MS))
            t = max(t, times[-1] if times else t)  # (after the session before, if that ran into this hour)
            for _ in range(draw(st.integers(min_value=1, max_value=8))):
                t += draw(st.integers(min_value=1, max_value=6 * MINUTE_MS))
                times.append(t)
    # now a track never played, now one played before (so that artists reach their second play)
    events, known = [], 1
    for i, t in enumerate(times):
        new = known < len(TRACKS) and draw(st.booleans())
        track = TRACKS[known] if new else TRACKS[draw(st.integers(min_value=0, max_value=known - 1))]
        known += new
        events.append(
            ev(
                t,
                track,
                ms=draw(st.sampled_from((5_000, 30_000, 61_000, 200_000))),
                skipped=draw(st.booleans()),
                n=i,
                tz=draw(st.sampled_from(ZONES)),
            )
        )
    n = len(events)
    sizes = draw(st.lists(st.integers(min_value=1, max_value=n), min_size=1, max_size=n))
    if not late or not n:
        return events, sizes
    delays = draw(st.lists(st.integers(min_value=0, max_value=CONFIG.grace_ms), min_size=n, max_size=n))
    order = sorted(range(n), key=lambda i: (events[i]["event_time"] + delays[i], i))
    return [events[i] for i in order], sizes


def fold(events: list[dict[str, Any]], sizes: list[int]) -> tuple[UserState, dict[str, StoryRequest], dict[str, int]]:
    """The state, the stories by id and the suppressed triggers by kind after ``events`` applied in
    batches of ``sizes`` (cycled)."""
    state, stories, suppressed = UserState("u"), {}, {}
    i = k = 0
    while i < len(events):
        batch = events[i : i + sizes[k % len(sizes)]]
        # The triggers that look back through the log (a streak's first play of its day, a shift of
        # the time of day) are exact for a batch spanning less than a day (``features.triggers``):
        # the worker's batches span seconds of one listener's time, replay's a day at most.
        start = batch[0]["event_time"]
        batch = batch[: next((j for j, e in enumerate(batch) if e["event_time"] >= start + MAX_SPAN_MS), len(batch))]
        i, k = i + len(batch), k + 1
        result = update(state, batch, CATALOG, CONFIG, TRIGGERS.watch)
        fired = fire(state, result, batch, CATALOG, TRIGGERS, CONFIG)
        for r in fired.requests:
            assert r.story_id not in stories, "a trigger key fired twice"
            stories[r.story_id] = r
        for kind, count in fired.suppressed.items():
            suppressed[kind] = suppressed.get(kind, 0) + count
    return state, stories, suppressed


@settings(max_examples=300, deadline=None)
@given(listenings())
def test_any_batching_gives_the_state_and_stories_of_one_event_at_a_time(case: Any) -> None:
    events, sizes = case
    one_state, one_stories, one_suppressed = fold(events, [1])
    state, stories, suppressed = fold(events, sizes)
    want, got = one_state.to_dict(), state.to_dict()
    assert [f for f in want if want[f] != got[f]] == []
    assert stories == one_stories
    assert suppressed == one_suppressed


@settings(max_examples=150, deadline=None)
@given(listenings(late=True))
def test_any_batching_of_late_events_gives_the_state_of_one_event_at_a_time(case: Any) -> None:
    events, sizes = case
    want, got = fold(events, [1])[0].to_dict(), fold(events, sizes)[0].to_dict()
    # (both record when triggers fired, which is what late events may move)
    assert [f for f in want if f not in ("story_times", "discovered") and want[f] != got[f]] == []
