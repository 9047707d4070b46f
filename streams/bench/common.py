"""Shared pieces: isolated topic names per run, worker subprocesses, RSS, cleanup."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from streams.config.settings import Settings
from streams.devstack.stack.base import free_port
from streams.kafka import topics


def isolated(settings: Settings, label: str) -> Settings:
    """Settings whose topics and app id belong to this run only."""
    run = f"{label}-{uuid.uuid4().hex[:6]}"
    fields = {f: f"{getattr(settings, f)}.{run}" for f in Settings.model_fields if f.startswith("topic_")}
    return settings.model_copy(update={**fields, "app_id": f"linernotes-{run}", "stories_app_id": f"stories-{run}"})


# Output topics a measured worker run writes (the events and catalog it reads are the bench's own).
_OUTPUTS = ("topic_features", "topic_requests", "topic_stories", "topic_events_dlq", "topic_requests_dlq")


@contextlib.contextmanager
def measured_run(settings: Settings, label: str) -> Iterator[Settings]:
    """Settings for one measured worker run: its own app id (a fresh consumer group and state) and
    its own output topics, all deleted when the run ends. The local broker's memory holds everything
    ever written: deleting each run's changelog and outputs after it lets every run meet a broker
    holding the same data, whatever ran before it."""
    update: dict[str, Any] = {f: f"{getattr(settings, f)}.{label}" for f in _OUTPUTS}
    run = settings.model_copy(update={**update, "app_id": f"{settings.app_id}-{label}"})
    topics.create(run, [t for t in run.topic_specs() if t.name in update.values()])
    try:
        yield run
    finally:
        names = [t for t in topics.existing(run) if t.startswith(run.app_id + "-")]
        topics.delete(run, [*update.values(), *names])


def env_for(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None or isinstance(value, dict | list):
            continue
        env[f"LINERNOTES_{name.upper()}"] = str(
            value.get_secret_value() if hasattr(value, "get_secret_value") else value
        )
    return env


@contextlib.contextmanager
def worker_process(
    settings: Settings, workdir: Path, *, command: list[str] | None = None, log_name: str = "worker"
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A feature worker in a subprocess, on a free web port; yields (process, base URL)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / f"{log_name}.log").open("wb")
    cmd = command or [
        sys.executable,
        "-m",
        "streams.cli",
        "worker",
        "--web-port",
        str(port),
        "--data-dir",
        str(workdir / "data"),
        "--loglevel",
        "WARNING",
    ]
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    proc = subprocess.Popen(cmd, env=env_for(settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def story_agent_process(settings: Settings, workdir: Path) -> contextlib.AbstractContextManager[Any]:
    """``linernotes story-agent`` in a subprocess (log: workdir/agent.log)."""
    cmd = [sys.executable, "-m", "streams.cli", "story-agent", "--loglevel", "INFO"]
    return worker_process(
        settings.model_copy(update={"story_agent_metrics_port": free_port()}), workdir, command=cmd, log_name="agent"
    )


def stats(url: str) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{url}/stats/", timeout=2.0)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == httpx.codes.OK else None


def wait_for(url: str, proc: subprocess.Popen[bytes], done: Any, *, timeout_s: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} (see its log)")
        s = stats(url)
        if s is not None and done(s):
            return s
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not finish within {timeout_s:.0f}s")


def durable_rate(st: dict[str, Any], events: int) -> float:
    """A finished worker run's events/s, from its first message to its last durable flush. Refuses a
    run that did not apply every event itself (a state left from another run would skip them all)."""
    if st["applied"] + st["late"] != events or st["skipped_replayed"]:
        raise RuntimeError(
            f"the measured worker applied {st['applied']:,} of {events:,} events "
            f"({st['skipped_replayed']:,} skipped as already in its state): not a clean run"
        )
    return events / max(1e-9, float(st["last_flush_s"]) - float(st["first_message_s"]))


def paired(numerators: list[float], denominators: list[float]) -> dict[str, Any]:
    """Each round's ratio of its two adjacent runs, and their median. The machine's speed drifts
    (docs/performance.md, "How the throughput benches measure"); a round's two runs share its moment,
    so their ratio cancels the drift that a ratio of medians over all rounds keeps."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if b > 0]
    return {"median": statistics.median(ratios) if ratios else 0.0, "runs": ratios, "ci95": mean_ci95(ratios)}


# Student's t, two-sided 95%, by degrees of freedom (1-30; beyond, the normal's 1.96)
_T95 = tuple(
    map(
        float,
        (
            "12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131 "
            "2.120 2.110 2.101 2.093 2.086 2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042"
        ).split(),
    )
)


def mean_ci95(values: list[float]) -> tuple[float, float] | None:
    """A 95% confidence interval of the mean of ``values`` (Student's t; None for fewer than 2): what
    a target within a single pair's scatter is judged by, since the pairs of a bench are independent
    draws of the same difference on a machine whose speed changes from minute to minute."""
    if len(values) <= 1:
        return None
    mean, half = statistics.fmean(values), statistics.stdev(values) / len(values) ** 0.5
    half *= _T95[len(values) - 2] if len(values) - 1 <= len(_T95) else 1.96
    return mean - half, mean + half


def overhead_pct_ci95(pair: dict[str, Any]) -> list[float] | None:
    """``paired``'s interval of the ratio as an overhead in percent (100 * (1 - ratio)), low to high."""
    ci = pair["ci95"]
    return None if ci is None else [round(100 * (1 - ci[1]), 1), round(100 * (1 - ci[0]), 1)]


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0.0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime: the stat's fields 14 and 15


def process_tree_cpu_s(pid: int) -> tuple[float, list[float]]:
    """CPU seconds of a process and of each of its descendants (the worker's helpers and span exporter),
    read while they still run: a helper's time reaches its parent's counters only when it is reaped."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        todo += children.get(child, [])
        out.append(cpu_s(child))
    return cpu_s(pid), sorted(out, reverse=True)


PROC_STAT = Path("/proc/stat")
_STEAL = 8  # steal's field in /proc/stat's "cpu" line, after the label and user..softirq


def steal_s(stat: Path = PROC_STAT) -> float:
    """CPU seconds this virtual machine's cores were ready to run but its host ran something else
    (``steal`` in /proc/stat, all cores): a neighbour's load, which no code change here moves."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    return int(fields[_STEAL]) * _TICK_S if len(fields) > _STEAL else 0.0


def broker_pid(settings: Settings) -> int | None:
    """The local stack's broker process, when this machine runs it (``linernotes up``)."""
    from streams.devstack.stack import Stack

    return Stack(settings).services["broker"].pid()


class RunCpu:
    """Where a measured worker run's CPU went: the worker process, its children (flush helpers, span
    exporter) and the broker over the run. On 2 cores all of them compete for the same CPU, so a
    change that moves work off the worker's thread shows here even when the throughput is noisy.
    Start it before the worker's first message; ``read`` it while the worker still runs. ``worker``
    includes its start-up (imports, group join: the same for every run); ``worker_measured`` is the
    worker's CPU from its first message to its last flush (from its stats), the window the rate is of.
    ``steal``: CPU s the host took from this machine's cores over the run (see :func:`steal_s`)."""

    def __init__(self, settings: Settings) -> None:
        self.broker = broker_pid(settings)
        self.broker0 = cpu_s(self.broker) if self.broker else 0.0
        self.steal0 = steal_s()

    def read(self, pid: int, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        main, children = process_tree_cpu_s(pid)
        out: dict[str, Any] = {"worker": round(main, 2), "children": [round(x, 2) for x in children]}
        if stats and stats.get("last_flush_cpu_s"):
            out["worker_measured"] = round(stats["last_flush_cpu_s"] - stats["first_message_cpu_s"], 2)
        if self.broker:
            out["broker"] = round(cpu_s(self.broker) - self.broker0, 2)
        out["steal"] = round(steal_s() - self.steal0, 2)
        return out


def cpu_summary(runs: list[dict[str, Any]]) -> str:
    """``worker 7.3 (measured 4.9), children 3.4, broker 0.8, all 11.5``: medians of the runs' CPU s."""
    parts = {
        "worker": [r["worker"] for r in runs],
        "children": [sum(r["children"]) for r in runs],
        "broker": [r.get("broker", 0.0) for r in runs],
    }
    parts["all"] = [w + c + b for w, c, b in zip(parts["worker"], parts["children"], parts["broker"], strict=True)]
    text = [f"{k} {statistics.median(v):.1f}" for k, v in parts.items() if v]
    measured = [r["worker_measured"] for r in runs if "worker_measured" in r]
    if measured:
        text[0] += f" (measured {statistics.median(measured):.1f})"
    return ", ".join(text)


def cleanup(settings: Settings) -> None:
    names = [t.name for t in settings.topic_specs()]
    have = topics.existing(settings)
    names += [t for t in have if t.startswith(settings.app_id + "-")]
    topics.delete(settings, names)
