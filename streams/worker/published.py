"""Each story request reaches ``story-requests`` once, across restarts of the feature worker (kill -9
included).

The worker commits an event's offset only once the states that record it are stored, so after a
crash the events past the committed offset are read again, and those their listener's stored state
does not hold fire their triggers again (``streams.pipeline.checkpoint``): requests that may already
be on the topic, with the same ``story_id`` (it is deterministic: ``features.facts.story_id``).

So with each commit the worker stores, in the committed offset's metadata, a position in
``story-requests`` that no request of an event at or past that offset can precede: the topic's end
offsets read while the commit that made those offsets durable was under way (a request of a later
event is handed to the helpers after that commit, so it is appended at or past any end read
before; a reported end below the real one, as Tansu gives, only moves the position back). On
assignment the worker reads ``story-requests`` from the earliest such position of its partitions to
the end, keeps the story ids it finds, and drops a fired request whose id is among them. A commit
without the metadata (the group's first, or one by a worker before this) gives no position: the
worker then reads nothing back and says so. One read of the recent tail per assignment.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from streams.kafka.read import read_batches
from streams.stories.readback import Marks, decode_marks, earliest

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


def committed_marks(conf: Mapping[str, Any], group: str, partitions: Collection[tuple[str, int]]) -> list[Marks | None]:
    """The ``story-requests`` position each committed offset of ``partitions`` carries: ``{}`` where
    nothing was committed (every event is read again: the topic is read from its start), None where
    the commit carries no position."""
    consumer = Consumer({**conf, "group.id": group, "enable.auto.commit": False})
    try:
        found = consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=TIMEOUT_S)
    finally:
        consumer.close()
    return [decode_marks(tp.metadata) if tp.offset >= 0 else {} for tp in found]


def read_back(
    conf: Mapping[str, Any],
    topic: str,
    marks: list[Marks | None],
    story_ids: Callable[[list[bytes | None]], list[str]],
) -> set[str] | None:
    """The story ids on ``topic`` from the earliest of ``marks`` to the end (a partition of ``topic``
    that no mark names: from its start); None when some mark is None (nothing bounds what was
    published before that commit, so nothing is read)."""
    if not marks or any(m is None for m in marks):
        return None
    known = [m for m in marks if m is not None]
    starts = earliest(known)
    if any(not m for m in known):
        starts = {}
    ids: set[str] = set()
    n = 0
    for batch in read_batches(conf, topic, starts=starts):
        n += len(batch)
        ids.update(story_ids([m.value() for m in batch]))
    log.info("read back %d story requests from %s since the last commit (%d ids)", n, topic, len(ids))
    return ids
