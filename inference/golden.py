"""The golden set: fact sheets shipped with the package, one JSON object per line, several per kind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from schemas.records import FactSheet


@dataclass(frozen=True, slots=True)
class GoldenCase:
    id: str
    kind: str
    sheet: FactSheet
    note: str = ""


def load(path: str | Path | None = None) -> list[GoldenCase]:
    if path is None:
        text = resources.files("inference").joinpath("data", "golden.jsonl").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    cases = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            cases.append(GoldenCase(d["id"], d["kind"], FactSheet.from_avro(d), d.get("note", "")))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path or 'golden.jsonl'}:{n}: not a golden case ({e})") from e
    return cases
