"""``linernotes bench tracing``: the feature worker with tracing off and on, interleaved, same events.

Runs ``rounds`` pairs of the batch-path worker over the same simulated events (off/on, then on/off,
...; each run its own consumer group, so each reads everything, and its own output topics, deleted
after it), with story triggers on. "On" exports spans over
OTLP/HTTP (story-complete traces plus ``trace_ratio`` of ordinary events), by default to a receiver
in this process that accepts every export and keeps only counts: the cost measured is the worker's
(building spans, its exporter process), not a dashboard's. ``--receiver phoenix`` exports to the
stack's Phoenix instead, which on a 2-core machine also takes CPU from the worker (its ingestion).
The overhead is the relative loss of the median events/s.
"""

from __future__ import annotations

import contextlib
import http.server
import statistics
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from streams.bench.common import (
    RunCpu,
    cleanup,
    cpu_summary,
    durable_rate,
    isolated,
    measured_run,
    overhead_pct_ci95,
    paired,
    wait_for,
    worker_process,
)
from streams.config.settings import Settings
from streams.ingest import simulate
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics


class _Receiver(http.server.BaseHTTPRequestHandler):
    counts: ClassVar[dict[str, int]] = {"requests": 0, "bytes": 0}  # shared by a run's handlers; _receiver resets it

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.counts["requests"] += 1
        self.counts["bytes"] += n
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _receiver() -> Iterator[tuple[str, dict[str, int]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.counts = {"requests": 0, "bytes": 0}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", _Receiver.counts
    finally:
        server.shutdown()


def run(
    settings: Settings, *, events: int, users: int, rounds: int, report: Callable[[str], None], receiver: str = "null"
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        if receiver == "phoenix":
            endpoint, counts = settings.otlp_endpoint or f"http://127.0.0.1:{settings.phoenix_port}/v1/traces", None
        else:
            endpoint, counts = stack.enter_context(_receiver())
        figures = _run(settings, endpoint, events=events, users=users, rounds=rounds, report=report)
        figures["receiver"] = receiver
        if counts is not None:
            figures["otlp_requests"], figures["otlp_bytes"] = counts["requests"], counts["bytes"]
        return figures


def _run(
    settings: Settings, endpoint: str, *, events: int, users: int, rounds: int, report: Callable[[str], None]
) -> dict[str, Any]:
    s = isolated(settings, "bench-tracing")
    topics.create(s)
    spans: list[int] = []
    dropped = 0
    runs: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}  # where each run's CPU went
    try:
        simulate.run(s, SimulationConfig(users=users, events=events, days=7, seed=1), progress=False)
        report(f"produced {events:,} events for {users:,} users")
        with tempfile.TemporaryDirectory(prefix="ln-bench-tracing-") as tmp:
            for r in range(rounds):
                for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):  # neither always goes first
                    label = f"{mode}{r}"
                    traced = s.model_copy(update={"otlp_endpoint": endpoint if mode == "on" else ""})
                    with measured_run(traced, label) as run_s, worker_process(run_s, Path(tmp) / label) as (proc, url):
                        spent = RunCpu(s)
                        st = wait_for(url, proc, lambda x: x["flushed_messages"] >= events, timeout_s=900, what=mode)
                        cpu[mode].append(spent.read(proc.pid, st))
                        if mode == "on":  # the exporter got everything (it may still be sending)
                            done = wait_for(url, proc, lambda x: True, timeout_s=10, what=mode)
                            spans.append(done.get("spans_emitted", 0))
                            dropped += done.get("spans_dropped", 0)
                    rate = durable_rate(st, events)
                    runs[mode].append(rate)
                    report(f"round {r + 1} tracing {mode}: {rate:,.0f} events/s")
        for mode in ("off", "on"):
            report(f"CPU s a run, tracing {mode} (medians): {cpu_summary(cpu[mode])}")
        off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
        pair = paired(runs["on"], runs["off"])
        report(
            f"tracing overhead: {100 * (off - on) / off:.1f}% of the medians, "
            f"{100 * (1 - pair['median']):.1f}% the median of each round's pair"
        )
        return {
            "events": events,
            "users": users,
            "rounds": rounds,
            "events_per_s_off": round(off, 1),
            "events_per_s_on": round(on, 1),
            "overhead_pct": round(100 * (off - on) / off, 1),
            "overhead_pct_paired": round(100 * (1 - pair["median"]), 1),
            "overhead_pct_paired_runs": [round(100 * (1 - x), 1) for x in pair["runs"]],
            "overhead_pct_paired_ci95": overhead_pct_ci95(pair),
            "runs_off": [round(x) for x in runs["off"]],
            "runs_on": [round(x) for x in runs["on"]],
            "cpu_s_runs_off": cpu["off"],
            "cpu_s_runs_on": cpu["on"],
            "trace_ratio": s.trace_ratio,
            "spans_per_run": max(spans, default=0),
            "spans_dropped": dropped,
        }
    finally:
        cleanup(s)
