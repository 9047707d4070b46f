"""The genre vocabulary shared by the simulator's catalog and the grounding checker.

The tree is beets' ``lastgenre`` genre tree (MIT licence, ``schemas/data/genres-tree.LICENSE``), copied
from the beets 2.14.1 wheel, so genres have parents: "synthpop" -> "new wave" -> "rock".
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


def genre_paths() -> dict[str, tuple[str, ...]]:
    """Each genre in the tree -> itself followed by its ancestors up to the root."""
    return dict(_genre_paths())


@cache
def _genre_paths() -> tuple[tuple[str, tuple[str, ...]], ...]:
    text = resources.files("schemas").joinpath("data", "genres-tree.yaml").read_text(encoding="utf-8")
    out: dict[str, tuple[str, ...]] = {}

    def walk(node: Any, ancestors: tuple[str, ...]) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child, ancestors)
        elif isinstance(node, dict):
            for name, children in node.items():
                out.setdefault(str(name), (str(name), *ancestors))
                walk(children, (str(name), *ancestors))
        elif node is not None:
            out.setdefault(str(node), (str(node), *ancestors))

    walk(yaml.safe_load(text), ())
    return tuple(out.items())
