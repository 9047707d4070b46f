"""A small renderer for the kustomize features deploy/k8s uses (resources, namespace, images,
configMapGenerator files, JSON-6902 patches), so tests see what `kubectl kustomize` would apply."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def _pointer(doc: Any, path: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    for p in parts[:-1]:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc, parts[-1]


def _apply(doc: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    for op in ops:
        parent, key = _pointer(doc, op["path"])
        if op["op"] in ("replace", "add"):
            if isinstance(parent, list):
                parent.insert(len(parent) if key == "-" else int(key), op["value"]) if op[
                    "op"
                ] == "add" else parent.__setitem__(int(key), op["value"])
            else:
                if op["op"] == "replace" and key not in parent:
                    raise KeyError(f"replace of missing {op['path']}")
                parent[key] = op["value"]
        elif op["op"] == "remove":
            del parent[int(key) if isinstance(parent, list) else key]
        else:
            raise ValueError(f"unsupported patch op {op['op']}")


def render(directory: Path) -> list[dict[str, Any]]:
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for res in k.get("resources", []):
        path = directory / res
        if path.is_dir():
            docs += render(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for gen in k.get("configMapGenerator", []):
        data = {}
        for f in gen.get("files", []):
            key, _, rel = f.partition("=")
            data[key] = (directory / rel).read_text()
        labels = (gen.get("options") or {}).get("labels", {})
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"], "labels": labels},
                     "data": data})  # fmt: skip
    if "namespace" in k:
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                d.setdefault("metadata", {})["namespace"] = k["namespace"]
    for image in k.get("images", []):
        for d in docs:
            for c in containers(d):
                if c["image"].split(":")[0] == image["name"]:
                    c["image"] = f"{image['name']}:{image['newTag']}"
    for patch in k.get("patches", []):
        target = patch["target"]
        hits = [d for d in docs if d["kind"] == target["kind"] and d["metadata"]["name"] == target["name"]]
        if not hits:
            raise LookupError(f"patch target {target} not found")
        for d in hits:
            _apply(d, yaml.safe_load(patch["patch"]))
    return copy.deepcopy(docs)


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if "template" in spec else {}
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def dumps(docs: list[dict[str, Any]]) -> str:
    return json.dumps(docs, indent=1)
