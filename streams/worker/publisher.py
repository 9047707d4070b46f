"""A flush's snapshots and story requests, written and published by a helper process.

Building a ``UserFeatures`` snapshot (nine windows, top lists, streaks) and encoding it is ~120 µs
of Python per dirty user per flush; writing a story request's fact sheet (number words, dates, the
story id's hash) and encoding it is ~20 µs per request. Neither changes what the worker decides,
so the worker hands this helper what it already has: each dirty state's changelog bytes, and each
fired trigger as a small tuple (``features.facts.Trigger``). The helper builds, encodes and
produces them with its own producer, on the machine's other core, while the worker goes on with
the next batch. Offsets of a flush are committed only after the helper reports everything
delivered (see ``FeatureHotPath.flush``), so nothing is lost on a crash.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from collections.abc import Iterable, Sequence
from typing import Any

from features import FeatureConfig
from streams.settings import Settings

APPEND_HEADER = "linernotes.trigger.append_ms"  # the firing event's append time (e2e latency)

Request = tuple[tuple[Any, ...], int, bytes | None]
"""A fired trigger (``features.facts.Trigger`` as a plain tuple), the firing message's append time,
and its ``traceparent`` header value (``None``: not traced)."""


class PublishError(RuntimeError):
    """The helper failed or died; the worker stops rather than commit offsets without its output."""


class FlushWriter:
    """Encodes and produces a flush's snapshots and story requests: in the helper processes, and in a
    replay shard that has no helpers."""

    def __init__(self, settings: Settings, schema_ids: tuple[int, int | None]) -> None:
        from schemas.fastpath import StoryRequestWriter, UserFeaturesWriter
        from streams.producer import RecordProducer

        self.settings = settings
        self.producer = RecordProducer(settings)
        self._encode = UserFeaturesWriter(schema_ids[0]).encode
        self._encode_request = StoryRequestWriter(schema_ids[1]).encode if schema_ids[1] is not None else None

    def snapshots(self, snaps: Iterable[tuple[bytes, dict[str, Any]]]) -> None:
        produce, topic, encode = self.producer.produce, self.settings.topic_features, self._encode
        for key, snap in snaps:
            produce(topic, key, encode(snap), timestamp_ms=snap["as_of"])

    def requests(self, requests: Sequence[Request]) -> None:
        from features.facts import request

        if not requests:
            return
        encode = self._encode_request
        if encode is None:
            raise RuntimeError("story requests submitted, but the writer has no StoryRequest schema")
        produce, topic = self.producer.produce, self.settings.topic_requests
        for trigger, appended, parent in requests:
            r = request(trigger)
            headers = [(APPEND_HEADER, b"%d" % appended)]
            if parent is not None:
                headers.append(("traceparent", parent))
            produce(topic, r.user_id.encode(), encode(r), headers=headers)


def _serve(conn: Any, settings: Settings, schema_ids: tuple[int, int | None], config: FeatureConfig) -> None:
    from features import snapshot
    from streams import gctune
    from streams.worker.processor import Stored

    gctune.tune()
    writer = FlushWriter(settings, schema_ids)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        items, requests = job
        try:
            writer.snapshots((key, snapshot(Stored.loads(state).state, config)) for key, state in items)
            writer.requests(requests)
            writer.producer.flush(60.0)
            conn.send((len(items), len(requests)))
        except Exception as e:  # noqa: BLE001 - reported to the worker, which stops
            conn.send(f"{type(e).__name__}: {e}")
        gctune.after_flush()


class FlushPublisher:
    """``processes`` helper processes; a flush's snapshots and requests are split between them by
    user, so a listener's requests keep their order, and a flush is delivered when all report."""

    def __init__(
        self, settings: Settings, snapshot_schema_id: int, config: FeatureConfig, request_schema_id: int | None = None,
        *, processes: int = 1,
    ) -> None:  # fmt: skip
        ctx = mp.get_context("spawn")  # the worker has threads and sockets: no fork
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        for i in range(max(1, processes)):
            conn, child = ctx.Pipe()
            proc = ctx.Process(
                target=_serve,
                args=(child, settings, (snapshot_schema_id, request_schema_id), config),
                name=f"flush-publisher-{i}",
                daemon=True,
            )
            proc.start()
            child.close()
            self._conns.append(conn)
            self._procs.append(proc)
        self._waiting = [0] * len(self._conns)  # batches each process has not confirmed yet
        self.outstanding = 0  # flushes submitted and not yet confirmed

    def submit(self, items: list[tuple[bytes, bytes]], requests: Sequence[Request] = ()) -> None:
        """``(key, state bytes)`` and fired triggers to publish. The worker keeps one flush outstanding
        (it waits before the next flush); a replay may queue several before it waits."""
        n = len(self._conns)
        if n == 1:
            parts = [(items, list(requests))]
        else:
            parts = [([], []) for _ in range(n)]
            for key, state in items:
                parts[hash(key) % n][0].append((key, state))
            for req in requests:
                parts[hash(req[0][3]) % n][1].append(req)  # by the trigger's user
        for i, (conn, (part, reqs)) in enumerate(zip(self._conns, parts, strict=True)):
            if not part and not reqs and n > 1:
                continue
            try:
                conn.send((part, reqs))
            except (BrokenPipeError, OSError) as e:
                raise PublishError(f"the flush publisher is gone: {e}") from e
            self._waiting[i] += 1
        self.outstanding += 1

    def done(self) -> bool:
        """Whether ``wait`` would return at once (every process has answered)."""
        return all(not n or conn.poll() for n, conn in zip(self._waiting, self._conns, strict=True))

    def wait(self) -> tuple[int, int]:
        """Block until every outstanding flush was delivered; returns their (snapshots, requests)."""
        snapshots = requests = 0
        failed = None
        for i, conn in enumerate(self._conns):
            while self._waiting[i]:
                try:
                    result = conn.recv()
                except (EOFError, OSError) as e:
                    raise PublishError(f"the flush publisher died (exit code {self._procs[i].exitcode})") from e
                self._waiting[i] -= 1
                if isinstance(result, str):
                    failed = failed or result
                else:
                    snapshots, requests = snapshots + int(result[0]), requests + int(result[1])
        self.outstanding = 0
        if failed is not None:
            raise PublishError(f"snapshots and requests could not be published: {failed}")
        return snapshots, requests

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(None)
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
