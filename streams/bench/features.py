"""``linernotes bench features``: one batch-path worker vs a naive per-event faust agent, same run.

Both consume the same Avro events (simulated, skewed activity) from the real broker and do the
same work: decode, per-user features, state in a rocksdict table with a changelog, snapshots
published. The batch worker runs twice: with story triggers (the default) and without.
Events/s are measured inside each worker, from its first message to the moment its
last effects were durable (batch path) or its last message was done (naive agent).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from streams import simulate, topics
from streams.bench.common import cleanup, isolated, peak_rss_mb, wait_for, worker_process
from streams.settings import Settings
from streams.simulator import SimulationConfig


def run(
    settings: Settings, *, events: int, users: int, naive_events: int, seed: int = 1, report: Any = print
) -> dict[str, Any]:
    s = isolated(settings, "bench-features")
    topics.create(s)
    try:
        produced = simulate.run(s, SimulationConfig(users=users, events=events, days=7, seed=seed), progress=False)
        report(f"produced {produced.events:,} events for {users:,} users")
        with tempfile.TemporaryDirectory(prefix="ln-bench-") as tmp:
            work = Path(tmp)
            t0 = time.monotonic()
            with worker_process(s, work / "batch") as (proc, url):
                st = wait_for(
                    url, proc, lambda x: x["flushed_messages"] >= events, timeout_s=900, what="the feature worker"
                )
                rss = peak_rss_mb(proc.pid)
            rate = events / max(1e-9, st["last_flush_s"] - st["first_message_s"])
            report(f"batch worker: {rate:,.0f} events/s (wall incl. group join {time.monotonic() - t0:.0f}s)")
            # The same worker with story triggers off: what do triggers cost?
            plain = s.model_copy(update={"app_id": s.app_id + "-plain", "triggers": ""})
            with worker_process(plain, work / "plain") as (proc, url):
                pst = wait_for(url, proc, lambda x: x["flushed_messages"] >= events, timeout_s=900, what="plain worker")
            plain_rate = events / max(1e-9, pst["last_flush_s"] - pst["first_message_s"])
            report(f"batch worker, triggers off: {plain_rate:,.0f} events/s")
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
            "trigger_overhead_pct": round(100 * (plain_rate - rate) / plain_rate, 1),
            "story_requests": sum(st.get("triggers", {}).values()),
            "peak_rss_mb": round(rss, 1),
            "naive_peak_rss_mb": round(naive_rss, 1),
            "snapshots": st["snapshots"],
            "flushes": st["flushes"],
            "dead_letters": st["dead"],
        }
    finally:
        cleanup(s)
        cleanup(s.model_copy(update={"app_id": s.app_id + "-naive"}))
        cleanup(s.model_copy(update={"app_id": s.app_id + "-plain"}))
