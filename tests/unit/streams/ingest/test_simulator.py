import itertools

import pytest

from schemas.codec import listening_event_encoder
from streams.ingest.simulate import MergedDays, encoded_days
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.ingest.simulator.catalog import genre_paths
from streams.ingest.simulator.listeners import SESSION_GAP_MS

CONFIG = SimulationConfig(users=60, events=6000, days=5, seed=7)


def all_events(config: SimulationConfig = CONFIG) -> list[dict]:
    return [e for day in Simulation(config).days() for e in day]


def merged(config: SimulationConfig, workers: int) -> list[tuple[int, bytes, bytes]]:
    """Every encoded event of ``config``'s simulation, as ``workers`` generator processes merge them."""
    return [m for day in MergedDays(Simulation(config), 5, workers) for m in day]


def test_same_seed_same_bytes_any_worker_count() -> None:
    one = merged(CONFIG, 1)
    two = merged(CONFIG, 2)
    again = merged(CONFIG, 1)
    assert one == two == again
    other_seed = merged(SimulationConfig(users=60, events=6000, days=5, seed=8), 1)
    assert other_seed != one


def test_exact_count_and_unique_ids() -> None:
    events = all_events()
    assert len(events) == CONFIG.events
    assert len({e["event_id"] for e in events}) == len(events)


def test_each_listener_moves_forward_in_time_with_session_gaps() -> None:
    by_user: dict[str, list[dict]] = {}
    for e in all_events():
        by_user.setdefault(e["user_id"], []).append(e)
    sessions = 0
    for evs in by_user.values():
        times = [e["event_time"] for e in evs]
        assert times == sorted(times) and len(set(times)) == len(times)
        starts = [e["event_time"] - e["ms_played"] for e in evs]
        assert all(start >= end for end, start in zip(times, starts[1:], strict=False))  # plays don't overlap
        gaps = [b - a for a, b in itertools.pairwise(times)]
        sessions += sum(1 for g in gaps if g >= SESSION_GAP_MS)
    assert sessions > len(by_user)  # many listeners come back for more than one session


def test_it_looks_like_listening() -> None:
    events = all_events()
    skips = [e for e in events if e["skipped"]]
    assert 0.03 < len(skips) / len(events) < 0.4
    assert all(e["ms_played"] < 30_000 and e["reason_end"] == "fwdbtn" for e in skips)
    assert len({e["platform"] for e in events}) >= 4
    assert {e["context"]["type"] for e in events} >= {"PLAYLIST", "ALBUM", "RADIO"}
    per_user = {}
    for e in events:
        per_user[e["user_id"]] = per_user.get(e["user_id"], 0) + 1
    counts = sorted(per_user.values())
    assert counts[-1] > 5 * counts[len(counts) // 2]  # skewed activity
    days_per_user: dict[str, set[int]] = {}
    for e in events:
        days_per_user.setdefault(e["user_id"], set()).add(e["event_time"] // 86_400_000)
    assert any(len(d) == CONFIG.days for d in days_per_user.values())  # someone on a streak


def test_catalog_uses_the_genre_tree() -> None:
    sim = Simulation(CONFIG)
    paths = genre_paths()
    assert paths["bebop"] == ("bebop", "jazz")
    assert paths["cantopop"] == ("cantopop", "east asian", "asian")
    for track in sim.catalog.tracks[:50]:
        assert len(track.genres) >= 2 and tuple(track.genres) == paths[track.genres[0]]
    ids = {t.track_id for t in sim.catalog.tracks}
    assert all(e["track_id"] in ids for e in all_events())


def test_encoded_days_matches_writer() -> None:
    sim = Simulation(CONFIG)
    writer = listening_event_encoder(5)
    firsts = next(encoded_days(sim, writer, 0, 1))
    plain = next(Simulation(CONFIG).days())
    assert [v for *_, v in firsts] == [listening_event_encoder(5).encode(e) for e in plain]


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="users >= 1"):
        Simulation(SimulationConfig(users=0, events=10))


def test_listeners_live_in_zones_of_their_country_and_listen_by_local_time() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from streams.ingest.simulator.listeners import _ZONES

    sim = Simulation(CONFIG)
    listeners = {li.user_id: li for li in sim.listeners}
    assert [li.tz for li in Simulation(CONFIG).listeners] == [li.tz for li in listeners.values()]  # by seed
    assert all(li.tz in _ZONES[li.country][0] for li in listeners.values())
    assert len({li.tz for li in listeners.values()}) > 10
    peaks = {u: set(li.peak_hours) for u, li in listeners.items()}  # before any day's drift
    first: dict[str, dict] = {}
    for e in (e for day in sim.days() for e in day):
        assert e["tz"] == listeners[e["user_id"]].tz
        first.setdefault(e["user_id"], e)

    # A listener's first play starts exactly at a planned session start: one of their peak hours, local time.
    def hour(e: dict, tz: str) -> int:
        return datetime.fromtimestamp((e["event_time"] - e["ms_played"]) / 1000, ZoneInfo(tz)).hour

    local = sum(hour(e, e["tz"]) in peaks[u] for u, e in first.items())
    utc = sum(hour(e, "UTC") in peaks[u] for u, e in first.items())
    assert local >= 0.9 * len(first) and utc < 0.5 * len(first), (local, utc, len(first))
