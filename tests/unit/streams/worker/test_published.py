"""Reading story-requests back on assignment (streams.worker.published), with the reads faked: where the
read starts, and when nothing is read."""

from __future__ import annotations

from typing import Any

import pytest

from streams.worker import published


class Msg:
    def __init__(self, value: bytes) -> None:
        self._value = value

    def value(self) -> bytes:
        return self._value


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[int, int]]:
    """The starts of each read of story-requests; every read finds the ids r1, r2 (and r1 again)."""
    starts: list[dict[int, int]] = []

    def read_batches(_conf: Any, _topic: str, *, starts: dict[int, int]) -> Any:
        reads_starts.append(dict(starts))
        yield [Msg(b"r1"), Msg(b"r2")]
        yield [Msg(b"r1")]

    reads_starts = starts
    monkeypatch.setattr(published, "read_batches", read_batches)
    return starts


def ids(values: list[bytes | None]) -> list[str]:
    return [v.decode() for v in values if v is not None]


def test_the_read_starts_at_the_earliest_mark_of_the_partitions_assigned(reads: list[dict[int, int]]) -> None:
    found = published.read_back({}, "story-requests", [{0: 10, 1: 4}, {0: 7, 1: 9}], ids)
    assert found == {"r1", "r2"}
    assert reads == [{0: 7, 1: 4}]


def test_a_partition_never_committed_reads_the_topic_from_its_start(reads: list[dict[int, int]]) -> None:
    assert published.read_back({}, "story-requests", [{0: 10}, {}], ids) == {"r1", "r2"}
    assert reads == [{}]


def test_nothing_assigned_reads_nothing(reads: list[dict[int, int]]) -> None:
    assert published.read_back({}, "story-requests", [], ids) == set()
    assert reads == []
