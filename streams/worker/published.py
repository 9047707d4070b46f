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
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from streams.kafka.read import read_batches
from streams.stories.readback import Marks, earliest

log = logging.getLogger("linernotes.worker")
TIMEOUT_S = 10.0


class RequestEnds:
    """The end offsets of ``story-requests``, as the broker reports them (a lower bound of where
    anything produced from now on lands). One client, kept for the worker's life; blocking calls."""

    def __init__(self, conf: Mapping[str, Any], topic: str) -> None:
        self.conf, self.topic = dict(conf), topic
        self._consumer: Consumer | None = None
        self._partitions: list[int] = []

    def __call__(self) -> Marks:
        if self._consumer is None:
            self._consumer = Consumer({**self.conf, "group.id": f"request-ends-{uuid.uuid4()}"})
            meta = self._consumer.list_topics(self.topic, timeout=TIMEOUT_S).topics[self.topic]
            self._partitions = sorted(meta.partitions)
        consumer, topic = self._consumer, self.topic
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1] for p in self._partitions
        }

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


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
