"""The benches' own arithmetic: a run is only measured if it did the work, and pairs are per round."""

from pathlib import Path

import pytest

from streams.bench.common import durable_rate, mean_ci95, overhead_pct_ci95, paired


def _stats(**kw: float) -> dict[str, float]:
    return {"applied": 1000, "late": 0, "skipped_replayed": 0, "first_message_s": 10.0, "last_flush_s": 12.0} | kw


def test_durable_rate_is_events_over_first_message_to_last_durable_flush() -> None:
    assert durable_rate(_stats(), 1000) == 500.0
    assert durable_rate(_stats(applied=990, late=10), 1000) == 500.0  # late events were read and counted


@pytest.mark.parametrize("bad", [{"applied": 0, "skipped_replayed": 1000}, {"applied": 600}])
def test_durable_rate_refuses_a_run_that_did_not_apply_every_event(bad: dict[str, float]) -> None:
    with pytest.raises(RuntimeError, match="not a clean run"):
        durable_rate(_stats(**bad), 1000)


def test_paired_takes_each_rounds_ratio_then_the_median() -> None:
    # A machine that slows down by half in the middle: each round's pair still says 0.9.
    on, off = [90.0, 45.0, 44.0], [100.0, 50.0, 55.0]
    got = paired(on, off)
    assert got["runs"] == pytest.approx([0.9, 0.9, 0.8])
    assert got["median"] == pytest.approx(0.9)
    lo, hi = got["ci95"]  # mean 0.8667, sd 0.0577, t(2 df) 4.303: +-0.1434
    assert (lo, hi) == (pytest.approx(0.7233, abs=1e-4), pytest.approx(1.0101, abs=1e-4))
    assert overhead_pct_ci95(got) == [-1.0, 27.7]
    assert paired([1.0], [2.0])["ci95"] is None and overhead_pct_ci95(paired([1.0], [2.0])) is None


def test_the_interval_narrows_with_more_pairs_of_the_same_scatter() -> None:
    few, many = mean_ci95([0.9, 1.0] * 2), mean_ci95([0.9, 1.0] * 10)
    assert few is not None and many is not None
    assert many[0] > few[0] and many[1] < few[1] and few[0] < 0.95 < few[1]


def test_cpu_of_a_process_tree_counts_each_descendant_while_it_runs() -> None:
    import subprocess
    import sys
    import time

    from streams.bench.common import cpu_s, cpu_summary, process_tree_cpu_s

    # a parent that starts a child burning ~0.3 s of CPU, then both sleep
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(30)"
    starter = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {burn!r}])\ntime.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", starter])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            main, children = process_tree_cpu_s(parent.pid)
            if children and children[0] >= 0.3:
                break
            time.sleep(0.1)
        assert len(children) == 1 and 0.3 <= children[0] < 2.0
        assert 0 < main < 2.0  # the parent's own start-up, not its child's work
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
    assert cpu_s(parent.pid) == 0.0  # gone
    runs = [{"worker": 2.0, "children": [1.0, 0.5], "broker": 0.5}, {"worker": 4.0, "children": [1.0], "broker": 1.5}]
    assert cpu_summary(runs) == "worker 3.0, children 1.2, broker 1.0, all 5.2"
    runs[0]["worker_measured"], runs[1]["worker_measured"] = 1.0, 2.0
    assert cpu_summary(runs).startswith("worker 3.0 (measured 1.5), children 1.2")


def test_steal_is_the_eighth_counter_of_the_machine_line(tmp_path: Path) -> None:
    from streams.bench.common import _TICK_S, steal_s

    stat = tmp_path / "stat"
    stat.write_text("cpu  1192610 237 62987 6829045 7908 0 6550 61231 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    assert steal_s(stat) == 61231 * _TICK_S
    stat.write_text("cpu  1 2 3 4\n")  # an old kernel's line: no steal counter
    assert steal_s(stat) == 0.0
    assert steal_s(tmp_path / "missing") == 0.0
    assert steal_s() >= 0.0
