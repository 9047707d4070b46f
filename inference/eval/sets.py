"""The evaluation set as shipped in ``inference/data/eval``: fact sheets, and texts about them.

- ``sheets.jsonl``: fact sheets written by the feature worker's own code from simulated listeners
  (``streams.ingest.simulator.evalset``), each with its listener, event time and split;
- ``labels.jsonl``: stories the pipeline can publish (templates and model candidates), each labelled
  acceptable or not by an editor, with the reason (``docs/stories.md``, "How editors label");
- ``adversarial*.jsonl``: false-but-plausible texts (``truth: false``) by category, one file per writer;
- ``paraphrases*.jsonl``: true paraphrases (``truth: true``) by category, one file per writer.

A sheet's split (``dev`` or ``heldout``) is fixed by its id; texts take their sheet's split. The
vocabulary and the grammar are tuned on ``dev`` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from schemas.records import FactSheet


@dataclass(frozen=True, slots=True)
class Sheet:
    id: str
    kind: str
    user: str
    event_time: int
    split: str
    sheet: FactSheet


@dataclass(frozen=True, slots=True)
class Text:
    """A text about one sheet: a labelled story (``acceptable`` from the label) or a test text
    (``acceptable`` is its truth)."""

    id: str
    sheet: str
    text: str
    acceptable: bool
    reason: str  # the label's reason, or the test text's category
    source: str = ""


def _folder(folder: Path | None) -> Traversable:
    return resources.files("inference").joinpath("data", "eval") if folder is None else folder


def _lines(name: str, folder: Path | None) -> list[dict[str, Any]]:
    text = _folder(folder).joinpath(name).read_text(encoding="utf-8")
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise ValueError(f"{name}:{n}: not JSON ({e})") from e
    return out


def _test_files(folder: Path | None) -> list[str]:
    """``adversarial*.jsonl`` and ``paraphrases*.jsonl``: each batch of test texts in its own file, by writer."""
    names = sorted(p.name for p in _folder(folder).iterdir() if p.name.endswith(".jsonl"))
    return [n for n in names if n.startswith(("adversarial", "paraphrases"))]


@dataclass(frozen=True, slots=True)
class EvalSet:
    sheets: dict[str, Sheet]
    labelled: list[Text]
    adversarial: list[Text]
    paraphrases: list[Text]

    def split(self, name: str) -> EvalSet:
        """The part of the set whose sheets are in split ``name`` ("dev", "heldout"; "all" keeps all)."""
        if name == "all":
            return self
        keep = {k: s for k, s in self.sheets.items() if s.split == name}
        return EvalSet(
            keep,
            [t for t in self.labelled if t.sheet in keep],
            [t for t in self.adversarial if t.sheet in keep],
            [t for t in self.paraphrases if t.sheet in keep],
        )


def load(folder: Path | None = None) -> EvalSet:
    sheets = {}
    for d in _lines("sheets.jsonl", folder):
        sheets[d["id"]] = Sheet(d["id"], d["kind"], d["user"], d["event_time"], d["split"], FactSheet.from_avro(d))
    labelled = [
        Text(d["id"], d["sheet"], d["text"], bool(d["acceptable"]), d.get("reason") or "", d.get("source", ""))
        for d in _lines("labels.jsonl", folder)
    ]
    tests = [
        Text(d["id"], d["sheet"], d["text"], bool(d["truth"]), d.get("category", ""), name.removesuffix(".jsonl"))
        for name in _test_files(folder)
        for d in _lines(name, folder)
    ]
    for t in labelled + tests:
        if t.sheet not in sheets:
            raise ValueError(f"{t.id}: unknown sheet {t.sheet!r}")
    return EvalSet(sheets, labelled, [t for t in tests if not t.acceptable], [t for t in tests if t.acceptable])
