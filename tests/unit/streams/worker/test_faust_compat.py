"""The contract between the feature worker and faust's private API (streams/worker/faust_compat.py).

Fails when faust-streaming's version changes, when a private name the worker uses disappears or
changes its signature, when what the worker does through one of them stops reaching faust (checked
on real, unstarted faust objects: no broker), or when a module under streams/ other than
faust_compat uses a private faust name.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import inspect
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiokafka
import faust
import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from streams.config.settings import load
from streams.worker import faust_compat
from streams.worker.changelog import StateWriter
from streams.worker.consumer import BatchConsumer, BatchTransport
from streams.worker.faust_app import PartitionContext, declare_events_and_state, make_faust_app
from streams.worker.faust_compat import PRIVATE_NAMES, PUBLIC_INTERNALS, Private

ROOT = Path(__file__).resolve().parents[4]
LIBS = ("faust", "mode", "aiokafka")  # faust, and the libraries whose objects reach the worker through it


# -- versions --------------------------------------------------------------------------------------
def test_the_installed_faust_and_aiokafka_are_the_ones_checked() -> None:
    assert faust.__version__ == faust_compat.FAUST_STREAMING_VERSION, "re-check every name in PRIVATE_NAMES"
    assert aiokafka.__version__ == faust_compat.AIOKAFKA_VERSION, "re-check _fetch_max_wait_ms"
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"faust-streaming=={faust_compat.FAUST_STREAMING_VERSION}" in pins
    assert f"aiokafka=={faust_compat.AIOKAFKA_VERSION}" in pins


def test_the_worker_refuses_another_faust(monkeypatch: pytest.MonkeyPatch) -> None:
    faust_compat.check_versions()  # the installed one passes
    monkeypatch.setattr(faust, "__version__", "0.15.4")
    with pytest.raises(faust_compat.FaustCompatError, match=r"faust-streaming 0\.15\.4 .* against 0\.15\.3"):
        faust_compat.check_versions()


# -- real, unstarted faust objects -------------------------------------------------------------------
class Hot:
    """Stands in for the hot path: records what it was handed."""

    topics = frozenset({"listening-events"})
    stopping = False

    def __init__(self) -> None:
        self.handled: list[dict[TP, list[Any]]] = []

    async def handle(self, records: Mapping[TP, Sequence[Any]]) -> None:
        self.handled.append({tp: list(recs) for tp, recs in records.items()})

    async def flush(self) -> None:
        pass

    def forget(self, revoked: set[TP]) -> None:
        pass


@pytest.fixture
def worker_app(tmp_path: Path) -> tuple[faust.App, Any, BatchConsumer]:
    """The worker's faust app, state table and consumer, as build_worker makes them, never started."""
    settings = load(bootstrap_servers="127.0.0.1:1", topic_events="listening-events")
    app = make_faust_app(settings, data_dir=tmp_path)
    faust_compat.install_transport(app, BatchTransport)
    _, table = declare_events_and_state(app, settings)
    consumer = app.consumer
    assert isinstance(consumer, BatchConsumer)
    return app, table, consumer


def aiokafka_consumer(consumer: BatchConsumer, app: faust.App) -> Any:
    """The aiokafka consumer faust's consumer thread builds (inside a loop, as faust does), stopped again."""

    async def build() -> Any:
        thread = consumer._new_consumer_thread()
        assert isinstance(thread, faust_compat.ConsumerThread)
        made = thread._create_worker_consumer(app.transport)
        await made.stop()
        return made

    return asyncio.run(build())


def instance_of(owner: str, worker_app: tuple[faust.App, Any, BatchConsumer]) -> Any:
    """The real object of class ``owner`` the worker uses."""
    app, table, consumer = worker_app
    if owner == "faust.stores.rocksdb:Store":
        found = table.data
    elif owner == "faust.tables.recovery:Recovery":
        found = app.tables.recovery
    elif owner == "faust.transport.consumer:Consumer":
        found = consumer
    else:
        assert owner == "aiokafka.consumer.consumer:AIOKafkaConsumer", owner
        found = aiokafka_consumer(consumer, app)
    assert isinstance(found, resolve(owner))
    return found


def resolve(owner: str) -> Any:
    module, _, cls = owner.partition(":")
    found = importlib.import_module(module)
    return getattr(found, cls) if cls else found


# -- every name, as recorded ------------------------------------------------------------------------
@pytest.mark.parametrize("private", PRIVATE_NAMES + PUBLIC_INTERNALS, ids=lambda p: f"{p.owner}.{p.name}")
def test_each_private_name_is_still_there_with_its_signature(
    private: Private, worker_app: tuple[faust.App, Any, BatchConsumer]
) -> None:
    owner = resolve(private.owner)
    if private.signature is not None:
        assert str(inspect.signature(getattr(owner, private.name))) == private.signature
    elif inspect.ismodule(owner):
        assert hasattr(owner, private.name)
    elif not hasattr(owner, private.name):  # an attribute faust sets on each instance
        assert hasattr(instance_of(private.owner, worker_app), private.name)


def test_faust_current_event_is_the_context_variable_its_store_reads() -> None:
    from faust.streams import _current_event, current_event

    event = faust_compat.PartitionEvent("listening-events", 3)
    faust_compat.set_current_partition(event)
    try:
        assert current_event() is event
        assert _current_event.get() is not None
    finally:
        faust_compat.set_current_partition(None)
    assert current_event() is None


# -- what the worker does through them still reaches faust ----------------------------------------
def test_table_writes_in_a_partition_context_land_in_that_partition(
    worker_app: tuple[faust.App, Any, BatchConsumer],
) -> None:
    _, table, _ = worker_app
    ctx = PartitionContext("listening-events")
    ctx.enter(1)
    try:
        table.data[b"u1"] = b"state"  # faust's own write path: partition from the current event
    finally:
        ctx.leave()
    assert faust_compat.partition_db(table.data, 1).get(b"u1") == b"state"
    assert faust_compat.partition_db(table.data, 0).get(b"u1") is None


class ChangelogProducer:
    def __init__(self) -> None:
        self.produced: list[tuple[str, int, bytes, bytes]] = []

    def produce_to(self, topic: str, partition: int, key: bytes, value: bytes, _on_delivery: Any) -> None:
        self.produced.append((topic, partition, key, value))


class Delivered:
    def __init__(self, partition: int, offset: int) -> None:
        self._p, self._o = partition, offset

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o


def test_coalesced_state_writes_read_back_through_faust_and_set_its_recovery_offset(
    worker_app: tuple[faust.App, Any, BatchConsumer],
) -> None:
    _, table, _ = worker_app
    producer = ChangelogProducer()
    writer = StateWriter(table, producer)  # type: ignore[arg-type]
    assert writer.write([(b"u1", 1, b"state-1"), (b"u2", 0, b"state-2")]) == 2
    # faust's read path without a current event finds the partition through the key index
    assert table.data[b"u1"] == b"state-1"
    assert table.data[b"u2"] == b"state-2"
    assert [p[:3] for p in producer.produced] == [(writer.topic, 1, b"u1"), (writer.topic, 0, b"u2")]
    writer._on_delivery(None, Delivered(1, 41))
    writer.persist_offsets()
    assert table.data.persisted_offset(TP(writer.topic, 1)) == 41


def test_offsets_marked_done_are_what_faust_commits(worker_app: tuple[faust.App, Any, BatchConsumer]) -> None:
    _, _, consumer = worker_app
    consumer.hot = Hot()
    hot_tp, other_tp = TP("listening-events", 0), TP("catalog", 0)
    consumer.mark_done({hot_tp: 42})
    consumer.mark_done({hot_tp: 40})  # never backwards
    tps = list(consumer._filter_tps_with_pending_acks())
    assert hot_tp in tps
    # faust's commit filter: the hot partition at what was marked, another (nothing acked) not at all
    assert consumer._filter_committable_offsets([*tps, other_tp]) == {hot_tp: 42}
    assert hot_tp not in list(consumer._filter_tps_with_pending_acks({"catalog"}))  # a commit of other topics


def test_the_fetch_wait_reaches_aiokafka(worker_app: tuple[faust.App, Any, BatchConsumer]) -> None:
    app, _, consumer = worker_app
    consumer.fetch_max_wait_ms = 123
    assert aiokafka_consumer(consumer, app)._fetch_max_wait_ms == 123
    # aiokafka hands the attribute to its fetcher when the consumer starts
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(aiokafka.AIOKafkaConsumer.start)


def test_the_transport_is_built_as_faust_builds_its_own(worker_app: tuple[faust.App, Any, BatchConsumer]) -> None:
    app, _, _ = worker_app
    theirs = app._new_transport()
    assert isinstance(app.transport, BatchTransport)
    assert isinstance(app.transport, type(theirs))
    assert (app.transport.url, app.transport.app) == (theirs.url, theirs.app)


def record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])


def test_a_fetch_goes_to_the_hot_path_and_the_rest_to_faust(
    worker_app: tuple[faust.App, Any, BatchConsumer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, consumer = worker_app
    hot = consumer.hot = Hot()
    hot_tp, other_tp, inactive_tp = TP("listening-events", 0), TP("catalog", 0), TP("listening-events", 1)
    fetched = {hot_tp: [record(hot_tp, 5), record(hot_tp, 6)], other_tp: [record(other_tp, 9)], inactive_tp: []}

    async def wait_next_records(_timeout: float) -> tuple[dict[TP, list[Any]], set[TP]]:
        return fetched, {hot_tp, other_tp}

    monkeypatch.setattr(consumer, "_wait_next_records", wait_next_records)
    monkeypatch.setattr(consumer, "highwater", lambda _tp: 10)

    async def run() -> list[tuple[TP, Any]]:
        return [item async for item in consumer.getmany(timeout=1.0)]

    messages = asyncio.run(run())
    assert [{tp: [r.offset for r in recs] for tp, recs in h.items()} for h in hot.handled] == [{hot_tp: [5, 6]}]
    assert [(tp, m.offset, m.value) for tp, m in messages] == [(other_tp, 9, b"v")]
    assert consumer.read_offset(hot_tp) == 6


# -- no other module uses a private faust name ------------------------------------------------------
def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"


@functools.cache
def library_private_names() -> frozenset[str]:
    """Every single-underscore name faust, mode and aiokafka define or use in their Python sources."""
    names: set[str] = set()
    for lib in LIBS:
        for f in Path(importlib.import_module(lib).__file__ or "").parent.rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_bytes(), str(f))):
                if isinstance(node, ast.Attribute):
                    name = node.attr
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    name = node.name
                elif isinstance(node, ast.Name):
                    name = node.id
                else:
                    continue
                if _private(name):
                    names.add(name)
    return frozenset(names)


def _from_libs(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in LIBS or module.startswith("streams.worker.faust_compat")


def _faust_bindings(tree: ast.Module) -> set[str]:
    """Names a module binds to faust, mode, aiokafka or faust_compat objects (by import)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names if _from_libs(a.name)}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                if _from_libs(node.module) or _from_libs(f"{node.module}.{a.name}"):
                    bound.add(a.asname or a.name)
    return bound


def _root(expr: ast.expr) -> str | None:
    while isinstance(expr, ast.Attribute | ast.Call | ast.Subscript):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def faust_derived_classes(modules: Mapping[str, ast.Module]) -> set[tuple[str, str]]:
    """(module, class) of every class under streams/ that derives from a faust/mode/aiokafka class,
    directly, through faust_compat, or through another such class of ours."""
    derived: set[tuple[str, str]] = set()
    changed = True
    while changed:
        changed = False
        for module, tree in modules.items():
            bound = _faust_bindings(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module in modules:
                    bound |= {a.asname or a.name for a in node.names if (node.module, a.name) in derived}
            local = {cls for mod, cls in derived if mod == module}
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and (module, node.name) not in derived
                    and any(_root(b) in bound or _root(b) in local for b in node.bases)
                ):
                    derived.add((module, node.name))
                    changed = True
    return derived


def private_uses(module: str, tree: ast.Module, derived: set[tuple[str, str]]) -> list[tuple[int, str]]:
    """(line, name) of every private faust name ``tree`` uses: imported from faust, mode or aiokafka;
    read or written on any object but our own ``self``; or, in a class deriving from faust, defined
    or reached through ``self``/``super()``."""
    lib = library_private_names()
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_faust_class: bool) -> None:
        if isinstance(node, ast.ClassDef):
            in_faust_class = (module, node.name) in derived
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LIBS:
            parts = node.module.split(".") + [a.name for a in node.names]
            found.extend((node.lineno, p) for p in parts if _private(p))
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, p)
                for a in node.names
                if a.name.split(".")[0] in LIBS
                for p in a.name.split(".")
                if _private(p)
            )
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and in_faust_class and node.name in lib:
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.Attribute) and node.attr in lib:
            value = node.value
            own = (isinstance(value, ast.Name) and value.id in ("self", "cls")) or (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"
            )
            if in_faust_class or not own:
                found.append((node.lineno, node.attr))
        for child in ast.iter_child_nodes(node):
            visit(child, in_faust_class)

    visit(tree, False)
    return found


def streams_modules() -> dict[str, ast.Module]:
    out = {}
    for f in sorted((ROOT / "streams").rglob("*.py")):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(f.read_text(), str(f))
    return out


COMPAT = "streams.worker.faust_compat"


def test_no_module_but_faust_compat_uses_a_private_faust_name() -> None:
    modules = streams_modules()
    derived = faust_derived_classes(modules)
    assert ("streams.worker.consumer", "BatchConsumer") in derived  # through faust_compat.Consumer
    assert ("streams.worker.run", "_Worker") in derived  # faust.Worker
    offenders = {
        module: uses
        for module, tree in modules.items()
        if module != COMPAT and (uses := private_uses(module, tree, derived))
    }
    assert not offenders, f"private faust names outside faust_compat (move them there): {offenders}"


def test_faust_compat_lists_every_private_name_it_uses() -> None:
    modules = streams_modules()
    used = {name for _, name in private_uses(COMPAT, modules[COMPAT], faust_derived_classes(modules))}
    listed = {p.name for p in PRIVATE_NAMES if p.use != "mirrors"}
    assert used == listed


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from faust.streams import _current_event", {"_current_event"}),
        ("import faust._cython.streams", {"_cython"}),
        ("def f(store):\n    return store._key_index", {"_key_index"}),
        ("def f(consumer):\n    consumer._read_offset[1] = 2", {"_read_offset"}),
        (
            "from faust.transport.drivers import aiokafka as a\n"
            "class C(a.Consumer):\n"
            "    def _new_offset(self, tp):\n"
            "        return super()._new_offset(tp) or self._buffered_partitions",
            {"_new_offset", "_buffered_partitions"},
        ),
        (
            "from streams.worker.faust_compat import Consumer\n"
            "class C(Consumer):\n"
            "    async def f(self):\n"
            "        return await self._wait_next_records(1.0)",
            {"_wait_next_records"},
        ),
        # our own objects' private names are ours
        ("class C:\n    def f(self):\n        return self._read_offset", set()),
        ("from faust.types import TP", set()),
    ],
)
def test_the_scan_finds_private_faust_names(source: str, expected: set[str]) -> None:
    tree = ast.parse(source)
    derived = faust_derived_classes({"m": tree})
    assert {name for _, name in private_uses("m", tree, derived)} == expected
