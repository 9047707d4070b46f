"""The flush helper process: a dead helper stops the worker's flush instead of losing its output."""

import os
import signal

import pytest

from features import FeatureConfig
from streams.config.settings import load
from streams.pipeline.publisher import FlushPublisher, PublishError


def _submit_and_wait(pub: FlushPublisher, items: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    pub.submit(items)  # may already fail (broken pipe), or only the wait does (EOF)
    return pub.wait()


@pytest.mark.parametrize("processes", [1, 2])
def test_a_dead_helper_is_an_error_not_a_silent_loss(processes: int) -> None:
    pub = FlushPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig(), processes=processes)
    try:
        assert pub.wait() == (0, 0)  # nothing outstanding
        victim = pub._procs[-1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        with pytest.raises(PublishError, match=r"died|gone"):
            # keys enough for every helper to get some (split by user)
            _submit_and_wait(pub, [(f"u{i}".encode(), b"not a state") for i in range(16)])
    finally:
        pub.close()


def test_a_bad_state_is_reported() -> None:
    pub = FlushPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        pub.submit([(b"u1", b"\xc1 not msgpack")])
        with pytest.raises(PublishError, match="could not be published"):
            pub.wait()
    finally:
        pub.close()


def test_a_flush_in_parts_is_answered_part_by_part() -> None:
    # The worker hands a flush over in parts; every part is answered (after the delivery covering it),
    # so wait() and done() account for all of them, and a failed part fails that flush only.
    pub = FlushPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        for _ in range(3):
            pub.submit([])
        assert pub.wait() == (0, 0)
        assert pub.done()
        pub.submit([])
        pub.submit([(b"u1", b"\xc1 not msgpack")])
        pub.submit([])
        with pytest.raises(PublishError, match="could not be published"):
            pub.wait()
        assert pub.done()  # nothing is still owed
        pub.submit([])
        assert pub.wait() == (0, 0)  # the next flush starts clean
    finally:
        pub.close()


def test_a_part_that_cannot_be_handed_over_fails_the_flush_instead_of_hanging_it() -> None:
    # Parts are written to the helpers' pipes by sender threads; a write that fails must surface in
    # wait() (its part would never be answered), and a later flush still goes through.
    pub = FlushPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        pub.submit([(b"u1", lambda: b"")])  # type: ignore[list-item]  # cannot be pickled
        with pytest.raises(PublishError, match="could not take a part"):
            pub.wait()
        pub.submit([])
        assert pub.wait() == (0, 0)
    finally:
        pub.close()


def test_wait_for_waits_for_the_parts_before_the_mark() -> None:
    # The worker waits for the requests handed over before a flush's states, not for those states'
    # snapshots; wait() still accounts for every part.
    pub = FlushPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        pub.wait_for(pub.mark())  # nothing before the mark: returns at once
        pub.submit([])
        mark = pub.mark()
        pub.submit([])
        pub.wait_for(mark)
        assert pub._answered[0] >= 1
        assert pub.wait() == (0, 0) and pub.done()
        pub.submit([(b"u1", b"\xc1 not msgpack")])
        mark = pub.mark()
        with pytest.raises(PublishError, match="could not be published"):
            pub.wait_for(mark)  # a failure before the mark is raised
        with pytest.raises(PublishError):
            pub.wait()  # and again by wait, which clears it
        assert pub.done()
        pub.submit([])
        assert pub.wait() == (0, 0)
    finally:
        pub.close()
