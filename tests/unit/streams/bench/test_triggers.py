"""``linernotes bench triggers``: the offline cost of triggers, timed and counted by callgrind."""

import shutil
import statistics

import pytest

from streams.bench import triggers
from streams.config.settings import load


def test_cpu_rounds_alternate_and_report_the_overhead() -> None:
    lines: list[str] = []
    out = triggers.run(load(), events=3000, users=150, rounds=2, report=lines.append)
    assert out["events"] == 3000 and out["story_requests"] > 0
    assert len(out["cpu_s_on_runs"]) == len(out["cpu_s_off_runs"]) == 2
    assert all(x > 0 for x in out["cpu_s_on_runs"] + out["cpu_s_off_runs"])
    assert out["cpu_s_on"] == pytest.approx(statistics.median(out["cpu_s_on_runs"]), abs=1e-3)
    assert out["cpu_s_off"] == pytest.approx(statistics.median(out["cpu_s_off_runs"]), abs=1e-3)
    assert isinstance(out["cpu_overhead_pct"], float) and isinstance(out["cpu_overhead_pct_paired"], float)
    assert [line.split(":")[0] for line in lines[1:5]] == [
        "round 1, triggers on ",
        "round 1, triggers off",
        "round 2, triggers off",
        "round 2, triggers on ",
    ]


def test_the_worker_threads_share_of_a_flush_takes_everything_dirty() -> None:
    messages, catalog = triggers._messages(2000, 100, 1, 6)
    proc = triggers._processor(load(), catalog, True)
    triggers.work(proc, messages, batch=500, flush_every=1000)
    assert proc.stats.messages == 2000 and proc.stats.dead == 0
    assert proc.stats.flushes == 2 and not proc.dirty and not proc.requests
    assert sum(proc.stats.triggers.values()) > 0


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_callgrind_counts_more_instructions_with_triggers_on() -> None:
    out = triggers.run(load(), events=1500, users=75, callgrind=True, report=lambda _line: None)
    assert 0 < out["instructions_off"] < out["instructions_on"]
    assert 0 < out["instruction_overhead_pct"] < 100


def test_callgrind_without_valgrind_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triggers.shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="needs valgrind"):
        triggers.run(load(), events=1000, users=50, callgrind=True, report=lambda _line: None)
