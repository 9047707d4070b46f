"""Batch processing of listening events, free of faust so it can be tested on its own.

decode (batch) -> validate -> group by user -> count once -> ``features.update`` -> mark dirty. A
flush writes each dirty user's state once and publishes one snapshot per dirty user: changelog
writes and snapshots are coalesced per flush, not per event.

Counting once (``streams.pipeline.stored`` has the records it keeps): an event read again after a
crash, at or below its user's offset mark for its partition, is skipped (``skipped_replayed``);
an event whose ``event_id`` the user applied within its grace window is skipped as a duplicate
(``duplicates``). Since a state is only marked done (and offsets committed) after its changelog
write and snapshot were delivered, nothing is lost either.

Memory: at most ``cache_users`` states stay in memory, least recently used leave first and are read
back from the store on their next event. A state changed since the last flush stays until the flush
took its bytes (the store does not hold it yet).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from features import FeatureConfig, UserState, snapshot, triggers, update
from features.update import Track
from schemas.codec import Decoder
from schemas.errors import DecodeError
from streams.kafka import dlq
from streams.pipeline.event_spans import EventSpans, TraceRef
from streams.pipeline.stored import Stored
from streams.tracing.tracer import Tracer, disabled

BATCH_BUCKETS = (1, 10, 100, 1000, 5000, 20000, float("inf"))
MAX_FUTURE_MS = 24 * 3_600_000  # events more than a day in the future are rejected
FLUSH_PART_USERS = 1000  # states handed to the flush helpers at a time (Checkpoint.commit, step 3)


class RawMessage(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    """Record timestamp, epoch millis (the field names match aiokafka's ConsumerRecord, which the
    worker passes in as is)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: RawMessage
    reason: str
    schema_id: int | None = None


@dataclass
class BatchStats:
    messages: int = 0
    applied: int = 0
    skipped_replayed: int = 0  # read again after a crash: at or below the state's offset mark
    duplicates: int = 0  # an event_id the listener applied within its grace window
    evicted: int = 0  # states that left the cache (read back from the store on their next event)
    late: int = 0
    dead: int = 0
    batches: int = 0
    flushes: int = 0
    snapshots: int = 0
    first_message_s: float = 0.0  # monotonic clock of this process
    last_flush_s: float = 0.0
    first_message_cpu_s: float = 0.0  # this process's CPU time (all its threads) at the first message
    last_flush_cpu_s: float = 0.0  # and at the last flush: the CPU a measured run took, without start-up
    last_batch_s: float = 0.0  # when the last batch was applied (its effects may not be durable yet)
    flushed_messages: int = 0  # messages whose effects were durable at the last flush
    batch_buckets: list[int] = field(default_factory=lambda: [0] * len(BATCH_BUCKETS))  # batch sizes, cumulative
    triggers: dict[str, int] = field(default_factory=dict)  # story requests by kind
    suppressed: dict[str, int] = field(default_factory=dict)  # triggers dropped by cooldowns, by kind
    requests_already_published: int = 0  # fired again after a restart, found on story-requests: dropped


class FeatureProcessor:
    """Owns the in-memory working set of user states for the partitions this worker holds."""

    def __init__(
        self,
        decoder: Decoder,
        catalog: Callable[[str], Track | None],
        load: Callable[[str, int], bytes | None],
        *,
        config: FeatureConfig | None = None,
        trigger_config: triggers.TriggerConfig | None = None,
        tracer: Tracer | None = None,
        group: str | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        cache_users: int | None = None,
    ) -> None:
        """``load(user, partition)``: a user's stored bytes (None: a new user), read on a cache miss.
        ``cache_users``: the most states kept in memory (None: no bound)."""
        self.decoder = decoder
        self.catalog = catalog
        self.load = load
        self.config = config or FeatureConfig()
        self.trigger_config = trigger_config  # None: no story requests
        self._rules = triggers.rules(trigger_config, self.config) if trigger_config is not None else None
        # Fired triggers (fact sheets not yet written: ``features.facts.request``), each with the firing
        # message's append time and its trace context.
        self.requests: list[tuple[triggers.Trigger, int, TraceRef | None]] = []
        self.tracer = tracer or disabled("linernotes-features")
        self.spans = EventSpans(self.tracer, group)
        self._batch_start_ns = 0
        self.clock_ms = clock_ms  # only to reject absurd future timestamps; features never see it
        # Least recently used first. A user leaves only when it is neither dirty nor held: its latest
        # bytes are then in the store, where a miss reads them back.
        self.cache: OrderedDict[str, Stored] = OrderedDict()
        self.cache_users = cache_users
        self.partition_of: dict[str, int] = {}
        self.dirty: set[str] = set()
        self.held: set[str] = set()  # taken by take_dirty without their bytes: in memory until dumps
        self._nothing_to_evict = False  # every cached state was dirty or held at the last try
        self.stats = BatchStats()

    # -- processing --------------------------------------------------------------------------
    def process(self, batch: Sequence[RawMessage], *, again: bool = False) -> list[DeadLetter]:
        """Decode a fetched batch (Confluent-framed Avro values) and apply it.

        A batch that cannot be judged yet raises before any of it is applied: the registry could not
        answer for a writer schema (``RegistryUnavailable``), or the catalog lookup raised (the worker's
        ``CatalogBehind``: read it further first). The caller waits, then passes the same batch with
        ``again=True``, so that it is counted once."""
        if not again:
            self._count(len(batch))
            self.spans.sample(batch, self._batch_start_ns)
        oks, errs = self.decoder.decode_many([m.value for m in batch])
        dead = [DeadLetter(batch[i], e.reason, e.schema_id) for i, e in errs]
        return self._apply([(batch[i], event) for i, event in oks], dead)

    def process_decoded(self, items: Sequence[tuple[RawMessage, dict[str, Any]]]) -> list[DeadLetter]:
        """Apply already-decoded events (replay from files): the same validation and update."""
        self._count(len(items))
        return self._apply(items, [])

    def _count(self, n: int) -> None:
        self._batch_start_ns = time.time_ns()
        if not self.stats.first_message_s:
            self.stats.first_message_s = time.monotonic()
            self.stats.first_message_cpu_s = time.process_time()
        self.stats.batches += 1
        self.stats.messages += n
        buckets = self.stats.batch_buckets
        for i, bound in enumerate(BATCH_BUCKETS):
            if n <= bound:
                buckets[i] += 1

    def _apply(self, pairs: Sequence[tuple[RawMessage, dict[str, Any]]], dead: list[DeadLetter]) -> list[DeadLetter]:
        """Validate a decoded batch (the invalid ones join ``dead``), then apply each listener's events
        in one ``update``, firing the triggers of the change."""
        by_user, tracks = self._valid(pairs, dead)
        tcfg = self.trigger_config if self.trigger_config is not None and self.trigger_config.enabled else None
        watch = tcfg.watch if tcfg is not None else frozenset()
        config, grace, stats = self.config, self.config.grace_ms, self.stats
        for user, items in by_user.items():
            stored = self._get(user, items[0][0].partition)
            fresh = self._fresh(stored, items)
            # Every user of the batch is dirty: its marks moved at least. One whose events were all read
            # again (its state was written at a flush the crash cut short) publishes its snapshot again:
            # that may never have gone out (it is keyed by user: harmless).
            self.dirty.add(user)
            if not fresh:
                continue
            state = stored.state
            if tcfg is None:
                result = update(state, fresh, tracks, config)
            else:
                result = update(state, fresh, tracks, config, watch)
                self._fire(triggers.detect(state, result, fresh, tracks, tcfg, config, self._rules), items[-1][0])
            seen = stored.seen
            if seen and next(iter(seen.values())) < state.as_of - grace:  # the oldest id, nearly always
                stored.forget_before(state.as_of - grace)
            stats.applied += result.applied
            stats.late += result.late
        stats.dead += len(dead)
        stats.last_batch_s = time.monotonic()
        return dead

    def _valid(
        self, pairs: Sequence[tuple[RawMessage, dict[str, Any]]], dead: list[DeadLetter]
    ) -> tuple[dict[str, list[tuple[RawMessage, dict[str, Any]]]], dict[str, Track]]:
        """The batch's valid events by listener, and the catalog entries of their tracks (handed to
        ``update`` as a plain dict); an invalid event joins ``dead`` with its reason."""
        horizon = self.clock_ms() + MAX_FUTURE_MS
        by_user: dict[str, list[tuple[RawMessage, dict[str, Any]]]] = {}
        catalog = self.catalog
        tracks: dict[str, Track] = {}
        for msg, event in pairs:
            reason = None
            track_id = event["track_id"]
            if event["ms_played"] < 0:
                reason = f"invalid field ms_played={event['ms_played']} (negative)"
            elif event["event_time"] > horizon:
                reason = f"invalid field event_time={event['event_time']} (more than a day in the future)"
            elif track_id not in tracks:
                track = catalog(track_id)
                if track is None:
                    reason = f"unknown track {track_id!r} (not in the catalog)"
                else:
                    tracks[track_id] = track
            if reason is not None:
                dead.append(DeadLetter(msg, reason))
                continue
            by_user.setdefault(event["user_id"], []).append((msg, event))
        return by_user, tracks

    def _fresh(self, stored: Stored, items: list[tuple[RawMessage, dict[str, Any]]]) -> list[dict[str, Any]]:
        """The events of ``items`` that ``stored`` does not hold yet: past its offset mark on their
        partition (which they advance) and with an id it has not seen (which they add). Counts the
        rest: read again after a restart, or duplicates."""
        marks, seen = stored.offsets, stored.seen
        fresh = []
        duplicates = 0
        for msg, ev in items:
            if msg.offset > marks.get(msg.partition, -1):
                marks[msg.partition] = msg.offset
                event_id = ev["event_id"]
                if event_id in seen:
                    duplicates += 1
                else:
                    seen[event_id] = ev["event_time"]
                    fresh.append(ev)
        stats = self.stats
        if duplicates:
            stats.duplicates += duplicates
        if len(fresh) + duplicates < len(items):
            stats.skipped_replayed += len(items) - len(fresh) - duplicates
        return fresh

    def _fire(self, fired: triggers.Detected, last: RawMessage) -> None:
        """Queue the story requests of ``fired`` (``last``: the message whose batch fired them) and
        count them, with those the cooldowns suppressed."""
        if fired.triggers:
            if self.tracer.enabled:
                refs = self.spans.triggered(last, fired.triggers, self._batch_start_ns)
                self.requests += [(r, last.timestamp, ref) for r, ref in zip(fired.triggers, refs, strict=True)]
            else:
                self.requests += [(r, last.timestamp, None) for r in fired.triggers]
            counts = self.stats.triggers
            for r in fired.triggers:
                counts[r.kind] = counts.get(r.kind, 0) + 1
        if fired.suppressed:
            suppressed = self.stats.suppressed
            for kind, n in fired.suppressed.items():
                suppressed[kind] = suppressed.get(kind, 0) + n

    def _get(self, user: str, partition: int) -> Stored:
        cache = self.cache
        stored = cache.get(user)
        if stored is not None:
            cache.move_to_end(user)
            return stored
        raw = self.load(user, partition)
        stored = Stored.loads(raw) if raw is not None else Stored(UserState(user))
        if self.cache_users is not None and len(cache) >= self.cache_users and not self._nothing_to_evict:
            self._evict(len(cache) + 1 - self.cache_users)  # before this one joins: never itself
        cache[user] = stored
        self.partition_of[user] = partition
        return stored

    def _evict(self, excess: int) -> None:
        """Drop up to ``excess`` of the least recently used states that are neither dirty nor held (a
        state changed since the last flush is not in the store yet). Over the bound by more than
        that, the cache holds the states changed since the last flush until it takes them."""
        # Evict in steps of an eighth of the bound: one scan for many misses, not one per miss.
        want = max(excess, (self.cache_users or 0) // 8)
        dirty, held, victims = self.dirty, self.held, []
        for user in self.cache:
            if user not in dirty and user not in held:
                victims.append(user)
                if len(victims) >= want:
                    break
        if len(victims) < excess:
            self._nothing_to_evict = True  # until a flush takes some: no scan per miss meanwhile
        for user in victims:
            del self.cache[user]
            del self.partition_of[user]
        self.stats.evicted += len(victims)

    # -- flushing ----------------------------------------------------------------------------
    def take_dirty(
        self, *, snapshots: bool = True, states: bool = True
    ) -> list[tuple[str, int, bytes, dict[str, Any]]]:
        """``(user, partition, state bytes, snapshot)`` for every user changed since the last call
        (with ``snapshots=False`` the snapshot is an empty dict, with ``states=False`` the state bytes
        are empty: the caller writes them later from :meth:`dumps`, or never)."""
        out = []
        for user in self.dirty:
            stored = self.cache[user]
            snap = snapshot(stored.state, self.config) if snapshots else {}
            out.append((user, self.partition_of[user], stored.dumps() if states else b"", snap))
        if not states:
            self.held |= self.dirty
        self.dirty.clear()
        self._nothing_to_evict = False
        self.stats.flushes += 1
        self.stats.snapshots += len(out)
        return out

    def dumps(self, user: str) -> bytes:
        """A cached user's state bytes: the caller writes them to the store, so from now on the state
        may leave memory (a state taken by :meth:`take_dirty` without its bytes stays until then)."""
        self.held.discard(user)
        self._nothing_to_evict = False
        return self.cache[user].dumps()

    def dirty_parts(self, size: int = FLUSH_PART_USERS) -> Iterator[list[tuple[bytes, int, bytes]]]:
        """Every user changed since the last call as ``(key, partition, state bytes)``, in parts of
        ``size`` users, each serialized as it is asked for (the worker hands a part to the flush
        helpers before it serializes the next)."""
        dirty = self.take_dirty(snapshots=False, states=False)
        dumps = self.dumps
        for i in range(0, len(dirty), size):
            yield [(user.encode(), p, dumps(user)) for user, p, _, _ in dirty[i : i + size]]

    def take_requests(self) -> list[tuple[triggers.Trigger, int, TraceRef | None]]:
        """Triggers fired since the last call, with append time and trace context (publish their
        requests with the same flush as the states)."""
        out, self.requests = self.requests, []
        return out

    def forget_partitions(self, partitions: set[int]) -> None:
        """Drop cached states of partitions this worker no longer owns (after a final flush)."""
        for user in [u for u, p in self.partition_of.items() if p in partitions]:
            self.cache.pop(user, None)
            self.partition_of.pop(user, None)
            self.dirty.discard(user)
            self.held.discard(user)


def dead_letter_headers(d: DeadLetter) -> list[tuple[str, bytes]]:
    m = d.message
    return dlq.dead_letter_headers(
        d.reason, topic=m.topic, partition=m.partition, offset=m.offset, timestamp=m.timestamp, schema_id=d.schema_id
    )


__all__ = ["BatchStats", "DeadLetter", "DecodeError", "FeatureProcessor", "RawMessage", "Stored", "dead_letter_headers"]
