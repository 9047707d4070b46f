"""Each story request reaches ``story-requests`` once, across restarts of the feature worker (kill -9
included).

The worker commits an event's offset only once the states that record it are stored, so after a
crash the events past the committed offset are read again, and those their listener's stored state
does not hold fire their triggers again (``streams.pipeline.checkpoint``): requests that may already
be on the topic, with the same ``story_id`` (it is deterministic: ``features.facts.story_id``).

So with each commit's states the worker stores, per partition, a position in ``story-requests``
that no request of an event the stored states do not hold can precede: the topic's end offsets read
while that commit was under way (a request of a later event is handed to the helpers after the
commit, so it is appended at or past any end read before; a reported end below the real one, as
Tansu gives, only moves the position back). The position is the *requests mark*: one record per
partition of the state table, in the same RocksDB write batch as the states and after them in the
changelog (``streams.pipeline.stored.REQUESTS_MARK_KEY``), so it is restored with them, by this
worker's store or by faust's recovery on another. (Not the committed offset's metadata, which would
be its natural place: Tansu keeps no commit metadata.) With the first batch after an assignment the
worker reads ``story-requests`` from the earliest mark of the partitions assigned to the end, keeps
the story ids it finds, and drops a fired request whose id is among them (they stay known until
the worker stops: the tail's ids, a few seconds of requests). A partition without a mark (never
committed, or by a worker before this) has the topic read from its start. One read of the recent
tail per assignment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from streams.kafka.marks import Marks, earliest
from streams.kafka.read import read_batches

log = logging.getLogger("linernotes.worker")


def read_back(
    conf: Mapping[str, Any],
    topic: str,
    marks: list[Marks],
    story_ids: Callable[[list[bytes | None]], list[str]],
) -> set[str]:
    """The story ids on ``topic`` from the earliest of ``marks`` to the end: a partition of ``topic``
    that no mark names, and every partition if some mark is empty (no commit stored one), from
    its start."""
    if not marks:
        return set()
    starts = {} if any(not m for m in marks) else earliest(marks)
    ids: set[str] = set()
    n = 0
    for batch in read_batches(conf, topic, starts=starts):
        n += len(batch)
        ids.update(story_ids([m.value() for m in batch]))
    log.info("read back %d story requests from %s since the last commit (%d ids)", n, topic, len(ids))
    return ids
