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


def data_text(name: str, path: str | Path | None = None) -> str:
    """A data file shipped in ``inference/data`` (or ``path`` when given)."""
    if path is None:
        return resources.files("inference").joinpath("data", name).read_text(encoding="utf-8")
    return Path(path).read_text(encoding="utf-8")


def load(path: str | Path | None = None) -> list[GoldenCase]:
    text = data_text("golden.jsonl", path)
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
