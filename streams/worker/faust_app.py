"""The faust app of the feature worker (shared with its naive baseline): settings, the hot topic
and the state table, and the partition context table writes need outside a faust stream."""

from __future__ import annotations

import ssl
from typing import Any

import faust
from faust.types.auth import CredentialsT

from streams.config.settings import Settings
from streams.worker import faust_compat

STATE_TABLE = "user-state"


class PartitionContext:
    """Points the state table's reads and writes at a partition outside a faust stream."""

    def __init__(self, topic: str) -> None:
        # partition -> event, kept alive here: faust holds the current event only through a weakref
        self._events: dict[int, faust_compat.PartitionEvent] = {}
        self.topic = topic

    def enter(self, partition: int) -> None:
        event = self._events.get(partition)
        if event is None:
            event = self._events[partition] = faust_compat.PartitionEvent(self.topic, partition)
        faust_compat.set_current_partition(event)

    def leave(self) -> None:
        faust_compat.set_current_partition(None)


def broker_credentials(settings: Settings) -> CredentialsT | None:
    """The security settings of faust's Kafka clients (consumer, producer, topic admin): the same
    protocol, mechanism, user and CA as ``Settings.kafka_conf`` gives the confluent-kafka clients.
    None for PLAINTEXT. ValueError for SASL without a mechanism: librdkafka would then try GSSAPI
    and faust PLAIN, and the two kinds of client would disagree."""
    protocol = settings.security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context(cafile=settings.ssl_ca_location) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    if not settings.sasl_mechanism:
        raise ValueError(f"security_protocol {protocol} needs sasl_mechanism (e.g. SCRAM-SHA-512)")
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return faust.SASLCredentials(
        username=settings.sasl_username, password=password, ssl_context=context, mechanism=settings.sasl_mechanism
    )


def make_faust_app(
    settings: Settings, *, data_dir: Any = None, web_port: int | None = None, max_poll_records: int | None = None
) -> faust.App:
    """The faust app settings both the feature worker and its naive baseline use."""
    port = web_port or settings.worker_web_port
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        broker_credentials=broker_credentials(settings),
        store="rocksdb://",
        key_serializer="raw",  # keys and values are bytes everywhere (Avro, msgpack state)
        value_serializer="raw",
        datadir=str(data_dir or settings.worker_data_dir),
        web_port=port,
        web_host=settings.worker_web_host,
        web_transport=f"tcp://{settings.worker_web_host}:{port}",
        canonical_url=f"http://{settings.worker_web_host}:{port}",
        topic_partitions=settings.events_partitions,
        topic_replication_factor=settings.replication_factor,
        table_standby_replicas=settings.standby_replicas,
        # Bounded polls: an unbounded fetch (~50k records) outlasted the poll interval on Tansu.
        broker_max_poll_records=max_poll_records or settings.max_poll_records,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_max_poll_interval=60.0,
        broker_commit_every=10_000_000,  # commits follow flushes (commit interval), not message counts
        broker_commit_interval=max(1.0, settings.flush_interval_s),
        consumer_auto_offset_reset="earliest",
        web_enabled=True,
        # Tansu under-reports end offsets, so a restarted worker's persisted changelog offset can
        # exceed the reported highwater; faust would then refuse to start (ConsistencyError).
        # The local state is complete in that case, so the check is off (docs/local-stack.md,
        # "Known limits of the local broker").
        recovery_consistency_check=False,
        topic_allow_declare=True,
    )


def declare_events_and_state(app: faust.App, settings: Settings) -> tuple[Any, Any]:
    """The hot topic and the per-user state table (raw bytes both), as worker and baseline use them."""
    topic = app.topic(
        settings.topic_events,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.events_partitions,
    )
    table = app.Table(
        STATE_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.events_partitions,
        options=state_store_options(settings),
    )
    return topic, table


def state_store_options(settings: Settings) -> dict[str, int]:
    """RocksDB options of each state partition (faust's ``RocksDBOptions``): the memory it may take
    is bounded by settings, as the states in Python memory are (``state_cache_users``)."""
    mib = 1024 * 1024
    return {
        "block_cache_size": settings.state_block_cache_mb * mib,
        "write_buffer_size": settings.state_write_buffer_mb * mib,
        "max_write_buffer_number": 3,
    }
