"""read_topic's idle timeout counts time spent waiting for records, not the caller's work."""

import time
from types import SimpleNamespace
from typing import Any

import pytest

from streams.config.settings import load
from streams.kafka import read


class _Msg:
    def error(self) -> None:
        return None


class _Consumer:
    """Three batches of records, then nothing."""

    def __init__(self, _conf: Any) -> None:
        self.batches = [[_Msg() for _ in range(3)] for _ in range(3)]

    def list_topics(self, topic: str, timeout: float) -> Any:
        return SimpleNamespace(topics={topic: SimpleNamespace(error=None, partitions={0: None})})

    def assign(self, _parts: Any) -> None:
        pass

    def consume(self, _n: int, timeout: float) -> list[_Msg]:
        if self.batches:
            return self.batches.pop(0)
        time.sleep(timeout)
        return []

    def close(self) -> None:
        pass


def test_a_busy_caller_does_not_end_the_read_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "Consumer", _Consumer)
    n = 0
    for _ in read.read_topic(load().kafka_conf(), "t", idle_s=0.3):
        n += 1
        if n % 3 == 0:
            time.sleep(0.5)  # the caller works longer than idle_s after each batch
    assert n == 9
