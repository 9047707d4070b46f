"""Every private name of faust-streaming (and of aiokafka through it) that the feature worker uses.

faust keeps the worker's group membership, rebalancing, the state table's RocksDB store and its
recovery, table routing and the web server. The hot path goes around it (docs/architecture.md):
whole fetched batches instead of a stream per message, coalesced state writes, offsets committed
only up to what a flush made durable. faust has no public hooks for that, so the worker uses
private ones, and they are all here:

* ``PRIVATE_NAMES`` lists them, with why each is needed (``PUBLIC_INTERNALS``: public names of
  faust's internals the worker relies on, which an upgrade re-checks too);
* ``check_versions`` refuses to build the worker on a faust-streaming other than the release they
  were checked against (an exact pin, as pyproject's: private names carry no compatibility promise,
  so any release, a patch one too, may move them);
* tests/unit/streams/worker/test_faust_compat.py fails if the version, a name or a signature
  changes, and checks that no other module under ``streams/`` uses a private faust name.

What this module offers the rest of the worker is public: ``Consumer`` (faust's aiokafka consumer
with the hooks ``take_records``, ``decides_offset``/``done_offset``/``done_partitions``,
``mark_read``/``read_offset`` and ``fetch_max_wait_ms``), ``set_current_partition``,
``key_index``, ``partition_db`` and ``install_transport``.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiokafka
import faust
from faust.streams import _current_event
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

from streams.errors import StreamsError

FAUST_STREAMING_VERSION = "0.15.3"
"""The faust-streaming release ``PRIVATE_NAMES`` were checked against (pyproject pins the same)."""
AIOKAFKA_VERSION = "0.14.0"
"""The aiokafka release ``_fetch_max_wait_ms`` was checked against. aiokafka is not pinned (faust
asks for >=0.10): a different one is used if it still has the attribute (checked when the consumer
is created), since all that depends on it is how soon a fetch returns."""


class FaustCompatError(StreamsError):
    """The installed faust or aiokafka is not the one the worker's private faust names were checked against."""


@dataclass(frozen=True)
class Private:
    """One private name the worker uses: where it lives, how it is used, and why."""

    owner: str  # "module" or "module:Class"
    name: str
    use: str  # "reads", "writes", "calls", "overrides" or "mirrors" (does what it does, without calling it)
    why: str
    signature: str | None = None  # a method's signature as inspect.signature renders it; None: an attribute


_TP = "faust.types.tuples.TP"
PRIVATE_NAMES: tuple[Private, ...] = (
    Private(
        "faust.streams",
        "_current_event",
        "writes",
        "the context variable faust's RocksDB store reads (through current_event) for the partition of "
        "a key; set so the worker can read and write its table outside a faust stream",
    ),
    Private(
        "faust.stores.rocksdb:Store",
        "_key_index",
        "writes",
        "key -> partition, what the store's reads use when no event is current; coalesced state writes "
        "keep it as Store._set does",
    ),
    Private(
        "faust.stores.rocksdb:Store",
        "_db_for_partition",
        "calls",
        "the RocksDB database of a partition, for one write batch per partition per flush",
        "(self, partition: int) -> Rdict",
    ),
    Private(
        "faust.transport.consumer:Consumer",
        "_wait_next_records",
        "calls",
        "a fetch, before faust turns it into messages (getmany is faust's, with take_records added)",
        f"(self, timeout: float) -> Tuple[Optional[Mapping[{_TP}, List[Any]]], Optional[Set[{_TP}]]]",
    ),
    Private(
        "faust.transport.drivers.aiokafka:Consumer",
        "_to_message",
        "calls",
        "turns a record of a non-hot partition into a faust message, as faust's getmany does",
        f"(self, tp: {_TP}, record: Any) -> faust.types.tuples.ConsumerMessage",
    ),
    Private(
        "faust.transport.consumer:Consumer",
        "_buffered_partitions",
        "reads",
        "partitions paused for a full buffer whose fetched records still count (as in faust's getmany)",
    ),
    Private(
        "faust.transport.consumer:Consumer",
        "_read_offset",
        "writes",
        "the last offset read per partition (faust's lag monitor and livelock check read it); faust "
        "advances it per message, so the hot path advances it per batch",
    ),
    Private(
        "faust.transport.consumer:Consumer",
        "_filter_tps_with_pending_acks",
        "overrides",
        "the partitions faust's commit considers: faust's (acked messages) and those with offsets the "
        "hot path marked done",
        f"(self, topics: Optional[AbstractSet[Union[str, {_TP}]]] = None) -> Iterator[{_TP}]",
    ),
    Private(
        "faust.transport.consumer:Consumer",
        "_new_offset",
        "overrides",
        "the offset faust commits for a partition: for the hot topic, what the last checkpoint made durable",
        f"(self, tp: {_TP}) -> Optional[int]",
    ),
    Private(
        "faust.transport.drivers.aiokafka:Consumer",
        "_new_consumer_thread",
        "overrides",
        "so that the consumer thread is ConsumerThread",
        "(self) -> 'AIOKafkaConsumerThread'",
    ),
    Private(
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread",
        "_create_worker_consumer",
        "overrides",
        "the aiokafka consumer faust builds, whose fetch wait faust fixes at 1500 ms",
        "(self, transport: 'Transport') -> aiokafka.consumer.consumer.AIOKafkaConsumer",
    ),
    Private(
        "aiokafka.consumer.consumer:AIOKafkaConsumer",
        "_fetch_max_wait_ms",
        "writes",
        "how long the broker may hold a fetch (faust passes no setting for it); the consumer's start() "
        "hands it to its fetcher",
    ),
    Private(
        "faust.app.base:App",
        "_new_transport",
        "mirrors",
        "install_transport builds the consumer transport as this does, from the worker's Transport class",
        "(self) -> faust.types.transports.TransportT",
    ),
)

PUBLIC_INTERNALS: tuple[Private, ...] = (
    # Public names, but faust's internals rather than its documented API: an upgrade re-checks them too.
    Private(
        "faust.stores.rocksdb:Store",
        "set_persisted_offset",
        "calls",
        "records the changelog offset a partition's database matches, as faust's own writes do",
        f"(self, tp: {_TP}, offset: int) -> None",
    ),
    Private(
        "faust.stores.rocksdb:Store",
        "partition_path",
        "calls",
        "where a partition's database lives (the incarnation check opens it read-only before faust)",
        "(self, partition: int) -> pathlib.Path",
    ),
    Private("faust.stores.rocksdb:Store", "path", "reads", "the store's folder (incarnation check)"),
    Private("faust.stores.rocksdb:Store", "basename", "reads", "the store's file prefix (incarnation check)"),
    Private("faust.stores.rocksdb:Store", "rocksdb_options", "reads", "to open a partition as faust does"),
    Private("faust.stores.rocksdb:Store", "offset_key", "reads", "the key of the persisted changelog offset"),
    Private(
        "faust.transport.drivers.aiokafka:Consumer",
        "getmany",
        "overrides",
        "Consumer.getmany is faust's, with take_records added: re-copy it on an upgrade",
        f"(self, timeout: float) -> AsyncIterator[Tuple[{_TP}, faust.types.tuples.Message]]",
    ),
    Private(
        "faust.transport.drivers.aiokafka:Consumer",
        "highwaters",
        "overrides",
        "the changelog's real end before recovery (Tansu under-reports it)",
        f"(self, *partitions: {_TP}) -> Mapping[{_TP}, int]",
    ),
    Private(
        "faust.transport.consumer:Consumer",
        "on_partitions_assigned",
        "overrides",
        "the hot path reads story-requests back for the partitions it is assigned",
        f"(self, assigned: Set[{_TP}], generation_id: int = 0) -> None",
    ),
    Private(
        "faust.transport.drivers.aiokafka:Consumer",
        "on_partitions_revoked",
        "overrides",
        "a final flush of the hot path before a partition goes",
        f"(self, revoked: Set[{_TP}]) -> None",
    ),
    Private("faust.tables.manager:TableManager", "recovery", "reads", "readiness: the tables' recovery service"),
    Private("faust.tables.recovery:Recovery", "completed", "reads", "readiness: the first recovery finished"),
    Private("faust.tables.recovery:Recovery", "in_recovery", "reads", "readiness: a rebalance's recovery runs"),
    Private(
        "faust.worker:Worker",
        "on_setup_root_logger",
        "overrides",
        "drops faust's terminal spinner (it turns the root logger to DEBUG)",
        "(self, logger: logging.Logger, level: int) -> None",
    ),
)


def check_versions() -> None:
    """Refuse to build the worker on a faust-streaming other than ``FAUST_STREAMING_VERSION``."""
    installed = faust.__version__
    if installed != FAUST_STREAMING_VERSION:
        raise FaustCompatError(
            f"faust-streaming {installed} is installed, but the feature worker's private faust names "
            f"(streams/worker/faust_compat.py) were checked against {FAUST_STREAMING_VERSION} only: "
            "run tests/unit/streams/worker/test_faust_compat.py against it, fix what it names, then "
            "update FAUST_STREAMING_VERSION and the pin in pyproject.toml"
        )


# -- the state table's store -------------------------------------------------------------------
class PartitionEvent:
    """Stands in for faust's current event: faust's RocksDB store reads only ``.message.topic``
    and ``.message.partition`` of it."""

    def __init__(self, topic: str, partition: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition)


def set_current_partition(event: PartitionEvent | None) -> None:
    """Make table reads and writes of this task go to ``event``'s partition (None: no partition).
    faust holds the event through a weak reference: the caller keeps it alive."""
    _current_event.set(weakref.ref(event) if event is not None else None)  # type: ignore[arg-type]  # duck-typed


def key_index(store: Any) -> MutableMapping[bytes, int]:
    """The RocksDB store's key -> partition index (a write must record its key's partition here)."""
    index: MutableMapping[bytes, int] = store._key_index
    return index


def partition_db(store: Any, partition: int) -> Any:
    """The RocksDB store's database of ``partition`` (a rocksdict ``Rdict``), opened if need be."""
    return store._db_for_partition(partition)


# -- the consumer ----------------------------------------------------------------------------------
def install_transport(app: faust.App, transport: type[faust_aiokafka.Transport]) -> None:
    """Make ``app`` consume through ``transport`` (a subclass of faust's aiokafka Transport, naming
    the worker's consumer class), built as faust's ``App._new_transport`` builds its own."""
    app.transport = transport(app.conf.broker_consumer, app)


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust's consumer thread; its aiokafka consumer waits at most the faust consumer's
    ``fetch_max_wait_ms`` for a fetch, not faust's fixed 1500 ms."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise FaustCompatError(
                f"aiokafka {aiokafka.__version__} has no AIOKafkaConsumer._fetch_max_wait_ms (checked against "
                f"{AIOKAFKA_VERSION}): see streams/worker/faust_compat.py"
            )
        consumer._fetch_max_wait_ms = getattr(self.consumer, "fetch_max_wait_ms", Consumer.fetch_max_wait_ms)
        return consumer


class Consumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer, with the private extension points the worker needs turned into
    public hooks. Without a subclass overriding them it behaves as faust's consumer does."""

    fetch_max_wait_ms = 100  # the longest the broker may hold a fetch (set before the consumer starts)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    # -- hooks -----------------------------------------------------------------------------------
    async def take_records(
        self, records: Mapping[TP, list[Any]], active_partitions: set[TP] | None
    ) -> Mapping[TP, list[Any]]:
        """Sees each fetch (aiokafka ConsumerRecords by partition) before faust's per-message path;
        returns the records that path still gets."""
        return records

    def decides_offset(self, tp: TP) -> bool:
        """Whether ``done_offset``, not faust's acked messages, decides what is committed for ``tp``."""
        return False

    def done_offset(self, tp: TP) -> int | None:
        """The offset to commit for a partition ``decides_offset`` holds (None: nothing yet)."""
        return None

    def done_partitions(self) -> Iterable[TP]:
        """Partitions with an offset from ``done_offset`` to commit, beside those faust tracks."""
        return ()

    def delivers(self, tp: TP, active_partitions: set[TP] | None) -> bool:
        """Whether fetched records of ``tp`` are to be processed (faust's getmany test)."""
        return active_partitions is None or tp in active_partitions or tp in self._buffered_partitions

    def mark_read(self, tp: TP, offset: int) -> None:
        """Record ``offset`` as the last one read of ``tp`` (faust does it per message it delivers)."""
        self._read_offset[tp] = offset

    def read_offset(self, tp: TP) -> int | None:
        """The last offset read of ``tp``, if any."""
        offset: int | None = self._read_offset.get(tp)
        return offset

    # -- faust's private methods, routed to the hooks --------------------------------------------
    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[TP]:
        yield from super()._filter_tps_with_pending_acks(topics)
        for tp in self.done_partitions():
            if topics is None or tp in topics or tp.topic in topics:
                yield tp

    def _new_offset(self, tp: TP) -> int | None:
        if self.decides_offset(tp):
            return self.done_offset(tp)
        offset: int | None = super()._new_offset(tp)
        return offset

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:  # noqa: ASYNC109 - faust's signature
        """faust's ``Consumer.getmany`` (faust-streaming 0.15.3), with ``take_records`` seeing each fetch first."""
        fetched, active_partitions = await self._wait_next_records(timeout)
        if fetched is None or self.should_stop:
            return
        records: Mapping[TP, list[Any]] = fetched
        if self.flow_active:
            records = await self.take_records(records, active_partitions)
        if not records:
            return
        to_message = self._to_message
        generation_id = self.app.consumer_generation_id
        if self.flow_active:
            for tp, record in self.scheduler.iterate(records):
                if not self.flow_active or self.app.consumer_generation_id != generation_id:
                    break
                if active_partitions is None or tp in active_partitions or tp in self._buffered_partitions:
                    self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                    yield tp, to_message(tp, record)
        else:
            try:
                await self.perform_seek()
            except Exception as ex:  # noqa: BLE001 - as faust does
                self.log.warning(f"exception performing seek when flow not active {ex}")


def tables_recovered(app: faust.App) -> bool:
    """Whether faust has restored the tables of the partitions this worker owns (and is not doing so
    again for a rebalance)."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager's, not in TableManagerT
    return bool(recovery.completed.is_set() and not recovery.in_recovery)
