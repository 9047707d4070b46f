"""Coalesced writes of the per-user state table: per flush, one RocksDB write batch per partition and
the changelog records sent by the C producer.

faust's ``table[key] = value`` runs, in Python, per key: a future, a buffer, the aiokafka producer,
a RocksDB put and an offset put. A flush writes thousands of keys at once, so
this writer does what faust would do, in bulk: the same keys and values in the same RocksDB files,
the same records on the same changelog partitions, and, once the producer has delivered them, the
same "persisted offset" marker faust reads at recovery (the offset of the last changelog record the
local database holds). Reads, recovery, standbys and rebalancing stay faust's. The store's private
parts it writes are reached through ``streams.worker.faust_compat``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faust.types import TP
from rocksdict import WriteBatch

from streams.kafka.producer import RecordProducer
from streams.worker.faust_compat import key_index as store_key_index
from streams.worker.faust_compat import partition_db


class StateWriter:
    def __init__(self, table: Any, producer: RecordProducer) -> None:
        self.table = table
        self.producer = producer
        self.topic: str = table.changelog_topic.get_topic_name()
        self._delivered: dict[int, int] = {}  # partition -> highest changelog offset delivered

    def write(self, items: Iterable[tuple[bytes, int, bytes]]) -> int:
        """``(key, partition, value)``: local database now, changelog records on their way."""
        store = self.table.data  # faust's RocksDB store
        key_index = store_key_index(store)
        batches: dict[int, Any] = {}
        produce, topic, on_delivery = self.producer.produce_to, self.topic, self._on_delivery
        n = 0
        for key, partition, value in items:
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = WriteBatch(raw_mode=True)
            batch.put(key, value)
            key_index[key] = partition
            produce(topic, partition, key, value, on_delivery)
            n += 1
        for partition, batch in batches.items():
            partition_db(store, partition).write(batch)
        return n

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is None:
            partition, offset = msg.partition(), msg.offset()
            if offset > self._delivered.get(partition, -1):
                self._delivered[partition] = offset

    def persist_offsets(self) -> None:
        """After the producer's flush: record how far the changelog matches the local database."""
        store = self.table.data
        for partition, offset in self._delivered.items():
            store.set_persisted_offset(TP(self.topic, partition), offset)
        self._delivered.clear()
