"""Each story reaches ``user-stories`` once, across restarts of the agent (kill -9 included).

The agent commits a request's offset only after its story was delivered, so after a crash the
requests past the committed offset are written again, and some of their stories are already on
the topic. With each commit the agent stores, in the commit's metadata, a position in
``user-stories`` that no story of an uncommitted request can precede: the stories' end as the agent
knew it (from its own delivery reports) when the first uncommitted request arrived. Requests arrive
in offset order and a story is appended after its request arrived, so every story of a request at
or past the commit lies at or past that position. On assignment the agent reads ``user-stories``
from there to the end and remembers the story ids it finds (carried in a header), so it does not
publish them again. No transactions: one read of the recent tail of the topic per assignment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from streams.kafka.read import read_topic

log = logging.getLogger("linernotes.stories")

STORY_ID_HEADER = "linernotes.story_id"

Marks = dict[int, int]  # user-stories partition -> offset


def encode_marks(marks: Mapping[int, int]) -> str:
    return json.dumps({str(p): o for p, o in sorted(marks.items())}, separators=(",", ":"))


def decode_marks(metadata: str | None) -> Marks | None:
    """The marks a commit carried; None for a commit without them (or with foreign metadata)."""
    if not metadata:
        return None
    try:
        raw = json.loads(metadata)
        return {int(p): int(o) for p, o in raw.items()}
    except (ValueError, TypeError, AttributeError):
        return None


def earliest(marks: Iterable[Marks]) -> Marks:
    """Per stories partition, the lowest mark: where a read-back must start to cover every commit."""
    out: Marks = {}
    for m in marks:
        for p, o in m.items():
            out[p] = min(o, out.get(p, o))
    return out


def published_since(conf: Mapping[str, Any], topic: str, starts: Marks) -> set[str]:
    """Story ids on ``topic`` from ``starts`` to the end (partitions without a mark are read whole)."""
    ids: set[str] = set()
    n = 0
    for msg in read_topic(conf, topic, starts=starts):
        n += 1
        for k, v in msg.headers() or []:
            if k == STORY_ID_HEADER and v is not None:
                ids.add(v.decode() if isinstance(v, bytes) else str(v))
    log.info("story agent: read back %d stories from %s (%d ids)", n, topic, len(ids))
    return ids
