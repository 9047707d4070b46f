"""A locally managed service process: pid file, log file, port checks, health wait, clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from streams.errors import StreamsError


class StackError(StreamsError):
    """A local service could not be started, found or stopped. The message is user-facing."""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text[-lines:])


@dataclass
class Service:
    """Subclasses say how to start and check one service; this class runs the process."""

    name: str
    run_dir: Path
    ports: Sequence[int]

    # -- to override ---------------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def healthy(self) -> bool:
        raise NotImplementedError

    def endpoints(self) -> dict[str, str]:
        return {}

    def prepare(self) -> None:
        """One-time setup before the first start (e.g. a virtual environment)."""

    def cleanup(self) -> None:
        """Release what the process may leave behind (e.g. /dev/shm regions)."""

    # -- files ---------------------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.run_dir / "pids" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    # -- lifecycle -----------------------------------------------------------------------
    def status(self) -> str:
        pid = self.pid()
        if pid is None:
            return "stopped"
        return "healthy" if self.healthy() else "unhealthy"

    def start(self, timeout_s: float) -> bool:
        """Start and wait until healthy. Returns False if it was already running and healthy."""
        if self.pid() is not None:
            if self.wait_healthy(min(timeout_s, 10.0), raise_on_fail=False):
                return False
            self.stop()
        for port in self.ports:
            if port_open(port):
                raise StackError(
                    f"{self.name}: port {port} is already taken by another process; "
                    f"free it or choose another port (see `linernotes up --help`)"
                )
        self.prepare()
        self.cleanup()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                start_new_session=True,
                cwd=self.run_dir,
            )
        self.pid_file.write_text(str(proc.pid))
        self.wait_healthy(timeout_s, proc=proc)
        return True

    def wait_healthy(
        self, timeout_s: float, *, proc: subprocess.Popen[bytes] | None = None, raise_on_fail: bool = True
    ) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.healthy():
                return True
            if proc is not None and proc.poll() is not None:
                self.stop()
                raise StackError(
                    f"{self.name} exited with code {proc.returncode} before it became healthy. "
                    f"Last lines of {self.log_file}:\n{tail(self.log_file)}"
                )
            time.sleep(0.2)
        if not raise_on_fail:
            return False
        self.stop()
        raise StackError(
            f"{self.name} did not become healthy within {timeout_s:.0f}s. "
            f"Last lines of {self.log_file}:\n{tail(self.log_file)}"
        )

    def stop(self, timeout_s: float = 15.0) -> bool:
        """SIGTERM the service's process group, SIGKILL what is left, then clean up."""
        pid = self.pid()
        stopped = False
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while pid_alive(pid) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            stopped = True
        self.pid_file.unlink(missing_ok=True)
        self.cleanup()
        return stopped
