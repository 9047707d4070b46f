"""A faust consumer that hands whole fetched batches of the hot topic to one handler.

faust's fetch loop awaits a callback per message (``wait_first`` creates tasks per message),
which caps a worker at a few thousand events/s. Here, each fetch is split: records of the hot
topics go to :class:`HotPath` in one call; everything else (catalog, changelogs, other agents)
takes faust's normal per-message path. Offsets of hot partitions are committed by faust's own
commit loop, but only up to what the handler reports durable. The faust hooks this needs are
private; ``streams.worker.faust_compat.Consumer`` turns them into public ones.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from confluent_kafka import Consumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.worker import faust_compat


class HotPath(Protocol):
    topics: frozenset[str]
    stopping: bool  # a graceful stop began: fetched records are left unread

    async def handle(self, records: Mapping[TP, Sequence[Any]]) -> None:
        """Process fetched records (aiokafka ConsumerRecords) of hot partitions."""

    async def flush(self) -> None:
        """Make everything handled so far durable, then report offsets via ``mark_done``."""

    def forget(self, revoked: set[TP]) -> None:
        """Drop working state of partitions this worker no longer owns."""

    def assigned(self, assigned: set[TP]) -> None:
        """Partitions this worker now owns (before faust has recovered their tables)."""


def probe_ends(
    conf: dict[str, Any], reported: Mapping[TP, int], *, idle_s: float = 0.5, timeout_s: float = 15.0
) -> dict[TP, int]:
    """The real end offsets: read each partition from its reported end until it stays idle.

    Tansu can report end offsets below the real end of a log. faust's table recovery reads a
    changelog up to the reported end, so a worker taking over a partition would miss the last
    writes and continue from stale state. On a broker that reports correctly this finds nothing.
    """
    consumer = Consumer({**conf, "group.id": f"probe-{uuid.uuid4()}", "enable.auto.commit": False})
    ends = dict(reported)
    try:
        consumer.assign([TopicPartition(tp.topic, tp.partition, max(0, off)) for tp, off in reported.items()])
        by_key = {(tp.topic, tp.partition): tp for tp in reported}
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() - last < idle_s and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.1):
                topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                if msg.error() is None and topic is not None and partition is not None and offset is not None:
                    tp = by_key[(topic, partition)]
                    ends[tp] = max(ends[tp], offset + 1)
                    last = time.monotonic()
    finally:
        consumer.close()
    return ends


class BatchConsumer(faust_compat.Consumer):
    hot: HotPath | None = None
    probe_conf: dict[str, Any] | None = None  # librdkafka settings for probe_ends

    def __post_init__(self) -> None:
        super().__post_init__()
        self._hot_done: dict[TP, int] = {}
        self.hot_lock = asyncio.Lock()  # the hot path's batches, flushes and revocations, one at a time

    # -- offsets: faust commits hot partitions up to what the hot path marked done -------------
    def mark_done(self, offsets: Mapping[TP, int]) -> None:
        """``offsets`` are next-offsets-to-read whose effects are durable."""
        for tp, offset in offsets.items():
            if offset > self._hot_done.get(tp, -1):
                self._hot_done[tp] = offset

    def decides_offset(self, tp: TP) -> bool:
        return self.hot is not None and tp.topic in self.hot.topics

    def done_offset(self, tp: TP) -> int | None:
        return self._hot_done.get(tp)

    def done_partitions(self) -> list[TP]:
        return list(self._hot_done)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        reported = dict(await super().highwaters(*partitions))
        hot_topics = self.hot.topics if self.hot is not None else frozenset()
        changelogs = {tp: off if off is not None else 0 for tp, off in reported.items() if tp.topic not in hot_topics}
        if self.probe_conf is None or not changelogs:
            return reported
        loop = asyncio.get_running_loop()
        real = await loop.run_in_executor(None, lambda: probe_ends(self.probe_conf or {}, changelogs))
        for tp, end in real.items():
            if end > changelogs[tp]:
                self.log.warning(
                    "end offset of %s reported as %s, really %s: recovering to the real end", tp, changelogs[tp], end
                )
                reported[tp] = end
        return reported

    # -- rebalancing: nothing pending may cross a revocation ---------------------------------
    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        if self.hot is not None:
            async with self.hot_lock:
                # Make everything durable. No commit here: the consumer thread is inside the
                # rebalance and would deadlock; the next owner re-reads from the last committed
                # offset and skips, per user, what the stored state already contains.
                await self.hot.flush()
                self.hot.forget(revoked)
                for tp in revoked:
                    self._hot_done.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        await super().on_partitions_assigned(assigned, generation_id)
        if self.hot is not None:
            self.hot.assigned({tp for tp in assigned if tp.topic in self.hot.topics})

    # -- fetching: the hot topic's records go to the hot path, the rest on to faust -------------
    async def take_records(
        self, records: Mapping[TP, list[Any]], active_partitions: set[TP] | None
    ) -> Mapping[TP, list[Any]]:
        hot = self.hot
        if hot is None:
            return records
        delivers = self.delivers
        mine = {tp: recs for tp, recs in records.items() if tp.topic in hot.topics and delivers(tp, active_partitions)}
        others = {tp: recs for tp, recs in records.items() if tp.topic not in hot.topics}
        if mine:
            generation = self.app.consumer_generation_id
            async with self.hot_lock:
                if generation == self.app.consumer_generation_id and self.flow_active and not hot.stopping:
                    await hot.handle(mine)
                    for tp, recs in mine.items():
                        if recs:
                            self.mark_read(tp, recs[-1].offset)
                            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
        return others


class BatchTransport(faust_aiokafka.Transport):
    Consumer = BatchConsumer
