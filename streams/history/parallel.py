"""Replay split over processes by partition of the events topic (``linernotes replay --workers N``)."""

from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from confluent_kafka import Consumer

from schemas.records import TrackInfo
from streams.config.settings import Settings
from streams.history.replay import Replay, ReplayOptions, ReplayResult
from streams.history.sources import ReplayError


def _shard_main(settings: Settings, options: ReplayOptions, inbox: Any, counter: Any, out: Any) -> None:
    try:
        catalog: dict[str, TrackInfo] = {}
        replay = Replay(settings, options, catalog)  # registry, state store, producers: while the catalog comes
        catalog.update((row[0], TrackInfo(*row)) for row in inbox.get())  # (album fields None: see _rows)
        replay.counter = counter
        out.put(replay.run(lambda _line: None))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which fails the run
        out.put(f"{type(e).__name__}: {e}")


def _context() -> Any:
    """Shard processes fork from a server process that imported the replay's modules once: a spawned
    shard would first import them all itself, with CPU taken from the shard this process runs, and
    start that much later. The server is single-threaded, so forking it is safe."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():  # not on every platform
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["streams.history.parallel"])
    return ctx


def warm() -> None:
    """Start the shards' fork server now, so its imports overlap the caller's own work (loading the
    catalog)."""
    from multiprocessing import forkserver

    if _context().get_start_method() == "forkserver":
        forkserver.ensure_running()


def _rows(catalog: dict[str, TrackInfo]) -> list[tuple[Any, ...]]:
    """The catalog for a shard, as plain rows through a queue (its feeder thread writes while the child
    starts, where process arguments are pickled as dataclasses before the child can start). Only what
    ``features`` reads of a track (name, artist, genres; album, duration and year are left ``None``):
    fewer bytes to pickle and send before a shard's first event."""
    return [(t.track_id, t.track_name, t.artist_id, t.artist_name, None, None, t.genres) for t in catalog.values()]


def default_workers() -> int:
    """One replay process per core, at most two: each has a helper process, and the broker needs CPU too."""
    return max(1, min(2, os.cpu_count() or 1))


def run_replay(
    settings: Settings,
    options: ReplayOptions,
    catalog: dict[str, TrackInfo],
    *,
    workers: int = 1,
    report: Callable[[str], None] = print,
) -> ReplayResult:
    """``Replay(...).run``, split over ``workers`` processes by partition of the events topic.

    Users never span partitions (events are keyed by user), so each process replays its own users
    with its own state and checkpoint, exactly as one process would; outputs go to the same topics
    with the same ids. Files are replayed by one process."""
    if workers <= 1 or options.files:
        return Replay(settings, options, catalog).run(report)
    shards = _shards(settings, workers)
    # Shards fill the cores already: each writes its own snapshots and requests (helpers would only add
    # their start-up and the states' round trip through bytes).
    shard_options = [
        replace(options, partitions=shard, shard=f"{i}-of-{len(shards)}", publishers=0, progress=False)
        for i, shard in enumerate(shards)
    ]
    ctx = _context()
    counter, results = ctx.Value("q", 0), ctx.Queue()
    inboxes = [ctx.Queue() for _ in shard_options[1:]]
    procs = [
        ctx.Process(target=_shard_main, daemon=True, args=(settings, opts, inbox, counter, results))
        for opts, inbox in zip(shard_options[1:], inboxes, strict=True)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    rows = _rows(catalog)
    for inbox in inboxes:
        inbox.put(rows)
    finished = False
    try:
        # This process replays the first shard itself while the others start; its bar counts every shard.
        first = Replay(settings, replace(shard_options[0], progress=options.progress), catalog)
        first.counter = counter
        got: list[Any] = [first.run(lambda _line: None)]
        while len(got) < len(shards):
            try:
                got.append(results.get(timeout=0.5))
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and results.empty():
                    raise ReplayError("a replay process died without a result") from None
        finished = True
    finally:
        _stop(procs, inboxes, finished=finished)
    merged = _merged(got)
    merged.seconds = time.perf_counter() - t0
    for note in merged.notes:
        report(note)
    return merged


def _stop(procs: list[Any], inboxes: list[Any], *, finished: bool) -> None:
    """Wait for the shard processes; if the replay did not finish, stop them first (they resume later)."""
    if not finished:
        # A shard that died before reading its catalog leaves rows in its inbox's pipe, which this
        # process also holds open: the queue's feeder thread would block on it forever, and this
        # process with it at exit (a shard failing on start-up would hang `linernotes replay`).
        for inbox in inboxes:
            inbox.cancel_join_thread()
    for p in procs:
        if not finished:
            p.terminate()
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()


def _shards(settings: Settings, workers: int) -> list[frozenset[int]]:
    """The events topic's partitions dealt out to at most ``workers`` shards."""
    consumer = Consumer({**settings.kafka_conf(), "group.id": f"replay-{uuid.uuid4()}"})
    try:
        meta = consumer.list_topics(settings.topic_events, timeout=10).topics.get(settings.topic_events)
    finally:
        consumer.close()
    if meta is None or meta.error is not None:
        raise ReplayError(f"topic {settings.topic_events!r} does not exist")
    parts = sorted(meta.partitions)
    return [frozenset(parts[i::workers]) for i in range(min(workers, len(parts)))]


def _merged(got: list[Any]) -> ReplayResult:
    """The shards' results (or their errors, as strings) as one replay's result."""
    errors = [g for g in got if isinstance(g, str)]
    if errors:
        raise ReplayError("; ".join(errors))
    merged = ReplayResult(resumed=any(g.resumed for g in got))
    for g in got:
        for f in ("events", "applied", "duplicates", "dead", "users", "requests", "stories"):
            setattr(merged, f, getattr(merged, f) + getattr(g, f))
        merged.scanned_from_start = merged.scanned_from_start or g.scanned_from_start
        merged.notes += [n for n in g.notes if n not in merged.notes]
    starts = [g.first_event_at for g in got if g.first_event_at]
    merged.first_event_at = min(starts, default=0.0)
    merged.finished_at = max(g.finished_at for g in got)
    return merged
