from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import schema_str
from schemas.codec import Encoder
from schemas.fastpath import ListeningEventWriter, varint_long
from schemas.records import CONTEXT_TYPES, PLATFORMS

text = st.text(max_size=30)
events = st.fixed_dictionaries(
    {
        "event_id": text,
        "user_id": text,
        "track_id": text,
        "event_time": st.integers(min_value=-(2**62), max_value=2**62),
        "ms_played": st.integers(min_value=-(2**40), max_value=2**40),
        "platform": st.sampled_from(PLATFORMS),
        "country": st.none() | text,
        "reason_start": text,
        "reason_end": text,
        "shuffle": st.booleans(),
        "skipped": st.booleans(),
        "offline": st.booleans(),
        "context": st.fixed_dictionaries({"type": st.sampled_from(CONTEXT_TYPES), "uri": st.none() | text}),
        "tz": st.none() | st.sampled_from(("Europe/London", "America/New_York", "Asia/Kolkata")) | text,
    }
)


@settings(max_examples=300)
@given(events)
def test_fast_writer_matches_fastavro_byte_for_byte(event: dict) -> None:
    assert ListeningEventWriter(42).encode(event) == Encoder(schema_str("ListeningEvent"), 42).encode(event)


def test_varint_edges() -> None:
    assert varint_long(0) == b"\x00"
    assert varint_long(-1) == b"\x01"
    assert varint_long(1) == b"\x02"
    assert varint_long(64) == b"\x80\x01"


def test_user_features_writer_matches_fastavro_on_real_snapshots() -> None:
    from features import UserState, snapshot, update
    from schemas.fastpath import UserFeaturesWriter
    from streams.ingest.simulator import Simulation, SimulationConfig

    sim = Simulation(SimulationConfig(users=40, events=3000, days=9, seed=3))
    catalog = {t.track_id: t for t in sim.catalog.tracks}
    states: dict[str, UserState] = {}
    fast, slow = UserFeaturesWriter(9), Encoder(schema_str("UserFeatures"), 9)
    checked = 0
    for day in sim.days():
        for i in range(0, len(day), 300):
            by_user: dict[str, list[dict]] = {}
            for e in day[i : i + 300]:
                by_user.setdefault(e["user_id"], []).append(e)
            for user, events in by_user.items():
                state = states.setdefault(user, UserState(user))
                update(state, events, catalog)
                snap = snapshot(state)
                assert fast.encode(snap) == slow.encode(snap)
                checked += 1
    assert checked > 100
    empty = snapshot(UserState("nobody"))
    assert fast.encode(empty) == slow.encode(empty)


@settings(max_examples=300)
@given(events)
def test_readers_match_fastavro(event: dict) -> None:
    from schemas.fastread import read_listening_event, read_listening_event_core

    raw = ListeningEventWriter(42).encode(event)
    assert read_listening_event(raw) == event
    core = read_listening_event_core(raw)
    assert core == {
        k: event[k] for k in ("event_id", "user_id", "track_id", "event_time", "ms_played", "skipped", "tz")
    }


def test_an_event_without_a_zone_is_written_as_fastavro_writes_its_default() -> None:
    """A dict made before the tz field (no "tz" key) is written with tz null, as fastavro writes a
    missing field that has a default; the readers give the zone back as None or as the name."""
    from schemas.fastread import read_listening_event, read_listening_event_core

    event = {
        "event_id": "e",
        "user_id": "u",
        "track_id": "t",
        "event_time": 1,
        "ms_played": 2,
        "platform": "IOS",
        "country": None,
        "reason_start": "a",
        "reason_end": "b",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "context": {"type": "ALBUM", "uri": None},
    }
    raw = ListeningEventWriter(42).encode(event)
    assert raw == Encoder(schema_str("ListeningEvent"), 42).encode({**event, "tz": None})
    assert read_listening_event(raw)["tz"] is None and read_listening_event_core(raw)["tz"] is None
    zoned = ListeningEventWriter(42).encode({**event, "tz": "America/Argentina/ComodRivadavia"})
    assert read_listening_event_core(zoned)["tz"] == "America/Argentina/ComodRivadavia"
    long_name = "X" * 70  # a length of two varint bytes: the core reader's general path
    assert read_listening_event_core(ListeningEventWriter(42).encode({**event, "tz": long_name}))["tz"] == long_name


def test_readers_reject_corrupt_bodies() -> None:
    import pytest

    from schemas.fastread import read_listening_event, read_listening_event_core

    good = ListeningEventWriter(1).encode(
        {
            "event_id": "e",
            "user_id": "u",
            "track_id": "t",
            "event_time": 1,
            "ms_played": 2,
            "platform": "IOS",
            "country": "SE",
            "reason_start": "a",
            "reason_end": "b",
            "shuffle": False,
            "skipped": True,
            "offline": False,
            "context": {"type": "ALBUM", "uri": "x"},
            "tz": "Europe/Stockholm",
        }
    )
    for bad in (good[:-1], good + b"\x00", good[:5] + b"\xff" * 3 + good[8:], good[:13] + b"\x7f" + good[14:]):
        for reader in (read_listening_event, read_listening_event_core):
            with pytest.raises((ValueError, IndexError, UnicodeDecodeError)):
                reader(bad)
