"""Marks: per partition of a topic, an offset at or past which a component's own output of its
unfinished work lies. Stored with that work's progress (a commit's metadata, a state store), they say
where to read the topic back from after a restart, so that what is already there is not written
again (the story agent over ``user-stories``, the feature worker over ``story-requests``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

Marks = dict[int, int]  # partition -> offset


def encode_marks(marks: Mapping[int, int]) -> str:
    return json.dumps({str(p): o for p, o in sorted(marks.items())}, separators=(",", ":"))


def decode_marks(metadata: str | None) -> Marks | None:
    """The marks ``metadata`` carries; None for none (or foreign metadata)."""
    if not metadata:
        return None
    try:
        raw = json.loads(metadata)
        return {int(p): int(o) for p, o in raw.items()}
    except (ValueError, TypeError, AttributeError):
        return None


def earliest(marks: Iterable[Marks]) -> Marks:
    """Per partition, the lowest mark: where a read-back must start to cover every one of them."""
    out: Marks = {}
    for m in marks:
        for p, o in m.items():
            out[p] = min(o, out.get(p, o))
    return out
