"""The catalog as a table every worker holds in full, fed by the compacted ``catalog`` topic.

A reader thread assigns every partition of the topic (no consumer group: every worker needs all
of it), loads it from the beginning and then follows it. Values stay in their Confluent-framed
bytes and are decoded on first use. (A faust GlobalTable over the same topic would be the faust
way; on the local Tansu broker its recovery never completes, so the worker does not use it.)
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from schemas.codec import Decoder
from schemas.records import TrackInfo

log = logging.getLogger("linernotes.catalog")


class CatalogTable:
    def __init__(self, conf: dict[str, Any], topic: str, decoder: Decoder, *, idle_s: float = 1.0) -> None:
        self._conf, self.topic, self._decoder, self._idle_s = conf, topic, decoder, idle_s
        self._raw: dict[str, bytes] = {}
        self._decoded: dict[str, TrackInfo] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalog-reader", daemon=True)
        self.records = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def wait_ready(self, timeout_s: float) -> bool:
        return self.ready.wait(timeout_s)

    def __call__(self, track_id: str) -> TrackInfo | None:
        info = self._decoded.get(track_id)
        if info is not None:
            return info
        raw = self._raw.get(track_id)
        if raw is None:
            return None
        try:
            info = TrackInfo.from_avro(self._decoder.decode(raw))
        except Exception:  # noqa: BLE001 - an undecodable catalog record means "unknown track"
            log.warning("undecodable catalog record for %s", track_id)
            return None
        self._decoded[track_id] = info
        return info

    def __len__(self) -> int:
        return len(self._raw)

    def _run(self) -> None:
        consumer = Consumer({**self._conf, "group.id": f"catalog-{uuid.uuid4()}", "enable.auto.commit": False})
        try:
            meta = None
            while meta is None and not self._stop.is_set():
                topics = consumer.list_topics(self.topic, timeout=10).topics
                t = topics.get(self.topic)
                meta = t if t is not None and t.error is None and t.partitions else None
                if meta is None:
                    time.sleep(1.0)
            if meta is None:
                return
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in meta.partitions])
            last = time.monotonic()
            while not self._stop.is_set():
                msgs = consumer.consume(10_000, timeout=0.2)
                for msg in msgs:
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("catalog reader: %s", err)
                        continue
                    key = msg.key()
                    if key is None:
                        continue
                    track_id = key.decode()
                    value = msg.value()
                    if value is None:
                        self._raw.pop(track_id, None)
                    else:
                        self._raw[track_id] = value
                    self._decoded.pop(track_id, None)  # a newer version replaces the decoded one
                    self.records += 1
                if msgs:
                    last = time.monotonic()
                elif not self.ready.is_set() and time.monotonic() - last >= self._idle_s:
                    for track_id in list(self._raw):  # decode up front, while the worker is still starting
                        self(track_id)
                    log.info("catalog loaded: %d tracks", len(self._raw))
                    self.ready.set()
        finally:
            consumer.close()
