"""Create (and, for tests and benchmarks, delete) the project's topics."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.config.settings import Settings, TopicSpec
from streams.errors import StreamsError


class TopicError(StreamsError):
    """A topic could not be created or deleted."""


def _admin(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka_conf())


def existing(settings: Settings, timeout_s: float = 10.0) -> set[str]:
    try:
        return set(_admin(settings).list_topics(timeout=timeout_s).topics)
    except KafkaException as e:
        raise TopicError(
            f"Kafka broker at {settings.bootstrap_servers} unreachable ({e.args[0].str()}); "
            "is the local stack up (`linernotes up`) or LINERNOTES_BOOTSTRAP_SERVERS right?"
        ) from e


def create(settings: Settings, specs: Iterable[TopicSpec] | None = None) -> dict[str, str]:
    """Create every topic that is missing. Returns ``{name: 'created' | 'exists'}``."""
    specs = list(specs if specs is not None else settings.topic_specs())
    have = existing(settings)
    result = {s.name: "exists" for s in specs if s.name in have}
    new = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=settings.replication_factor,
            config={"cleanup.policy": "compact" if s.compact else "delete"},
        )
        for s in specs
        if s.name not in have
    ]
    if not new:
        return result
    admin = _admin(settings)  # keep a reference: the futures fail if the client is collected
    for name, fut in admin.create_topics(new, operation_timeout=30).items():
        try:
            fut.result(timeout=30)
            result[name] = "created"
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise TopicError(f"creating {name}: {e.args[0].str()}") from e
            result[name] = "exists"
    return result


def delete(settings: Settings, names: Iterable[str]) -> None:
    """Delete topics (tests and benchmarks clean up: the local broker keeps everything in memory)."""
    names = [n for n in names if n in existing(settings)]
    if not names:
        return
    admin = _admin(settings)
    for name, fut in admin.delete_topics(names, operation_timeout=30).items():
        try:
            fut.result(timeout=30)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise TopicError(f"deleting {name}: {e.args[0].str()}") from e
