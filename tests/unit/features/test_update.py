from features import FeatureConfig, UserState, snapshot, update
from features.state import A_FIRST, A_PLAYS
from tests.unit.features.helpers import CATALOG, DAY, HOUR, MIN, T0, ev


def fold(events, config=None, batch=1000):
    config = config or FeatureConfig()
    state = UserState("u")
    for i in range(0, len(events), batch):
        update(state, events[i : i + batch], CATALOG, config)
    return state


def test_counts_and_milestone_counters() -> None:
    s = fold([ev(T0 + i * 4 * MIN, f"t{i % 2}", skipped=i == 3) for i in range(10)])
    assert s.total_plays == 10 and s.skips == 1 and s.as_of == T0 + 36 * MIN
    assert s.artists["a0"][A_PLAYS] == 5 and s.artists["a1"][A_PLAYS] == 5
    snap = snapshot(s)
    assert snap["skip_rate"] == 0.1
    assert {a["name"]: a["count"] for a in snap["artist_plays"]} == {"Artist 0": 5, "Artist 1": 5}


def test_discoveries_first_play_and_new_in_7d() -> None:
    s = UserState("u")
    r1 = update(s, [ev(T0, "t0")], CATALOG)
    assert [a for a, *_ in r1.new_artists] == ["a0"]
    r2 = update(s, [ev(T0 + 8 * DAY, "t1"), ev(T0 + 8 * DAY + 5 * MIN, "t0")], CATALOG)
    assert [a for a, *_ in r2.new_artists] == ["a1"]
    assert s.artists["a0"][A_FIRST] == T0
    assert snapshot(s)["new_artists_7d"] == 1 and snapshot(s)["distinct_artists"] == 2


def test_session_closes_after_gap_plus_grace_with_summary() -> None:
    config = FeatureConfig(session_gap_ms=30 * MIN, grace_ms=5 * MIN)
    s = UserState("u")
    r = update(s, [ev(T0 + i * 3 * MIN, "t0", ms=3 * MIN) for i in range(1, 6)], CATALOG, config)
    assert not r.closed_sessions and len(s.open_sessions) == 1
    # 30 min after the session's end is not enough: the watermark lags by the grace period.
    r = update(s, [ev(T0 + 15 * MIN + 34 * MIN, "t1", ms=MIN)], CATALOG, config)
    assert not r.closed_sessions  # new play starts 33 min after the end: new session, but not yet closable
    r = update(s, [ev(T0 + 15 * MIN + 60 * MIN, "t1", ms=MIN)], CATALOG, config)
    assert len(r.closed_sessions) == 1 and s.sessions_closed == 1
    last = snapshot(s, config)["last_session"]
    assert last == {
        "start": T0,
        "end": T0 + 15 * MIN,
        "plays": 5,
        "minutes": 15.0,
        "skips": 0,
        "top_artist": "Artist 0",
    }


def test_an_out_of_order_play_can_bridge_two_sessions() -> None:
    config = FeatureConfig(session_gap_ms=30 * MIN, grace_ms=60 * MIN)
    s = UserState("u")
    update(s, [ev(T0 + 10 * MIN, ms=MIN), ev(T0 + 60 * MIN, ms=MIN)], CATALOG, config)
    assert len(s.open_sessions) == 2
    update(s, [ev(T0 + 35 * MIN, ms=MIN)], CATALOG, config)
    assert len(s.open_sessions) == 1 and s.open_sessions[0][2] == 3


def test_late_events_beyond_grace_are_counted_not_applied() -> None:
    config = FeatureConfig(grace_ms=10 * MIN)
    s = UserState("u")
    update(s, [ev(T0 + HOUR)], CATALOG, config)
    r = update(s, [ev(T0 + HOUR - 9 * MIN, "t1"), ev(T0 + HOUR - 11 * MIN, "t2")], CATALOG, config)
    assert (r.applied, r.late) == (1, 1)
    assert s.total_plays == 2 and s.late_events == 1
    assert snapshot(s, config)["late_events"] == 1


def test_unknown_tracks_are_reported() -> None:
    s = UserState("u")
    r = update(s, [ev(T0, "nope"), ev(T0 + MIN)], CATALOG)
    assert r.unknown_track == 1 and s.total_plays == 1


def test_streaks_and_genre_streaks() -> None:
    days = [0, 1, 2, 4, 5, 6, 7]
    s = fold([ev(T0 + d * DAY + 12 * HOUR, "t0" if d < 5 else "t1") for d in days])
    snap = snapshot(s)
    assert snap["streak_days"] == 4 and snap["longest_streak_days"] == 4
    fams = {g["name"]: g["count"] for g in snap["genre_streaks"]}
    assert fams == {"electronic": 3}  # jazz's run ended on day 4
    # The next day with no listening keeps the streak alive until a day is missed.
    update(s, [ev(T0 + 9 * DAY, "t2")], CATALOG)
    assert snapshot(s)["streak_days"] == 1


def test_time_of_day_profile() -> None:
    # Kolkata is UTC+5:30: 01:30 UTC is 07:00 there, 16:30 UTC is 22:00
    morning = [ev(T0 + 90 * MIN + i * MIN, tz="Asia/Kolkata") for i in range(3)]
    s = fold([*morning, ev(T0 + 16 * HOUR + 30 * MIN, tz="Asia/Kolkata")])
    profile = snapshot(s)["hour_profile"]
    assert profile[7] == 0.75 and profile[22] == 0.25 and sum(profile) == 1.0


def test_the_hour_profile_counts_only_plays_with_a_known_zone() -> None:
    zoned = [ev(T0 + 9 * HOUR + i * MIN, tz="UTC") for i in range(2)]
    s = fold([*zoned, ev(T0 + 20 * HOUR), ev(T0 + 21 * HOUR, tz="Mars/Olympus_Mons")])
    assert s.total_plays == 4 and sum(s.local_hours) == 2
    assert snapshot(s)["hour_profile"][9] == 1.0
    assert [e[-1] for e in s.log] == [9, 9, -1, -1]  # the log keeps each play's local hour (-1: unknown)
    assert snapshot(fold([ev(T0 + 20 * HOUR)]))["hour_profile"] == [0.0] * 24


def test_a_state_saved_before_time_zones_loads_without_its_utc_hours() -> None:
    old = fold([ev(T0 + 9 * HOUR + i * MIN) for i in range(3)]).to_dict()
    del old["local_hours"]
    old["hours"] = [0] * 9 + [3] + [0] * 14  # by UTC hour: it says nothing of the listener's local time
    for entry in old["log"]:
        del entry[-1]  # log entries without a local hour
    for session in old["open_sessions"]:
        del session[-1]  # sessions without a zone
    s = UserState.from_dict(old)
    assert s.local_hours == [0] * 24 and snapshot(s)["hour_profile"] == [0.0] * 24
    update(s, [ev(T0 + 9 * HOUR + 5 * MIN, tz="Europe/London")], CATALOG)  # joins the old open session
    assert s.local_hours[9] == 1 and len(s.open_sessions) == 1


def test_decayed_top_artists_prefer_recent_plays() -> None:
    old = [ev(T0 + i * MIN, "t0") for i in range(6)]  # 6 plays of Artist 0, three weeks earlier
    new = [ev(T0 + 21 * DAY + i * MIN, "t1") for i in range(2)]  # 2 recent plays of Artist 1
    top = snapshot(fold(old + new))["top_artists"]
    assert [a["name"] for a in top] == ["Artist 1", "Artist 0"]
    assert abs(top[0]["score"] - 2.0) < 1e-3 and abs(top[1]["score"] - 6 / 8) < 1e-3  # three half-lives


def test_batching_does_not_change_the_state() -> None:
    events = [ev(T0 + i * 7 * MIN, f"t{i % 5}", skipped=i % 7 == 0) for i in range(300)]
    one = fold(events, batch=1)
    assert one == fold(events, batch=17) == fold(events, batch=1000)


def test_snapshot_is_a_valid_user_features_record() -> None:
    import io
    import json

    import fastavro

    from schemas import load_schema
    from schemas.codec import parse
    from schemas.records import UserFeatures

    s = fold([ev(T0 + i * 40 * MIN, f"t{i % 3}") for i in range(50)])
    snap = snapshot(s)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parse(load_schema("UserFeatures")), snap)
    buf.seek(0)
    back = fastavro.schemaless_reader(buf, parse(load_schema("UserFeatures")), None)
    assert back == snap
    assert json.loads(json.dumps(UserFeatures.from_avro(back).to_avro())) == snap
