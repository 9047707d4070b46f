"""``linernotes bench replay``: replay (features only) vs the live feature worker, same events, same run.

Both read the same Avro events from the real broker. Live: one batch-path feature worker (state,
changelog, snapshots per flush, triggers), events/s from its first message to its last durable flush.
Replay: ``streams.replay`` over the whole topic into ``.backfill`` topics, events/s over the whole run
(reading, the same update and triggers, checkpoints, final snapshots), in one process by default
(``--workers N``: N processes, each replaying its share of the partitions; on this 2-core machine,
which also runs the broker, two were slower than one).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams import simulate, topics
from streams.bench.common import cleanup, isolated, wait_for, worker_process
from streams.replay import ReplayOptions
from streams.replay_parallel import run_replay
from streams.settings import Settings
from streams.simulator import SimulationConfig
from streams.sources import load_catalog


def run(
    settings: Settings, *, events: int, users: int, report: Callable[[str], None], workers: int = 1
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ln-bench-replay-") as tmp:
        s = isolated(settings, "bench-replay").model_copy(update={"run_dir": Path(tmp) / "run"})
        topics.create(s)
        try:
            simulate.run(s, SimulationConfig(users=users, events=events, days=7, seed=1), progress=False)
            report(f"produced {events:,} events for {users:,} users")
            with worker_process(s, Path(tmp) / "live") as (proc, url):
                st = wait_for(url, proc, lambda x: x["flushed_messages"] >= events, timeout_s=900, what="live worker")
            live = events / max(1e-9, st["last_flush_s"] - st["first_message_s"])
            report(f"live worker: {live:,.0f} events/s")
            catalog = load_catalog(s)
            result = run_replay(s, ReplayOptions(0, 2**62, progress=False), catalog, workers=workers, report=report)
            report(f"replay ({workers} processes): {result.events_per_s:,.0f} events/s over {result.events:,} events")
            return {
                "events": events,
                "users": users,
                "replay_events_per_s": round(result.events_per_s, 1),
                "live_events_per_s": round(live, 1),
                "ratio": round(result.events_per_s / live, 2),
                "replay_workers": workers,
                "replay_story_requests": result.requests,
                "live_story_requests": sum(st.get("triggers", {}).values()),
            }
        finally:
            cleanup(s)
            topics.delete(s, [t.name + ".backfill" for t in s.topic_specs()])
