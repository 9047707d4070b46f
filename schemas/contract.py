"""Load the .avsc files (the source of truth) as self-contained schemas.

A file may refer to a named type defined in another file (Story reuses StoryKind and FactSheet
from StoryRequest). Registries and other-language clients want one self-contained schema per
subject, so references are inlined at their first use.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from schemas.errors import SchemaError

NAMESPACE = "linernotes.v1"
SCHEMA_NAMES = ("ListeningEvent", "TrackInfo", "UserFeatures", "StoryRequest", "Story")
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _read(name: str) -> Any:
    try:
        text = resources.files("schemas").joinpath("avro", f"{name}.avsc").read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise SchemaError(f"no schema file for {name!r}") from e
    return json.loads(text)


def _fullname(node: dict[str, Any], namespace: str) -> str:
    name = str(node["name"])
    return name if "." in name else f"{node.get('namespace', namespace)}.{name}"


def _collect(node: Any, namespace: str, out: dict[str, Any]) -> None:
    """Index every named type defined anywhere in ``node``."""
    if isinstance(node, list):
        for item in node:
            _collect(item, namespace, out)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in ("record", "enum", "fixed", "error"):
            full = _fullname(node, namespace)
            out[full] = node
            namespace = full.rsplit(".", 1)[0]
        for field in node.get("fields", []):
            _collect(field["type"], namespace, out)
        for key in ("items", "values"):
            if key in node:
                _collect(node[key], namespace, out)
        if isinstance(kind, dict | list):
            _collect(kind, namespace, out)


def _inline_name(name: str, namespace: str, known: dict[str, Any], seen: set[str]) -> Any:
    """A reference to a type: a primitive as it is, a named type inlined where it is first used (and
    by its full name after that, as Avro requires)."""
    if name in _PRIMITIVES:
        return name
    full = name if "." in name else f"{namespace}.{name}"
    if full in seen:
        return full
    if full not in known:
        raise SchemaError(f"unknown named type {name!r}")
    return _inline(known[full], namespace, known, seen)


def _inline(node: Any, namespace: str, known: dict[str, Any], seen: set[str]) -> Any:
    if isinstance(node, str):
        return _inline_name(node, namespace, known, seen)
    if isinstance(node, list):
        return [_inline(item, namespace, known, seen) for item in node]
    if not isinstance(node, dict):
        return node
    out = dict(node)
    kind = node.get("type")
    if kind in ("record", "enum", "fixed", "error"):
        full = _fullname(node, namespace)
        seen.add(full)
        namespace = full.rsplit(".", 1)[0]
        if kind in ("record", "error"):
            out["fields"] = [{**f, "type": _inline(f["type"], namespace, known, seen)} for f in node["fields"]]
        return out
    if isinstance(kind, dict | list | str) and kind not in _PRIMITIVES and kind not in ("array", "map"):
        out["type"] = _inline(kind, namespace, known, seen)
    for key in ("items", "values"):
        if key in node:
            out[key] = _inline(node[key], namespace, known, seen)
    return out


@cache
def _all_named() -> dict[str, Any]:
    named: dict[str, Any] = {}
    for name in SCHEMA_NAMES:
        _collect(_read(name), NAMESPACE, named)
    return named


@cache
def _load(name: str) -> str:
    return json.dumps(_inline(_read(name), NAMESPACE, _all_named(), set()), separators=(",", ":"))


def load_schema(name: str) -> dict[str, Any]:
    """The self-contained schema ``name`` (e.g. ``"ListeningEvent"``) as a fresh dict."""
    if name not in SCHEMA_NAMES:
        raise SchemaError(f"unknown schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    result: dict[str, Any] = json.loads(_load(name))
    return result


def schema_str(name: str) -> str:
    """The self-contained schema ``name`` as compact JSON, as registered."""
    load_schema(name)
    return _load(name)
