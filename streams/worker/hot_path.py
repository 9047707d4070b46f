"""The feature worker's hot path: fetched batches in, and when to flush them; how a flush makes them
durable before their offsets are committed is ``streams.pipeline.checkpoint.Checkpoint``. It also
reads story-requests back for the partitions it is assigned, before it hands over a request
(``streams.worker.published``), and stops gracefully: a last commit, settled, before faust's last
offset commit."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import faust
from faust.types import TP

from schemas import retry
from schemas.errors import RegistryUnavailable
from streams.config import gc as gctune
from streams.config.settings import Settings
from streams.kafka.marks import decode_marks
from streams.kafka.producer import RecordProducer
from streams.kafka.read import TopicEnds
from streams.pipeline.checkpoint import Checkpoint
from streams.pipeline.processor import DeadLetter, FeatureProcessor, RawMessage, dead_letter_headers
from streams.pipeline.publisher import FlushPublisher
from streams.pipeline.stored import REQUESTS_MARK_KEY
from streams.worker.catalog import CatalogBehind, CatalogJoin, CatalogTable
from streams.worker.changelog import StateWriter
from streams.worker.consumer import BatchConsumer
from streams.worker.faust_app import PartitionContext
from streams.worker.published import read_back

log = logging.getLogger("linernotes.worker")
MIN_FLUSH_INTERVAL_S = 0.5
REQUESTS_PER_HANDOVER = 4096  # in a backlog, fired triggers are handed to the helpers this many at a time
READ_BACK_TRIES = 3
STOP_TIMEOUT_S = 15.0  # the last commit on a graceful stop (a supervisor's SIGKILL comes later, e.g. 20-30 s)


class FeatureHotPath:
    """Processes fetched batches and decides when their checkpoint is committed."""

    join: CatalogJoin | None = None  # the processor's catalog lookup; set by build_worker
    story_ids: Callable[[list[bytes | None]], list[str]] | None = None
    _read_back: frozenset[TP] = frozenset()  # assigned, story-requests not read back for them yet
    stopping = False  # a graceful stop began: no more batches

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        *,
        processor: FeatureProcessor,
        table: Any,
        producer: RecordProducer,
        publisher: FlushPublisher,
        ctx: PartitionContext,
        story_ids: Callable[[list[bytes | None]], list[str]] | None = None,
    ) -> None:
        """``story_ids``: the story ids of story-requests values (None: this worker fires no requests,
        and reads none back)."""
        self.app, self.settings, self.processor, self.table = app, settings, processor, table
        self.producer, self.ctx = producer, ctx
        self.publisher, self.story_ids = publisher, story_ids
        self.request_ends = TopicEnds(settings.kafka_conf(), settings.topic_requests) if story_ids else None
        self.checkpoint = Checkpoint(
            processor,
            publisher,
            # Its own producer: the changelog needs a delivery report per record (for the offsets).
            StateWriter(table, RecordProducer(settings, extra_conf={"delivery.report.only.error": False})),
            producer,
            self._mark_done,
            requests_topic=settings.topic_requests,
            request_ends=self.request_ends,
        )
        self.topics = frozenset({settings.topic_events})
        self._read: dict[TP, int] = {}  # next offset to read, per hot partition read so far
        self.catalog: CatalogTable = None  # type: ignore[assignment]  # set by build_worker
        self._since_flush = 0
        self.last_flush = time.monotonic()
        self.last_handle = 0.0
        self._catalog_frozen = False

    @property
    def consumer(self) -> BatchConsumer:
        return self.app.consumer  # type: ignore[return-value]

    def _mark_done(self, offsets: Mapping[TP, int]) -> None:
        # Looked up at each commit: faust creates its consumer when the worker starts, after this.
        self.consumer.mark_done(offsets)

    def assigned(self, assigned: set[TP]) -> None:
        if self.story_ids is not None:
            self._read_back = self._read_back | assigned

    async def _read_back_requests(self) -> None:
        """What the previous owners of the partitions just assigned published on story-requests since
        their last commit: a request fired again for an event read again is dropped if it is there.
        Called with the first batch after an assignment: faust has recovered the table by then."""
        tps, story_ids = sorted(self._read_back), self.story_ids
        assert story_ids is not None
        conf, loop = self.settings.kafka_conf(), asyncio.get_running_loop()
        marks = [self._requests_mark(tp.partition) for tp in tps]

        def read() -> set[str]:
            return read_back(conf, self.settings.topic_requests, marks, story_ids)

        for attempt in range(READ_BACK_TRIES):
            try:
                ids = await loop.run_in_executor(None, read)
                break
            except Exception as e:
                if attempt + 1 == READ_BACK_TRIES:
                    raise
                log.warning("reading story-requests back failed (%s): trying again", e)
                await asyncio.sleep(1.0)
        self.checkpoint.published |= ids
        self._read_back = self._read_back.difference(tps)

    def _requests_mark(self, partition: int) -> dict[int, int]:
        """The requests mark the partition's last commit stored ({}: none, story-requests is read whole)."""
        self.ctx.enter(partition)
        try:
            raw = self.table.get(REQUESTS_MARK_KEY)
        finally:
            self.ctx.leave()
        marks = decode_marks(bytes(raw).decode()) if raw is not None else None
        if marks is None:
            log.info("no story-requests mark stored for partition %d: reading story-requests from its start", partition)
        return marks or {}

    async def stop(self) -> None:
        """A graceful stop: no more batches; the last commit, settled; faust's offset commit of it."""
        async with self.consumer.hot_lock:
            self.stopping = True
            await self.flush(wait=True)
        await self.consumer.commit()
        self.publisher.close()
        if self.request_ends is not None:
            self.request_ends.close()

    async def handle(self, records: Mapping[TP, Sequence[Any]]) -> None:
        if self._read_back:
            await self._read_back_requests()
        if not self._catalog_frozen:
            if not self.catalog.ready.is_set():  # unknown tracks would go to the DLQ: wait for the join side
                loop = asyncio.get_running_loop()
                while not await loop.run_in_executor(None, self.catalog.wait_ready, 1.0):
                    log.info("waiting for the catalog to load before processing events")
            gctune.freeze()  # the catalog lives as long as the worker: keep the collector off it
            self._catalog_frozen = True
        # aiokafka's ConsumerRecords already carry RawMessage's fields: no per-record copy.
        batch: list[RawMessage] = [r for recs in records.values() for r in recs]
        dead = await self._process(batch)
        fired = len(self.processor.requests)
        if fired and (len(batch) < self.settings.max_poll_records or fired >= REQUESTS_PER_HANDOVER):
            # Fired triggers go to the helpers now, not with the next flush: they are written and produced
            # while this process goes on, and their stories start sooner. In a backlog (a full fetch: the
            # next follows at once) they are gathered first: each hand-over costs the helpers a delivery
            # round trip and the broker a produce request, for a few hundred requests a batch. The flush
            # hands over what is left and waits for all of it before it writes the states that record them.
            self.checkpoint.hand_over_requests()
        for d in dead:
            self.producer.produce(
                self.settings.topic_events_dlq,
                d.message.key,
                d.message.value,
                timestamp_ms=d.message.timestamp,
                headers=dead_letter_headers(d),
            )
        pending = self.checkpoint.pending
        for tp, recs in records.items():
            if recs:
                pending[tp] = self._read[tp] = recs[-1].offset + 1
        self._since_flush += len(batch)
        gctune.after_batch()  # the batch's survivors (states, fired triggers) out of the collector's way
        self.last_handle = time.monotonic()
        self.producer.poll()
        since = time.monotonic() - self.last_flush
        # Caught up (a short fetch that reached the end of every partition read so far): flush now
        # rather than let fresh features wait for the timer. A short fetch alone is no sign of it: in a
        # backlog fetches come back short now and then (a 200k-event features bench run flushed 3-5
        # times, by where they fell; now 3).
        caught_up = len(batch) < self.settings.max_poll_records and since >= MIN_FLUSH_INTERVAL_S and self._at_end()
        if caught_up or self._since_flush >= self.settings.flush_max_events or since >= self.settings.flush_interval_s:
            # The helper's snapshots overlap the next batches; the idle timer settles the last flush.
            await self.flush(wait=False)
            self.last_handle = time.monotonic()

    async def _process(self, batch: list[RawMessage]) -> list[DeadLetter]:
        """The processor's verdict on a batch, once it can be judged. A batch it cannot judge yet (it
        applies nothing of it then) waits here, and consumption of these partitions with it (the
        consumer fetches again only after ``handle``): through a registry outage, until the registry
        answers for the writer schema (``schemas.retry``, the boundary's one policy); for a track not in
        the catalog, until the catalog was read to its end (``streams.worker.catalog``)."""
        loop = asyncio.get_running_loop()
        join, again = self.join, False
        if join is not None:
            join.new_batch()
        while True:
            try:
                return self.processor.process(batch, again=again)
            except RegistryUnavailable as e:
                if e.schema_id is None:  # not a lookup of ours: nothing to ask again but the batch itself
                    await asyncio.sleep(retry.WAIT_OUT.delay_s(0))
                else:
                    await retry.WAIT_OUT.call_async(functools.partial(self.processor.decoder.resolve, e.schema_id))
                log.info("schema registry answers again: processing the batch that waited for it")
            except CatalogBehind as e:
                assert join is not None  # only CatalogJoin raises it
                log.info("track %s not in the catalog yet: reading the catalog to its end", e.track_id)
                await loop.run_in_executor(None, join.read_to_end)
            again = True

    def _at_end(self) -> bool:
        """Whether every hot partition read so far was read up to its last known high watermark."""
        highwater = self.consumer.highwater
        for tp, position in self._read.items():
            end = highwater(tp)
            if end is not None and position < end:
                return False
        return True

    async def flush(self, *, wait: bool = True) -> None:
        """Commit the checkpoint of what was handled (``Checkpoint.commit``). Without ``wait`` its
        delivery overlaps the next batches, and its offsets are marked done at the next flush or once
        the idle timer finds it delivered."""
        if await self.checkpoint.commit(wait=wait):
            gctune.after_batch()
            self._since_flush = 0
            self.last_flush = time.monotonic()

    def has_unflushed(self) -> bool:
        """Whether events were handled since the last flush (offsets to commit, or states changed)."""
        return self.checkpoint.has_uncommitted()

    async def settle_if_delivered(self) -> None:
        """Mark the offsets of the flush in flight if it was delivered by now; never waits for it."""
        await self.checkpoint.settle_if_delivered()

    def forget(self, revoked: set[TP]) -> None:
        mine = {tp.partition for tp in revoked if tp.topic in self.topics}
        self.processor.forget_partitions(mine)
        self.checkpoint.forget(revoked)
        for tp in revoked:
            self._read.pop(tp, None)

    def load(self, user: str, partition: int) -> bytes | None:
        self.ctx.enter(partition)
        try:
            value = self.table.get(user.encode())
        finally:
            self.ctx.leave()
        return bytes(value) if value is not None else None
