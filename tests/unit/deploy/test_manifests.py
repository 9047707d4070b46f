"""deploy/: every manifest renders and validates; CRDs are structurally sound; settings, topics and
environment variables agree with streams/config/settings.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from streams.config.settings import Settings, known_env
from tests.unit.deploy.render import containers, render

ROOT = Path(__file__).resolve().parents[3]
K8S_VERSION = "1.30.0"
DOCS = render(ROOT / "deploy" / "k8s" / "overlays" / "production")
CRD_GROUPS = ("kafka.strimzi.io/", "keda.sh/", "monitoring.coreos.com/")
MODEL_ENV = {"LINERNOTES_MODEL_CACHE", "LINERNOTES_TORCH_THREADS"}  # read by the model inside Triton


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in DOCS if d["kind"] == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name)


def settings_from_manifests() -> Settings:
    data = one("ConfigMap", "linernotes-settings")["data"]
    return Settings(**{k.removeprefix("LINERNOTES_").lower(): v for k, v in data.items()})


@pytest.mark.parametrize("doc", [d for d in DOCS if not d["apiVersion"].startswith(CRD_GROUPS)],
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")  # fmt: skip
def test_core_resources_validate_against_the_kubernetes_schemas(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    bad = json.loads(json.dumps(one("StatefulSet", "features")))
    bad["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_everything_lands_in_one_namespace_and_overlay_applies() -> None:
    assert {d["metadata"].get("namespace") for d in DOCS if d["kind"] != "Namespace"} == {"linernotes"}
    assert one("StatefulSet", "features")["spec"]["replicas"] == 6
    assert all(c["image"].endswith(":0.1.0") for d in DOCS for c in containers(d) if "linernotes" in c["image"])


def test_strimzi_cluster_is_kraft_with_node_pools() -> None:
    kafka = one("Kafka", "linernotes-kafka")
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    assert "zookeeper" not in kafka["spec"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners and all({"name", "port", "type", "tls"} <= set(listener) for listener in listeners)
    pools = by_kind("KafkaNodePool")
    assert pools and all(p["metadata"]["labels"]["strimzi.io/cluster"] == "linernotes-kafka" for p in pools)
    roles = {r for p in pools for r in p["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    assert sum(p["spec"]["replicas"] for p in pools) >= 3
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2


def test_every_settings_topic_is_a_kafka_topic() -> None:
    s = settings_from_manifests()
    topics = {t["spec"]["topicName"]: t for t in by_kind("KafkaTopic")}
    expected = [(t.name, t.partitions, t.compact) for t in s.topic_specs()]
    expected.append((f"{s.app_id}-user-state-changelog", s.events_partitions, True))
    for name, partitions, compact in expected:
        assert name in topics, f"no KafkaTopic for {name}"
        spec = topics[name]["spec"]
        assert spec["partitions"] == partitions, name
        assert spec["replicas"] == 3 and topics[name]["metadata"]["labels"]["strimzi.io/cluster"] == "linernotes-kafka"
        assert spec["config"]["cleanup.policy"] == ("compact" if compact else "delete"), name
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", topics[name]["metadata"]["name"])
    assert set(topics) == {n for n, _, _ in expected}


def test_every_linernotes_variable_is_a_setting_and_the_settings_load() -> None:
    names = set(one("ConfigMap", "linernotes-settings")["data"])
    for d in DOCS:
        for c in containers(d):
            names |= {e["name"] for e in c.get("env", [])}
    ours = {n for n in names if n.startswith("LINERNOTES_")}
    assert ours, "no settings at all?"
    assert ours <= known_env(), f"not settings: {sorted(ours - known_env())}"
    s = settings_from_manifests()
    assert s.security_protocol == "SASL_SSL" and s.replication_factor == 3


def test_credentials_and_keys_come_from_secrets() -> None:
    for d in DOCS:
        for c in containers(d):
            for e in c.get("env", []):
                if "PASSWORD" in e["name"] or e["name"].endswith("_KEY"):
                    assert "secretKeyRef" in e.get("valueFrom", {}), (d["metadata"]["name"], e["name"])
    assert not by_kind("Secret"), "no secrets are shipped in manifests"
    for name in ("features", "story-agent"):
        for kind in ("StatefulSet", "Deployment"):
            if any(d["metadata"]["name"] == name for d in by_kind(kind)):
                env = {e["name"] for e in containers(one(kind, name))[0]["env"]}
                assert "LINERNOTES_TRACE_USER_KEY" in env, name


def test_workers_are_a_statefulset_with_state_volumes_and_routable_ids() -> None:
    sts = one("StatefulSet", "features")
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    c = containers(sts)[0]
    env = {e["name"]: e for e in c["env"]}
    assert "$(POD_NAME)" in env["LINERNOTES_WORKER_WEB_HOST"]["value"]
    assert {"mountPath": "/data", "name": "state"}.items() <= c["volumeMounts"][0].items()
    assert one("ConfigMap", "linernotes-settings")["data"]["LINERNOTES_WORKER_DATA_DIR"] == "/data"
    assert int(one("ConfigMap", "linernotes-settings")["data"]["LINERNOTES_STANDBY_REPLICAS"]) >= 1
    assert one("Service", "features")["spec"]["clusterIP"] == "None"


def test_triton_runs_on_gpus_with_the_same_model_repository() -> None:
    dep = one("Deployment", "triton")
    c = containers(dep)[0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert "--model-repository=/models" in c["args"]
    dockerfile = (ROOT / "deploy" / "triton" / "Dockerfile").read_text()
    assert "deploy/triton/models /models" in dockerfile
    rule = re.search(r"sed -i 's/(.+?)/(.+?)/'", dockerfile)
    assert rule is not None
    configs = list((ROOT / "deploy" / "triton" / "models").glob("*/config.pbtxt"))
    assert {p.parent.name for p in configs} == {"story_generator"}
    for p in configs:
        gpu = p.read_text().replace(rule.group(1), rule.group(2))
        assert "kind: KIND_GPU" in gpu and "kind: KIND_CPU" not in gpu, p
    monitors = {m["metadata"]["name"]: m for m in by_kind("ServiceMonitor")}
    assert monitors["triton"]["spec"]["endpoints"][0]["port"] == "metrics"


def test_autoscaling_on_lag_is_capped_at_partitions() -> None:
    s = settings_from_manifests()
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in by_kind("KafkaTopic")}
    groups = {"listening-events": s.app_id, "story-requests": s.stories_app_id}
    auth = {a["metadata"]["name"] for a in by_kind("TriggerAuthentication")}
    for so in by_kind("ScaledObject"):
        target = so["spec"]["scaleTargetRef"]
        kind = target.get("kind", "Deployment")
        one(kind, target["name"])  # exists
        for trig in so["spec"]["triggers"]:
            md = trig["metadata"]
            assert trig["type"] == "kafka" and trig["authenticationRef"]["name"] in auth
            assert {"bootstrapServers", "consumerGroup", "topic", "lagThreshold"} <= set(md)
            assert md["consumerGroup"] == groups[md["topic"]]
            assert so["spec"]["maxReplicaCount"] <= partitions[md["topic"]]


def test_service_monitors_select_services_with_those_ports() -> None:
    services = by_kind("Service")
    for m in by_kind("ServiceMonitor"):
        sel = m["spec"]["selector"]["matchLabels"]
        svc = [s for s in services if sel.items() <= s["metadata"].get("labels", {}).items()]
        assert svc, m["metadata"]["name"]
        ports = {p["name"] for s in svc for p in s["spec"]["ports"]}
        assert all(e["port"] in ports for e in m["spec"]["endpoints"])


def test_otel_collector_receives_otlp_and_exports_traces() -> None:
    import yaml

    conf = yaml.safe_load(one("ConfigMap", "otel-collector")["data"]["config.yaml"])
    assert set(conf["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    pipeline = conf["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and all(e in conf["exporters"] for e in pipeline["exporters"])
    endpoint = one("ConfigMap", "linernotes-settings")["data"]["LINERNOTES_OTLP_ENDPOINT"]
    assert endpoint.startswith("http://otel-collector:4318")


def test_grafana_dashboard_covers_the_operational_questions() -> None:
    cm = one("ConfigMap", "linernotes-grafana-dashboard")
    assert cm["metadata"]["labels"] == {"grafana_dashboard": "1"}
    dash = json.loads(cm["data"]["linernotes.json"])
    titles = " | ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("lag", "events/s", "stories/s", "grounding", "triton queue"):
        assert topic in titles, topic
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in ("linernotes_events_total", "linernotes_story_requests_total", "nv_inference_queue_duration_us"):
        assert metric in exprs


def test_capacity_plan_is_computed_from_the_recorded_figures() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("capacity", ROOT / "deploy" / "capacity.py")
    assert spec is not None and spec.loader is not None
    capacity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(capacity)
    inputs = json.loads((ROOT / "deploy" / "capacity-inputs.json").read_text())
    text = capacity.plan(inputs)
    assert text in (ROOT / "deploy" / "CAPACITY.md").read_text(), "CAPACITY.md is stale: re-run deploy/capacity.py"
    for load in ("1,000 events/s", "100,000 events/s", "1,000,000 events/s", "10,000,000", "500,000,000"):
        assert load in text
    assert all(k in inputs["why"] for k in inputs["assumptions"]), "every assumption says why"
    doubled = json.loads(json.dumps(inputs))
    doubled["measured"]["feature_worker_events_per_s"] *= 2
    assert capacity.plan(doubled) != text  # the plan follows the figures
