"""Strict validation of custom resources against the upstream CRDs in ``../shared/crds`` (Strimzi
1.2.0, KEDA 2.20, prometheus-operator), as the API server would apply them: an ``apiVersion`` the
CRD no longer serves is refused, and an unknown field is an error (the API server would prune it
silently, which is how a misspelt setting goes unnoticed).

An OpenAPI v3 schema of a CRD is turned into a JSON schema: ``additionalProperties: false`` wherever
an object lists its ``properties`` and does not preserve unknown fields, ``nullable`` admits null,
and ``x-kubernetes-int-or-string`` admits an integer or a string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[3]
CRD_DIR = ROOT.parent / "shared" / "crds"


class CrdError(Exception):
    """A custom resource the CRDs do not accept."""


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in node and not preserve and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@cache
def crds() -> dict[tuple[str, str], dict[str, Any]]:
    """``{(group, kind): crd}`` for every CRD file under ``CRD_DIR``."""
    if not CRD_DIR.is_dir():
        raise CrdError(f"the upstream CRDs are missing: expected {CRD_DIR}")
    found = {}
    for path in sorted(CRD_DIR.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                found[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc
    return found


def is_custom(doc: dict[str, Any]) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def _version(doc: dict[str, Any]) -> dict[str, Any]:
    group, _, version = doc["apiVersion"].rpartition("/")
    crd = crds().get((group, doc["kind"]))
    if crd is None:
        raise CrdError(f"no CRD for {doc['kind']} in {group} under {CRD_DIR}")
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            if not v.get("served", False):
                raise CrdError(f"{doc['apiVersion']} {doc['kind']} is no longer served")
            if v.get("deprecated"):
                raise CrdError(f"{doc['apiVersion']} {doc['kind']} is deprecated")
            return dict(v)
    served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    raise CrdError(f"{doc['apiVersion']} {doc['kind']}: not a version of the CRD (served: {served})")


def validate(doc: dict[str, Any]) -> None:
    """Raise CrdError unless the CRD serves ``doc``'s apiVersion and its schema accepts ``doc``."""
    schema = _strict(_version(doc)["schema"]["openAPIV3Schema"])
    # metadata is checked by the API server's own ObjectMeta rules, not by the CRD's schema
    schema["properties"].pop("metadata", None)
    body = {k: v for k, v in doc.items() if k != "metadata"}
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors[:10]]
        raise CrdError(f"{doc['kind']}/{doc['metadata']['name']}:\n  " + "\n  ".join(lines))
