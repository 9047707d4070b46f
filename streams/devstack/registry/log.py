"""The registry's durable log: the ``_schemas`` topic on the broker (one partition, JSON)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]


class KafkaLog:
    def __init__(self, bootstrap: str, topic: str = "_schemas", *, client_conf: dict[str, Any] | None = None) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._conf = {"bootstrap.servers": bootstrap, **(client_conf or {})}
        self._producer = Producer({**self._conf, "enable.idempotence": True, "linger.ms": 0})

    def ensure_topic(self) -> None:
        admin = AdminClient(self._conf)
        if self.topic in admin.list_topics(timeout=10).topics:
            return
        futures = admin.create_topics(
            [NewTopic(self.topic, num_partitions=1, replication_factor=1, config={"cleanup.policy": "compact"})]
        )
        for fut in futures.values():
            try:
                fut.result(timeout=10)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry and wait until the broker has it (registrations are rare)."""
        errors: list[KafkaError] = []
        key = json.dumps({"type": entry["type"], "subject": entry.get("subject"), "version": entry.get("version")})

        def on_delivery(err: KafkaError | None, _msg: object) -> None:
            if err is not None:
                errors.append(err)

        self._producer.produce(self.topic, json.dumps(entry).encode(), key.encode(), on_delivery=on_delivery)
        remaining = self._producer.flush(10)
        if remaining or errors:
            raise KafkaException(errors[0] if errors else KafkaError(KafkaError._MSG_TIMED_OUT))

    def replay(self, *, idle_s: float = 0.5, timeout_s: float = 30.0) -> Iterator[dict[str, Any]]:
        """Every entry from the start. Reads until the log has been idle for ``idle_s``: some
        brokers (Tansu) report end offsets below the real end, so they are not trusted here."""
        consumer = Consumer(
            {
                **self._conf,
                "group.id": f"registry-replay-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        try:
            consumer.assign([TopicPartition(self.topic, 0, 0)])
            deadline = time.monotonic() + timeout_s
            last = time.monotonic()
            while time.monotonic() - last < idle_s and time.monotonic() < deadline:
                msg = consumer.poll(0.1)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(err)
                last = time.monotonic()
                value = msg.value()
                if value:
                    yield json.loads(value)
        finally:
            consumer.close()
