"""Whether the worker's local state belongs to the topics it reads now, checked before faust opens it.

Why this exists: the feature worker's RocksDB store (faust's, under the worker's data directory)
outlives the topics it mirrors. Each stored user state carries per-partition offset marks of the
input topic (``processor.Stored``: an event at or below its user's mark counts as already applied),
and each store partition holds faust's "persisted offset", the last changelog offset it applied.
When the topics are deleted and created again, new records reuse old offsets. ``linernotes down``
does exactly that (the local broker keeps topics in memory): the worker then counted every new
event as ``skipped_replayed`` and applied none, and faust's recovery, seeking past the persisted
offset, read nothing of the new changelog. A topic deleted and re-created on a real cluster loses
data the same way, silently.

So, before faust opens the store (``check_local_state``), the worker compares it with the topics:

* identity: a file next to the store records the names and topic ids (UUIDs from the admin
  client's metadata) of the input and changelog topics the store was built from. Another name, or
  another id, means another incarnation. A topic that does not exist yet, or a broker that gives no
  ids (a zero UUID), leaves the id unknown and only the offsets decide.
* offsets, on any broker: a store partition that applied changelog offset P needs a changelog that
  reaches past P. The reported end (high watermark) is trusted only where it already shows that;
  elsewhere the real end is found by reading, since Tansu can report an end below the real one.
  A normal restart thus costs one metadata request and one watermark request per store partition.

A store from another incarnation is wiped whole (every partition: a topic changed, not one of its
partitions) and faust rebuilds it from the changelog at recovery, which may be empty; one log line
says why. Left open: if only the input topic was re-created and the changelog kept, the rebuilt
states still carry the old input's offset marks (the id check catches it, rebuilding cannot fix it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rocksdict
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient
from faust.types import TP

from streams.worker.consumer import probe_ends

log = logging.getLogger("linernotes.worker")
IDENTITY_SUFFIX = ".topics.json"  # next to the store's partition folders: "<table>.topics.json"
INPUT, CHANGELOG = "input", "changelog"
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Topic:
    name: str
    topic_id: str | None = None  # None: unknown (no such topic yet, or the broker gives no ids)


@dataclass(frozen=True)
class BrokerView:
    """What the broker says about the topics now."""

    topics: Mapping[str, Topic]  # by role (INPUT, CHANGELOG)
    changelog_partitions: int  # 0: the changelog does not exist (yet)
    reported_ends: Mapping[int, int]  # changelog partition -> high watermark, as reported


# -- the decision (pure) -------------------------------------------------------------------------
def foreign_reason(
    recorded: Mapping[str, Topic],
    broker: BrokerView,
    store_offsets: Mapping[int, int | None],
    real_ends: Callable[[Mapping[int, int]], Mapping[int, int]],
) -> str | None:
    """Why the local store belongs to another incarnation of its topics, or None if it does not.

    ``recorded``: the topics the store was built from (by role; empty when nothing was recorded);
    ``store_offsets``: per store partition, the last changelog offset it applied (None: none
    recorded); ``real_ends``: reads the real end of the given changelog partitions, starting at the
    given (reported) ends. It is called only for partitions whose reported end is not past the store."""
    for role in (INPUT, CHANGELOG):
        old, new = recorded.get(role), broker.topics.get(role)
        if old is None or new is None:
            continue
        if old.name != new.name:
            return f"local state was built from topic {old.name}, not {new.name}"
        if old.topic_id and new.topic_id and old.topic_id != new.topic_id:
            return (
                f"local state was built from another incarnation of {new.name} "
                f"(topic id {old.topic_id}, now {new.topic_id})"
            )
    changelog = broker.topics[CHANGELOG].name
    applied = {p: off for p, off in store_offsets.items() if off is not None}
    doubtful = {
        p: broker.reported_ends.get(p, 0) for p, off in applied.items() if off >= broker.reported_ends.get(p, 0)
    }
    if not doubtful:
        return None
    # A partition the changelog lacks has nothing to read: its end is 0 without asking.
    present = {p: end for p, end in doubtful.items() if p < broker.changelog_partitions}
    ends = {**dict.fromkeys(doubtful, 0), **(real_ends(present) if present else {})}
    for p in sorted(doubtful):
        if applied[p] >= ends[p]:
            return (
                f"local state for partition {p} was built from another incarnation of {changelog} "
                f"(store offset {applied[p]} >= changelog end {ends[p]})"
            )
    return None


# -- the local store -----------------------------------------------------------------------------
def store_partitions(store: Any) -> dict[int, Path]:
    """The partition folders of a faust RocksDB store on disk (whatever partitions it holds now)."""
    folder = Path(store.path)
    if not folder.is_dir():
        return {}
    pattern = re.compile(re.escape(Path(store.basename).name) + r"-(\d+)\.db")
    found = {}
    for path in folder.iterdir():
        m = pattern.fullmatch(path.name)
        if m and path.is_dir() and Path(store.partition_path(int(m[1]))) == path:
            found[int(m[1])] = path
    return found


def store_offsets(store: Any, partitions: Mapping[int, Path]) -> dict[int, int | None]:
    """Each partition's persisted changelog offset, read from a read-only handle (faust opens its own later)."""
    out: dict[int, int | None] = {}
    for partition, path in partitions.items():
        db = rocksdict.Rdict(
            str(path), options=store.rocksdb_options.as_options(), access_type=rocksdict.AccessType.read_only()
        )
        try:
            raw = db.get(store.offset_key)
        finally:
            db.close()
        out[partition] = int(raw) if raw is not None else None
    return out


def identity_path(store: Any) -> Path:
    return Path(store.path) / f"{Path(store.basename).name}{IDENTITY_SUFFIX}"


def read_identity(path: Path) -> dict[str, Topic]:
    try:
        raw = json.loads(path.read_text())
        return {role: Topic(t["name"], t.get("topic_id")) for role, t in raw.items() if role in (INPUT, CHANGELOG)}
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("unreadable %s: checking the local state by its offsets only", path)
        return {}


def write_identity(path: Path, topics: Mapping[str, Topic]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({role: {"name": t.name, "topic_id": t.topic_id} for role, t in topics.items()}))
    os.replace(tmp, path)


# -- the broker ----------------------------------------------------------------------------------
def _topic_id(value: Any) -> str | None:
    """A topic id as text; None for a missing or zero UUID (a broker that keeps no ids)."""
    if value is None:
        return None
    if value.get_most_significant_bits() == 0 and value.get_least_significant_bits() == 0:
        return None
    return str(value)


def broker_view(conf: Mapping[str, Any], input_topic: str, changelog: str, partitions: list[int]) -> BrokerView:
    """Ids of both topics, and the changelog's reported end of each of ``partitions``."""
    admin = AdminClient(dict(conf))
    futures = admin.describe_topics(TopicCollection([input_topic, changelog]), request_timeout=TIMEOUT_S)
    ids: dict[str, str | None] = {}
    counts: dict[str, int] = {}
    for name, fut in futures.items():
        try:
            description = fut.result(timeout=TIMEOUT_S)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
            ids[name], counts[name] = None, 0
        else:
            ids[name], counts[name] = _topic_id(description.topic_id), len(description.partitions)
    n = counts[changelog]
    ends: dict[int, int] = {}
    if n and partitions:
        consumer = Consumer({**conf, "group.id": f"incarnation-{uuid.uuid4()}", "enable.auto.commit": False})
        try:
            for p in partitions:
                ends[p] = (
                    consumer.get_watermark_offsets(TopicPartition(changelog, p), timeout=TIMEOUT_S)[1] if p < n else 0
                )
        finally:
            consumer.close()
    return BrokerView(
        {INPUT: Topic(input_topic, ids[input_topic]), CHANGELOG: Topic(changelog, ids[changelog])}, n, ends
    )


def _real_ends(conf: Mapping[str, Any], changelog: str) -> Callable[[Mapping[int, int]], Mapping[int, int]]:
    def read(reported: Mapping[int, int]) -> Mapping[int, int]:
        found = probe_ends(dict(conf), {TP(changelog, p): end for p, end in reported.items()})
        return {tp.partition: end for tp, end in found.items()}

    return read


# -- the check -----------------------------------------------------------------------------------
def check_local_state(store: Any, conf: Mapping[str, Any], input_topic: str, changelog: str) -> str | None:
    """Wipe ``store`` (a faust RocksDB store, not yet opened) if it was built from another
    incarnation of its topics, so that recovery rebuilds it from the changelog; record the topics
    it belongs to now. Returns the reason it was wiped, or None if it was kept."""
    partitions = store_partitions(store)
    broker = broker_view(conf, input_topic, changelog, sorted(partitions))
    recorded = read_identity(identity_path(store))
    reason = None
    if partitions:
        reason = foreign_reason(recorded, broker, store_offsets(store, partitions), _real_ends(conf, changelog))
    if reason is not None:
        log.warning("%s: rebuilding from the changelog", reason)
        for path in partitions.values():
            shutil.rmtree(path)
    now = dict(broker.topics)
    if reason is None and partitions:  # a kept store keeps the ids it knew where the broker tells none now
        for role, topic in now.items():
            old = recorded.get(role)
            if topic.topic_id is None and old is not None and old.name == topic.name:
                now[role] = old
    write_identity(identity_path(store), now)
    return reason
