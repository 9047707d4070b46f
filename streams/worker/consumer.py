"""A faust consumer that hands whole fetched batches of the hot topic to one handler.

faust's fetch loop awaits a callback per message (``wait_first`` creates tasks per message),
which caps a worker at a few thousand events/s. Here, each fetch is split: records of the hot
topics go to :class:`HotPath` in one call; everything else (catalog, changelogs, other agents)
takes faust's normal per-message path. Offsets of hot partitions are committed by faust's own
commit loop, but only up to what the handler reports durable.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from confluent_kafka import Consumer, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message


class HotPath(Protocol):
    topics: frozenset[str]

    async def handle(self, records: Mapping[TP, Sequence[Any]]) -> None:
        """Process fetched records (aiokafka ConsumerRecords) of hot partitions."""

    async def flush(self) -> None:
        """Make everything handled so far durable, then report offsets via ``mark_done``."""

    def forget(self, revoked: set[TP]) -> None:
        """Drop working state of partitions this worker no longer owns."""


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


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # faust fixes fetch.max.wait at 1500 ms. On Tansu, after each flush the next fetch came back
        # only after up to ~1.4 s, with the worker, its helpers and the broker all idle: ~40% of a
        # benchmark run. With 100 ms those gaps are gone (features bench: ~30k -> ~50k events/s).
        consumer._fetch_max_wait_ms = getattr(self.consumer, "fetch_max_wait_ms", 100)
        return consumer


class BatchConsumer(faust_aiokafka.Consumer):
    hot: HotPath | None = None
    probe_conf: dict[str, Any] | None = None  # librdkafka settings for probe_ends
    fetch_max_wait_ms = 100  # set from the settings before the consumer starts

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._hot_done: dict[TP, int] = {}
        self._hot_lock = asyncio.Lock()

    # -- offsets: faust commits hot partitions up to what the hot path marked done -------------
    def mark_done(self, offsets: Mapping[TP, int]) -> None:
        """``offsets`` are next-offsets-to-read whose effects are durable."""
        for tp, offset in offsets.items():
            if offset > self._hot_done.get(tp, -1):
                self._hot_done[tp] = offset

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Any:
        yield from super()._filter_tps_with_pending_acks(topics)
        for tp in list(self._hot_done):
            if topics is None or tp in topics or tp.topic in topics:
                yield tp

    def _new_offset(self, tp: TP) -> int | None:
        if self.hot is not None and tp.topic in self.hot.topics:
            return self._hot_done.get(tp)
        return super()._new_offset(tp)

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
            async with self._hot_lock:
                # Make everything durable. No commit here: the consumer thread is inside the
                # rebalance and would deadlock; the next owner re-reads from the last committed
                # offset and skips, per user, what the stored state already contains.
                await self.hot.flush()
                self.hot.forget(revoked)
                for tp in revoked:
                    self._hot_done.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    # -- fetching ------------------------------------------------------------------------------
    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:  # noqa: ASYNC109 - faust signature
        records, active_partitions = await self._wait_next_records(timeout)
        if records is None or self.should_stop:
            return
        hot = self.hot
        if hot is not None and self.flow_active:
            mine = {
                tp: recs
                for tp, recs in records.items()
                if tp.topic in hot.topics
                and (active_partitions is None or tp in active_partitions or tp in self._buffered_partitions)
            }
            others = {tp: recs for tp, recs in records.items() if tp.topic not in hot.topics}
            if mine:
                generation = self.app.consumer_generation_id
                async with self._hot_lock:
                    if generation == self.app.consumer_generation_id and self.flow_active:
                        await hot.handle(mine)
                        for tp, recs in mine.items():
                            if recs:
                                self._read_offset[tp] = recs[-1].offset
                                self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            records = others
        if not records:
            return
        to_message = self._to_message
        generation_id = self.app.consumer_generation_id
        if self.flow_active:
            for tp, record in self.scheduler.iterate(records):
                if not self.flow_active or self.app.consumer_generation_id != generation_id:
                    break
                if active_partitions is None or tp in active_partitions or tp in self._buffered_partitions:
                    self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                    yield tp, to_message(tp, record)
        else:
            try:
                await self.perform_seek()
            except Exception as ex:  # noqa: BLE001 - as faust does
                self.log.warning(f"exception performing seek when flow not active {ex}")


class BatchTransport(faust_aiokafka.Transport):
    Consumer = BatchConsumer
