"""deploy/capacity.py: CAPACITY.md is its current output, the plan follows its inputs, the
production overlay has the sizes of the plan's 10M-listener column, and the live-traffic measurement
does what it says (one state write per event when listeners play minutes apart)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.deploy.render import render

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
SIZED_FOR_USERS = 10_000_000  # the column the production overlay follows (CAPACITY.md says so)


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DEPLOY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


capacity = _load("capacity")
capacity_measure = _load("capacity_measure")


def inputs() -> dict[str, Any]:
    return json.loads((DEPLOY / "capacity-inputs.json").read_text())


def test_capacity_md_is_the_current_plan_of_a_recorded_measurement() -> None:
    inp = inputs()
    text = capacity.plan(inp)
    assert text in (DEPLOY / "CAPACITY.md").read_text(), "CAPACITY.md is stale: re-run python deploy/capacity.py"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", inp["run"]["date"]) and "--measure" in inp["run"]["command"]
    for key in ("writes_per_event_live", "state_bytes_per_write", "cpu_us_per_write_code", "compression"):
        assert key in inp["measured"], key
    assert all(k in inp["why"] for k in inp["assumptions"]), "every assumption says why"
    for line in ("cores requested", "memory requested", "disk: listening-events (7 d)", "Triton GPUs", "cost a month"):
        assert line in text, line


@pytest.mark.parametrize(
    ("path", "factor", "line"),
    [
        (("measured", "writes_per_event_live"), 0.1, "feature worker pods"),
        (("measured", "state_bytes_per_write"), 2, "Kafka writes at peak"),
        (("assumptions", "gpu_over_cpu_speedup"), 4, "Triton GPUs"),
        (("prices", "gpu_hour"), 2, "of which GPUs"),
    ],
)
def test_the_plan_follows_its_inputs(path: tuple[str, str], factor: float, line: str) -> None:
    inp = inputs()
    changed = copy.deepcopy(inp)
    changed[path[0]][path[1]] *= factor

    def row(text: str) -> str:
        return next(x for x in text.splitlines() if line in x)

    assert row(capacity.plan(changed)) != row(capacity.plan(inp))


def test_the_production_overlay_has_the_plans_sizes() -> None:
    plan = capacity.scenario(inputs(), SIZED_FOR_USERS)
    docs = render(DEPLOY / "k8s" / "overlays" / "production")

    def one(kind: str, name: str) -> dict[str, Any]:
        return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)

    pool = one("KafkaNodePool", "dual-role")
    assert pool["spec"]["replicas"] == plan["brokers"]
    assert int(pool["spec"]["storage"]["volumes"][0]["size"].removesuffix("Gi")) >= plan["broker_disk_gib"]
    sts = one("StatefulSet", "features")
    assert (
        int(sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"].removesuffix("Gi"))
        >= plan["pvc_gib"]
    )
    assert one("Deployment", "triton")["spec"]["replicas"] == plan["gpus"]
    events = next(d for d in docs if d["kind"] == "KafkaTopic" and d["spec"]["topicName"] == "listening-events")
    assert events["spec"]["partitions"] >= plan["partitions"]
    scaled = one("ScaledObject", "features")["spec"]
    assert scaled["minReplicaCount"] <= plan["workers"] <= scaled["maxReplicaCount"]
    assert one("ScaledObject", "story-agent")["spec"]["maxReplicaCount"] >= plan["agents"]


def test_live_traffic_writes_a_state_for_nearly_every_event() -> None:
    """The measurement's central claim, on a small simulation: listeners play minutes apart, so a
    5 s flush window holds one event of a listener; a window as long as the run coalesces them."""
    live, samples = capacity_measure.live_traffic(users=12, days=8, flush_s=5.0)
    assert 0.9 <= live["writes_per_event_live"] <= 1.0
    assert live["state_bytes_per_write"] > 10 * live["event_bytes"]
    assert samples["changelog"] and samples["listening-events"]
    coalesced, _ = capacity_measure.live_traffic(users=12, days=8, flush_s=86_400.0)
    assert coalesced["writes_per_event_live"] < 0.1
