"""Bring the local services up in dependency order, report their endpoints, tear them down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streams.config.settings import Settings
from streams.devstack.stack.base import Service, StackError
from streams.devstack.stack.services import BrokerService, PhoenixService, RegistryService, TritonService

SERVICE_NAMES = ("broker", "registry", "triton", "phoenix")


class Stack:
    def __init__(self, settings: Settings, *, phoenix_venv: Path | None = None) -> None:
        self.settings = settings
        run = settings.run_dir.resolve()
        s = settings
        self.services: dict[str, Service] = {
            "broker": BrokerService("broker", run, [s.broker_port], port=s.broker_port),
            "registry": RegistryService(
                "registry", run, [s.registry_port], port=s.registry_port, bootstrap=f"127.0.0.1:{s.broker_port}"
            ),
            "triton": TritonService(
                "triton",
                run,
                [s.triton_http_port, s.triton_grpc_port, s.triton_metrics_port],
                model_repository=s.model_repository,
                http_port=s.triton_http_port,
                grpc_port=s.triton_grpc_port,
                metrics_port=s.triton_metrics_port,
            ),
            "phoenix": PhoenixService(
                "phoenix",
                run,
                [s.phoenix_port, s.phoenix_grpc_port],
                port=s.phoenix_port,
                grpc_port=s.phoenix_grpc_port,
                venv=(phoenix_venv or run / "phoenix-venv"),
            ),
        }

    def _select(self, names: Iterable[str] | None) -> list[str]:
        chosen = list(names) if names else list(SERVICE_NAMES)
        unknown = [n for n in chosen if n not in self.services]
        if unknown:
            raise StackError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICE_NAMES)}")
        return [n for n in SERVICE_NAMES if n in chosen]

    def up(self, names: Iterable[str] | None = None, *, report: Callable[[str], None] = print) -> dict[str, float]:
        """Start the chosen services (broker before registry); Triton and Phoenix start in
        parallel with them. Idempotent: healthy services are left alone. Returns seconds each."""
        chosen = self._select(names)
        timeout = self.settings.stack_timeout_s
        took: dict[str, float] = {}

        def start_all(names: list[str]) -> None:
            for name in names:
                start(name)

        def start(name: str) -> None:
            t0 = time.monotonic()
            started = self.services[name].start(timeout)
            took[name] = time.monotonic() - t0
            report(f"{name:9s} {'started' if started else 'already running'} in {took[name]:.1f}s")

        kafka_side = [n for n in chosen if n in ("broker", "registry")]
        others = [n for n in chosen if n not in kafka_side]
        with ThreadPoolExecutor(max_workers=1 + len(others)) as pool:
            futures = [pool.submit(start_all, kafka_side)]
            futures += [pool.submit(start, n) for n in others]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise StackError("\n".join(str(e) for e in errors))
        return took

    def down(self, names: Iterable[str] | None = None) -> list[str]:
        stopped = []
        for name in reversed(self._select(names)):
            if self.services[name].stop():
                stopped.append(name)
        return stopped

    def status(self) -> dict[str, tuple[str, dict[str, str]]]:
        return {n: (svc.status(), svc.endpoints()) for n, svc in self.services.items()}
