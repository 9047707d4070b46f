"""FeatureProcessor without faust or Kafka: validation, coalescing, and replay without double counting."""

from schemas import schema_str
from schemas.codec import Decoder, listening_event_encoder
from schemas.fastread import read_listening_event_core
from schemas.records import TrackInfo
from streams.pipeline.processor import FeatureProcessor, RawMessage, Stored, dead_letter_headers

NOW = 1_800_000_000_000
CATALOG = {"t1": TrackInfo("t1", "Song", "a1", "Artist", genres=("bebop", "jazz"))}
W = listening_event_encoder(1)


def ev(i: int, user: str = "u1", **kw) -> dict:
    return {
        "event_id": f"e{i}",
        "user_id": user,
        "track_id": "t1",
        "event_time": NOW - 10**7 + i * 60_000,
        "ms_played": 60_000,
        "platform": "IOS",
        "country": None,
        "reason_start": "a",
        "reason_end": "b",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "context": {"type": "UNKNOWN", "uri": None},
        **kw,
    }


def msg(offset: int, raw: bytes, partition: int = 0) -> RawMessage:
    return RawMessage("le", partition, offset, b"u1", raw, 0)


def processor(store: dict) -> FeatureProcessor:
    dec = Decoder(
        schema_str("ListeningEvent"),
        lambda _i: schema_str("ListeningEvent"),
        reader_id=1,
        fast_reader=read_listening_event_core,
    )
    return FeatureProcessor(dec, CATALOG.get, lambda user, _p: store.get(user), clock_ms=lambda: NOW)


def test_coalesces_one_write_and_one_snapshot_per_user_per_flush() -> None:
    p = processor({})
    p.process([msg(i, W.encode(ev(i))) for i in range(5)] + [msg(5, W.encode(ev(5, user="u2")), 1)])
    p.process([msg(6, W.encode(ev(6)))])
    items = p.take_dirty()
    assert sorted(u for u, *_ in items) == ["u1", "u2"]
    assert {u: snap["total_plays"] for u, _, _, snap in items} == {"u1": 6, "u2": 1}
    assert p.take_dirty() == []


def test_replayed_offsets_are_not_counted_twice() -> None:
    store: dict = {}
    p = processor(store)
    batch = [msg(i, W.encode(ev(i))) for i in range(10)]
    p.process(batch[:6])
    ((user, _part, state_bytes, _snap),) = p.take_dirty()
    store[user] = state_bytes  # durable up to offset 5
    # Crash: a new processor re-reads from an older committed offset (2) onwards.
    again = processor(store)
    again.process(batch[2:])
    assert again.stats.skipped_replayed == 4
    ((_, _, state_bytes, snap),) = again.take_dirty()
    assert snap["total_plays"] == 10
    assert Stored.loads(state_bytes).offsets == {0: 9}


def test_a_user_whose_events_were_all_replayed_publishes_its_snapshot_again() -> None:
    # The state was written at a flush the crash cut short: its snapshot may never have gone out.
    store: dict = {}
    p = processor(store)
    batch = [msg(i, W.encode(ev(i))) for i in range(4)]
    p.process(batch)
    ((user, _part, state_bytes, _snap),) = p.take_dirty()
    store[user] = state_bytes
    again = processor(store)
    again.process(batch[1:])  # every one of them already in the stored state
    assert again.stats.skipped_replayed == 3 and again.stats.applied == 0
    ((u, _, state_bytes, snap),) = again.take_dirty()
    assert u == "u1" and snap["total_plays"] == 4
    assert Stored.loads(state_bytes).offsets == {0: 3}


def test_bad_messages_become_dead_letters_with_reasons() -> None:
    p = processor({})
    raws = [
        b"junk bytes",
        W.encode(ev(1, ms_played=-1)),
        W.encode(ev(2, event_time=NOW + 2 * 86_400_000)),
        W.encode(ev(3, track_id="nope")),
        W.encode(ev(4)),
    ]
    dead = p.process([msg(i, r) for i, r in enumerate(raws)])
    assert [d.message.offset for d in sorted(dead, key=lambda d: d.message.offset)] == [0, 1, 2, 3]
    reasons = {d.message.offset: d.reason for d in dead}
    assert (
        "magic" in reasons[0] and "ms_played" in reasons[1] and "future" in reasons[2] and "unknown track" in reasons[3]
    )
    headers = dict(dead_letter_headers(dead[0]))
    assert headers["dlq.source.topic"] == b"le" and "dlq.reason" in headers
    assert p.stats.applied == 1


def test_dirty_parts_serialize_every_changed_state_once_in_parts() -> None:
    p = processor({})
    p.process([msg(i, W.encode(ev(i, user=f"u{i}")), partition=i % 2) for i in range(5)])
    parts = list(p.dirty_parts(size=2))
    assert [len(part) for part in parts] == [2, 2, 1]
    got = {key: (partition, Stored.loads(raw).state.total_plays) for part in parts for key, partition, raw in part}
    assert got == {f"u{i}".encode(): (i % 2, 1) for i in range(5)}
    assert list(p.dirty_parts(size=2)) == []  # nothing changed since


# -- counting once by event_id -------------------------------------------------------------------
def test_an_event_id_seen_before_is_skipped_and_counted() -> None:
    p = processor({})
    p.process([msg(0, W.encode(ev(1))), msg(1, W.encode(ev(2))), msg(2, W.encode(ev(1)))])  # same batch
    p.process([msg(3, W.encode(ev(2))), msg(4, W.encode(ev(3)))])  # a later batch
    assert (p.stats.applied, p.stats.duplicates, p.stats.skipped_replayed) == (3, 2, 0)
    ((_, _, state_bytes, snap),) = p.take_dirty()
    assert snap["total_plays"] == 3
    assert Stored.loads(state_bytes).offsets == {0: 4}  # duplicates move the mark like any event read


def test_ids_survive_a_restart_through_the_stored_state() -> None:
    store: dict = {}
    p = processor(store)
    p.process([msg(i, W.encode(ev(i))) for i in range(3)])
    ((user, _, state_bytes, _),) = p.take_dirty()
    store[user] = state_bytes
    again = processor(store)  # a restart, or the partition's next owner reading the changelog
    again.process([msg(3 + i, W.encode(ev(i))) for i in range(3)])  # re-sent: new offsets, same ids
    assert again.stats.duplicates == 3 and again.stats.applied == 0
    assert again.take_dirty()[0][3]["total_plays"] == 3


def test_ids_are_kept_for_the_grace_window_and_the_set_stays_bounded() -> None:
    p = processor({})
    grace = p.config.grace_ms
    for start in range(0, 160, 20):  # one play a minute for 160 minutes, in batches of 20
        p.process([msg(i, W.encode(ev(i))) for i in range(start, start + 20)])
        stored = p.cache["u1"]
        in_window = {f"e{i}" for i in range(start + 20) if ev(i)["event_time"] >= stored.state.as_of - grace}
        assert in_window <= set(stored.seen)  # every id of the window is kept
        assert len(stored.seen) == len(in_window)  # and no more (these come in event time)
    # An event long out of the window is refused as late, so its id is not needed to keep it out.
    p.process([msg(160, W.encode(ev(0)))])
    assert (p.stats.duplicates, p.stats.late, p.stats.applied) == (0, 1, 160)
    # One within the window is a duplicate.
    p.process([msg(161, W.encode(ev(159)))])
    assert (p.stats.duplicates, p.stats.applied) == (1, 160)


def test_replayed_offsets_are_not_counted_as_duplicates() -> None:
    store: dict = {}
    p = processor(store)
    batch = [msg(i, W.encode(ev(i))) for i in range(6)]
    p.process(batch[:4])
    ((user, _, state_bytes, _),) = p.take_dirty()
    store[user] = state_bytes
    again = processor(store)
    again.process(batch)  # a crash: everything from offset 0 read again
    assert (again.stats.skipped_replayed, again.stats.duplicates, again.stats.applied) == (4, 0, 2)


# -- the bounded cache ---------------------------------------------------------------------------
def flush_into(p: FeatureProcessor, store: dict) -> None:
    """What the worker's checkpoint does with the states: bytes taken in parts, written to the store."""
    for part in p.dirty_parts(size=2):
        store.update({key.decode(): raw for key, _, raw in part})


def test_a_bounded_cache_reads_states_back_and_computes_the_same() -> None:
    events = [W.encode(ev(i, user=f"u{i % 7}")) for i in range(70)]
    results = {}
    for bound in (None, 2):
        store: dict = {}
        p = processor(store)
        p.cache_users = bound
        for start in range(0, 70, 5):  # small batches, a flush after each
            p.process([msg(start + j, events[start + j]) for j in range(5)])
            flush_into(p, store)
            assert bound is None or len(p.cache) <= bound + 5  # the bound, plus this batch's dirty users
        results[bound] = {u: Stored.loads(raw) for u, raw in store.items()}
        if bound is not None:
            assert p.stats.evicted > 0 and len(p.cache) <= bound + 5
    assert results[2] == results[None]


def test_a_dirty_or_held_state_never_leaves_the_cache() -> None:
    store: dict = {}
    p = processor(store)
    p.cache_users = 1
    p.process([msg(i, W.encode(ev(i, user=f"u{i}"))) for i in range(4)])  # four dirty users, bound 1
    assert set(p.cache) == {"u0", "u1", "u2", "u3"} and p.stats.evicted == 0
    p.take_dirty(snapshots=False, states=False)  # taken without bytes: held until dumps
    p.process([msg(4, W.encode(ev(4, user="u4")))])
    assert {"u0", "u1", "u2", "u3"} <= set(p.cache)
    for user in ("u0", "u1", "u2", "u3"):
        store[user] = p.dumps(user)  # now in the store: free to leave
    p.take_dirty()
    p.process([msg(5, W.encode(ev(5, user="u5")))])
    assert len(p.cache) == 1 and "u5" in p.cache
    p.process([msg(6, W.encode(ev(6, user="u0")))])  # read back from the store
    assert p.cache["u0"].state.total_plays == 2
