"""``linernotes bench features``: one batch-path worker vs a naive per-event faust agent, same run.

Both consume the same Avro events (simulated, skewed activity) from the real broker and do the
same work: decode, per-user features, state in a rocksdict table with a changelog, snapshots
published. The batch worker runs with story triggers (the default) and without, alternating for
``rounds`` rounds (on/off, then off/on, ...) so that neither gets the warmer broker; the figures
are medians. Events/s are measured inside each worker, from its first message to the moment its
last effects were durable (batch path) or its last message was done (naive agent).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from streams.bench.common import (
    RunCpu,
    cleanup,
    cpu_summary,
    durable_rate,
    isolated,
    measured_run,
    overhead_pct_ci95,
    paired,
    peak_rss_mb,
    wait_for,
    worker_process,
)
from streams.config.settings import Settings
from streams.ingest import simulate
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics


def _flushed(events: int) -> Any:
    return lambda st: st["flushed_messages"] >= events


def run(
    settings: Settings,
    *,
    events: int,
    users: int,
    naive_events: int,
    rounds: int = 2,
    seed: int = 1,
    report: Any = print,
) -> dict[str, Any]:
    s = isolated(settings, "bench-features")
    topics.create(s)
    try:
        produced = simulate.run(s, SimulationConfig(users=users, events=events, days=7, seed=seed), progress=False)
        report(f"produced {produced.events:,} events for {users:,} users")
        with tempfile.TemporaryDirectory(prefix="ln-bench-") as tmp:
            work = Path(tmp)
            rates: dict[bool, list[float]] = {True: [], False: []}
            tails: dict[bool, list[float]] = {True: [], False: []}  # last batch applied -> durable
            cpu: dict[bool, list[dict[str, Any]]] = {True: [], False: []}  # where each run's CPU went
            # Flushes and snapshots of each run: a run that reaches the flush interval (5 s) before the
            # flush's event count flushes more often and builds more snapshots (more of the helpers' CPU).
            flushes: dict[bool, list[tuple[int, int]]] = {True: [], False: []}
            st: dict[str, Any] = {}
            rss = 0.0
            for r in range(rounds):
                for on in (True, False) if r % 2 == 0 else (False, True):
                    label = f"{'on' if on else 'off'}{r}"
                    t0 = time.monotonic()
                    # A fresh consumer group, state and output topics every run.
                    triggered = s if on else s.model_copy(update={"triggers": ""})
                    with measured_run(triggered, label) as run_s, worker_process(run_s, work / label) as (proc, url):
                        spent = RunCpu(s)
                        got = wait_for(url, proc, _flushed(events), timeout_s=900, what="the feature worker")
                        cpu[on].append(spent.read(proc.pid, got))
                        if on:
                            st, rss = got, max(rss, peak_rss_mb(proc.pid))
                    rate = durable_rate(got, events)
                    rates[on].append(rate)
                    tails[on].append(got["last_flush_s"] - got["last_batch_s"])
                    flushes[on].append((got["flushes"], got["snapshots"]))
                    report(
                        f"round {r + 1}, triggers {'on ' if on else 'off'}: {rate:,.0f} events/s "
                        f"(wall incl. group join {time.monotonic() - t0:.0f}s)"
                    )
            for on in (True, False):
                report(f"CPU s a run, triggers {'on ' if on else 'off'} (medians): {cpu_summary(cpu[on])}")
            rate, plain_rate = statistics.median(rates[True]), statistics.median(rates[False])
            report(f"batch worker: {rate:,.0f} events/s; triggers off: {plain_rate:,.0f} (medians of {rounds})")
            pair = paired(rates[True], rates[False])
            ci = overhead_pct_ci95(pair)
            report(
                f"trigger overhead, median of each round's pair: {100 * (1 - pair['median']):.1f}%"
                + (f"; mean of the pairs, 95% interval: {ci[0]:.1f}% to {ci[1]:.1f}%" if ci else "")
            )
            naive_settings = s.model_copy(update={"app_id": s.app_id + "-naive"})
            n = min(naive_events, events)
            cmd = [
                sys.executable,
                "-m",
                "streams.bench.naive",
                "--web-port",
                "{port}",
                "--data-dir",
                str(work / "naive" / "data"),
            ]
            with worker_process(naive_settings, work / "naive", command=cmd, log_name="naive") as (proc, url):
                nst = wait_for(url, proc, lambda x: x["messages"] >= n, timeout_s=1800, what="the naive agent")
                naive_rss = peak_rss_mb(proc.pid)
            naive_rate = nst["messages"] / max(1e-9, nst["last_message_s"] - nst["first_message_s"])
            report(f"naive agent: {naive_rate:,.0f} events/s over {nst['messages']:,} events")
        return {
            "events": events,
            "users": users,
            "events_per_s": round(rate, 1),
            "naive_events": nst["messages"],
            "naive_events_per_s": round(naive_rate, 1),
            "ratio_vs_naive": round(rate / naive_rate, 2),
            "events_per_s_triggers_off": round(plain_rate, 1),
            "rounds": rounds,
            "events_per_s_runs": [round(x, 1) for x in rates[True]],
            "events_per_s_triggers_off_runs": [round(x, 1) for x in rates[False]],
            "trigger_overhead_pct": round(100 * (plain_rate - rate) / plain_rate, 1),
            "trigger_overhead_pct_paired": round(100 * (1 - pair["median"]), 1),
            "trigger_overhead_pct_paired_runs": [round(100 * (1 - x), 1) for x in pair["runs"]],
            "trigger_overhead_pct_paired_ci95": ci,
            "final_flush_s_runs": [round(x, 3) for x in tails[True]],
            "final_flush_s_triggers_off_runs": [round(x, 3) for x in tails[False]],
            "flushes_snapshots_runs": flushes[True],
            "flushes_snapshots_triggers_off_runs": flushes[False],
            "cpu_s_runs": cpu[True],
            "cpu_s_triggers_off_runs": cpu[False],
            "story_requests": sum(st.get("triggers", {}).values()),
            "peak_rss_mb": round(rss, 1),
            "naive_peak_rss_mb": round(naive_rss, 1),
            "snapshots": st["snapshots"],
            "flushes": st["flushes"],
            "dead_letters": st["dead"],
        }
    finally:
        cleanup(s)  # with every run's topics (their app ids extend this one)
