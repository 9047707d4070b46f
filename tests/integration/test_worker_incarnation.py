"""The feature worker's local state against the topics it was built from, on the real broker.

``linernotes down`` empties the in-memory broker, so after ``up`` the topics are new ones whose
offsets start again at 0, while the worker's RocksDB state still holds the previous topics' states
and per-user offset marks. A topic deleted and re-created on a real cluster does the same. The
restarted worker must notice, rebuild its state from the (new) changelog and apply the new events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.bench.common import cleanup, isolated, wait_for, worker_process
from streams.config.settings import Settings
from streams.ingest import simulate
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics
from tests.integration.test_worker import CONFIG, assert_equal_to_truth, produce_more

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FIRST = SimulationConfig(users=30, events=2000, days=2, seed=CONFIG.seed)  # CONFIG's catalog (same seed)
REBUILD_LINE = "another incarnation"


@pytest.fixture
def isettings(stack, stack_settings: Settings) -> Iterator[Settings]:
    s = isolated(stack_settings, "inc").model_copy(update={"events_partitions": 3, "flush_interval_s": 0.5})
    topics.create(s)
    yield s
    cleanup(s)


def all_topics(s: Settings) -> list[str]:
    """Every topic of this run: the contract's and faust's own (changelog, leader topic)."""
    return [*(t.name for t in s.topic_specs()), *(t for t in topics.existing(s) if t.startswith(s.app_id + "-"))]


def run_until_flushed(s: Settings, workdir: Path, events: int) -> tuple[dict, str]:
    """One worker run over a stream: until ``events`` messages were applied or skipped and made
    durable, then SIGTERM. Returns its last stats and its log."""

    def done(x: dict) -> bool:
        return x["applied"] + x["late"] + x["skipped_replayed"] >= events and x["flushed_messages"] >= x["messages"] > 0

    with worker_process(s, workdir) as (proc, url):
        st = wait_for(url, proc, done, timeout_s=240, what="worker")
        time.sleep(1.5)  # a commit after the last flush
        st = wait_for(url, proc, lambda x: True, timeout_s=10, what="worker")
    return st, (workdir / "worker.log").read_text(errors="replace")


def rebuild_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if REBUILD_LINE in line]


@pytest.mark.parametrize("known_ids", [True, False], ids=["topic-ids", "offsets-only"])
def test_recreated_topics_rebuild_the_local_state_and_new_events_apply(
    isettings: Settings, tmp_path: Path, known_ids: bool
) -> None:
    s = isettings
    simulate.run(s, FIRST, progress=False, workers=1)
    st, log = run_until_flushed(s, tmp_path / "w", FIRST.events)
    assert st["applied"] + st["late"] == FIRST.events and not rebuild_lines(log)
    assert any((tmp_path / "w" / "data").rglob("*.db")), "the worker kept no local state to test against"

    # `linernotes down` / `up` on the in-memory broker: every topic is gone and comes back empty.
    topics.delete(s, all_topics(s))
    time.sleep(1)
    second = SimulationConfig(users=FIRST.users, events=600, days=1, seed=FIRST.seed, start="2026-11-20T00:00:00Z")
    simulate.run(s, second, progress=False, workers=1)  # fewer events: every new offset is below an old mark
    if not known_ids:  # a broker without topic ids (or a store from before they were recorded): offsets decide
        for recorded in (tmp_path / "w" / "data").rglob("*.topics.json"):
            recorded.unlink()

    st, log = run_until_flushed(s, tmp_path / "w", second.events)  # the same local state directory
    assert st["skipped_replayed"] == 0, f"new events counted as already applied: {st}"
    assert st["applied"] + st["late"] == second.events, st
    lines = rebuild_lines(log)
    assert len(lines) == 1, lines
    assert "rebuilding from the changelog" in lines[0]
    assert ("topic id" if known_ids else "changelog end 0") in lines[0], lines[0]
    assert_equal_to_truth(s)  # features of the new stream only (nothing left from the old one)


def test_a_normal_restart_keeps_its_state_and_applies_only_new_events(isettings: Settings, tmp_path: Path) -> None:
    s = isettings
    simulate.run(s, FIRST, progress=False, workers=1)
    st, log = run_until_flushed(s, tmp_path / "w", FIRST.events)
    assert st["applied"] + st["late"] == FIRST.events

    more = produce_more(s, FIRST.users, 500, "2026-11-20T00:00:00Z", FIRST.seed)
    st, log = run_until_flushed(s, tmp_path / "w", more)
    assert not rebuild_lines(log), "a normal restart rebuilt its state"
    assert st["applied"] + st["late"] == more, f"re-applied or lost events on restart: {st}"
    assert_equal_to_truth(s)  # old events from the kept state, new ones on top
