"""Run a feature worker process (``linernotes worker``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import faust

from streams.config import gc as gctune
from streams.config.settings import Settings
from streams.worker.app import build_worker


class _Worker(faust.Worker):
    """faust's worker without its terminal spinner: at WARNING and above faust installs one and turns
    the root logger to DEBUG, so every changelog write formats a debug record a busy worker pays for."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)

    before_app: Callable[[], object] | None = None  # runs once logging is set up, before the app starts
    before_stop: Callable[[], Awaitable[None]] | None = None  # runs before the app and its consumer stop

    async def on_stop(self) -> None:
        # mode stops the worker's services (the app: its consumer, then its tables) only after this.
        if self.before_stop is not None:
            await self.before_stop()
        await super().on_stop()

    async def on_execute(self) -> None:
        await super().on_execute()
        if self.before_app is not None:
            self.before_app()


def run(
    settings: Settings, *, web_port: int | None = None, data_dir: Path | None = None, loglevel: str = "INFO"
) -> None:
    """Blocks until the worker stops (SIGTERM/SIGINT)."""
    worker_state = build_worker(settings, web_port=web_port, data_dir=data_dir)
    worker = _Worker(worker_state.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.before_app = worker_state.check_local_state  # before faust opens (and recovers) the state store
    worker.before_stop = worker_state.stop  # the last commit, while the consumer and the tables still run
    for name in ("aiokafka",):
        logging.getLogger(name).setLevel(logging.WARNING)
    gctune.tune()
    worker.execute_from_commandline()
