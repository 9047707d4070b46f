"""The feature worker's flush/commit protocol, in one place: what a flush makes durable, in which
order, and when the offsets of its events may be committed.

Four parties take part: the worker process (states to RocksDB, changelog records and dead letters
through its producers), the flush helper processes (``streams.pipeline.publisher``: snapshots and
story requests, each answered only once its own producer delivered it), faust's commit loop (commits
what ``mark_done`` allowed, every ``broker_commit_interval``), and faust's recovery (reads the
"persisted offset" the store records). :class:`Checkpoint` orders them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from faust.types import TP

from features.facts import story_id
from streams.kafka.marks import encode_marks
from streams.kafka.producer import RecordProducer
from streams.pipeline.processor import FeatureProcessor
from streams.pipeline.publisher import FlushPublisher, Request
from streams.pipeline.stored import REQUESTS_MARK_KEY

log = logging.getLogger("linernotes.worker")
RequestsMark = Mapping[int, int]
"""Per story-requests partition, an offset that no request handed over from now on can precede."""


class StateSink(Protocol):
    """Where the states go (the worker's StateWriter: faust's store and its changelog topic)."""

    producer: RecordProducer

    def write(self, items: Iterable[tuple[bytes, int, bytes]]) -> int: ...

    def persist_offsets(self) -> None: ...


class Checkpoint:
    """The offsets handled since the last commit, and the protocol that makes their effects durable
    before faust may commit them. One commit is in flight at a time: the worker goes on with the next
    batches while it is delivered.

    :meth:`commit` walks these steps, and the code carries the same numbers:

    1. **Settle the commit in flight** (:meth:`settle`), if any: (a) wait until its changelog
       records, dead letters, story requests and snapshots were all delivered; (b) record in each
       RocksDB partition the changelog offset it now matches (faust's recovery starts there); (c)
       mark its offsets done, for faust's commit loop to commit.
    2. **Hand over the story requests** fired since the last hand-over, and note where they end.
       (The hot path may do this earlier, :meth:`hand_over_requests`: it changes when they are
       delivered, not the order below.) Ask for story-requests' end offsets meanwhile: the
       *requests mark* of this commit. Every request handed over after this commit lands at or
       past it, so a next owner knows where the requests of events this commit does not store can
       be (``streams.worker.published``).
    3. **Serialize every dirty user's state once** and hand the states to the helpers in parts, as
       they are serialized, so the helpers start building snapshots at once.
    4. **Wait until the story requests of step 2 were delivered** (not the snapshots).
    5. **Write the states**: one RocksDB write batch per partition, one changelog record per user;
       last in each partition's batch and changelog records, the requests mark under
       ``REQUESTS_MARK_KEY`` (a mark restored from the changelog implies the states before it are).
    6. **Leave it in flight** with its offsets; step 1 of the next commit settles it, or
       :meth:`settle_if_delivered` on a quiet stream, or this commit itself with ``wait``.

    What a crash between steps leaves (offsets are committed only after 1c, so every event whose
    commit had not reached 1c is read again after a restart, by this worker or the partition's next
    owner):

    * before step 5: nothing of the commit is stored; the events are applied again from the stored
      states and fire the same triggers, with the same ``story_id``. A request delivered in step 4
      (or handed over after the last commit) lies at or past the requests mark stored with the
      partition's last states: the next owner (this worker restarted, or another one) reads
      story-requests back from there before it hands over a request (``streams.worker.published``)
      and drops a fired request whose id it found. A snapshot goes out again, keyed by user on a
      compacted topic. Nothing is lost, and no request is repeated.
    * after step 5, before 1a completed: a user whose stored state holds re-read events skips them
      (each state keeps, per partition, the offset of the last event applied), so nothing is counted
      twice; the processor marks that user dirty, so its snapshot and changelog record go out again
      with the next commit. The story requests of those events were delivered in step 4, before the
      state that records their triggers was written: a stored state never lacks its requests. A next
      owner without this RocksDB recovers from the changelog and, where a record had not been
      delivered, applies the events again (as before step 5).
    * after 1b, before faust committed: as above; faust's recovery starts at the recorded offset.
    * after faust's commit: nothing is read again.

    Dead letters of events read again go out again (a dead letter changes no state). A graceful
    stop (SIGTERM) commits and settles before faust's last commit (``streams.worker.hot_path``):
    nothing is read again after it.
    """

    def __init__(
        self,
        processor: FeatureProcessor,
        publisher: FlushPublisher,
        states: StateSink,
        producer: RecordProducer,
        mark_done: Callable[[Mapping[TP, int]], None],
        *,
        requests_topic: str,
        request_ends: Callable[[], RequestsMark] | None = None,
    ) -> None:
        """``mark_done(offsets)``: offsets (next to read) whose effects are durable, for faust's commit
        loop. ``request_ends``: story-requests' end offsets, a blocking call (None: no marks)."""
        self.processor, self.publisher, self.states, self.producer = processor, publisher, states, producer
        self.mark_done = mark_done
        self.requests_topic = requests_topic
        self.request_ends = request_ends
        self.pending: dict[TP, int] = {}  # next offset to read, per partition handled since the last commit
        self._inflight: tuple[dict[TP, int], int] | None = None  # offsets and message count of the commit in flight
        self._mark: RequestsMark | None = None  # the last requests mark read (an older one is lower: valid)
        # Story ids already on story-requests, read back on assignment: a fired request with one is dropped.
        self.published: set[str] = set()

    def has_uncommitted(self) -> bool:
        """Whether events were handled since the last commit (offsets to commit, or states changed)."""
        return bool(self.pending or self.processor.dirty)

    def hand_over_requests(self) -> None:
        """Step 2 ahead of the commit: the fired triggers go to the helpers now, so their requests are
        written and produced while the worker goes on (and their stories start sooner)."""
        self.publisher.submit([], self._requests())

    async def commit(self, *, wait: bool = True) -> bool:
        """Run the protocol (see the class); False when nothing was handled since the last commit.
        ``wait``: return only once this commit was settled, its offsets marked done."""
        loop = asyncio.get_running_loop()
        # 1. Settle the commit in flight.
        await self.settle(loop)
        if not self.has_uncommitted():
            return False
        messages_so_far = self.processor.stats.messages
        offsets, self.pending = self.pending, {}
        # 2. The story requests not yet handed over.
        if self.processor.requests:
            self.publisher.submit([], self._requests())
        requests_handed_over = self.publisher.mark()
        ends = loop.run_in_executor(None, self.request_ends) if self.request_ends is not None else None
        # 3. The states, serialized once: the helpers build snapshots from each part as it comes.
        states: list[tuple[bytes, int, bytes]] = []
        for part in self.processor.dirty_parts():
            self.publisher.submit([(key, state) for key, _, state in part])
            states += part
        # 4. The story requests delivered, before the states that record their triggers are written
        # (a restart skips the events a stored state holds). Their delivery overlapped step 3.
        await loop.run_in_executor(None, self.publisher.wait_for, requests_handed_over)
        if ends is not None:
            try:
                self._mark = await ends
            except Exception as e:  # noqa: BLE001 - the last mark read is still a valid one (lower)
                log.warning("story-requests' end offsets unknown (%s): this commit carries the last known", e)
        # 5. The states: RocksDB now, changelog records on their way; each partition's mark after its states.
        if self._mark is not None:
            mark = encode_marks(self._mark).encode()
            states += [(REQUESTS_MARK_KEY, tp.partition, mark) for tp in offsets]
        self.states.write(states)
        self.producer.poll()
        # 6. In flight.
        self._inflight = (offsets, messages_so_far)
        if wait:
            await self.settle(loop)
        return True

    async def settle(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Step 1: wait until the commit in flight was delivered (usually long done), then record the
        changelog offsets and mark its offsets done."""
        if self._inflight is None:
            return
        loop = loop or asyncio.get_running_loop()
        # 1a. Delivered: changelog records, dead letters, and the helpers' snapshots and requests.
        await loop.run_in_executor(None, self.states.producer.flush, 60.0)
        await loop.run_in_executor(None, self.producer.flush, 60.0)
        await loop.run_in_executor(None, self.publisher.wait)
        # 1b. The changelog's "persisted offset" of each RocksDB partition.
        self.states.persist_offsets()
        # 1c. The offsets, for faust's commit loop.
        (offsets, messages), self._inflight = self._inflight, None
        self.mark_done(offsets)
        stats = self.processor.stats
        stats.last_flush_s = time.monotonic()
        stats.last_flush_cpu_s = time.process_time()
        stats.flushed_messages = messages

    async def settle_if_delivered(self) -> None:
        """Step 1 for a commit in flight that was delivered by now; never waits for delivery."""
        if self._inflight is None or not self.publisher.done():
            return
        if self.states.producer.pending() or self.producer.pending():
            return
        await self.settle()

    def forget(self, revoked: set[TP]) -> None:
        """Drop the offsets of partitions this worker no longer owns (after a commit with ``wait``)."""
        for tp in revoked:
            self.pending.pop(tp, None)

    def _requests(self) -> list[Request]:
        """The fired triggers for the helpers, which write, encode and produce their requests. A
        traced one gets its ``send`` span here, at the hand-over."""
        fired, topic = self.processor.take_requests(), self.requests_topic
        if self.published:  # after an assignment: drop what the partitions' previous owner published
            published, n = self.published, len(fired)
            fired = [f for f in fired if story_id(f[0].user, f[0].kind, f[0].key) not in published]
            self.processor.stats.requests_already_published += n - len(fired)
        sent = self.processor.spans.sent
        return [(tuple(t), appended, sent(topic, ref, t) if ref is not None else None) for t, appended, ref in fired]
