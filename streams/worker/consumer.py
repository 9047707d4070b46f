"""A faust consumer that hands whole fetched batches of the hot topic to one handler.

faust's fetch loop awaits a callback per message (``wait_first`` creates tasks per message),
which caps a worker at a few thousand events/s. Here, each fetch is split: records of the hot
topics go to :class:`HotPath` in one call; everything else (catalog, changelogs, other agents)
takes faust's normal per-message path. Offsets of hot partitions are committed by faust's own
commit loop, but only up to what the handler reports durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

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


class BatchConsumer(faust_aiokafka.Consumer):
    hot: HotPath | None = None

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
