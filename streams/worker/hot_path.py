"""The feature worker's hot path: fetched batches in, their effects made durable on flush (states to
RocksDB and the changelog, snapshots and story requests through the flush helpers), offsets marked
done only once all of it was delivered."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import TP

from streams.config import gc as gctune
from streams.config.settings import Settings
from streams.kafka.producer import RecordProducer
from streams.pipeline.changelog import StateWriter
from streams.pipeline.processor import FeatureProcessor, RawMessage, dead_letter_headers
from streams.pipeline.publisher import FlushPublisher, Request
from streams.worker.catalog import CatalogTable
from streams.worker.consumer import BatchConsumer
from streams.worker.faust_app import PartitionContext

log = logging.getLogger("linernotes.worker")
MIN_FLUSH_INTERVAL_S = 0.5
REQUESTS_PER_HANDOVER = 4096  # in a backlog, fired triggers are handed to the helpers this many at a time


class FeatureHotPath:
    """Processes fetched batches and makes their effects durable on flush."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        processor: FeatureProcessor,
        table: Any,
        producer: RecordProducer,
        publisher: FlushPublisher,
        ctx: PartitionContext,
    ) -> None:
        self.app, self.settings, self.processor, self.table = app, settings, processor, table
        self.producer, self.publisher, self.ctx = producer, publisher, ctx
        self._inflight: tuple[dict[TP, int], int] | None = None  # a flush the helper is publishing
        # Its own producer: the changelog needs a delivery report per record (for the offsets).
        self.states = StateWriter(table, RecordProducer(settings, extra_conf={"delivery.report.only.error": False}))
        self.topics = frozenset({settings.topic_events})
        self._pending: dict[TP, int] = {}
        self._read: dict[TP, int] = {}  # next offset to read, per hot partition read so far
        self.catalog: CatalogTable = None  # type: ignore[assignment]  # set by build_worker
        self._since_flush = 0
        self._last_flush = time.monotonic()
        self.last_handle = 0.0
        self._catalog_frozen = False

    @property
    def consumer(self) -> BatchConsumer:
        return self.app.consumer  # type: ignore[return-value]

    async def handle(self, records: Mapping[TP, Sequence[Any]]) -> None:
        if not self._catalog_frozen:
            if not self.catalog.ready.is_set():  # unknown tracks would go to the DLQ: wait for the join side
                loop = asyncio.get_running_loop()
                while not await loop.run_in_executor(None, self.catalog.wait_ready, 1.0):
                    log.info("waiting for the catalog to load before processing events")
            gctune.freeze()  # the catalog lives as long as the worker: keep the collector off it
            self._catalog_frozen = True
        # aiokafka's ConsumerRecords already carry RawMessage's fields: no per-record copy.
        batch: list[RawMessage] = [r for recs in records.values() for r in recs]
        dead = self.processor.process(batch)
        fired = len(self.processor.requests)
        if fired and (len(batch) < self.settings.max_poll_records or fired >= REQUESTS_PER_HANDOVER):
            # Fired triggers go to the helpers now, not with the next flush: they are written and produced
            # while this process goes on, and their stories start sooner. In a backlog (a full fetch: the
            # next follows at once) they are gathered first: each hand-over costs the helpers a delivery
            # round trip and the broker a produce request, for a few hundred requests a batch. The flush
            # hands over what is left and waits for all of it before it writes the states that record them.
            self.publisher.submit([], self._requests())
        for d in dead:
            self.producer.produce(
                self.settings.topic_events_dlq,
                d.message.key,
                d.message.value,
                timestamp_ms=d.message.timestamp,
                headers=dead_letter_headers(d),
            )
        for tp, recs in records.items():
            if recs:
                self._pending[tp] = self._read[tp] = recs[-1].offset + 1
        self._since_flush += len(batch)
        gctune.after_batch()  # the batch's survivors (states, fired triggers) out of the collector's way
        self.last_handle = time.monotonic()
        self.producer.poll()
        since = time.monotonic() - self._last_flush
        # Caught up (a short fetch that reached the end of every partition read so far): flush now
        # rather than let fresh features wait for the timer. A short fetch alone is no sign of it: in a
        # backlog fetches come back short now and then (a 200k-event features bench run flushed 3-5
        # times, by where they fell; now 3).
        caught_up = len(batch) < self.settings.max_poll_records and since >= MIN_FLUSH_INTERVAL_S and self._at_end()
        if caught_up or self._since_flush >= self.settings.flush_max_events or since >= self.settings.flush_interval_s:
            # The helper's snapshots overlap the next batches; the idle timer settles the last flush.
            await self.flush(wait=False)
            self.last_handle = time.monotonic()

    def _at_end(self) -> bool:
        """Whether every hot partition read so far was read up to its last known high watermark."""
        highwater = self.consumer.highwater
        for tp, position in self._read.items():
            end = highwater(tp)
            if end is not None and position < end:
                return False
        return True

    async def flush(self, *, wait: bool = True) -> None:
        """Make what was handled durable: states (RocksDB + changelog), story requests and, from the
        helper process, snapshots. Offsets are marked done once all of them were delivered: with
        ``wait`` before returning; otherwise at the start of the next flush, so delivery and the
        helper's snapshots overlap the processing of the next batches (one flush in flight)."""
        loop = asyncio.get_running_loop()
        await self._settle(loop)
        if self._pending or self.processor.dirty:
            messages_so_far = self.processor.stats.messages
            pending, self._pending = self._pending, {}
            if self.processor.requests:
                self.publisher.submit([], self._requests())
            requests_handed_over = self.publisher.mark()
            # The helpers get the states in parts as they are serialized, and before this process writes
            # them to RocksDB and the changelog: they start building snapshots at once instead of after
            # all of it (~0.6 s of a backlog's last flush of ~8k users). Offsets are marked done only
            # once all of it was delivered (``_settle``); a state written without its snapshot delivered
            # gets it again after a restart (``FeatureProcessor`` marks a replayed user dirty).
            states: list[tuple[bytes, int, bytes]] = []
            for part in self.processor.dirty_parts():
                self.publisher.submit([(key, state) for key, _, state in part])
                states += part
            # Story requests are delivered before the states that record their triggers are written: a
            # restart skips the events a stored state holds, so such a state must never lack their
            # requests. Their delivery overlapped the serializing above; the snapshots need not be waited for.
            await loop.run_in_executor(None, self.publisher.wait_for, requests_handed_over)
            self.states.write(states)
            self.producer.poll()
            self._inflight = (pending, messages_so_far)
            gctune.after_batch()
            self._since_flush = 0
            self._last_flush = time.monotonic()
        if wait:
            await self._settle(loop)

    def has_unflushed(self) -> bool:
        """Whether events were handled since the last flush (offsets to commit, or states changed)."""
        return bool(self._pending or self.processor.dirty)

    async def settle_if_delivered(self) -> None:
        """Mark the offsets of the flush in flight if it was delivered by now; never waits for it."""
        if self._inflight is None or not self.publisher.done():
            return
        if self.states.producer.pending() or self.producer.pending():
            return
        await self._settle(asyncio.get_running_loop())

    async def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until the flush in flight was delivered (usually long done), then mark its offsets."""
        if self._inflight is None:
            return
        await loop.run_in_executor(None, self.states.producer.flush, 60.0)
        await loop.run_in_executor(None, self.producer.flush, 60.0)
        await loop.run_in_executor(None, self.publisher.wait)
        self.states.persist_offsets()
        (pending, messages), self._inflight = self._inflight, None
        self.consumer.mark_done(pending)
        self.processor.stats.last_flush_s = time.monotonic()
        self.processor.stats.last_flush_cpu_s = time.process_time()
        self.processor.stats.flushed_messages = messages

    def _requests(self) -> list[Request]:
        """The batch's fired triggers for the helpers, which write, encode and produce their
        requests. A traced one gets its ``send`` span here, at the hand-over."""
        fired, topic = self.processor.take_requests(), self.settings.topic_requests
        sent = self.processor.spans.sent
        return [(tuple(t), appended, sent(topic, ref, t) if ref is not None else None) for t, appended, ref in fired]

    def forget(self, revoked: set[TP]) -> None:
        mine = {tp.partition for tp in revoked if tp.topic in self.topics}
        self.processor.forget_partitions(mine)
        for tp in revoked:
            self._pending.pop(tp, None)
            self._read.pop(tp, None)

    def load(self, user: str, partition: int) -> bytes | None:
        self.ctx.enter(partition)
        try:
            value = self.table.get(user.encode())
        finally:
            _current_event.set(None)
        return bytes(value) if value is not None else None
