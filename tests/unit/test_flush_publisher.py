"""The flush helper process: a dead helper stops the worker's flush instead of losing its output."""

import os
import signal

import pytest

from features import FeatureConfig
from streams.settings import load
from streams.worker.publisher import FlushPublisher, PublishError


def _submit_and_wait(pub: FlushPublisher, items: list[tuple[bytes, bytes]]) -> int:
    pub.submit(items)  # may already fail (broken pipe), or only the wait does (EOF)
    return pub.wait()


def test_a_dead_helper_is_an_error_not_a_silent_loss() -> None:
    pub = FlushPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        assert pub.wait() == (0, 0)  # nothing outstanding
        os.kill(pub._proc.pid, signal.SIGKILL)
        pub._proc.join(10)
        with pytest.raises(PublishError):
            _submit_and_wait(pub, [(b"u1", b"not a state")])
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
