"""Producing Avro records to the project's topics, with delivery accounting.

Delivery is counted from the producer's delivery reports (never from broker end offsets, which
some brokers under-report). Only failures call back into Python, to keep the hot path in C.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from streams.config.settings import Settings
from streams.errors import StreamsError

Headers = Sequence[tuple[str, bytes]]


class ProduceError(StreamsError):
    """Records could not be delivered."""


class RecordProducer:
    """A thin, fast wrapper over confluent-kafka's Producer for pre-encoded values."""

    def __init__(self, settings: Settings, *, extra_conf: dict[str, Any] | None = None) -> None:
        self.failed = 0
        self.first_error: str | None = None
        conf = {
            **settings.kafka_conf(),
            "enable.idempotence": True,
            # Java's and faust's partitioner: a key lands on the same partition whichever client
            # produced it, so faust's table routing finds the owner of a user's state.
            "partitioner": "murmur2_random",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "delivery.report.only.error": True,
            "compression.type": settings.compression_type,
            "on_delivery": self._on_delivery,
            "error_cb": self._on_error,
            **(extra_conf or {}),
        }
        self.sent = 0
        self.conf = conf
        self._producer = Producer(conf)

    def _on_delivery(self, err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            self.failed += 1
            self.first_error = self.first_error or err.str()

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal() or err.code() == KafkaError._ALL_BROKERS_DOWN:
            self.first_error = self.first_error or err.str()

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        timestamp_ms: int = 0,
        headers: Headers | None = None,
    ) -> None:
        produce = self._producer.produce
        while True:
            try:
                if headers:
                    produce(topic, value, key, timestamp=timestamp_ms, headers=list(headers))
                else:
                    produce(topic, value, key, timestamp=timestamp_ms)
                break
            except BufferError:
                self._producer.poll(0.05)  # local queue full: let librdkafka drain
        self.sent += 1

    def produce_to(self, topic: str, partition: int, key: bytes, value: bytes, on_delivery: Any) -> None:
        """To an explicit partition, with a delivery report for every record (offsets are needed)."""
        while True:
            try:
                self._producer.produce(topic, value, key, partition=partition, on_delivery=on_delivery)
                break
            except BufferError:
                self._producer.poll(0.05)
        self.sent += 1

    def produce_many(self, topic: str, records: Sequence[tuple[int, bytes, bytes]], *, trace: bool = True) -> None:
        """Produce ``(timestamp_ms, key, value)`` records: the hot loop stays in C as far as it can.
        Each record gets a ``traceparent`` with reserved ids (see streams/tracing/tracer.py)."""
        produce, poll = self._producer.produce, self._producer.poll
        bits = random.Random(int.from_bytes(os.urandom(16), "big")).getrandbits
        for ts, key, value in records:
            headers: list[tuple[str, str | bytes | None]] | None = (
                [("traceparent", b"00-%032x-%016x-01" % (bits(128), bits(64) or 1))] if trace else None
            )
            try:
                produce(topic, value, key, timestamp=ts, headers=headers)
            except BufferError:
                while True:
                    poll(0.05)  # local queue full: let librdkafka drain
                    try:
                        produce(topic, value, key, timestamp=ts, headers=headers)
                        break
                    except BufferError:
                        continue
        self.sent += len(records)

    def pending(self) -> int:
        """Records not yet delivered (or failed): 0 when a flush would return at once."""
        self._producer.poll(0)
        return len(self._producer)

    def poll(self) -> None:
        self._producer.poll(0)

    def close(self) -> None:
        """Deliver what is queued and stop librdkafka's threads now, not whenever the garbage
        collector gets to this object (a long-lived process running many replays kept every one's)."""
        close = getattr(self._producer, "close", None)  # confluent-kafka releases without it: on collection
        if close is not None:
            close()

    def flush(self, timeout_s: float = 60.0) -> int:
        """Wait for delivery of everything sent. Returns how many were delivered."""
        try:
            remaining = self._producer.flush(timeout_s)
        except KafkaException as e:
            raise ProduceError(str(e)) from e
        if remaining:
            raise ProduceError(
                f"{remaining} records not delivered within {timeout_s:.0f}s"
                + (f": {self.first_error}" if self.first_error else "")
            )
        if self.failed:
            raise ProduceError(f"{self.failed} of {self.sent} records failed: {self.first_error}")
        return self.sent
