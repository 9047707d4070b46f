"""The stored state format: versioned, old states read, ids forgotten once out of the grace window."""

import msgpack

from features import UserState
from streams.pipeline.stored import FORMAT, Stored


def test_round_trip_keeps_state_offsets_and_ids() -> None:
    stored = Stored(UserState("u1", as_of=5, total_plays=2), {0: 7, 3: 1}, {"e1": 4, "e2": 5})
    back = Stored.loads(stored.dumps())
    assert back == stored
    assert msgpack.unpackb(stored.dumps(), strict_map_key=False)["v"] == FORMAT


def test_a_state_written_before_ids_reads_with_none() -> None:
    # What a worker before event ids wrote (format 1): no version, no ids.
    old = msgpack.packb({"s": UserState("u1", total_plays=3).to_dict(), "o": {2: 9}}, use_bin_type=True)
    back = Stored.loads(old)
    assert back.state.total_plays == 3 and back.offsets == {2: 9} and back.seen == {}


def test_a_newer_writers_extra_fields_are_ignored() -> None:
    raw = msgpack.packb(
        {"v": FORMAT + 1, "s": UserState("u1").to_dict(), "o": {}, "i": {"e": 1}, "x": [1]}, use_bin_type=True
    )
    assert Stored.loads(raw).seen == {"e": 1}


def test_forget_before_drops_only_ids_older_than_the_window() -> None:
    stored = Stored(UserState("u1"), seen={"a": 10, "b": 20, "late": 5, "c": 30})
    stored.forget_before(21)
    assert stored.seen == {"c": 30}
    stored.forget_before(0)
    assert stored.seen == {"c": 30}
