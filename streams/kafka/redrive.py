"""Re-driving dead letters: each record of a ``*.dlq`` topic back where it came from, once.

``linernotes dlq replay TOPIC`` runs it once the cause is fixed (a catalog entry written, a schema
registered, a bug fixed). Each dead letter's original key and value bytes go back to its source topic
and partition (the ``dlq.source.*`` headers of ``streams.kafka.dlq``) with its source timestamp, and
a ``dlq.redriven.from`` header naming the dead letter.

Once: the dead letters are read by a consumer group (``<app id>-dlq-replay`` unless told otherwise)
from its committed position, and the position is committed only after the records sent for it were
delivered, part by part. A second run finds nothing new to send; a run stopped between a delivery
and its commit sends at most that part again (and the consumers count an event or a story once by its
id). A run re-drives what the topic held when it started: a record dead-lettered again meanwhile
waits for the next run, so a record that is still bad cannot go round in one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition

from streams.config.settings import Settings
from streams.kafka import dlq
from streams.kafka.producer import ProduceError
from streams.kafka.read import read_batches
from streams.kafka.topics import TopicError

REDRIVEN_FROM = "dlq.redriven.from"
"""Header of a re-driven record: ``<dlq topic>:<partition>:<offset>`` of the dead letter it came from."""
PART_RECORDS = 500  # records sent between commits: what a run stopped between the two sends again
QUERY_TIMEOUT_S = 30.0


@dataclass
class RedriveResult:
    topic: str
    group: str
    dead_letters: int = 0  # read in this run (from the group's position to the end)
    redriven: int = 0
    without_source: int = 0  # no dlq.source.topic header: nowhere to send it (skipped, and passed)
    by_reason: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def default_group(settings: Settings) -> str:
    return f"{settings.app_id}-dlq-replay"


class _Part:
    """Records sent since the last commit, per dead-letter partition, and which were delivered."""

    def __init__(self) -> None:
        self.sent: dict[int, list[int]] = {}  # dlq partition -> offsets, in order
        self.failed: dict[int, set[int]] = {}
        self.first_error: str | None = None
        self.size = 0

    def add(self, partition: int, offset: int) -> None:
        self.sent.setdefault(partition, []).append(offset)
        self.size += 1

    def on_delivery(self, partition: int, offset: int) -> Callable[[KafkaError | None, Message], None]:
        def report(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                self.failed.setdefault(partition, set()).add(offset)
                self.first_error = self.first_error or err.str()

        return report

    def commit_points(self) -> dict[int, int]:
        """Per dead-letter partition, the offset to commit: past the delivered prefix of what was sent."""
        points = {}
        for partition, offsets in self.sent.items():
            failed = self.failed.get(partition, set())
            delivered = [o for o in offsets if o not in failed]
            first_failed = min(failed) if failed else None
            done = [o for o in delivered if first_failed is None or o < first_failed]
            if done:
                points[partition] = done[-1] + 1
        return points


def _headers(m: Message) -> list[tuple[str, bytes]]:
    raw: Any = m.headers() or []
    return [(k, v if isinstance(v, bytes) else (v or "").encode()) for k, v in raw]


class Redrive:
    def __init__(self, settings: Settings, topic: str, *, group: str | None = None, dry_run: bool = False) -> None:
        self.settings, self.topic, self.dry_run = settings, topic, dry_run
        self.result = RedriveResult(topic, group or default_group(settings), dry_run=dry_run)
        conf = settings.kafka_conf()
        # Holds the group's committed position; never subscribes (the run assigns its partitions itself).
        self.position = Consumer({**conf, "group.id": self.result.group, "enable.auto.commit": False})
        self.producer = Producer(
            {
                **conf,
                "enable.idempotence": True,
                "partitioner": "murmur2_random",  # where a key lands when its source partition is gone
                "compression.type": settings.compression_type,
                "linger.ms": 5,
            }
        )
        self._partitions: dict[str, int] = {}  # source topic -> its partition count

    def _source_partitions(self, topic: str) -> int:
        if topic not in self._partitions:
            meta = self.position.list_topics(topic, timeout=QUERY_TIMEOUT_S).topics.get(topic)
            self._partitions[topic] = len(meta.partitions) if meta is not None and meta.error is None else 0
        return self._partitions[topic]

    def _starts(self) -> dict[int, int]:
        """Per partition of the dead-letter topic, where the group is (the beginning if it never ran)."""
        meta = self.position.list_topics(self.topic, timeout=QUERY_TIMEOUT_S).topics.get(self.topic)
        if meta is None or meta.error is not None:
            raise TopicError(f"topic {self.topic!r} does not exist")
        tps = [TopicPartition(self.topic, p) for p in meta.partitions]
        committed = self.position.committed(tps, timeout=QUERY_TIMEOUT_S)
        return {tp.partition: tp.offset if tp.offset >= 0 else OFFSET_BEGINNING for tp in committed}

    def _ends(self, starts: dict[int, int]) -> dict[int, int]:
        """Per partition with dead letters past ``starts``, the end of what it holds now, found by reading
        to the end (``streams.kafka.read``: end offsets are not trusted, some brokers under-report them)."""
        ends: dict[int, int] = {}
        for batch in read_batches(self.settings.kafka_conf(), self.topic, starts=starts):
            if not batch:  # every partition reported its end
                break
            for m in batch:
                p, offset = m.partition() or 0, m.offset() or 0
                ends[p] = max(ends.get(p, 0), offset + 1)
        return ends

    def _send(self, m: Message, part: _Part) -> None:
        """One dead letter back to its source (or only counted, in a dry run)."""
        p, offset = m.partition() or 0, m.offset() or 0
        headers = _headers(m)
        named = dict(headers)
        reason = named.get(dlq.REASON, b"").decode(errors="replace")
        self.result.by_reason[reason] = self.result.by_reason.get(reason, 0) + 1
        source = named.get(dlq.SOURCE_TOPIC, b"").decode()
        part.add(p, offset)
        if not source:
            self.result.without_source += 1
            return
        self.result.by_source[source] = self.result.by_source.get(source, 0) + 1
        if self.dry_run:
            return
        kw: dict[str, Any] = {}
        partition = int(named.get(dlq.SOURCE_PARTITION, b"-1"))
        if 0 <= partition < self._source_partitions(source):
            kw["partition"] = partition  # the partition that holds the state of the record's key
        stamp = named.get(dlq.SOURCE_TIMESTAMP)
        kw["timestamp"] = int(stamp) if stamp else m.timestamp()[1]
        self.producer.produce(
            source,
            m.value(),
            m.key(),
            headers=[
                *((k, v) for k, v in headers if not k.startswith("dlq.")),
                (REDRIVEN_FROM, f"{self.topic}:{p}:{offset}".encode()),
            ],
            on_delivery=part.on_delivery(p, offset),
            **kw,
        )
        self.result.redriven += 1
        self.producer.poll(0)

    def _settle(self, part: _Part) -> None:
        """Wait for the part's deliveries, then commit the group past what was delivered."""
        if part.size == 0 or self.dry_run:
            return
        self.producer.flush()
        points = part.commit_points()
        if points:
            self.position.commit(
                offsets=[TopicPartition(self.topic, p, o) for p, o in points.items()], asynchronous=False
            )
        if part.failed:
            failed = sum(len(f) for f in part.failed.values())
            self.result.redriven -= failed
            raise ProduceError(f"{failed} dead letters were not re-driven ({part.first_error}); run it again")

    def run(self) -> RedriveResult:
        try:
            starts = self._starts()
            ends = self._ends(starts)  # the first pass only finds the end: what this run re-drives
            if not ends:
                return self.result
            todo = set(ends)
            part = _Part()
            for batch in read_batches(
                self.settings.kafka_conf(), self.topic, starts=starts, partitions=frozenset(todo)
            ):
                for m in batch:
                    p, offset = m.partition() or 0, m.offset() or 0
                    if p not in todo or offset >= ends[p]:
                        todo.discard(p)  # past where the run started: the next run's
                        continue
                    self.result.dead_letters += 1
                    self._send(m, part)
                    if offset >= ends[p] - 1:
                        todo.discard(p)
                    if part.size >= PART_RECORDS:
                        self._settle(part)
                        part = _Part()
                if not todo:
                    break
            self._settle(part)
            return self.result
        finally:
            self.producer.flush()
            self.position.close()


def redrive(settings: Settings, topic: str, *, group: str | None = None, dry_run: bool = False) -> RedriveResult:
    """Re-drive the dead letters of ``topic`` the group has not re-driven yet (see the module docstring)."""
    return Redrive(settings, topic, group=group, dry_run=dry_run).run()
