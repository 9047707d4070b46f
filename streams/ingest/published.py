"""What a listener's published features already cover: the ``as_of`` of their latest snapshot on
``user-features``, read from the one partition that holds their key."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer

from schemas.registry import Registry
from streams.config.settings import Settings
from streams.kafka.read import read_topic


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a keyed record goes to with the project's producers (murmur2, as Java clients and
    faust partition: ``streams.kafka.producer``)."""
    return int(DefaultPartitioner()(key, list(range(partitions)), []))


def features_as_of(settings: Settings, user_id: str) -> int | None:
    """Event time (epoch ms) of the latest event in ``user_id``'s latest published snapshot; None when
    none was published (a new listener, or no feature worker has run)."""
    topic, key = settings.topic_features, user_id.encode()
    consumer = Consumer({**settings.kafka_conf(), "group.id": "linernotes-published-lookup"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
    finally:
        consumer.close()
    if meta is None or meta.error is not None or not meta.partitions:
        return None
    latest = None
    partition = frozenset({partition_of(key, len(meta.partitions))})
    for m in read_topic(settings.kafka_conf(), topic, partitions=partition):
        if m.key() == key:
            latest = m.value()  # the last one wins, compacted or not; None: a tombstone
    if not latest:
        return None
    return int(Registry(settings.schema_registry_url).decoder("UserFeatures").decode(latest)["as_of"])
