"""The hand-written event reader against fastavro, its reference: for any bytes, the core reader refuses
them or returns exactly the fields fastavro's schemaless reader returns (as :class:`Decoder` uses it:
the whole body read). Valid bodies from hypothesis, then corrupted field by field (invalid UTF-8 in
every string, varints of any length, union branches and enum indexes of any value, any boolean byte),
cut short, or mutated at random."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import DecodeError, schema_str
from schemas.codec import Decoder, Encoder
from schemas.fastpath import _uvarint, varint_long
from schemas.fastread import CORE_FIELDS, read_listening_event_core
from schemas.records import CONTEXT_TYPES, PLATFORMS
from tests.unit.schemas.test_fastpath import events

HEADER = b"\x00\x00\x00\x00\x01"
SCHEMA = schema_str("ListeningEvent")
ENCODER = Encoder(SCHEMA, 1)
FASTAVRO = Decoder(SCHEMA, lambda _id: SCHEMA, reader_id=1)  # no fast reader: fastavro, whole body read
REFUSALS = (ValueError, IndexError, UnicodeDecodeError)  # what the Decoder turns into a dead letter

STRINGS = ("event_id", "user_id", "track_id", "country", "reason_start", "reason_end", "uri", "tz")
LONGS = ("event_time", "ms_played")
UNIONS = ("country", "uri", "tz")
ENUMS = ("platform", "context_type")
BOOLEANS = ("shuffle", "skipped", "offline")
# Byte sequences that are not UTF-8 wherever they stand between whole characters: a lone continuation
# byte, a bad continuation, a surrogate, an overlong NUL, a code point past U+10FFFF, a cut sequence.
NOT_UTF8 = (b"\x80", b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82")


def texts(e: dict[str, Any]) -> dict[str, str | None]:
    return {f: e["context"]["uri"] if f == "uri" else e[f] for f in STRINGS}


def fields(e: dict[str, Any], raw: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The body as its fields' encodings, in schema order, a union's branch apart from its string;
    ``raw``: the bytes of some strings, in place of the event's."""
    strings = {f: None if t is None else t.encode() for f, t in texts(e).items()} | (raw or {})

    def s(name: str) -> bytes:
        b = strings[name]
        return b"" if b is None else varint_long(len(b)) + b

    def branch(name: str) -> bytes:
        return b"\x00" if strings[name] is None else b"\x02"

    return {
        "event_id": s("event_id"),
        "user_id": s("user_id"),
        "track_id": s("track_id"),
        "event_time": varint_long(e["event_time"]),
        "ms_played": varint_long(e["ms_played"]),
        "platform": varint_long(PLATFORMS.index(e["platform"])),
        "country/branch": branch("country"),
        "country": s("country"),
        "reason_start": s("reason_start"),
        "reason_end": s("reason_end"),
        "shuffle": b"\x01" if e["shuffle"] else b"\x00",
        "skipped": b"\x01" if e["skipped"] else b"\x00",
        "offline": b"\x01" if e["offline"] else b"\x00",
        "context_type": varint_long(CONTEXT_TYPES.index(e["context"]["type"])),
        "uri/branch": branch("uri"),
        "uri": s("uri"),
        "tz/branch": branch("tz"),
        "tz": s("tz"),
    }


def compare(body: bytes) -> str:
    """Fails unless the core reader refuses ``body`` or agrees with fastavro; says which happened."""
    raw = HEADER + body
    try:
        core = read_listening_event_core(raw)
    except REFUSALS:
        core = None
    try:
        reference = FASTAVRO.decode(raw)
    except DecodeError:
        reference = None
    if core is None:
        return "refused" if reference is None else "only fastavro reads it"
    assert reference is not None, f"the core reader accepts {body!r}, which fastavro refuses"
    assert core == {k: reference[k] for k in CORE_FIELDS}, body
    return "both read it"


@settings(max_examples=300)
@given(events)
def test_the_field_encodings_are_fastavros(event: dict) -> None:
    """The corruptions below start from these encodings: they must be fastavro's bytes."""
    assert HEADER + b"".join(fields(event).values()) == ENCODER.encode(event)
    assert compare(b"".join(fields(event).values())) == "both read it"


@settings(max_examples=400)
@given(events, st.sampled_from(STRINGS), st.sampled_from(NOT_UTF8), st.integers(min_value=0))
def test_invalid_utf8_in_any_string_is_refused(event: dict, field: str, bad: bytes, at: int) -> None:
    """As fastavro refuses it: the strings the core reader does not return included."""
    text = texts(event)[field] or ""
    at %= len(text) + 1  # between whole characters
    body = b"".join(fields(event, {field: text[:at].encode() + bad + text[at:].encode()}).values())
    with pytest.raises(UnicodeDecodeError):
        read_listening_event_core(HEADER + body)
    with pytest.raises(DecodeError, match="UnicodeDecodeError"):
        FASTAVRO.decode(HEADER + body)


@settings(max_examples=400)
@given(
    events,
    st.sampled_from(LONGS + tuple(f"{u}/branch" for u in UNIONS) + ENUMS + STRINGS),
    st.integers(min_value=0, max_value=40)
    | st.integers(min_value=0, max_value=2**72)
    | st.sampled_from((2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 2, 2**70 + 6)),  # fastavro keeps 64 bits
    st.integers(min_value=0, max_value=4),
)
def test_any_varint_in_any_varint_field(event: dict, field: str, n: int, padding: int) -> None:
    """Longs, union branches, enum indexes and string lengths of any bits, past 64 too, written in as
    many bytes as they need or ``padding`` more (overlong: no Avro writer writes them, fastavro reads
    them)."""
    parts = fields(event)
    encoded = _uvarint(n)  # any non-negative n, not zig-zagged: the value read is any bits at all
    if padding:
        encoded = encoded[:-1] + bytes([encoded[-1] | 0x80]) + b"\x80" * (padding - 1) + b"\x00"
    if field in STRINGS:  # the length, before the string's own bytes
        text = texts(event)[field]
        if text is None:
            return
        parts[field] = encoded + text.encode()
    else:
        parts[field] = encoded
    compare(b"".join(parts.values()))


@settings(max_examples=300)
@given(events, st.sampled_from(BOOLEANS), st.integers(min_value=0, max_value=255))
def test_any_boolean_byte(event: dict, field: str, byte: int) -> None:
    parts = fields(event)
    parts[field] = bytes([byte])
    outcome = compare(b"".join(parts.values()))
    assert outcome == "both read it" if byte <= 1 else outcome == "only fastavro reads it"


@settings(max_examples=300)
@given(events, st.data())
def test_truncated_and_extended_bodies_are_refused(event: dict, data: st.DataObject) -> None:
    body = b"".join(fields(event).values())
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    assert compare(body[:cut]) != "both read it"
    assert compare(body + data.draw(st.binary(min_size=1, max_size=8))) != "both read it"


def mutated(body: bytes, edits: list[tuple[int, str, int]]) -> bytes:
    """``body`` with each ``(at, kind, byte)`` applied in turn: replace, insert or delete at ``at``."""
    out = bytearray(body)
    for at, kind, byte in edits:
        if kind == "insert":
            out.insert(at, byte)
        elif at < len(out):
            if kind == "replace":
                out[at] = byte
            else:
                del out[at]
    return bytes(out)


@settings(max_examples=500)
@given(events, st.data())
def test_randomly_mutated_bodies(event: dict, data: st.DataObject) -> None:
    body = b"".join(fields(event).values())
    edits = [
        (
            data.draw(st.integers(min_value=0, max_value=len(body))),
            data.draw(st.sampled_from(("replace", "insert", "delete"))),
            data.draw(st.integers(min_value=0, max_value=255)),
        )
        for _ in range(data.draw(st.integers(min_value=1, max_value=3)))
    ]
    compare(mutated(body, edits))


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_any_bytes(body: bytes) -> None:
    compare(body)


def test_seeded_mutations_of_simulated_events() -> None:
    """Real events (the simulator's ids, reasons, zones), each with 1-3 bytes replaced, inserted or
    deleted: many more cases than hypothesis runs, the same each time."""
    from streams.ingest.simulator import Simulation, SimulationConfig

    rng = random.Random(29)
    sim = Simulation(SimulationConfig(users=50, events=2000, days=3, seed=29))
    outcomes: dict[str, int] = {}
    for day in sim.days():
        for event in day:
            body = ENCODER.encode(event)[5:]
            for _ in range(10):
                edits = [
                    (rng.randrange(len(body) + 1), rng.choice(("replace", "insert", "delete")), rng.randrange(256))
                    for _ in range(rng.randint(1, 3))
                ]
                outcome = compare(mutated(body, edits))
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) >= 15_000 and outcomes.get("both read it", 0) > 0


def test_an_event_without_a_zone_reads_as_none_and_long_strings_take_the_general_path() -> None:
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
        "tz": None,
    }
    assert read_listening_event_core(ENCODER.encode(event))["tz"] is None
    zoned = ENCODER.encode({**event, "tz": "America/Argentina/ComodRivadavia"})
    assert read_listening_event_core(zoned)["tz"] == "America/Argentina/ComodRivadavia"
    long_name = "X" * 70  # a length of two varint bytes: the core reader's general path
    assert read_listening_event_core(ENCODER.encode({**event, "tz": long_name}))["tz"] == long_name
    for field in ("country", "reason_start", "reason_end"):  # a skipped string on the general path
        bad = ENCODER.encode({**event, field: "é" * 40}).replace("é".encode(), b"\xc3\x28", 1)
        with pytest.raises(UnicodeDecodeError):
            read_listening_event_core(bad)
