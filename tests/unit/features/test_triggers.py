"""Triggers: each kind fires on its crossing, once per key, with cooldowns, whatever the batching."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from features import FeatureConfig, UserState, update
from features.config import DAY_MS, DEFAULT_TRIGGERS, HOUR_MS, MINUTE_MS
from features.triggers import KINDS, TriggerConfig, fire, story_id
from inference.factsheet import validate
from inference.grounding import check
from inference.templates import render
from schemas.records import StoryRequest, TrackInfo
from streams.ingest.simulator import Simulation, SimulationConfig

MONDAY = 1_762_732_800_000  # 2025-11-10T00:00:00Z, a Monday
CAT = {
    f"t{i}": TrackInfo(
        f"t{i}",
        f"Song {i}",
        f"a{i % 4}",
        ["Velvet Harbors", "Beck", "Air", "Neon Comets"][i % 4],
        genres=("shoegaze", "rock"),
    )
    for i in range(8)
}


def ev(
    t: int, track: str = "t0", ms: int = 200_000, skipped: bool = False, user: str = "u1", tz: str | None = "UTC"
) -> dict[str, Any]:
    return {"user_id": user, "track_id": track, "event_time": t, "ms_played": ms, "skipped": skipped, "tz": tz}


def run(events: list[dict[str, Any]], cfg: TriggerConfig | None = None, batch: int = 1000) -> list[StoryRequest]:
    state = UserState("u1")
    out: list[StoryRequest] = []
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        r = update(state, chunk, CAT)
        out += fire(state, r, chunk, CAT, cfg or TriggerConfig(user_cooldown_ms=0, cooldown_ms={})).requests
    return out


def kinds(reqs: list[StoryRequest]) -> list[str]:
    return [r.kind for r in reqs]


def test_session_recap_fires_when_the_session_closes() -> None:
    session = [ev(MONDAY + 20 * HOUR_MS + i * 4 * MINUTE_MS, f"t{i % 2}") for i in range(6)]
    assert "SESSION_RECAP" not in kinds(run(session))  # still open
    reqs = run([*session, ev(MONDAY + 23 * HOUR_MS)])
    recap = next(r for r in reqs if r.kind == "SESSION_RECAP")
    facts = {f.name: f for f in recap.facts.facts}
    assert facts["tracks"].number == 6 and facts["minutes"].value == "20 minutes"  # 6 x 200 s
    assert facts["time_of_day"].value == "evening" and facts["top_artist"].value in ("Velvet Harbors", "Beck")
    start = session[0]["event_time"] - 200_000  # a play's event time is when it ended
    closed_at = session[-1]["event_time"] + 30 * MINUTE_MS + 10 * MINUTE_MS + 1  # end + gap + grace: the watermark
    assert recap.event_time == closed_at and recap.trigger_key == str(start)


@pytest.mark.parametrize(
    ("tz", "part"),
    [
        ("Europe/Berlin", "evening"),
        ("America/New_York", "afternoon"),
        ("Asia/Tokyo", "late night"),
        ("Asia/Kolkata", "late night"),
        (None, None),
        ("Mars/Olympus_Mons", None),
    ],
)
def test_a_recap_says_the_local_time_of_day_and_none_without_a_zone(tz: str | None, part: str | None) -> None:
    # the session starts at 19:56:40 UTC (its first play ended at 20:00 after 200 s): 20:56 in Berlin,
    # 14:56 in New York, 04:56 in Tokyo, 01:26 in Kolkata; with no (known) zone there is no time of day
    session = [ev(MONDAY + 20 * HOUR_MS + i * 4 * MINUTE_MS, f"t{i % 2}", tz=tz) for i in range(6)]
    recap = next(r for r in run([*session, ev(MONDAY + 23 * HOUR_MS, tz=tz)]) if r.kind == "SESSION_RECAP")
    facts = {f.name: f.value for f in recap.facts.facts}
    assert facts.get("time_of_day") == part
    validate(recap.kind, recap.facts)
    story = render(recap.kind, recap.facts, recap.seed)
    assert check(story.text, recap.facts).grounded, story.text
    if part is None:  # a template that needs no time of day, and says none
        words = ("morning", "afternoon", "evening", "night", "tonight", "today")
        assert not any(w in story.text.lower() for w in words), story.text
        assert "time_of_day" not in story.facts_used
    for seed in range(40):  # every variant a seed picks
        text = render(recap.kind, recap.facts, seed).text
        assert check(text, recap.facts).grounded, text


def test_milestone_at_the_nth_play_with_its_event_time() -> None:
    plays = [ev(MONDAY + i * DAY_MS // 20, "t0") for i in range(12)]
    m = [r for r in run(plays, batch=5) if r.kind == "MILESTONE"]
    assert len(m) == 1 and m[0].trigger_key == "a0:10" and m[0].event_time == plays[9]["event_time"]
    facts = {f.name: f.value for f in m[0].facts.facts}
    assert facts["play_count"] == "10 plays" and facts["artist"] == "Velvet Harbors" and facts["track"] == "Song 0"


def test_discovery_needs_history_and_a_real_listen() -> None:
    history = [ev(MONDAY + i * 10 * MINUTE_MS, "t0") for i in range(50)]
    t = history[-1]["event_time"]
    skipped_once = [ev(t + HOUR_MS, "t1", ms=5_000, skipped=True)]
    assert "DISCOVERY" not in kinds(run(history + skipped_once))
    replayed = [*skipped_once, ev(t + 2 * HOUR_MS, "t5", ms=5_000, skipped=True)]  # t5: the same artist a1
    d = [r for r in run(history + replayed) if r.kind == "DISCOVERY"]
    assert len(d) == 1 and d[0].event_time == t + 2 * HOUR_MS and d[0].trigger_key == "a1"
    through = [ev(t + HOUR_MS, "t2")]
    assert kinds(run(history + through)).count("DISCOVERY") == 1
    assert "DISCOVERY" not in kinds(run(history[:10] + through))  # too little history: everything is new


def test_a_batch_names_plays_in_time_order_whatever_order_they_came_in() -> None:
    # update notes the index of each watched count's play; detection uses it only for a batch whose
    # times increase, else it orders the artist's plays itself
    history = [ev(MONDAY + i * 10 * MINUTE_MS, "t0") for i in range(50)]
    t = history[-1]["event_time"] + HOUR_MS
    burst = [ev(t + i * 20_000, f"t{1 + 4 * (i % 2)}", ms=5_000, skipped=True) for i in range(12)]  # artist a1
    cfg = TriggerConfig(user_cooldown_ms=0, cooldown_ms={})
    for order in (burst, burst[::-1], burst[6:] + burst[:6]):  # all within grace: every play applied
        state = UserState("u1")
        update(state, history, CAT, watch=cfg.watch)
        r = update(state, order, CAT, watch=cfg.watch)
        assert r.watched is cfg.watch and r.applied == 12
        found = {q.kind: q for q in fire(state, r, order, CAT, cfg).requests}
        assert found["DISCOVERY"].event_time == burst[1]["event_time"]  # replayed: the second play in time
        m = found["MILESTONE"]
        assert m.trigger_key == "a1:10" and m.event_time == burst[9]["event_time"]
        assert {f.name: f.value for f in m.facts.facts}["track"] == "Song 5"


def test_streaks_fire_at_each_threshold_once() -> None:
    days = [ev(MONDAY + d * DAY_MS + 9 * HOUR_MS) for d in range(8)]
    s = [r for r in run(days, batch=1) if r.kind == "STREAK"]
    assert [r.trigger_key for r in s] == [f"3:{MONDAY // DAY_MS}", f"7:{MONDAY // DAY_MS}"]
    assert s[0].event_time == days[2]["event_time"]


def test_streaks_fire_when_the_kept_days_are_full() -> None:
    # Once a listener has days_kept active days, each new day is added and the oldest dropped: the
    # number of days kept stays the same, and a streak reached then must still fire.
    fcfg, cfg = FeatureConfig(days_kept=4), TriggerConfig(user_cooldown_ms=0, cooldown_ms={}, streak_days=(3,))
    state, keys = UserState("u1"), []
    for d in (0, 1, 2, 4, 5, 6):  # a run of 3 (days 0-2), a missed day, another run of 3 (days 4-6)
        chunk = [ev(MONDAY + d * DAY_MS + 9 * HOUR_MS)]
        r = update(state, chunk, CAT, fcfg)
        keys += [q.trigger_key for q in fire(state, r, chunk, CAT, cfg, fcfg).requests if q.kind == "STREAK"]
    assert len(state.days) == 4
    assert keys == [f"3:{MONDAY // DAY_MS}", f"3:{MONDAY // DAY_MS + 4}"]


def test_weekly_digest_when_the_week_ends() -> None:
    week = [ev(MONDAY + d * DAY_MS + 8 * HOUR_MS + i * MINUTE_MS * 5, f"t{i % 3}") for d in range(7) for i in range(2)]
    reqs = run([*week, ev(MONDAY + 7 * DAY_MS + 9 * HOUR_MS)])
    w = [r for r in reqs if r.kind == "WEEKLY_DIGEST"]
    assert len(w) == 1 and w[0].trigger_key == str(MONDAY // DAY_MS)
    facts = {f.name: f for f in w[0].facts.facts}
    assert facts["plays"].number == 14 and facts["week_of"].value == "November 10"


def test_time_of_day_shift() -> None:
    old = [
        ev(MONDAY - 30 * DAY_MS + d * DAY_MS + 8 * HOUR_MS + i * 4 * MINUTE_MS) for d in range(20) for i in range(10)
    ]
    new = [ev(MONDAY + d * DAY_MS + 23 * HOUR_MS + i * 4 * MINUTE_MS) for d in range(5) for i in range(10)]
    weekly = TriggerConfig(user_cooldown_ms=0, cooldown_ms={"TIME_OF_DAY_SHIFT": 7 * DAY_MS})
    shifts = [r for r in run(old + new, weekly, batch=10) if r.kind == "TIME_OF_DAY_SHIFT"]
    assert len(shifts) == 1
    assert len([r for r in run(old + new, batch=10) if r.kind == "TIME_OF_DAY_SHIFT"]) > 1  # every day, uncooled
    facts = {f.name: f.value for f in shifts[0].facts.facts}
    assert facts["new_time_of_day"] == "late night" and facts["old_time_of_day"] == "morning"


def test_time_of_day_shift_in_local_time_and_only_with_zones() -> None:
    def days(first: int, n: int, hour: int, tz: str | None) -> list[dict[str, Any]]:
        return [
            ev(MONDAY + (first + d) * DAY_MS + hour * HOUR_MS + i * 4 * MINUTE_MS, tz=tz)
            for d in range(n)
            for i in range(10)
        ]

    weekly = TriggerConfig(user_cooldown_ms=0, cooldown_ms={"TIME_OF_DAY_SHIFT": 7 * DAY_MS})
    # Tokyo is UTC+9: 08:00 UTC is 17:00 there (evening), 23:00 UTC is 08:00 the next morning
    tokyo = [
        r
        for r in run(days(-30, 20, 8, "Asia/Tokyo") + days(0, 5, 23, "Asia/Tokyo"), weekly, batch=10)
        if r.kind == "TIME_OF_DAY_SHIFT"
    ]
    assert len(tokyo) == 1
    facts = {f.name: f.value for f in tokyo[0].facts.facts}
    assert facts["new_time_of_day"] == "morning" and facts["old_time_of_day"] == "evening"
    # without a zone the same plays say nothing of the time of day: no shift, and zone-less recent plays
    # do not count against a lifetime of zoned ones
    for old_tz, new_tz in ((None, None), ("Asia/Tokyo", None), (None, "Asia/Tokyo"), ("Nope/Zone", "Nope/Zone")):
        found = run(days(-30, 20, 8, old_tz) + days(0, 5, 23, new_tz), weekly, batch=10)
        assert "TIME_OF_DAY_SHIFT" not in kinds(found), (old_tz, new_tz)


def test_cooldowns_drop_bursts() -> None:
    plays = [ev(MONDAY + i * MINUTE_MS, f"t{i % 2}") for i in range(60)]  # milestones 10 and 50 of two artists
    free = run(plays, TriggerConfig(user_cooldown_ms=0, cooldown_ms={}))
    assert kinds(free).count("MILESTONE") == 2
    cool = run(plays, TriggerConfig(user_cooldown_ms=0, cooldown_ms={"MILESTONE": HOUR_MS}))
    assert kinds(cool).count("MILESTONE") == 1
    state = UserState("u1")
    r = update(state, plays, CAT)
    assert fire(state, r, plays, CAT, TriggerConfig(cooldown_ms={"MILESTONE": HOUR_MS})).suppressed == {"MILESTONE": 1}


def test_kinds_can_be_switched_off_and_bad_config_is_refused() -> None:
    plays = [ev(MONDAY + i * MINUTE_MS) for i in range(12)]
    assert not run(plays, TriggerConfig(enabled=frozenset({"STREAK"}), user_cooldown_ms=0))
    with pytest.raises(ValueError, match="unknown trigger kinds"):
        TriggerConfig(enabled=frozenset({"NOPE"}))
    with pytest.raises(ValueError, match="streak_days must be >= 1"):
        TriggerConfig(streak_days=(0, 3))
    cfg = TriggerConfig(milestones=(50, 10, 10), streak_days=(7, 3))
    assert (cfg.milestones, cfg.streak_days, cfg.watch) == ((10, 50), (3, 7), frozenset({2, 10, 50}))


@cache
def simulated() -> tuple[list[dict[str, Any]], dict[str, TrackInfo]]:
    sim = Simulation(SimulationConfig(users=40, events=12_000, days=10, seed=3))
    return [e for day in sim.days() for e in day], {t.track_id: t for t in sim.catalog.tracks}


def fold(
    events: list[dict[str, Any]], catalog: dict[str, TrackInfo], batch: int, *, watch: bool = False
) -> dict[str, StoryRequest]:
    """Every user's events in batches of ``batch``; with ``watch``, ``update`` notes the play counts
    the triggers look for (the worker's way), else the triggers find them from the counts."""
    states: dict[str, UserState] = {}
    by_user: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    out: dict[str, StoryRequest] = {}
    config = FeatureConfig()
    for user, evs in by_user.items():
        state = states.setdefault(user, UserState(user))
        for i in range(0, len(evs), batch):
            chunk = evs[i : i + batch]
            r = update(state, chunk, catalog, config, DEFAULT_TRIGGERS.watch if watch else frozenset())
            assert (r.watched is DEFAULT_TRIGGERS.watch) == watch  # so fire reads r.reached, or counts
            for req in fire(state, r, chunk, catalog).requests:
                assert req.story_id not in out, "a trigger key fired twice"
                out[req.story_id] = req
    return out


def test_same_stories_whatever_the_batching_and_all_templates_grounded() -> None:
    events, catalog = simulated()
    reference = fold(events, catalog, 50)  # about a day and a half of one listener
    assert {r.kind for r in reference.values()} >= set(KINDS) - {"TIME_OF_DAY_SHIFT"}
    for batch in (1, 7):
        assert fold(events, catalog, batch) == reference
    for batch in (1, 50):
        assert fold(events, catalog, batch, watch=True) == reference
    for r in reference.values():
        assert r.story_id == story_id(r.user_id, r.kind, r.trigger_key)
        validate(r.kind, r.facts)
        t = render(r.kind, r.facts, r.seed)
        assert check(t.text, r.facts).grounded, (t.text, r.facts)
    assert replace(next(iter(reference.values()))).seed >= 0


def test_fact_writers_remember_what_they_wrote_and_write_the_same() -> None:
    import datetime as dt

    from features import facts

    for t in (0, 1, facts.DAY_MS - 1, facts.DAY_MS, -1, -facts.DAY_MS, 1_741_000_000_000, 1_741_046_399_999):
        d = dt.datetime.fromtimestamp(t / 1000, tz=dt.UTC)
        assert facts.date_text(t) == f"{d.strftime('%A')}, {d.strftime('%B')} {d.day}, {d.year}"
    assert facts.fact_count("tracks", 3, "track") is facts.fact_count("tracks", 3.2, "track")
    assert facts.fact_count("tracks", 3, "track") == ("tracks", "NUMBER", "3 tracks", 3.0, "track")
    assert facts.fact_count("tracks", 1, "track", "item") == ("tracks", "NUMBER", "1 track", 1.0, "item")
    assert facts.fact_minutes("minutes", 90_000) == ("minutes", "DURATION", "2 minutes", 2.0, "minute")
    assert facts.fact_minutes("minutes", 1) == ("minutes", "DURATION", "1 minute", 1.0, "minute")
