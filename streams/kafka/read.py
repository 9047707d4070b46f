"""Reading a topic to its end: the one way every part of linernotes does it.

A read ends where every partition has reported end-of-partition, confirmed by a short quiet spell
(records appended meanwhile are read too). End-of-partition reports are trusted and end offsets are
not, because some brokers (Tansu) report end offsets below the real end; without the reports, a
read ends after ``idle_s`` spent waiting without a record.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from streams.kafka.topics import TopicError

EOF_CONFIRM_S = 0.25
"""Once every partition reported its end, how long a read waits for records appended meanwhile."""


def read_batches(
    conf: Mapping[str, Any],
    topic: str,
    *,
    idle_s: float = 1.5,
    starts: dict[int, int] | None = None,
    partitions: frozenset[int] = frozenset(),
) -> Iterator[list[Any]]:
    """The records of ``topic`` (or of ``partitions``) from ``starts`` to the end, in the batches the
    consumer returns them.

    The end is where every partition has reported end-of-partition, confirmed by ``EOF_CONFIRM_S``
    without a record (records appended meanwhile are read too). On reaching it, an empty batch is
    yielded first, so the caller can work on what it holds while the end is confirmed. Without
    end-of-partition reports, a read ends after ``idle_s`` without a record."""
    consumer = Consumer(
        {**conf, "group.id": f"read-{uuid.uuid4()}", "enable.auto.commit": False, "enable.partition.eof": True}
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise TopicError(f"topic {topic!r} does not exist")
        starts = starts or {}
        mine = [p for p in meta.partitions if not partitions or p in partitions]
        consumer.assign([TopicPartition(topic, p, starts.get(p, 0)) for p in mine])
        at_end: set[int] = set()
        caught_up_at: float | None = None
        # Idle = time spent *waiting* without a record. Wall time would also count the caller's work
        # between records (a replay chunk can take seconds) and end the read early.
        idle = 0.0
        while True:
            timeout = 0.1 if caught_up_at is None else max(0.01, EOF_CONFIRM_S - (time.monotonic() - caught_up_at))
            t = time.monotonic()
            batch = []
            for m in consumer.consume(5000, timeout=min(0.1, timeout)):
                err = m.error()
                if err is None:
                    batch.append(m)
                    if at_end:
                        at_end.discard(m.partition())
                elif err.code() == KafkaError._PARTITION_EOF and (p := m.partition()) is not None:
                    at_end.add(p)
            if batch:
                idle = 0.0
                yield batch
            else:
                idle += time.monotonic() - t
            if len(at_end) < len(mine):
                caught_up_at = None
                if idle >= idle_s:
                    return
            elif caught_up_at is None:
                caught_up_at = time.monotonic()
                yield []
            elif not batch and time.monotonic() - caught_up_at >= EOF_CONFIRM_S:
                return
    finally:
        consumer.close()


def read_topic(
    conf: Mapping[str, Any],
    topic: str,
    *,
    idle_s: float = 1.5,
    starts: dict[int, int] | None = None,
    partitions: frozenset[int] = frozenset(),
) -> Iterator[Any]:
    """Every record of ``topic`` (or of ``partitions``) from ``starts`` to the end (see ``read_batches``)."""
    for batch in read_batches(conf, topic, idle_s=idle_s, starts=starts, partitions=partitions):
        yield from batch
