"""Run a feature worker process (``linernotes worker``)."""

from __future__ import annotations

import logging
from pathlib import Path

import faust

from streams.settings import Settings
from streams.worker.app import build_worker


def run(
    settings: Settings, *, web_port: int | None = None, data_dir: Path | None = None, loglevel: str = "INFO"
) -> None:
    """Blocks until the worker stops (SIGTERM/SIGINT)."""
    worker_state = build_worker(settings, web_port=web_port, data_dir=data_dir)
    # INFO, not WARNING: at WARNING faust installs a terminal spinner that turns the root logger
    # to DEBUG (~11% of CPU in one profile). Chatty libraries are kept at WARNING explicitly.
    worker = faust.Worker(worker_state.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    for name in ("aiokafka",):
        logging.getLogger(name).setLevel(logging.WARNING)
    worker.execute_from_commandline()
