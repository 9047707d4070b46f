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

from streams import topics
from streams.settings import Settings
from streams.stack.base import free_port


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
    return worker_process(settings.model_copy(update={"story_agent_metrics_port": free_port()}), workdir, command=cmd,
                          log_name="agent")  # fmt: skip


def stats(url: str) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{url}/stats/", timeout=2.0)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


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
    (the same offline loop ran 25% slower half an hour later); a round's two runs share its moment,
    so their ratio cancels the drift that a ratio of medians over all rounds keeps."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if b > 0]
    return {"median": statistics.median(ratios) if ratios else 0.0, "runs": ratios}


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def cleanup(settings: Settings) -> None:
    names = [t.name for t in settings.topic_specs()]
    have = topics.existing(settings)
    names += [t for t in have if t.startswith(settings.app_id + "-")]
    topics.delete(settings, names)
