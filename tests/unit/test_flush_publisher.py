"""The snapshot helper process: a dead helper stops the worker's flush instead of losing snapshots."""

import os
import signal

import pytest

from features import FeatureConfig
from streams.settings import load
from streams.worker.snapshots import SnapshotError, SnapshotPublisher


def _submit_and_wait(pub: SnapshotPublisher, items: list[tuple[bytes, bytes]]) -> int:
    pub.submit(items)  # may already fail (broken pipe), or only the wait does (EOF)
    return pub.wait()


def test_a_dead_helper_is_an_error_not_a_silent_loss() -> None:
    pub = SnapshotPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        assert pub.wait() == 0  # nothing outstanding
        os.kill(pub._proc.pid, signal.SIGKILL)
        pub._proc.join(10)
        with pytest.raises(SnapshotError):
            _submit_and_wait(pub, [(b"u1", b"not a state")])
    finally:
        pub.close()


def test_a_bad_state_is_reported() -> None:
    pub = SnapshotPublisher(load(bootstrap_servers="127.0.0.1:1"), 1, FeatureConfig())
    try:
        pub.submit([(b"u1", b"\xc1 not msgpack")])
        with pytest.raises(SnapshotError, match="could not be published"):
            pub.wait()
    finally:
        pub.close()
