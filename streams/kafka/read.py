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


class _End:
    """Where a read stands against the end of its partitions: which ones reported their end, since
    when all of them have, and how long the read has waited without a record."""

    CAUGHT_UP, DONE = "caught up", "done"

    def __init__(self, partitions: int, idle_s: float) -> None:
        self.partitions, self.idle_s = partitions, idle_s
        self.at_end: set[int] = set()
        self.caught_up_at: float | None = None
        # Idle = time spent *waiting* without a record. Wall time would also count the caller's work
        # between records (a replay chunk can take seconds) and end the read early.
        self.idle = 0.0

    def timeout(self) -> float:
        if self.caught_up_at is None:
            return 0.1
        return min(0.1, max(0.01, EOF_CONFIRM_S - (time.monotonic() - self.caught_up_at)))

    def records(self, messages: list[Any]) -> list[Any]:
        """The records among ``messages``, noting the end-of-partition reports (a record after one
        means the partition grew)."""
        batch = []
        at_end = self.at_end
        for m in messages:
            err = m.error()
            if err is None:
                batch.append(m)
                if at_end:
                    at_end.discard(m.partition())
            elif err.code() == KafkaError._PARTITION_EOF and (p := m.partition()) is not None:
                at_end.add(p)
        return batch

    def after(self, got: bool, waited_s: float) -> str | None:
        """After a consume that returned records (``got``) or waited ``waited_s`` in vain: ``DONE``,
        ``CAUGHT_UP`` the first time every partition is at its end, else None."""
        self.idle = 0.0 if got else self.idle + waited_s
        if len(self.at_end) < self.partitions:
            self.caught_up_at = None
            return self.DONE if self.idle >= self.idle_s else None
        if self.caught_up_at is None:
            self.caught_up_at = time.monotonic()
            return self.CAUGHT_UP
        if not got and time.monotonic() - self.caught_up_at >= EOF_CONFIRM_S:
            return self.DONE
        return None


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
        end = _End(len(mine), idle_s)
        while True:
            t = time.monotonic()
            batch = end.records(consumer.consume(5000, timeout=end.timeout()))
            if batch:
                yield batch
            state = end.after(bool(batch), time.monotonic() - t)
            if state is _End.DONE:
                return
            if state is _End.CAUGHT_UP:
                yield []
    finally:
        consumer.close()


class TopicEnds:
    """Per partition of ``topic``, its reported end (high watermark): a record appended from now on
    lies at or past it, so a later read from these ends finds every such record (a broker that
    under-reports the end only makes that read longer). Empty while the topic does not exist. One
    client, kept until :meth:`close`, for a caller that asks again and again; blocking calls."""

    TIMEOUT_S = 10.0

    def __init__(self, conf: Mapping[str, Any], topic: str) -> None:
        self._conf, self.topic = dict(conf), topic
        self._consumer: Consumer | None = None
        self._partitions: list[int] = []

    def __call__(self) -> dict[int, int]:
        if self._consumer is None:
            self._consumer = Consumer({**self._conf, "group.id": f"ends-{uuid.uuid4()}", "enable.auto.commit": False})
        consumer, topic = self._consumer, self.topic
        if not self._partitions:
            meta = consumer.list_topics(topic, timeout=self.TIMEOUT_S).topics.get(topic)
            if meta is None or meta.error is not None:
                return {}
            self._partitions = sorted(meta.partitions)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=self.TIMEOUT_S)[1]
            for p in self._partitions
        }

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def end_marks(conf: Mapping[str, Any], topic: str) -> dict[int, int]:
    """:class:`TopicEnds` asked once."""
    ends = TopicEnds(conf, topic)
    try:
        return ends()
    finally:
        ends.close()


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
