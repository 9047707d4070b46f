from features import UserState, snapshot, update
from features.windows import WINDOWS, WindowSpec, aggregate
from tests.unit.features.helpers import CATALOG, DAY, HOUR, MIN, T0, ev


def windows_of(events):
    s = UserState("u")
    update(s, events, CATALOG)
    return {w["name"]: w for w in snapshot(s)["windows"]}, s


def test_window_bounds() -> None:
    as_of = T0 + 5 * HOUR + 20 * MIN
    assert WindowSpec("x", "sliding", HOUR).bounds(as_of) == (as_of - HOUR + 1, as_of + 1)
    assert WindowSpec("x", "tumbling", HOUR).bounds(as_of) == (T0 + 5 * HOUR, T0 + 6 * HOUR)
    assert WindowSpec("x", "hopping", HOUR, 15 * MIN).bounds(as_of) == (
        T0 + 4 * HOUR + 30 * MIN,
        T0 + 5 * HOUR + 30 * MIN,
    )
    assert (
        WindowSpec("x", "tumbling", 7 * DAY).bounds(as_of)[1] - WindowSpec("x", "tumbling", 7 * DAY).bounds(as_of)[0]
        == 7 * DAY
    )


def test_boundaries_are_start_inclusive_end_exclusive() -> None:
    at_hour = T0 + 2 * HOUR
    w, _ = windows_of([ev(at_hour - 1, "t0", ms=MIN), ev(at_hour, "t1", ms=2 * MIN)])
    assert w["tumbling_1h"]["plays"] == 1 and w["tumbling_1h"]["minutes"] == 2.0
    assert w["sliding_1h"]["plays"] == 2
    w, _ = windows_of([ev(T0, "t0"), ev(T0 + HOUR, "t1")])
    assert w["sliding_1h"]["plays"] == 1  # exactly 1 h old falls out of (as_of - 1h, as_of]


def test_per_artist_and_per_genre_counts() -> None:
    events = [ev(T0 + i * MIN, "t0") for i in range(3)] + [ev(T0 + 10 * MIN, "t1")]
    w, _ = windows_of(events)
    assert w["sliding_24h"]["top_artists"] == [{"name": "Artist 0", "count": 3}, {"name": "Artist 1", "count": 1}]
    assert w["sliding_24h"]["top_genres"] == [{"name": "bebop", "count": 3}, {"name": "techno", "count": 1}]


def test_seven_day_windows_and_log_retention() -> None:
    events = [ev(T0 + d * DAY, "t0") for d in range(10)]
    w, s = windows_of(events)
    assert w["sliding_7d"]["plays"] == 7
    assert w["hopping_7d_by_1d"]["plays"] == 7
    assert all(e[0] >= s.as_of - 7 * DAY - 10 * MIN for e in s.log)


def test_every_window_is_published() -> None:
    w, s = windows_of([ev(T0)])
    assert list(w) == [spec.name for spec in WINDOWS]
    assert aggregate(s.log, WINDOWS[0], s.as_of).plays == 1


def test_one_pass_equals_per_window() -> None:
    from features.windows import aggregate_all

    events = [ev(T0 + i * 37 * MIN, f"t{i % 5}", skipped=i % 4 == 0) for i in range(400)]
    _, s = windows_of(events)
    assert aggregate_all(s.log, s.as_of) == [aggregate(s.log, spec, s.as_of) for spec in WINDOWS]
