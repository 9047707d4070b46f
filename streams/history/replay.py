"""Replay and backfill: the live feature code over a time range of history, into suffixed topics.

``replay`` runs ``FeatureProcessor`` — the same decode, validation, ``features.update`` and triggers as
the live worker — over ``listening-events`` (or exported Avro files, or Spotify history JSON) in an
isolated application id with its own state, and writes to ``<topic><suffix>``:

- ``user-features.backfill``: a snapshot of each replayed user at every checkpoint that changed it
  (the topic is compacted: the last one is the user's final features);
- ``story-requests.backfill``: the requests the triggers fired, with the same deterministic ids;
- with ``--with-stories``: ``user-stories.backfill``, written by the same story writer and checker at
  the end, one story per story id fired over the whole replay, resumed or not: the requests are read
  back from ``story-requests.backfill`` (from where it ended when the replay began), and the ids
  already on the stories topic are left out (``streams.stories.backfill``).

It is cheaper than live by construction: no changelog, no per-flush snapshots, no consumer group.
Snapshots and story requests are written by helper processes (``FlushPublisher``, as in the live
worker) on the machine's other cores while the replay goes on. Progress is checkpointed (offsets,
the states changed since the last checkpoint, outputs not yet delivered) so an interrupted replay
continues where it stopped instead of starting over.

Finding the start: ``offsets_for_times`` for ``--from``. When the broker cannot seek by time (Tansu
answers offset 0 for every timestamp), the replay says so and scans from the start, skipping records
whose timestamp is before ``--from``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from rocksdict import Rdict
from tqdm import tqdm

from schemas import retry
from schemas.contract import schema_str
from schemas.errors import RegistryUnavailable
from schemas.fastread import read_listening_event_core
from schemas.records import TrackInfo
from schemas.registry import Registry, subject_for
from streams.config import gc as gctune
from streams.config.settings import Settings
from streams.history.options import CHUNK_EVENTS, ReplayOptions, ReplayResult
from streams.history.sources import ReplayError, file_chunks, start_offsets
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from streams.kafka.read import read_batches
from streams.pipeline.processor import DeadLetter, FeatureProcessor, RawMessage, dead_letter_headers
from streams.pipeline.publisher import FlushPublisher, FlushWriter, Request
from streams.stories.backfill import Marks, marks, marks_from_json, pending, write_stories

__all__ = ["Replay", "ReplayOptions", "ReplayResult", "target"]


def target(settings: Settings, suffix: str) -> Settings:
    """Settings whose output topics carry the suffix (inputs stay: events and catalog)."""
    names = {f: getattr(settings, f) + suffix for f in Settings.model_fields if f.startswith("topic_")}
    names["topic_events"] = settings.topic_events
    names["topic_catalog"] = settings.topic_catalog
    return settings.model_copy(update={**names, "app_id": f"{settings.app_id}-replay{suffix}"})


def _loader(store: Rdict) -> Callable[[str, int], bytes | None]:
    def load(user: str, _partition: int) -> bytes | None:
        raw = store.get(user.encode())
        return bytes(raw) if raw is not None else None

    return load


class Replay:
    def __init__(self, settings: Settings, options: ReplayOptions, catalog: dict[str, TrackInfo]) -> None:
        if options.end_ms <= options.start_ms:
            raise ReplayError("--to must be after --from")
        self.live, self.options, self.catalog = settings, options, catalog
        self.out = target(settings, options.suffix)
        self.dir = settings.run_dir / "replay" / self.out.app_id / (f"shard-{options.shard}" if options.shard else "")
        self.counter: Any = None  # a shared counter of events done (parallel replay's progress bar)
        if options.fresh and self.dir.exists():
            import shutil

            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.store = Rdict(str(self.dir / "state"))
        self.checkpoint_file = self.dir / "checkpoint.json"
        self.checkpoint: dict[str, Any] = (
            json.loads(self.checkpoint_file.read_text()) if self.checkpoint_file.exists() else {}
        )
        registry = Registry(settings.schema_registry_url)
        tc = settings.trigger_config()
        self.processor = FeatureProcessor(
            registry.decoder("ListeningEvent", topic=settings.topic_events, fast_reader=read_listening_event_core),
            catalog.get,
            _loader(self.store),  # not a bound method: no cycle keeps a finished Replay (and its cache) alive
            config=settings.feature_config(),
            trigger_config=tc if tc.enabled else None,
            clock_ms=lambda: 2**62,  # history is judged by event time only
            cache_users=settings.state_cache_users,
        )
        self.producer = RecordProducer(self.out)
        self.schema_ids = (
            registry.register(subject_for(self.out.topic_features), schema_str("UserFeatures")),
            registry.register(subject_for(self.out.topic_requests), schema_str("StoryRequest")),
        )
        self.publisher: FlushPublisher | None = None  # started by run
        self.writer = FlushWriter(self.out, self.schema_ids)  # without helpers: outputs written here
        self.result = ReplayResult(resumed=bool(self.checkpoint))
        self.touched: set[str] = set(self.checkpoint.get("users", []))
        self.unsaved: set[str] = set()  # users whose states were published but not yet checkpointed
        # Where the requests and stories topics ended when the replay began (taken by run, before its
        # first output, and kept for its resumes): the stories are written for what lies past them.
        self.marks_file = self.dir / "marks.json"
        self.marks: Marks | None = (
            marks_from_json(json.loads(self.marks_file.read_text())) if self.marks_file.exists() else None
        )

    # -- checkpoints ------------------------------------------------------------------------------
    def _publish(self, snapshots: list[tuple[bytes, Any]], requests: list[Request]) -> None:
        """Publish snapshots (``(key, state bytes)`` for the helpers, ``(key, snapshot)`` without them)
        and story requests: through the helpers, or here when there are none."""
        if self.publisher is not None:
            if snapshots or requests:
                self.publisher.submit(snapshots, requests)
            return
        self.writer.snapshots(snapshots)
        self.writer.requests(requests)

    def _requests(self) -> list[Request]:
        fired = self.processor.take_requests()
        self.result.requests += len(fired)
        return [(tuple(t), appended, None) for t, appended, _ in fired]

    def _save(self, positions: dict[str, int], *, persist: bool = True) -> None:
        """States first, then outputs, then the positions: a crash repeats at most the outputs since
        the last checkpoint (same ids), and never skips events.

        ``persist=False`` (when the replay caught up, and may be at its end): the outputs go out, but
        the states and positions wait for the next checkpoint, if any. A replay that ends there never
        writes its final states, which nothing reads (they are most of a save's bytes); interrupted
        before it is marked done, it repeats from its last checkpoint."""
        snapshots: list[tuple[bytes, Any]] = []
        helpers = self.publisher is not None  # they build the snapshots from the state bytes
        persist = persist or helpers  # helpers need the state bytes anyway: writing them costs little more
        for user, _, state_bytes, snap in self.processor.take_dirty(snapshots=not helpers, states=persist):
            key = user.encode()
            if persist:
                self.store[key] = state_bytes
            else:
                self.unsaved.add(user)
            snapshots.append((key, state_bytes if helpers else snap))
            self.touched.add(user)
        if persist:
            for user in self.unsaved:
                self.store[user.encode()] = self.processor.dumps(user)
            self.unsaved.clear()
            self.store.flush()
        self._publish(snapshots, self._requests())
        if self.publisher is not None:
            self.publisher.wait()
        self.writer.producer.flush()
        self.producer.flush()
        if persist:
            self._checkpoint(positions, done=False)

    def _checkpoint(self, positions: dict[str, int], *, done: bool) -> None:
        self.checkpoint = {"positions": dict(positions), "users": sorted(self.touched), "done": done}
        tmp = self.checkpoint_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.checkpoint))
        tmp.replace(self.checkpoint_file)

    def _mark(self) -> None:
        """Take the marks at the replay's first start. A replay resumed without them (begun by a
        version that took none) reads the topics whole: more to read, the same stories."""
        if self.marks is not None:
            return
        if self.checkpoint:
            self.marks = {}
            return
        self.marks = marks(self.out)
        tmp = self.marks_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.marks))
        tmp.replace(self.marks_file)

    def _dead(self, dead: list[Any]) -> None:
        for d in dead:
            self.producer.produce(
                self.out.topic_events_dlq, d.message.key, d.message.value, headers=dead_letter_headers(d)
            )
        self.result.dead += len(dead)

    # -- the run ------------------------------------------------------------------------------------
    def run(self, report: Callable[[str], None] = print) -> ReplayResult:
        if self.checkpoint.get("done"):
            report(f"replay {self.out.app_id} already finished (use --fresh to run it again)")
            self._close()
            return self.result
        t0 = time.perf_counter()
        config = self.live.feature_config()
        if self.options.publishers:
            self.publisher = FlushPublisher(
                self.out, self.schema_ids[0], config, self.schema_ids[1], processes=self.options.publishers
            )
        try:
            return self._run(report, t0)
        finally:
            self._close()

    def _close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
        self.store.close()
        self.producer.close()
        self.writer.producer.close()

    def _run(self, report: Callable[[str], None], t0: float) -> ReplayResult:
        topics.create(self.out)
        self._mark()
        gctune.tune()
        positions: dict[str, int] = dict(self.checkpoint.get("positions", {}))
        bar = tqdm(unit="ev", unit_scale=True, disable=not self.options.progress, desc="replay")
        since = 0
        opts = self.options
        for chunk in self._chunks(positions, report):
            if chunk is None:  # caught up with the topic: publishing now overlaps confirming the end
                if since:
                    self._save(positions, persist=False)
                    since = 0
                continue
            pairs, raw = chunk
            dead = self.processor.process_decoded(pairs) if pairs else []
            if raw:
                dead += self._process(raw)
            self._dead(dead)
            requests = self._requests()
            if requests:  # their fact sheets are written while the replay goes on
                self._publish([], requests)
            gctune.after_batch()
            last: dict[tuple[str, int], int] = {}
            for m in [p[0] for p in pairs] + raw:
                last[(m.topic, m.partition)] = m.offset
            for (topic, partition), offset in last.items():
                positions[f"{topic}:{partition}"] = max(positions.get(f"{topic}:{partition}", 0), offset + 1)
            n = len(pairs) + len(raw)
            self.result.events += n
            since += n
            if self.counter is None:
                bar.update(n)
            else:  # a shard of a parallel replay: the bar counts every shard's events
                with self.counter.get_lock():
                    self.counter.value += n
                    bar.update(self.counter.value - bar.n)
            if since >= opts.checkpoint_every:
                self._save(positions)
                since = 0
                self.saves = getattr(self, "saves", 0) + 1
                if opts.stop_after_checkpoints is not None and self.saves >= opts.stop_after_checkpoints:
                    raise KeyboardInterrupt("interrupted after a checkpoint (test)")
        self._save(positions, persist=False)  # the end: done follows
        bar.close()
        self.result.applied = self.processor.stats.applied
        self.result.duplicates = self.processor.stats.duplicates
        if opts.with_stories:
            todo = pending(self.out, since=self.marks or {}, users=self.touched)
            self.result.stories = asyncio.run(write_stories(self.out, todo, self.producer))
        self.result.seconds = time.perf_counter() - t0
        self.result.finished_at = time.time()
        self.result.users = len(self.touched)
        self._checkpoint(positions, done=True)
        return self.result

    def _process(self, raw: list[RawMessage]) -> list[DeadLetter]:
        """The processor's verdict on records read from the topic. A registry outage is waited out
        (``schemas.retry``, the boundary's one policy) and the chunk processed again, counted once:
        valid events never become dead letters because the registry was down."""
        again = False
        while True:
            try:
                return self.processor.process(raw, again=again)
            except RegistryUnavailable as e:
                if e.schema_id is None:  # not a lookup of ours: nothing to ask again but the chunk itself
                    time.sleep(retry.WAIT_OUT.delay_s(0))
                else:
                    retry.WAIT_OUT.call(functools.partial(self.processor.decoder.resolve, e.schema_id))
            again = True

    def _chunks(
        self, positions: dict[str, int], report: Callable[[str], None]
    ) -> Iterator[tuple[list[tuple[RawMessage, dict[str, Any]]], list[RawMessage]] | None]:
        opts = self.options
        lo, hi = opts.start_ms, opts.end_ms
        # Big chunks: a listener's events of a whole chunk form one update (and one trigger pass), which
        # the features and triggers allow (batch-independent, tested) and which saves most per-call work.
        # Not too big: the consumer fetches the next chunk while this one is processed, and a chunk as
        # big as a shard would leave nothing to overlap (the shard waits for all of it first).
        size = max(1, min(CHUNK_EVENTS, opts.checkpoint_every))  # chunks never straddle a checkpoint much
        if opts.files:
            for pairs in file_chunks(opts.files, opts.users, lo=lo, hi=hi, positions=positions, size=size):
                self.result.first_event_at = self.result.first_event_at or time.time()
                yield pairs, []
            return
        topic = self.live.topic_events
        starts = {int(k.split(":")[-1]): v for k, v in positions.items() if k.startswith(topic + ":")}
        if not starts:
            starts, seekable = start_offsets(self.live, lo)
            if not seekable:
                note = "the broker cannot seek by time (offsets_for_times answers 0): scanning from the start"
                report(note)
                self.result.notes.append(note)
                self.result.scanned_from_start = True
        keys = {u.encode() for u in opts.users}
        batch: list[RawMessage] = []
        new = tuple.__new__
        for got in read_batches(self.live.kafka_conf(), topic, idle_s=2.0, starts=starts, partitions=opts.partitions):
            if got and not self.result.first_event_at:  # the clock of the steady rate starts here
                self.result.first_event_at = time.time()
            if not got:  # caught up: work on what is here, and checkpoint, while the end is confirmed
                if batch:
                    yield [], batch
                    batch = []
                yield None
                continue
            for m in got:
                ts = m.timestamp()[1]
                if ts < lo or ts >= hi or (keys and m.key() not in keys):
                    positions[f"{topic}:{m.partition()}"] = m.offset() + 1
                    continue
                # (tuple.__new__: a NamedTuple's own __new__ is a Python frame per event)
                batch.append(new(RawMessage, (topic, m.partition(), m.offset(), m.key(), m.value(), ts)))
                if len(batch) >= size:
                    yield [], batch
                    batch = []
        yield [], batch
