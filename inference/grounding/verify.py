"""``linernotes verify``: the gate's verdict on stories given as JSON lines, for anyone downstream.

Each input line is ``{"kind": ..., "facts": <a Story record's facts field>, "text": ...}``; each output
line is ``{"grounded": true|false, "reasons": [...]}``, or ``{"error": ...}`` for a line that cannot be
read, so one bad line never stops the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from schemas.records import FactSheet

from .gate import check


def verdict(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object with kind, facts and text")
    missing = [k for k in ("facts", "text") if k not in doc]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if not isinstance(doc["text"], str):
        raise ValueError("text must be a string")
    try:
        sheet = FactSheet.from_avro(doc["facts"])
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"facts is not a fact sheet ({type(e).__name__}: {e})") from e
    report = check(doc["text"], sheet, str(doc.get("kind") or ""))
    return {"grounded": report.grounded, "reasons": list(report.problems)}


def verify_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield verdict(json.loads(line))
        except ValueError as e:  # json.JSONDecodeError is one
            yield {"error": f"line {n}: {e}"}
