import io
import struct

import fastavro
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import schema_str
from schemas.codec import HEADER_SIZE, Encoder, parse
from schemas.fastpath import UserFeaturesWriter, varint_long
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


def test_varint_edges() -> None:
    assert varint_long(0) == b"\x00"
    assert varint_long(-1) == b"\x01"
    assert varint_long(1) == b"\x02"
    assert varint_long(64) == b"\x80\x01"


def test_user_features_writer_matches_fastavro_on_real_snapshots() -> None:
    from features import UserState, snapshot, update
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


# UserFeatures from its schema: any text, names that repeat (the writer caches them), longs and ints
# at their edges, doubles including NaN, infinities and -0.0, and windows sharing their top lists as
# snapshot() builds them (the writer encodes a shared list once).
names = st.sampled_from(("Björk", "Sigur Rós", "sliding_1h", "jazz", "")) | st.text(max_size=12)
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)
doubles = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from((0.0, -0.0))
counted = st.lists(st.fixed_dictionaries({"name": names, "count": longs | st.integers(0, 0x2000)}), max_size=4)
scored = st.lists(st.fixed_dictionaries({"name": names, "score": doubles}), max_size=4)


@st.composite
def user_features(draw: st.DrawFn) -> dict:
    shared = draw(st.lists(counted, min_size=1, max_size=3))
    tops = st.sampled_from(shared) | counted
    window = st.fixed_dictionaries(
        {
            "name": names,
            "start": longs,
            "end": longs,
            "plays": longs,
            "minutes": doubles,
            "top_artists": tops,
            "top_genres": tops,
        }
    )
    session = st.fixed_dictionaries(
        {
            "start": longs,
            "end": longs,
            "plays": longs,
            "minutes": doubles,
            "skips": longs,
            "top_artist": st.none() | names,
        }
    )
    return draw(
        st.fixed_dictionaries(
            {
                "user_id": st.text(max_size=20),
                "as_of": longs,
                "total_plays": longs,
                "total_ms_played": longs,
                "skip_rate": doubles,
                "skip_rate_7d": doubles,
                "plays_1h": longs,
                "plays_24h": longs,
                "plays_7d": longs,
                "minutes_24h": doubles,
                "minutes_7d": doubles,
                "windows": st.lists(window, max_size=4),
                "top_artists": scored,
                "top_genres": scored,
                "artist_plays": counted,
                "streak_days": ints,
                "longest_streak_days": ints,
                "genre_streaks": counted,
                "distinct_artists": longs,
                "new_artists_7d": ints,
                "sessions": longs,
                "last_session": st.none() | session,
                "hour_profile": st.lists(doubles, max_size=24),
                "late_events": longs,
            }
        )
    )


def _bits(x: object) -> object:
    """``x`` with each float as its bytes: NaN equals NaN, and -0.0 differs from 0.0."""
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, dict):
        return {k: _bits(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_bits(v) for v in x]
    return x


FEATURES_ENCODER = Encoder(schema_str("UserFeatures"), 9)
FEATURES_SCHEMA = parse(schema_str("UserFeatures"))


@settings(max_examples=400)
@given(user_features())
def test_user_features_writer_is_fastavro_on_any_snapshot(features: dict) -> None:
    """Its bytes are fastavro's, and fastavro reads them back to the same record."""
    written = UserFeaturesWriter(9).encode(features)
    assert written == FEATURES_ENCODER.encode(features)
    buf = io.BytesIO(written)
    buf.seek(HEADER_SIZE)
    read = fastavro.schemaless_reader(buf, FEATURES_SCHEMA, None)
    assert buf.tell() == len(written) and _bits(read) == _bits(features)
