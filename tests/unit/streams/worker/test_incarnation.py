"""Deciding whether the worker's local state belongs to the topics it reads now (no broker)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest
import rocksdict
from faust.stores.rocksdb import RocksDBOptions, Store

from streams.worker.incarnation import (
    CHANGELOG,
    INPUT,
    BrokerView,
    Topic,
    foreign_reason,
    identity_path,
    read_identity,
    store_offsets,
    store_partitions,
    write_identity,
)

IN, CL = "listening-events", "app-user-state-changelog"


def view(in_id: str | None = "A", cl_id: str | None = "B", partitions: int = 3, ends: Mapping[int, int] | None = None):
    return BrokerView({INPUT: Topic(IN, in_id), CHANGELOG: Topic(CL, cl_id)}, partitions, ends or {})


def recorded(in_id: str | None = "A", cl_id: str | None = "B") -> dict[str, Topic]:
    return {INPUT: Topic(IN, in_id), CHANGELOG: Topic(CL, cl_id)}


class Reader:
    """Stands in for reading the changelog's real end; remembers what it was asked."""

    def __init__(self, real: Mapping[int, int]) -> None:
        self.real, self.asked = real, []

    def __call__(self, reported: Mapping[int, int]) -> Mapping[int, int]:
        self.asked.append(dict(reported))
        return {p: max(end, self.real.get(p, end)) for p, end in reported.items()}


def test_a_normal_restart_reads_nothing_when_the_reported_ends_are_past_the_store() -> None:
    read = Reader({})
    assert foreign_reason(recorded(), view(ends={0: 101, 1: 50}), {0: 100, 1: 49}, read) is None
    assert read.asked == []


def test_an_under_reported_end_is_read_before_deciding() -> None:
    read = Reader({0: 120})  # Tansu reported 7, the log really reaches 120
    assert foreign_reason(recorded(), view(ends={0: 7, 1: 50}), {0: 100, 1: 49}, read) is None
    assert read.asked == [{0: 7}]


def test_a_store_ahead_of_its_changelog_is_from_another_incarnation() -> None:
    read = Reader({})
    reason = foreign_reason(recorded(None, None), view(None, None, ends={0: 0, 1: 3}), {0: 5123, 1: 2}, read)
    assert reason == (
        f"local state for partition 0 was built from another incarnation of {CL} (store offset 5123 >= changelog end 0)"
    )


def test_a_missing_changelog_ends_at_zero_without_reading() -> None:
    read = Reader({})
    reason = foreign_reason({}, view(None, None, partitions=0), {2: 9}, read)
    assert reason is not None and "partition 2" in reason and "changelog end 0" in reason
    assert read.asked == []


@pytest.mark.parametrize(("old", "new", "topic"), [(("A", "B"), ("X", "B"), IN), (("A", "B"), ("A", "Y"), CL)])
def test_another_topic_id_is_another_incarnation(old: tuple, new: tuple, topic: str) -> None:
    reason = foreign_reason(recorded(*old), view(*new, ends={0: 1000}), {0: 3}, Reader({}))
    assert reason is not None and f"another incarnation of {topic}" in reason and "topic id" in reason


def test_unknown_ids_leave_it_to_the_offsets() -> None:
    # nothing recorded (a store from before ids were recorded), a zero UUID, or a topic not there yet
    for rec, v in [({}, view()), (recorded(None, None), view()), (recorded(), view(None, None))]:
        assert foreign_reason(rec, BrokerView(v.topics, 3, {0: 10}), {0: 9}, Reader({})) is None


def test_a_store_of_another_topic_name_is_not_reused() -> None:
    other = {INPUT: Topic(IN, "A"), CHANGELOG: Topic("other-app-user-state-changelog", "B")}
    reason = foreign_reason(other, view(ends={0: 1000}), {0: 3}, Reader({}))
    assert reason == f"local state was built from topic other-app-user-state-changelog, not {CL}"


def test_partitions_without_a_persisted_offset_are_not_judged_by_it() -> None:
    assert foreign_reason(recorded(), view(ends={}), {0: None}, Reader({})) is None


def test_identity_file_round_trip_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "user-state.topics.json"
    assert read_identity(path) == {}
    write_identity(path, recorded("A", None))
    assert read_identity(path) == recorded("A", None)
    path.write_text("{not json")
    assert read_identity(path) == {}


def test_local_store_partitions_and_offsets(tmp_path: Path) -> None:
    store = SimpleNamespace(
        path=tmp_path,
        basename=Path("user-state"),
        offset_key=Store.offset_key,
        rocksdb_options=RocksDBOptions(use_rocksdict=True),
        partition_path=lambda p: tmp_path / f"user-state-{p}.db",
    )
    for partition, offset in ((0, b"41"), (2, None)):
        db = rocksdict.Rdict(str(tmp_path / f"user-state-{partition}.db"), options=store.rocksdb_options.as_options())
        db[b"u1"] = b"state"
        if offset is not None:
            db[Store.offset_key] = offset
        db.close()
    (tmp_path / "user-state-backups").mkdir()
    (tmp_path / "other-table-1.db").mkdir()
    parts = store_partitions(store)
    assert sorted(parts) == [0, 2]
    assert store_offsets(store, parts) == {0: 41, 2: None}
    assert identity_path(store) == tmp_path / "user-state.topics.json"
