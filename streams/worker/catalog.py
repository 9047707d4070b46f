"""The catalog as a table every worker holds in full, fed by the compacted ``catalog`` topic, and the
join of listening events with it.

A reader thread assigns every partition of the topic (no consumer group: every worker needs all
of it), loads it from the beginning and then follows it, decoding each record as it comes. A
registry outage holds the reader at that record until the registry answers (``schemas.retry``): a
record whose schema could not be fetched is never taken for a bad one. (A faust GlobalTable over
the same topic would be the faust way; on the local Tansu broker its recovery never completes, so
the worker does not use it.)

The join (:class:`CatalogJoin`): a track missing from the table may only not have been read yet; a
history import writes catalog entries and plays together, and a worker can see the plays first.
Kafka Streams aligns a stream with its table by time; here a miss is judged only once the table was
read to the end the topic had after the batch was fetched (found by reading, as ``streams.kafka.read``
does: some brokers under-report end offsets). Until then the lookup
raises :class:`CatalogBehind`, the processor applies nothing of the batch, the hot path waits for
:meth:`CatalogJoin.read_to_end` and processes the batch again; a track still missing then is unknown.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from schemas import retry
from schemas.codec import Decoder
from schemas.errors import DecodeError, RegistryUnavailable
from schemas.records import TrackInfo
from streams.errors import StreamsError
from streams.kafka.read import read_batches
from streams.kafka.topics import TopicError

log = logging.getLogger("linernotes.catalog")
# The read to the end is on the hot path's clock: a fetch at the end of a partition answers at once
# (without this the broker holds it for librdkafka's 500 ms, waiting for data that is not coming).
_PROBE_CONF = {"fetch.wait.max.ms": 5}


class CatalogBehind(StreamsError):
    """A track is not in the catalog as read so far: read it to its end before judging the event."""

    def __init__(self, track_id: str) -> None:
        super().__init__(f"track {track_id!r} not in the catalog read so far")
        self.track_id = track_id


class CatalogTable:
    def __init__(self, conf: dict[str, Any], topic: str, decoder: Decoder, *, idle_s: float = 1.0) -> None:
        self._conf, self.topic, self._decoder, self._idle_s = conf, topic, decoder, idle_s
        self._tracks: dict[str, TrackInfo] = {}
        self._positions: dict[int, int] = {}  # partition -> every offset below it was read
        self._progress = threading.Condition()  # notified when positions advance (and on stop)
        self._partitions: list[int] = []  # the topic's, once the reader assigned them
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalog-reader", daemon=True)
        self.records = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._progress:
            self._progress.notify_all()
        self._thread.join(timeout=5)

    def wait_ready(self, timeout_s: float) -> bool:
        return self.ready.wait(timeout_s)

    def __call__(self, track_id: str) -> TrackInfo | None:
        return self._tracks.get(track_id)

    def __len__(self) -> int:
        return len(self._tracks)

    # -- reading to the end ----------------------------------------------------------------------
    def read_to_end(self) -> bool:
        """Block until every record the catalog topic holds now was read (and decoded). False if the
        reader stopped first. A registry outage makes this wait as long as it lasts."""
        ends = self._end_offsets()
        if ends is None:
            return False

        def read() -> bool:
            return all(self._positions.get(p, 0) >= end for p, end in ends.items())

        with self._progress:
            self._progress.wait_for(lambda: read() or self._stop.is_set() or not self._thread.is_alive())
        return read()

    def _end_offsets(self) -> dict[int, int] | None:
        """Per partition, the end of what the topic holds now, found by reading on from the reader's
        positions to the end (``streams.kafka.read``: end offsets are not trusted, some brokers
        under-report them); a partition with nothing past the reader is where the reader is."""
        starts = {p: self._positions.get(p, OFFSET_BEGINNING) for p in self._partitions}
        ends = {p: max(start, 0) for p, start in starts.items()}
        try:
            for batch in read_batches({**self._conf, **_PROBE_CONF}, self.topic, starts=starts):
                if not batch:  # every partition reported its end
                    break
                for m in batch:
                    p, offset = m.partition(), m.offset()
                    if p is not None and offset is not None:
                        ends[p] = max(ends.get(p, 0), offset + 1)
        except TopicError:
            return {}
        return None if self._stop.is_set() else ends

    # -- the reader thread -----------------------------------------------------------------------
    def _decode(self, track_id: str, value: bytes) -> TrackInfo | None:
        try:
            record = retry.WAIT_OUT.call(lambda: self._decoder.decode(value), sleep=self._stop.wait)
        except DecodeError as e:  # bad in itself: the track counts as unknown
            log.warning("undecodable catalog record for %s: %s", track_id, e.reason)
            return None
        return TrackInfo.from_avro(record)

    def _take(self, msg: Message) -> None:
        key = msg.key()
        if key is None:
            return
        track_id = key.decode()
        value = msg.value()
        info = self._decode(track_id, value) if value is not None else None
        if info is None:
            self._tracks.pop(track_id, None)
        else:
            self._tracks[track_id] = info
        self.records += 1

    def _assign(self, consumer: Consumer) -> bool:
        """Assign every partition from the beginning, once the topic exists; False if stopped first."""
        while not self._stop.is_set():
            t = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if t is not None and t.error is None and t.partitions:
                self._partitions = sorted(t.partitions)
                consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in t.partitions])
                return True
            self._stop.wait(1.0)
        return False

    def _apply(self, msgs: list[Message]) -> bool:
        """Take the records of ``msgs`` into the table and note the positions they (and the
        end-of-partition reports) leave the reader at; True if any was a record."""
        data = False
        positions = self._positions
        for msg in msgs:
            partition, offset, err = msg.partition(), msg.offset(), msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("catalog reader: %s", err)
                elif partition is not None and offset is not None:
                    positions[partition] = max(positions.get(partition, 0), offset)
                continue
            self._take(msg)
            data = True
            if partition is not None and offset is not None:
                positions[partition] = max(positions.get(partition, 0), offset + 1)
        return data

    def _run(self) -> None:
        consumer = Consumer(
            {
                **self._conf,
                "group.id": f"catalog-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,  # the end reached: a position past a compacted-away tail
            }
        )
        try:
            if not self._assign(consumer):
                return
            last = time.monotonic()
            while not self._stop.is_set():
                msgs = consumer.consume(10_000, timeout=0.2)
                data = self._apply(msgs)
                if msgs:
                    with self._progress:
                        self._progress.notify_all()
                if data:
                    last = time.monotonic()
                elif not self.ready.is_set() and time.monotonic() - last >= self._idle_s:
                    log.info("catalog loaded: %d tracks", len(self._tracks))
                    self.ready.set()
        except RegistryUnavailable:
            if not self._stop.is_set():
                raise
        finally:
            consumer.close()
            with self._progress:  # a reader that ended wakes whoever waits for it
                self._progress.notify_all()


class CatalogJoin:
    """The feature processor's catalog lookup: a miss raises :class:`CatalogBehind` until the table was
    read to its end for the batch at hand (see the module docstring); after that it is unknown."""

    def __init__(self, table: CatalogTable) -> None:
        self.table = table
        self._aligned = False

    def new_batch(self) -> None:
        """A batch was fetched: a miss in it needs the catalog read to the end as of now."""
        self._aligned = False

    def __call__(self, track_id: str) -> TrackInfo | None:
        info = self.table(track_id)
        if info is None and not self._aligned:
            raise CatalogBehind(track_id)
        return info

    def read_to_end(self) -> None:
        """Read the catalog to its end (blocking: run it off the event loop); the batch's misses are
        unknown tracks from here on."""
        if not self.table.read_to_end():
            raise StreamsError("the catalog reader stopped before it read the catalog to its end")
        self._aligned = True
