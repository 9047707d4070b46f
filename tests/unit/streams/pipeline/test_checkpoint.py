"""Checkpoint.commit with fakes around a real FeatureProcessor: the steps in their order, one commit in
flight, and a failed step that leaves the offsets unmarked (so the events are read again)."""

import asyncio
from typing import Any

import pytest
from faust.types import TP

from features.facts import Trigger, story_id
from streams.pipeline.checkpoint import Checkpoint
from streams.pipeline.publisher import PublishError
from streams.pipeline.stored import REQUESTS_MARK_KEY, is_listener
from tests.unit.streams.pipeline.test_processor import W, ev, msg, processor

TP0 = TP("le", 0)


class Log(list):
    def __call__(self, *entry: Any) -> None:
        self.append(entry)


class Publisher:
    def __init__(self, log: Log, *, fail_requests: bool = False, delivered: bool = True) -> None:
        self.log, self.fail_requests, self.delivered = log, fail_requests, delivered
        self.parts = 0

    def submit(self, items: list, requests: Any = ()) -> None:
        self.parts += 1
        self.log("submit", len(items), len(requests))

    def mark(self) -> int:
        return self.parts

    def wait_for(self, mark: int) -> None:
        if self.fail_requests:
            raise PublishError("the helper died")
        self.log("requests delivered", mark)

    def done(self) -> bool:
        return self.delivered

    def wait(self) -> tuple[int, int]:
        self.log("helpers delivered")
        return 0, 0


class Producer:
    def __init__(self, log: Log, name: str) -> None:
        self.log, self.name, self.queued = log, name, 0

    def flush(self, _timeout: float) -> int:
        self.log(f"{self.name} flushed")
        return 0

    def poll(self) -> None:
        pass

    def pending(self) -> int:
        return self.queued


class States:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.producer = Producer(log, "changelog")

    def write(self, states: list) -> None:
        self.log("states written", len(states))

    def persist_offsets(self) -> None:
        self.log("changelog offsets persisted")


def checkpoint(**publisher: bool) -> tuple[Checkpoint, Log]:
    log = Log()
    proc = processor({})
    proc.trigger_config = None
    cp = Checkpoint(
        proc,
        Publisher(log, **publisher),  # type: ignore[arg-type]
        States(log),  # type: ignore[arg-type]
        Producer(log, "dead letters"),  # type: ignore[arg-type]
        lambda offsets: log("offsets done", dict(offsets)),
        requests_topic="story-requests",
    )
    return cp, log


def handle(cp: Checkpoint, offsets: range) -> None:
    """What the hot path does with a batch: process it, note the next offset to read."""
    cp.processor.process([msg(i, W.encode(ev(i))) for i in offsets])
    cp.pending[TP0] = offsets[-1] + 1


def test_a_commit_walks_its_steps_in_order() -> None:
    cp, log = checkpoint()
    handle(cp, range(3))
    cp.processor.requests.append((("MILESTONE", "a1", 0), 0, None))  # a fired trigger (its shape matters not here)
    assert asyncio.run(cp.commit(wait=True)) is True
    assert log == [
        ("submit", 0, 1),  # 2. the story requests
        ("submit", 1, 0),  # 3. the states, for the helpers' snapshots
        ("requests delivered", 1),  # 4. the requests handed over before the states (mark 1)
        ("states written", 1),  # 5. RocksDB and the changelog
        ("changelog flushed",),  # 1a (with wait, for this commit)
        ("dead letters flushed",),
        ("helpers delivered",),
        ("changelog offsets persisted",),  # 1b
        ("offsets done", {TP0: 3}),  # 1c
    ]
    assert cp.processor.stats.flushed_messages == 3
    assert not cp.has_uncommitted()
    assert asyncio.run(cp.commit()) is False  # nothing handled since


def test_without_wait_the_commit_stays_in_flight_until_the_next_one_settles_it() -> None:
    cp, log = checkpoint()

    async def run() -> None:
        handle(cp, range(3))
        await cp.commit(wait=False)
        assert ("offsets done", {TP0: 3}) not in log
        handle(cp, range(3, 5))
        log.clear()
        await cp.commit(wait=False)

    asyncio.run(run())
    # Step 1 of the second commit settles the first (and only it: its offsets, not the new ones).
    assert log[:5] == [
        ("changelog flushed",),
        ("dead letters flushed",),
        ("helpers delivered",),
        ("changelog offsets persisted",),
        ("offsets done", {TP0: 3}),
    ]
    assert ("offsets done", {TP0: 5}) not in log


def test_a_quiet_stream_settles_only_what_was_delivered() -> None:
    cp, log = checkpoint(delivered=False)

    async def run() -> None:
        handle(cp, range(2))
        await cp.commit(wait=False)
        await cp.settle_if_delivered()  # the helpers have not answered: nothing is marked
        assert not any(e[0] == "offsets done" for e in log)
        cp.publisher.delivered = True  # type: ignore[attr-defined]
        cp.states.producer.queued = 1  # type: ignore[attr-defined]  # a changelog record still on its way
        await cp.settle_if_delivered()
        assert not any(e[0] == "offsets done" for e in log)
        cp.states.producer.queued = 0  # type: ignore[attr-defined]
        await cp.settle_if_delivered()

    asyncio.run(run())
    assert log[-1] == ("offsets done", {TP0: 2})


def test_requests_not_delivered_leave_the_states_unwritten_and_the_offsets_unmarked() -> None:
    cp, log = checkpoint(fail_requests=True)
    handle(cp, range(2))
    with pytest.raises(PublishError):
        asyncio.run(cp.commit())
    assert not any(e[0] in ("states written", "offsets done") for e in log)


def test_revoked_partitions_are_not_committed() -> None:
    cp, log = checkpoint()
    handle(cp, range(2))
    cp.pending[TP("le", 1)] = 7
    cp.forget({TP("le", 1)})
    asyncio.run(cp.commit())
    assert log[-1] == ("offsets done", {TP0: 2})


# -- requests marks and requests already published (streams.worker.published) ----------------------
def fired(user: str, key: str) -> tuple[Trigger, int, None]:
    return Trigger(0, "MILESTONE", key, user, ()), 0, None


def test_each_partition_stores_the_request_ends_read_while_its_commit_ran_after_its_states() -> None:
    cp, _ = checkpoint()
    ends: list[Any] = [{0: 7, 1: 3}, RuntimeError("broker away"), {0: 9, 1: 4}]
    written: list[list[tuple[bytes, int, bytes]]] = []

    def request_ends() -> dict[int, int]:
        answer = ends.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cp.request_ends = request_ends
    cp.states.write = lambda states: written.append(list(states))  # type: ignore[method-assign]

    async def run() -> None:
        for first in (0, 3, 6):
            handle(cp, range(first, first + 3))
            cp.pending[TP("le", 2)] = 1  # a second partition handled in the same commit
            await cp.commit(wait=True)

    asyncio.run(run())
    marks = [[(k, p, v) for k, p, v in states if k == REQUESTS_MARK_KEY] for states in written]
    assert marks == [
        [(REQUESTS_MARK_KEY, 0, b'{"0":7,"1":3}'), (REQUESTS_MARK_KEY, 2, b'{"0":7,"1":3}')],
        # the ends could not be read: the last ones known (lower than the real ones: still a valid mark)
        [(REQUESTS_MARK_KEY, 0, b'{"0":7,"1":3}'), (REQUESTS_MARK_KEY, 2, b'{"0":7,"1":3}')],
        [(REQUESTS_MARK_KEY, 0, b'{"0":9,"1":4}'), (REQUESTS_MARK_KEY, 2, b'{"0":9,"1":4}')],
    ]
    for states in written:  # after the states, so a mark restored from the changelog implies them
        assert [k == REQUESTS_MARK_KEY for k, _, _ in states] == [False] * (len(states) - 2) + [True, True]
        assert not any(is_listener(k) for k, _, _ in states[-2:])


def test_without_request_ends_no_mark_is_stored() -> None:
    cp, _ = checkpoint()
    written: list[Any] = []
    cp.states.write = written.extend  # type: ignore[method-assign]
    handle(cp, range(3))
    asyncio.run(cp.commit(wait=True))
    assert written and all(is_listener(k) for k, _, _ in written)


def test_a_request_read_back_from_story_requests_is_not_handed_over_again() -> None:
    cp, log = checkpoint()
    cp.published = {story_id("u1", "MILESTONE", "10")}
    cp.processor.requests += [fired("u1", "10"), fired("u1", "50"), fired("u2", "10")]
    cp.hand_over_requests()
    assert log == [("submit", 0, 2)]  # u1's 10th play went out before the restart: dropped
    assert cp.processor.stats.requests_already_published == 1
    cp.published = set()
    cp.processor.requests.append(fired("u1", "10"))
    cp.hand_over_requests()
    assert log[-1] == ("submit", 0, 1)  # no set, nothing dropped
