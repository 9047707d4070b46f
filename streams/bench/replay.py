"""``linernotes bench replay``: replay (features only) vs the live feature worker, same events, same run.

Both read the same Avro events from the real broker. Live: one batch-path feature worker (state,
changelog, snapshots per flush, triggers), events/s from its first message to its last durable flush.
Replay: ``streams.history.replay`` over the whole topic into ``.backfill`` topics, in ``--workers`` processes
(default: one per core, at most two), each replaying its share of the partitions and writing its own
snapshots and requests. ``ratio`` (the figure the target is judged on) takes the replay's events/s
over its whole run: starting its processes and clients, reading, the same update and triggers,
checkpoints, every snapshot and request delivered. ``ratio_steady`` leaves out that start-up, as
the live figure does: from the first event read to the last output delivered, which is what a
long backfill sees. Live and replay alternate for ``rounds`` rounds (live first, then replay first,
...); the figures are medians."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams.bench.common import cleanup, durable_rate, isolated, measured_run, paired, wait_for, worker_process
from streams.config.settings import Settings
from streams.history.parallel import default_workers, run_replay, warm
from streams.history.replay import ReplayOptions, target
from streams.history.sources import load_catalog
from streams.ingest import simulate
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics


def run(
    settings: Settings,
    *,
    events: int,
    users: int,
    report: Callable[[str], None],
    workers: int | None = None,
    rounds: int = 2,
) -> dict[str, Any]:
    workers = workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="ln-bench-replay-") as tmp:
        s = isolated(settings, "bench-replay").model_copy(update={"run_dir": Path(tmp) / "run"})
        topics.create(s)
        try:
            simulate.run(s, SimulationConfig(users=users, events=events, days=7, seed=1), progress=False)
            report(f"produced {events:,} events for {users:,} users")
            if workers > 1:
                warm()  # as `linernotes replay` does while it loads the catalog
            catalog = load_catalog(s)
            live_rates: list[float] = []
            replay_rates: list[float] = []
            steady_rates: list[float] = []
            requests = {"live": 0, "replay": 0}
            out = target(s, ".backfill")
            backfill = [t.name for t in out.topic_specs() if t.name not in (s.topic_events, s.topic_catalog)]
            for r in range(rounds):
                for which in ("live", "replay") if r % 2 == 0 else ("replay", "live"):
                    if which == "live":
                        with (
                            measured_run(s, f"live{r}") as live_s,
                            worker_process(live_s, Path(tmp) / f"live{r}") as (
                                proc,
                                url,
                            ),
                        ):
                            st = wait_for(
                                url, proc, lambda x: x["flushed_messages"] >= events, timeout_s=900, what="live worker"
                            )
                        live_rates.append(durable_rate(st, events))
                        requests["live"] = sum(st.get("triggers", {}).values())
                        report(f"round {r + 1}, live worker: {live_rates[-1]:,.0f} events/s")
                    else:
                        opts = ReplayOptions(0, 2**62, progress=False, fresh=True)
                        topics.create(out)  # as the live run's are: made before, deleted after
                        try:
                            result = run_replay(s, opts, catalog, workers=workers, report=report)
                        finally:
                            topics.delete(s, backfill)
                        replay_rates.append(result.events_per_s)
                        steady_rates.append(result.steady_events_per_s)
                        requests["replay"] = result.requests
                        report(
                            f"round {r + 1}, replay ({workers} processes): {result.events_per_s:,.0f} events/s "
                            f"over {result.events:,} events"
                        )
            live, replay = statistics.median(live_rates), statistics.median(replay_rates)
            steady = statistics.median(steady_rates)
            pair = paired(replay_rates, live_rates)
            report(f"replay {replay:,.0f} vs live {live:,.0f} events/s: {replay / live:.2f}x (medians of {rounds})")
            report(f"median of each round's replay/live pair: {pair['median']:.2f}x")
            report(f"without the replay's start-up (as live is measured): {steady:,.0f} events/s, {steady / live:.2f}x")
            return {
                "events": events,
                "users": users,
                "replay_events_per_s": round(replay, 1),
                "live_events_per_s": round(live, 1),
                "ratio": round(replay / live, 2),
                "replay_steady_events_per_s": round(steady, 1),
                "ratio_steady": round(steady / live, 2),
                "ratio_paired": round(pair["median"], 2),
                "ratio_paired_runs": [round(x, 2) for x in pair["runs"]],
                "rounds": rounds,
                "replay_events_per_s_runs": [round(x, 1) for x in replay_rates],
                "replay_steady_events_per_s_runs": [round(x, 1) for x in steady_rates],
                "live_events_per_s_runs": [round(x, 1) for x in live_rates],
                "replay_workers": workers,
                "replay_story_requests": requests["replay"],
                "live_story_requests": requests["live"],
            }
        finally:
            cleanup(s)
