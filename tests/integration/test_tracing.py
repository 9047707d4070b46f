"""A story's whole path is one trace in Phoenix: event -> features -> trigger -> request -> Triton -> story."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streams.bench.common import cleanup, env_for, isolated, story_agent_process, wait_for, worker_process
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.ingest import simulate
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics
from streams.tracing.records import PROJECT
from streams.tracing.tracer import header, parse
from tests.integration.test_worker import read_all

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("LINERNOTES_SKIP_PHOENIX") == "1", reason="LINERNOTES_SKIP_PHOENIX=1"),
]
CHAIN = [
    "send {events}",
    "process {events}",
    "trigger",
    "send {requests}",
    "process {requests}",
    "chat SmolLM2-135M-Instruct",
    "grounding check",
    "send {stories}",
]


@pytest.fixture
def tsettings(triton: Stack, stack_settings: Settings) -> Iterator[Settings]:
    phoenix = triton.services["phoenix"]
    phoenix.start(timeout_s=400)  # first use installs its own venv
    s = isolated(stack_settings, "trace").model_copy(
        update={
            "events_partitions": 2,
            "flush_interval_s": 0.5,
            "story_candidates": 1,
            "story_regenerations": 0,
            "story_max_new_tokens": 16,
            "trace_ratio": 0.0,
            "otlp_endpoint": f"http://127.0.0.1:{stack_settings.phoenix_port}/v1/traces",
        }
    )
    topics.create(s)
    yield s
    cleanup(s)


def spans(base: str) -> list[dict]:
    out, cursor = [], None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = httpx.get(f"{base}/v1/projects/{PROJECT}/spans", params=params, timeout=10)
        if r.status_code == 404:
            return []
        r.raise_for_status()
        body = r.json()
        out += body["data"]
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def test_a_story_is_one_trace_from_its_event(tsettings: Settings, tmp_path: Path) -> None:
    s = tsettings
    simulate.run(s, SimulationConfig(users=15, events=900, days=2, seed=4), progress=False, workers=1)
    with worker_process(s, tmp_path / "w") as (proc, url), story_agent_process(s, tmp_path / "a") as (aproc, _):
        wait_for(url, proc, lambda x: x["flushed_messages"] >= 900, timeout_s=240, what="worker")
        deadline = time.monotonic() + 300
        while len(read_all(s, s.topic_stories, 1.0)) < 3:
            assert time.monotonic() < deadline and aproc.poll() is None
            time.sleep(2)
    story = read_all(s, s.topic_stories, 1.0)[0]
    ctx = parse(header(story.headers()))
    assert ctx is not None, "stories carry trace context"
    trace_id = f"{ctx.trace_id:032x}"
    base = f"http://127.0.0.1:{s.phoenix_port}"
    names = {"events": s.topic_events, "requests": s.topic_requests, "stories": s.topic_stories}
    deadline = time.monotonic() + 60
    mine: list[dict] = []
    while time.monotonic() < deadline:
        mine = [sp for sp in spans(base) if sp["context"]["trace_id"] == trace_id]
        if len(mine) >= len(CHAIN):
            break
        time.sleep(2)
    by_id = {sp["context"]["span_id"]: sp for sp in mine}
    got = [sp["name"] for sp in mine]
    for pattern in CHAIN:
        want = pattern.format(**names)
        assert any(n == want or n.startswith(want + " ") for n in got), (want, got)
    # one chain: every span but the event's send has its parent in the same trace
    roots = [sp for sp in mine if not sp.get("parent_id")]
    assert [r["name"] for r in roots] == [f"send {s.topic_events}"], got
    assert all(sp["parent_id"] in by_id for sp in mine if sp.get("parent_id"))
    chat = next(sp for sp in mine if sp["name"].startswith("chat "))
    assert chat["attributes"]["gen_ai.usage.output_tokens"] > 0
    process = next(sp for sp in mine if sp["name"] == f"process {s.topic_events}")
    assert process["attributes"]["messaging.system"] == "kafka" and "messaging.kafka.offset" in process["attributes"]
    # the CLI finds it too
    r = subprocess.run(
        [sys.executable, "-m", "streams.cli", "trace", _story_id(s, story)],
        env=env_for(s),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and trace_id in r.stdout and "/traces/" in r.stdout, r.stderr


def _story_id(s: Settings, msg) -> str:  # type: ignore[no-untyped-def]
    from schemas.registry import Registry

    return Registry(s.schema_registry_url).decoder("Story").decode(msg.value())["story_id"]
