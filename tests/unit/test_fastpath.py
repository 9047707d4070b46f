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
