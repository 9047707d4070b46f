import json

import pytest

from schemas import DecodeError, schema_str
from schemas.codec import Decoder, Encoder, frame, schema_id_of
from schemas.records import ListeningEvent, PlayContext

V1 = {
    "type": "record",
    "name": "Thing",
    "namespace": "linernotes.v1",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "long"}],
}
V2 = {**V1, "fields": [*V1["fields"], {"name": "tag", "type": "string", "default": "none"}]}


def event() -> dict:
    return ListeningEvent(
        "e1",
        "u1",
        "t1",
        1_700_000_000_000,
        183_000,
        "IOS",
        "DE",
        "clickrow",
        "trackdone",
        True,
        False,
        False,
        PlayContext("PLAYLIST", "spotify:playlist:1"),
    ).to_avro()


def test_exact_wire_bytes() -> None:
    # magic 0, schema id 7 big-endian, then Avro: "ab" -> len 2 zig-zag (0x04) + bytes; 3 -> 0x06
    assert Encoder(V1, 7).encode({"id": "ab", "n": 3}) == b"\x00\x00\x00\x00\x07\x04ab\x06"
    assert frame(7, b"\x04ab\x06") == b"\x00\x00\x00\x00\x07\x04ab\x06"
    assert schema_id_of(b"\x00\x00\x00\x01\x00") == 256


def test_round_trip_listening_event() -> None:
    enc = Encoder(schema_str("ListeningEvent"), 3)
    dec = Decoder(schema_str("ListeningEvent"), lambda _i: pytest.fail("own id must not be looked up"), reader_id=3)
    assert dec.decode(enc.encode(event())) == event()


def test_decode_many_keeps_going_and_keeps_raw_bytes() -> None:
    enc = Encoder(V1, 1)
    good = enc.encode({"id": "x", "n": 1})
    bad = [
        None,
        b"\x00\x00",
        b"\x01\x00\x00\x00\x01\x02x\x02",
        good + b"\xff",
        b"\x00\x00\x00\x00\x09\x02x\x02",
        b"\x00\x00\x00\x00\x01\x80",
    ]
    lookup = {1: json.dumps(V1)}
    dec = Decoder(V1, lambda i: lookup[i], reader_id=None)
    oks, errs = dec.decode_many([good, *bad, good])
    assert [i for i, _ in oks] == [0, 7]
    assert [i for i, _ in errs] == [1, 2, 3, 4, 5, 6]
    for (i, err), raw in zip(errs, bad, strict=True):
        assert isinstance(err, DecodeError)
        assert err.raw == raw, i
    reasons = [e.reason for _, e in errs]
    assert "null" in reasons[0] and "too short" in reasons[1] and "magic" in reasons[2]
    assert "trailing" in reasons[3] and "unknown schema id 9" in reasons[4] and "corrupt" in reasons[5]


def test_old_reader_on_new_data_and_new_reader_on_old_data() -> None:
    writers = {1: json.dumps(V1), 2: json.dumps(V2)}
    old_bytes = Encoder(V1, 1).encode({"id": "a", "n": 1})
    new_bytes = Encoder(V2, 2).encode({"id": "b", "n": 2, "tag": "fresh"})
    new_reader = Decoder(V2, writers.__getitem__, reader_id=2)
    old_reader = Decoder(V1, writers.__getitem__, reader_id=1)
    assert new_reader.decode(old_bytes) == {"id": "a", "n": 1, "tag": "none"}
    assert old_reader.decode(new_bytes) == {"id": "b", "n": 2}


def test_an_unknown_schema_id_is_not_looked_up_per_message() -> None:
    calls: list[int] = []
    now = [0.0]

    def lookup(schema_id: int) -> str:
        calls.append(schema_id)
        if schema_id == 9 and now[0] < 10:
            raise KeyError(schema_id)
        return json.dumps(V1)

    dec = Decoder(V1, lookup, reader_id=None, clock=lambda: now[0])
    unknown = b"\x00\x00\x00\x00\x09\x02x\x02"
    oks, errs = dec.decode_many([unknown] * 100)
    assert not oks and len(errs) == 100 and calls == [9]
    assert all("unknown schema id 9" in e.reason and e.raw == unknown for _, e in errs)
    now[0] = 20.0  # past the retry interval: asked again, and now registered
    assert dec.decode(unknown) == {"id": "x", "n": 1} and calls == [9, 9]


def _listening_event_before_tz() -> str:
    """ListeningEvent as it was registered before the ``tz`` field (the current one without it)."""
    from schemas import load_schema

    schema = load_schema("ListeningEvent")
    assert schema["fields"][-1]["name"] == "tz"  # appended: earlier fields keep their positions
    schema["fields"] = schema["fields"][:-1]
    return json.dumps(schema)


def test_an_event_written_before_the_tz_field_decodes_with_tz_none() -> None:
    from schemas.fastread import read_listening_event_core

    old = _listening_event_before_tz()
    old_event = {k: v for k, v in event().items() if k != "tz"}
    old_bytes = Encoder(old, 1).encode(old_event)
    writers = {1: old, 2: schema_str("ListeningEvent")}
    fast = read_listening_event_core
    new_reader = Decoder(schema_str("ListeningEvent"), writers.__getitem__, reader_id=2, fast_reader=fast)
    got = new_reader.decode(old_bytes)  # another writer id: Avro schema resolution fills the default
    assert got["tz"] is None and {k: got[k] for k in old_event} == old_event
    oks, errs = new_reader.decode_many([old_bytes, Encoder(writers[2], 2).encode({**event(), "tz": "Asia/Tokyo"})])
    assert not errs and [e["tz"] for _, e in oks] == [None, "Asia/Tokyo"]
    # and a reader still on the old schema reads new data, ignoring the zone
    old_reader = Decoder(old, writers.__getitem__, reader_id=1)
    assert old_reader.decode(Encoder(writers[2], 2).encode({**event(), "tz": "Asia/Tokyo"})) == old_event


def test_the_tz_field_registers_as_a_backward_and_forward_compatible_version() -> None:
    from streams.devstack.registry.store import Store, check_level

    old, new = _listening_event_before_tz(), schema_str("ListeningEvent")
    assert check_level("FULL_TRANSITIVE", new, [old]) == []
    store = Store(lambda _entry: None)  # the local registry's rules; BACKWARD by default, as Confluent's
    first = store.register("listening-events-value", old)
    assert store.register("listening-events-value", new) == first + 1
    assert store.versions("listening-events-value") == [1, 2]


def test_a_registry_outage_stops_the_batch_and_remembers_nothing() -> None:
    """A lookup the registry could not answer is no verdict on the message: the batch raises, nothing is
    cached as unknown, and once the registry answers the same bytes decode (no dead letter)."""
    from schemas import RegistryUnavailable

    up = [False]
    calls: list[int] = []

    def lookup(schema_id: int) -> str:
        calls.append(schema_id)
        if not up[0]:
            raise RegistryUnavailable("connection refused")
        return json.dumps(V1)

    dec = Decoder(V1, lookup, reader_id=None)
    raws = [Encoder(V1, 5).encode({"id": "a", "n": 1}), b"\x00\x00"]
    for _ in range(3):
        with pytest.raises(RegistryUnavailable) as e:
            dec.decode_many(raws)
        assert e.value.schema_id == 5
    assert calls == [5, 5, 5]  # asked each time: an outage is not cached like an unknown id
    up[0] = True
    dec.resolve(5)
    oks, errs = dec.decode_many(raws)
    assert [r for _, r in oks] == [{"id": "a", "n": 1}] and [i for i, _ in errs] == [1]
    assert calls == [5, 5, 5, 5]


def test_a_schema_the_registry_does_not_have_is_bad_data() -> None:
    from schemas import SchemaNotFound

    def lookup(schema_id: int) -> str:
        raise SchemaNotFound(f"schema id {schema_id}: Schema not found (40403)")

    dec = Decoder(V1, lookup, reader_id=None)
    raw = Encoder(V1, 9).encode({"id": "a", "n": 1})
    oks, errs = dec.decode_many([raw])
    assert not oks and errs[0][1].raw == raw and "Schema not found" in errs[0][1].reason
