"""``linernotes bench faults`` end to end on the real broker and registry, smoke-sized: three scenarios
that need no Triton, the JSON's last line holding every figure of each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from streams.bench.common import env_for
from streams.bench.faults import HEADLINE
from streams.bench.faults.inputs import GARBAGE_KINDS
from streams.config.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EVENTS = 1800
SCENARIOS = ("garbage", "duplicates", "history-import")


def test_the_fault_bench_runs_and_reports_every_figure(stack, stack_settings: Settings, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "streams.cli", "bench", "faults", "--json", "--events", str(EVENTS), "--users", "40"]
    cmd += [f"--scenario={name}" for name in SCENARIOS] + ["--keep", str(tmp_path)]
    done = subprocess.run(cmd, env=env_for(stack_settings), capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])["scenarios"]
    assert list(figures) == list(SCENARIOS)
    for name, got in figures.items():
        assert "error" not in got, (name, got)
        assert set(HEADLINE) <= got.keys(), name
        assert all(isinstance(got[k], int) for k in ("lost", "double_counted", "duplicate_story_records")), got
        assert 0 <= got["good_events_applied_pct"] <= 100, got
        assert got["recovery_s"] is None or got["recovery_s"] >= 0, got
        assert got["lost_stories"] is None, "no story agent runs in these scenarios"
        assert got["expected_requests"] > 0, "the fold fired story requests: there was something to compare"

    garbage = figures["garbage"]
    by_kind = garbage["garbage_by_kind"]
    assert set(by_kind) == set(GARBAGE_KINDS)
    assert sum(k["sent"] for k in by_kind.values()) == EVENTS // 9 == garbage["records_sent"] - EVENTS
    assert garbage["garbage_in_dlq_pct"] == pytest.approx(
        100 * sum(k["in_dlq"] for k in by_kind.values()) / (EVENTS // 9)
    )
    assert figures["duplicates"]["records_sent"] == 2 * EVENTS
    assert figures["duplicates"]["garbage_in_dlq_pct"] is None, "no garbage sent: not applicable"
    history = figures["history-import"]
    assert history["history_plays_sent"] == history["history_plays_expected"] > 0
    assert history["expected_plays"] == EVENTS + history["history_plays_expected"]


def test_a_worker_killed_or_restarted_publishes_each_story_request_once(
    stack, stack_settings: Settings, tmp_path: Path
) -> None:
    """SIGKILLs (helpers included) and SIGTERM restarts every 10 s while 60k events flow: every story id the
    fold expects is on story-requests exactly once. Before the requests marks, this size repeated 129
    requests after two kills."""
    scenarios = ("worker-kill", "worker-restart")
    cmd = [sys.executable, "-m", "streams.cli", "bench", "faults", "--json", "--events", "60000", "--users", "3000"]
    cmd += [f"--scenario={name}" for name in scenarios] + ["--keep", str(tmp_path)]
    done = subprocess.run(cmd, env=env_for(stack_settings), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])["scenarios"]
    for name in scenarios:
        got = figures[name]
        assert "error" not in got, (name, got)
        assert got["expected_requests"] > 0
        assert (got["lost_requests"], got["duplicate_request_records"], got["unexpected_requests"]) == (0, 0, 0), got
        assert (got["lost"], got["double_counted"]) == (0, 0), got
        assert got["worker_crashes"] == 0, got
    assert figures["worker-kill"]["worker_kills"] >= 2
    assert figures["worker-restart"]["worker_restarts"] >= 2
    assert figures["worker-restart"]["worker_stops_killed"] == 0, "a graceful stop that had to be killed"
