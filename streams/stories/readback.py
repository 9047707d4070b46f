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

import logging
from collections.abc import Mapping
from typing import Any

from streams.kafka.marks import Marks
from streams.kafka.read import read_topic

log = logging.getLogger("linernotes.stories")

STORY_ID_HEADER = "linernotes.story_id"


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
