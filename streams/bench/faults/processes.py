"""What runs during a scenario: the feature worker and the story agent as supervised subprocesses
(killed by the bench, restarted when they exit), and the paced producer of the scenario's records."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from streams.bench.common import stats, worker_process
from streams.bench.faults.inputs import Record
from streams.config.settings import Settings
from streams.devstack.stack.base import free_port
from streams.kafka.producer import RecordProducer

Launch = Callable[[int], contextlib.AbstractContextManager[tuple[subprocess.Popen[bytes], str]]]
RESTART_DELAY_S = 1.0  # before a process that exited on its own is started again (a supervisor's back-off)


def launch_worker(settings: Settings, workdir: Path) -> Launch:
    """Incarnation ``n`` of the feature worker: the same state directory every time, a log each."""
    return lambda n: worker_process(settings, workdir, log_name=f"worker-{n}")


def launch_agent(settings: Settings, workdir: Path) -> Launch:
    """Incarnation ``n`` of the story agent; its URL is that of its metrics."""
    cmd = [sys.executable, "-m", "streams.cli", "story-agent", "--loglevel", "INFO"]

    @contextlib.contextmanager
    def launch(n: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
        port = free_port()
        agent = settings.model_copy(update={"story_agent_metrics_port": port})
        with worker_process(agent, workdir, command=cmd, log_name=f"agent-{n}") as (proc, _):
            yield proc, f"http://127.0.0.1:{port}"

    return launch


class Supervised:
    """A worker or agent process the bench kills with SIGKILL and starts again at once, and which it
    starts again when it exits on its own, as an orchestrator would (``crashes`` counts those)."""

    def __init__(self, what: str, launch: Launch) -> None:
        self.what, self._launch = what, launch
        self.kills = self.crashes = self.starts = 0
        self.started_at = 0.0
        self.url = ""
        self._messages = -1  # the worker's consumed count at the last look (``busy``)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stack: contextlib.ExitStack | None = None

    def start(self) -> None:
        stack = contextlib.ExitStack()
        self._proc, self.url = stack.enter_context(self._launch(self.starts))
        self._stack, self.starts, self.started_at = stack, self.starts + 1, time.monotonic()

    def kill(self) -> None:
        """SIGKILL to the process group (the worker's flush helpers die with it), then start again."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self.close()
        self.kills += 1
        self.start()

    def restart(self) -> dict[str, Any]:
        """Stop it the polite way (SIGTERM, as a rolling restart does; SIGKILL after 20 s) and start it
        again. Returns how the stop went: seconds, and the exit code (-9: it had to be killed)."""
        t0, proc = time.monotonic(), self._proc
        self.close()
        stopped = {"stop_s": round(time.monotonic() - t0, 1), "exit_code": proc.returncode if proc else None}
        self.start()
        return stopped

    def supervise(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self.crashes += 1
            self.close()
            time.sleep(RESTART_DELAY_S)
            self.start()

    def ready(self) -> bool:
        """The worker's /ready/ (tables recovered, catalog read to its end)."""
        try:
            return httpx.get(f"{self.url}/ready/", timeout=2.0).status_code == httpx.codes.OK
        except httpx.HTTPError:
            return False

    def busy(self) -> bool:
        """Whether it is working on something now: the worker consumed since the last look, the agent
        has stories in flight (a CPU Triton can take minutes over one batch, with nothing published)."""
        if self.what == "agent":
            try:
                text = httpx.get(f"{self.url}/metrics", timeout=2.0).text
            except httpx.HTTPError:
                return False
            return any(
                line.startswith("linernotes_stories_in_flight ") and float(line.split()[1]) > 0
                for line in text.splitlines()
            )
        st = stats(self.url)
        if st is None:
            return False
        moved, self._messages = st["messages"] != self._messages, st["messages"]
        return bool(moved)

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()  # SIGTERM, then SIGKILL after 20 s (``worker_process``)
        self._stack, self._proc = None, None

    def __enter__(self) -> Supervised:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def counts(self) -> dict[str, int]:
        return {f"{self.what}_kills": self.kills, f"{self.what}_crashes": self.crashes}


class Flow:
    """Produces a scenario's records to the events topic at ``per_s`` records a second, from a thread."""

    def __init__(self, settings: Settings, records: Sequence[Record], per_s: float) -> None:
        self.settings, self.records, self.per_s = settings, records, per_s
        self.sent = 0
        self.ended_at: float | None = None
        self.error: str | None = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="fault-bench-flow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _produce(self) -> None:
        producer = RecordProducer(self.settings)
        topic, t0 = self.settings.topic_events, time.monotonic()
        try:
            for key, value in self.records:
                if self._stop.is_set():
                    break
                producer.produce(topic, key, value)
                self.sent += 1
                if self.sent % 200 == 0:
                    producer.poll()
                    ahead = self.sent / self.per_s - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            producer.flush()
            if producer.failed:
                self.error = f"{producer.failed} records were not delivered: {producer.first_error}"
        except Exception as e:  # noqa: BLE001 - reported with the scenario's figures, not lost in a thread
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.ended_at = time.monotonic()
            self.done.set()

    def stop(self) -> None:
        """Stop sending (a scenario that failed half-way) and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=70)
