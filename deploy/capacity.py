"""Capacity plan for linernotes, computed from measured figures (deploy/capacity-inputs.json).

    python deploy/capacity.py            # print the plan (Markdown) from the recorded figures
    python deploy/capacity.py --measure  # re-measure state size and stories/day from a simulation first

Throughput figures come from the project's benchmarks (their commands are in capacity-inputs.json);
every other number is an assumption, named in the inputs and printed with the plan.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

INPUTS = Path(__file__).with_name("capacity-inputs.json")
ROOT = Path(__file__).resolve().parents[1]


def measure(users: int = 500, days: int = 14, events_per_user_day: int = 30) -> dict[str, float]:
    """State bytes per user and stories per user-day, by folding simulated listening through the code."""
    sys.path.insert(0, str(ROOT))
    from features import UserState, snapshot, update
    from features.triggers import fire
    from schemas.fastpath import UserFeaturesWriter
    from streams.ingest.simulator import Simulation, SimulationConfig
    from streams.pipeline.processor import Stored

    sim = Simulation(SimulationConfig(users=users, events=users * days * events_per_user_day, days=days, seed=99))
    catalog = {t.track_id: t for t in sim.catalog.tracks}
    states: dict[str, UserState] = {}
    stories = 0
    for day in sim.days():
        by_user: dict[str, list[dict[str, Any]]] = {}
        for e in day:
            by_user.setdefault(e["user_id"], []).append(e)
        for user, events in by_user.items():
            state = states.setdefault(user, UserState(user))
            for i in range(0, len(events), 20):
                chunk = events[i : i + 20]
                r = update(state, chunk, catalog)
                stories += len(fire(state, r, chunk, catalog).requests)
    writer = UserFeaturesWriter(1)
    state_bytes = [len(Stored(s).dumps()) for s in states.values()]
    snap_bytes = [len(writer.encode(snapshot(s))) for s in states.values()]
    return {
        "state_bytes_per_user": sum(state_bytes) / len(state_bytes),
        "snapshot_bytes_per_user": sum(snap_bytes) / len(snap_bytes),
        "stories_per_user_day": stories / (len(states) * days),
        "measured_events_per_user_day": events_per_user_day,
    }


def plan(inp: dict[str, Any]) -> str:
    m, a = inp["measured"], inp["assumptions"]
    worker_eps = m["feature_worker_events_per_s"] * a["worker_core_speedup"]
    lines = [
        "| load | event partitions | feature workers (1 core each) | broker write MB/s (x3 replication) | brokers |",
        "|---|---|---|---|---|",
    ]
    for eps in (1_000, 100_000, 1_000_000):
        workers = max(2, math.ceil(eps / (worker_eps * a["worker_headroom"])))
        partitions = max(6, 2 ** math.ceil(math.log2(workers * a["partitions_per_worker"])))
        event_mb = eps * (a["event_bytes"] + a["features_bytes_per_event"] + a["changelog_bytes_per_event"]) / 1e6
        write_mb = event_mb * 3
        brokers = max(3, math.ceil(write_mb / a["broker_write_mb_s"]))
        lines.append(f"| {eps:,} events/s | {partitions} | {workers} | {write_mb:,.0f} | {brokers} |")
    lines += [
        "",
        "| users | state on disk (x (1 + standby)) | stories/day | stories/s at peak | Triton GPUs |",
        "|---|---|---|---|---|",
    ]
    for users in (10_000_000, 500_000_000):
        state_gb = users * m["state_bytes_per_user"] * (1 + a["standby_replicas"]) / 1e9
        per_day = users * a["active_share"] * m["stories_per_user_day"]
        peak = per_day / 86_400 * a["peak_to_mean"]
        gpus = max(1, math.ceil(peak / (m["triton_cpu_stories_per_s_batched"] * a["gpu_over_cpu_speedup"])))
        lines.append(f"| {users:,} | {state_gb:,.0f} GB | {per_day:,.0f} | {peak:,.0f} | {gpus} |")
    lines += ["", "Measured inputs:", ""] + [f"- `{k}` = {v}" for k, v in m.items()]
    lines += ["", "Assumptions:", ""] + [f"- `{k}` = {v}: {inp['why'][k]}" for k, v in a.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--measure", action="store_true", help="re-measure state size and stories/day first")
    args = parser.parse_args()
    inp = json.loads(INPUTS.read_text())
    if args.measure:
        inp["measured"].update({k: round(v, 3) for k, v in measure().items()})
        INPUTS.write_text(json.dumps(inp, indent=2) + "\n")
    print(plan(inp))


if __name__ == "__main__":
    main()
