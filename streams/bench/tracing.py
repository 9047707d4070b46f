"""``linernotes bench tracing``: the feature worker with tracing off and on, interleaved, same events.

Runs ``rounds`` pairs (off, on) of the batch-path worker over the same simulated events (each run its
own consumer group, so each reads everything), with story triggers on. "On" exports spans over
OTLP/HTTP to the stack's Phoenix (story-complete traces plus ``trace_ratio`` of ordinary events).
The overhead is the relative loss of the median events/s.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams import simulate, topics
from streams.bench.common import cleanup, isolated, wait_for, worker_process
from streams.settings import Settings
from streams.simulator import SimulationConfig


def run(settings: Settings, *, events: int, users: int, rounds: int, report: Callable[[str], None]) -> dict[str, Any]:
    s = isolated(settings, "bench-tracing")
    endpoint = settings.otlp_endpoint or f"http://127.0.0.1:{settings.phoenix_port}/v1/traces"
    topics.create(s)
    runs: dict[str, list[float]] = {"off": [], "on": []}
    apps = []
    try:
        simulate.run(s, SimulationConfig(users=users, events=events, days=7, seed=1), progress=False)
        report(f"produced {events:,} events for {users:,} users")
        with tempfile.TemporaryDirectory(prefix="ln-bench-tracing-") as tmp:
            for r in range(rounds):
                for mode in ("off", "on"):
                    app = f"{s.app_id}-{mode}{r}"
                    apps.append(app)
                    run_settings = s.model_copy(
                        update={"app_id": app, "otlp_endpoint": endpoint if mode == "on" else ""}
                    )
                    with worker_process(run_settings, Path(tmp) / app) as (proc, url):
                        st = wait_for(url, proc, lambda x: x["flushed_messages"] >= events, timeout_s=900, what=mode)
                    rate = events / max(1e-9, st["last_flush_s"] - st["first_message_s"])
                    runs[mode].append(rate)
                    report(f"round {r + 1} tracing {mode}: {rate:,.0f} events/s")
        off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
        return {
            "events": events,
            "users": users,
            "rounds": rounds,
            "events_per_s_off": round(off, 1),
            "events_per_s_on": round(on, 1),
            "overhead_pct": round(100 * (off - on) / off, 1),
            "runs_off": [round(x) for x in runs["off"]],
            "runs_on": [round(x) for x in runs["on"]],
            "trace_ratio": s.trace_ratio,
        }
    finally:
        cleanup(s)
        for app in apps:
            cleanup(s.model_copy(update={"app_id": app}))
