"""Shared fixtures. Real services start once per session through the project's own Stack code."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.config.settings import Settings, load
from streams.devstack.stack import Stack
from streams.devstack.stack.base import free_port
from streams.kafka import topics


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    run = tmp_path_factory.mktemp("stack")
    ports = {
        name: free_port()
        for name in (
            "broker_port",
            "registry_port",
            "triton_http_port",
            "triton_grpc_port",
            "triton_metrics_port",
            "phoenix_port",
            "phoenix_grpc_port",
        )
    }
    return load(
        run_dir=run,
        **ports,
        bootstrap_servers=f"127.0.0.1:{ports['broker_port']}",
        schema_registry_url=f"http://127.0.0.1:{ports['registry_port']}",
        triton_url=f"127.0.0.1:{ports['triton_grpc_port']}",
        otlp_endpoint="",  # tracing off, except in the tracing tests (which start Phoenix)
        model_repository=Path(__file__).resolve().parents[1] / "deploy" / "triton" / "models",
    )


@pytest.fixture(scope="session")
def stack(stack_settings: Settings) -> Iterator[Stack]:
    """Tansu + the local schema registry, shared by the whole session."""
    s = Stack(stack_settings, phoenix_venv=Path(__file__).resolve().parents[1] / ".linernotes" / "phoenix-venv")
    s.up(["broker", "registry"], report=lambda _line: None)
    yield s
    s.down()


@pytest.fixture
def triton(stack: Stack) -> Stack:
    """Triton with the story models, started once and kept for the session (start is idempotent)."""
    stack.services["triton"].start(timeout_s=300)
    return stack


@pytest.fixture
def kafka(stack: Stack, stack_settings: Settings) -> Iterator[Settings]:
    """Settings with this test's own topic names; the topics are deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    fields = {f: f"{getattr(stack_settings, f)}-{suffix}" for f in Settings.model_fields if f.startswith("topic_")}
    s = stack_settings.model_copy(update={**fields, "events_partitions": 3})
    yield s
    topics.delete(s, [t.name for t in s.topic_specs()])
