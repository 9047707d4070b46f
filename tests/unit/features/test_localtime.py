"""Local hours from UTC times and IANA zones: exact across daylight-saving switches, cached per day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from features import UserState, localtime, snapshot, update
from tests.unit.features.helpers import CATALOG, HOUR, MIN, ev


def utc(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).timestamp() * 1000)


def test_new_york_springs_forward_on_2026_03_08() -> None:
    switch = utc("2026-03-08T07:00:00")  # 02:00 EST becomes 03:00 EDT
    assert localtime.local_hour("America/New_York", switch - 1) == 1  # 01:59:59.999 EST
    assert localtime.local_hour("America/New_York", switch) == 3
    assert localtime.span("America/New_York", switch - 1) == (-5 * HOUR, utc("2026-03-08T00:00:00"), switch)
    assert localtime.span("America/New_York", switch) == (-4 * HOUR, switch, utc("2026-03-09T00:00:00"))
    assert localtime.local_hour("America/New_York", utc("2026-03-08T04:30:00")) == 23  # the day before, locally


def test_london_falls_back_on_2026_10_25() -> None:
    switch = utc("2026-10-25T01:00:00")  # 02:00 BST becomes 01:00 GMT: 01:xx happens twice
    assert localtime.span("Europe/London", switch - 1)[0] == HOUR
    assert localtime.span("Europe/London", switch)[0] == 0
    assert localtime.local_hour("Europe/London", utc("2026-10-25T00:30:00")) == 1  # 01:30 BST
    assert localtime.local_hour("Europe/London", utc("2026-10-25T01:30:00")) == 1  # 01:30 GMT
    assert localtime.local_hour("Europe/London", utc("2026-10-25T02:00:00")) == 2
    assert localtime.local_hour("Europe/London", utc("2026-10-24T23:00:00")) == 0  # already the 25th there


def test_a_switch_at_half_past_a_utc_hour() -> None:
    switch = utc("2026-10-03T16:30:00")  # Adelaide, UTC+9:30: 02:00 ACST becomes 03:00 ACDT
    assert localtime.local_hour("Australia/Adelaide", switch - 1) == 1
    assert localtime.local_hour("Australia/Adelaide", switch) == 3
    assert localtime.local_hour("Asia/Kolkata", utc("2026-01-01T00:29:59")) == 5  # 05:59:59 IST
    assert localtime.local_hour("Asia/Kolkata", utc("2026-01-01T00:30:00")) == 6


def test_no_zone_or_an_unknown_one_has_no_local_hour() -> None:
    for name in (None, "", "Mars/Olympus_Mons", "Europe", "../../etc/passwd", "x" * 300):
        assert localtime.local_hour(name, utc("2026-01-01T12:00:00")) == -1
        assert localtime.span(name, 0)[0] is None


ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "UTC",
)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(ZONES), st.integers(min_value=utc("1990-01-01T00:00:00"), max_value=utc("2040-01-01T00:00:00")))
def test_local_hour_is_zoneinfos(zone: str, t: int) -> None:
    local = dt.datetime.fromtimestamp(t / 1000, tz=ZoneInfo(zone))
    assert localtime.local_hour(zone, t) == local.hour
    off, lo, hi = localtime.span(zone, t)
    assert lo <= t < hi
    for edge in (lo, hi - 1):  # the offset holds over the whole span
        assert localtime.span(zone, edge)[0] == off


def test_the_cache_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(localtime, "MAX_SPANS", 10)
    for day in range(50):
        assert localtime.local_hour("Europe/Berlin", day * 24 * HOUR + 12 * HOUR) == 13
    assert len(localtime._spans) <= 10


def test_update_counts_local_hours_across_a_switch_in_one_batch() -> None:
    # one batch across New York's spring-forward: the span kept between events must not outlive the switch
    switch = utc("2026-03-08T07:00:00")
    times = [switch - 40 * MIN, switch - 10 * MIN, switch + 10 * MIN, switch + 70 * MIN]
    state = UserState("u")
    update(state, [ev(t, ms=60_000, tz="America/New_York", n=i) for i, t in enumerate(times)], CATALOG)
    assert {h: n for h, n in enumerate(state.local_hours) if n} == {1: 2, 3: 1, 4: 1}
    assert [e[-1] for e in state.log] == [1, 1, 3, 4]
    profile = snapshot(state)["hour_profile"]
    assert profile[1] == 0.5 and profile[3] == profile[4] == 0.25


def test_update_switches_zones_within_a_batch() -> None:
    t = utc("2026-10-25T12:00:00")
    events = [
        ev(t, tz="Asia/Tokyo"),
        ev(t + MIN, tz=None, n=1),
        ev(t + 2 * MIN, tz="America/Los_Angeles", n=2),
        ev(t + 3 * MIN, tz="Nope/Zone", n=3),
        ev(t + 4 * MIN, tz="Asia/Tokyo", n=4),
    ]
    state = UserState("u")
    update(state, events, CATALOG)
    assert [e[-1] for e in state.log] == [21, -1, 5, -1, 21]
    assert sum(state.local_hours) == 3
