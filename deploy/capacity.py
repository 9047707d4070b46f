"""Capacity plan for linernotes: pods, cores, memory, volumes, brokers, disk per topic with its
retention, GPUs and a monthly cost, from deploy/capacity-inputs.json.

    python deploy/capacity.py            # print the plan (Markdown) from the recorded inputs
    python deploy/capacity.py --measure  # re-measure what this machine can (deploy/capacity_measure.py)

The inputs say which figure was measured (and by which run), which was recorded by a bench in
docs/performance.md, and which is an assumption (each with its reason). deploy/CAPACITY.md is this
script's output; a test checks that it is current.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
from pathlib import Path
from typing import Any

INPUTS = Path(__file__).with_name("capacity-inputs.json")
GIB = 2**30
HOURS_A_MONTH = 730
DAY_S = 86_400


def worker_cpu_us_per_event(inp: dict[str, Any]) -> float:
    """CPU of a feature-worker pod (the worker and its helpers) per live event, on a server core."""
    m, a = inp["measured"], inp["assumptions"]
    code = m["cpu_us_per_event_code"] + m["writes_per_event_live"] * m["cpu_us_per_write_code"]
    return code * (1 + a["runtime_overhead"]) / a["server_core_speedup"]


def kafka_bytes_per_event(inp: dict[str, Any], *, codec: str | None) -> dict[str, float]:
    """Bytes written to Kafka per live event, by topic (before replication); ``codec`` None: uncompressed."""
    m = inp["measured"]
    ratio = (lambda kind: m["compression"][kind][f"ratio_{codec}"]) if codec else (lambda kind: 1.0)
    w = m["writes_per_event_live"]
    return {
        "listening-events": m["event_bytes"] * ratio("listening-events"),
        "changelog": w * m["state_bytes_per_write"] * ratio("changelog"),
        "user-features": w * m["snapshot_bytes_per_write"] * ratio("user-features"),
        "story-requests": m["requests_per_event"] * m["request_bytes"] * ratio("story-requests"),
    }


def scenario(inp: dict[str, Any], users: int) -> dict[str, Any]:
    m, a, b, p = inp["measured"], inp["assumptions"], inp["bench"], inp["prices"]
    active = users * a["active_share"]
    mean_eps = active * a["events_per_active_user_day"] / DAY_S
    peak_eps = mean_eps * a["peak_to_mean"]
    stories_mean = active * m["stories_per_user_day"] / DAY_S
    stories_peak = stories_mean * a["peak_to_mean"]

    # feature workers: sized for the peak with headroom (catch-up after a rebalance or an outage)
    pod_eps = a["worker_cpu_request"] * 1e6 / worker_cpu_us_per_event(inp) * a["worker_headroom"]
    workers = max(2, math.ceil(peak_eps / pod_eps))
    partitions = max(12, 2 ** math.ceil(math.log2(workers * a["partitions_per_worker"])))
    state_gib = users * m["state_bytes_per_user"] * (1 + a["standby_replicas"]) * a["rocksdb_space_amplification"] / GIB
    pvc_gib = max(10, math.ceil(state_gib / workers * 1.5))  # half again for growth and compaction

    # story model on GPUs: the bench ran 1 candidate of <= its max tokens, production asks for more
    work = (
        a["story_candidates"]
        * a["story_max_new_tokens"]
        / b["stories_bench_max_new_tokens"]
        * (1 + a["regeneration_share"])
        / b["stories_bench_candidates"]
    )
    gpu_stories_s = b["stories_per_s_cpu_batched"] * a["gpu_over_cpu_speedup"] / work
    gpus = max(1, math.ceil(stories_peak / gpu_stories_s))
    agents = max(2, math.ceil(stories_peak / a["story_agent_stories_per_s"]))

    # Kafka: bytes, disk by topic with retention, brokers
    z = kafka_bytes_per_event(inp, codec="zstd")
    raw = kafka_bytes_per_event(inp, codec=None)
    rf = a["replication_factor"]
    write_mb_s = peak_eps * sum(z.values()) * rf / 1e6
    write_mb_s_raw = peak_eps * sum(raw.values()) * rf / 1e6
    comp = m["compression"]
    head_s = a["compacted_head_s"]
    disk = {  # GiB on the brokers, all replicas
        "listening-events (7 d)": mean_eps * z["listening-events"] * 7 * DAY_S * rf / GIB,
        "story-requests (7 d)": mean_eps * z["story-requests"] * 7 * DAY_S * rf / GIB,
        "user-stories (30 d)": stories_mean
        * a["story_bytes"]
        * comp["story-requests"]["ratio_zstd"]
        * 30
        * DAY_S
        * rf
        / GIB,
        "user-features (compacted)": (
            users * m["snapshot_bytes_per_user"] * comp["user-features"]["ratio_zstd"] * a["compacted_dirty_factor"]
            + mean_eps * z["user-features"] * head_s
        )
        * rf
        / GIB,
        "state changelog (compacted)": (
            users * m["state_bytes_per_user"] * comp["changelog"]["ratio_zstd"] * a["compacted_dirty_factor"]
            + mean_eps * z["changelog"] * head_s
        )
        * rf
        / GIB,
    }
    disk_total = sum(disk.values())
    brokers = max(
        3,
        math.ceil(write_mb_s / a["broker_write_mb_s"]),
        math.ceil(disk_total / (a["broker_disk_gib"] * a["disk_fill_max"])),
    )
    broker_disk_gib = math.ceil(disk_total / brokers / a["disk_fill_max"] / 100) * 100

    cores = {
        "feature workers": workers * a["worker_cpu_request"],
        "story agents": agents * a["story_agent_cpu"],
        "Triton": gpus * a["triton_cpu"],
        "Kafka brokers": brokers * a["broker_cpu"],
        "Karapace, collector": a["fixed_cpu"],
    }
    memory = {
        "feature workers": workers * a["worker_memory_gib"],
        "story agents": agents * a["story_agent_memory_gib"],
        "Triton": gpus * a["triton_memory_gib"],
        "Kafka brokers": brokers * a["broker_memory_gib"],
        "Karapace, collector": a["fixed_memory_gib"],
    }
    volumes_gib = workers * pvc_gib + brokers * broker_disk_gib
    cost = {
        "cores": sum(cores.values()) * p["core_hour"] * HOURS_A_MONTH,
        "memory": sum(memory.values()) * p["gib_memory_hour"] * HOURS_A_MONTH,
        "GPUs": gpus * p["gpu_hour"] * HOURS_A_MONTH,
        "volumes": volumes_gib * p["ssd_gib_month"],
    }
    return {
        "users": users,
        "mean_eps": mean_eps,
        "peak_eps": peak_eps,
        "stories_mean": stories_mean,
        "stories_peak": stories_peak,
        "pod_eps": pod_eps,
        "workers": workers,
        "partitions": partitions,
        "pvc_gib": pvc_gib,
        "gpus": gpus,
        "gpu_stories_s": gpu_stories_s,
        "agents": agents,
        "write_mb_s": write_mb_s,
        "write_mb_s_raw": write_mb_s_raw,
        "disk": disk,
        "disk_total": disk_total,
        "brokers": brokers,
        "broker_disk_gib": broker_disk_gib,
        "cores": cores,
        "memory": memory,
        "volumes_gib": volumes_gib,
        "cost": cost,
    }


def _n(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:,.1f}"


def plan(inp: dict[str, Any]) -> str:
    m, a, b = inp["measured"], inp["assumptions"], inp["bench"]
    runs = [scenario(inp, u) for u in inp["scenarios_users"]]
    cols = " | ".join(f"{r['users']:,} users" for r in runs)
    sep = "|---" * (len(runs) + 1) + "|"

    def row(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    per_event = kafka_bytes_per_event(inp, codec=None)
    per_event_z = kafka_bytes_per_event(inp, codec="zstd")
    out = [
        f"Inputs: `deploy/capacity-inputs.json`, measured by `{inp['run']['command']}` on {inp['run']['date']} "
        f"({inp['run']['machine']}), with the bench figures and assumptions listed below.",
        "",
        "### Per live event (measured)",
        "",
        f"- A live event makes its listener's state dirty in its flush window: **{m['writes_per_event_live']:.3f} "
        f"state writes and snapshots per event** at the {m['flush_interval_s']:.0f} s flush interval (the "
        f"backlog bench coalesced {b['events'] / b['snapshots']:.1f} events into one).",
        f"- Bytes written to Kafka per event, before replication: **{_n(sum(per_event.values()))} B** uncompressed "
        f"(state {_n(per_event['changelog'])}, snapshot {_n(per_event['user-features'])}, event "
        f"{_n(per_event['listening-events'])}, story requests {_n(per_event['story-requests'])}); "
        f"**{_n(sum(per_event_z.values()))} B with zstd** (lz4: {_n(sum(kafka_bytes_per_event(inp, codec='lz4').values()))} B).",
        f"- CPU of the feature code per event {m['cpu_us_per_event_code']:.0f} µs and per state write "
        f"{m['cpu_us_per_write_code']:.0f} µs on the development machine; a worker pod (worker + helpers, "
        f"{a['worker_cpu_request']} cores) plans for {worker_cpu_us_per_event(inp):.0f} µs per event on a server "
        f"core, i.e. **{worker_cpu_us_per_event(inp) / 1000:.2f} cores per 1k events/s**, and so "
        f"{_n(runs[0]['pod_eps'])} events/s per pod at {a['worker_headroom']:.0%} of its capacity.",
        "",
        "### Plan",
        "",
        row("", cols.split(" | ")),
        sep,
        row("listening events/s, mean / peak", [f"{_n(r['mean_eps'])} / {_n(r['peak_eps'])}" for r in runs]),
        row("stories/s, mean / peak", [f"{_n(r['stories_mean'])} / {_n(r['stories_peak'])}" for r in runs]),
        row("feature worker pods (partitions)", [f"{r['workers']} ({r['partitions']})" for r in runs]),
        row("worker state volume each", [f"{r['pvc_gib']} GiB" for r in runs]),
        row("story agent pods", [str(r["agents"]) for r in runs]),
        row("Triton GPUs", [str(r["gpus"]) for r in runs]),
        row("Kafka brokers (disk each)", [f"{r['brokers']} ({r['broker_disk_gib']:,} GiB)" for r in runs]),
        row(
            "Kafka writes at peak, x3 replicas, zstd (none)",
            [f"{_n(r['write_mb_s'])} MB/s ({_n(r['write_mb_s_raw'])})" for r in runs],
        ),
    ]
    for topic in runs[0]["disk"]:
        out.append(row(f"disk: {topic}", [f"{_n(r['disk'][topic])} GiB" for r in runs]))
    out.append(row("disk: all topics, x3 replicas", [f"{_n(r['disk_total'])} GiB" for r in runs]))
    out.append(row("cores requested", [_n(sum(r["cores"].values())) for r in runs]))
    out.append(row("memory requested", [f"{_n(sum(r['memory'].values()))} GiB" for r in runs]))
    out.append(row("volumes", [f"{_n(r['volumes_gib'])} GiB" for r in runs]))
    out.append(row("**cost a month** (prices below)", [f"**${_n(sum(r['cost'].values()))}**" for r in runs]))
    out.append(row("  of which GPUs", [f"${_n(r['cost']['GPUs'])}" for r in runs]))
    out += ["", "### Measured (`python deploy/capacity.py --measure`)", ""]
    out += [f"- `{k}` = {v}" for k, v in m.items() if k != "compression"]
    for kind, c in m["compression"].items():
        out.append(
            f"- compression of `{kind}` records ({c['records']:,}): zstd {c['ratio_zstd']}, lz4 {c['ratio_lz4']} of uncompressed"
        )
    out += ["", "### Recorded by the benches (docs/performance.md), not re-measured here", ""]
    out += [f"- `{k}` = {v}" for k, v in b.items() if k != "sources"]
    out += [f"- source of {k}: {v}" for k, v in b["sources"].items()]
    out += ["", "### Assumptions (not measured; each with its reason)", ""]
    out += [f"- `{k}` = {v}: {inp['why'][k]}" for k, v in a.items()]
    out += ["", "### Prices (inputs: replace with yours)", ""]
    out += [f"- `{k}` = {v}" for k, v in inp["prices"].items() if k != "note"] + [f"- {inp['prices']['note']}"]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--measure", action="store_true", help="re-measure the live-traffic and compression figures")
    parser.add_argument("--users", type=int, default=300, help="simulated listeners for --measure")
    parser.add_argument("--days", type=int, default=14, help="simulated days for --measure (the first 7 warm up)")
    args = parser.parse_args()
    inp = json.loads(INPUTS.read_text())
    if args.measure:
        import capacity_measure

        figures, samples = capacity_measure.live_traffic(users=args.users, days=args.days)
        figures = {k: round(v, 3) for k, v in figures.items()}
        figures["compression"] = capacity_measure.compression(samples)
        inp["measured"] = figures
        inp["run"] = {
            "date": dt.date.today().isoformat(),
            "command": f"python deploy/capacity.py --measure --users {args.users} --days {args.days}",
            "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        }
        INPUTS.write_text(json.dumps(inp, indent=2, ensure_ascii=False) + "\n")
    print(plan(inp))


if __name__ == "__main__":
    main()
