"""Out-of-order events within the grace period give exactly the in-order features."""

from hypothesis import given, settings
from hypothesis import strategies as st

from features import FeatureConfig, UserState, snapshot, update
from tests.unit.features.helpers import CATALOG, MIN, T0, ev

CONFIG = FeatureConfig(session_gap_ms=30 * MIN, grace_ms=20 * MIN)
TRACKS = sorted(CATALOG)
# no zone, an unknown one, whole-hour and half-hour offsets (New York's summer time ended the day before T0)
ZONES = (None, "Nope/Nowhere", "America/New_York", "Europe/London", "Asia/Kolkata")


@st.composite
def arrivals(draw):
    """Events over a few days, then an arrival order in which each event is at most ``grace``
    older than the latest one that arrived before it (so every event is accepted)."""
    n = draw(st.integers(min_value=1, max_value=60))
    gaps = draw(st.lists(st.sampled_from([0, 1, 2, 5, 9, 25, 31, 45, 180, 1440]), min_size=n, max_size=n))
    times, t = [], T0
    for g in gaps:
        t += g * MIN + draw(st.integers(min_value=0, max_value=59_999))
        times.append(t)
    events = [
        ev(
            tt,
            draw(st.sampled_from(TRACKS)),
            ms=draw(st.integers(min_value=1_000, max_value=400_000)),
            skipped=draw(st.booleans()),
            n=i,
            tz=draw(st.sampled_from(ZONES)),
        )
        for i, tt in enumerate(times)
    ]
    # Shuffle by a random delay per event, bounded by the grace period.
    delays = draw(st.lists(st.integers(min_value=0, max_value=CONFIG.grace_ms), min_size=n, max_size=n))
    order = sorted(range(n), key=lambda i: (events[i]["event_time"] + delays[i], i))
    shuffled = [events[i] for i in order]
    batch = draw(st.integers(min_value=1, max_value=n))
    return events, shuffled, batch


def fold(events, batch):
    s = UserState("u")
    for i in range(0, len(events), batch):
        update(s, events[i : i + batch], CATALOG, CONFIG)
    return s


@settings(max_examples=300, deadline=None)
@given(arrivals())
def test_out_of_order_within_grace_equals_in_order(case) -> None:
    in_order, shuffled, batch = case
    a, b = fold(in_order, 1), fold(shuffled, batch)
    assert b.late_events == 0
    assert snapshot(a, CONFIG) == snapshot(b, CONFIG)
    # The exact state too, apart from float sums added in another order.
    for f in (
        "total_plays",
        "total_ms",
        "skips",
        "artists",
        "genres",
        "log",
        "local_hours",
        "days",
        "genre_days",
        "open_sessions",
        "sessions_closed",
        "last_session",
        "as_of",
    ):
        assert getattr(a, f) == getattr(b, f), f
