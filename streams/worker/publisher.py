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
from collections.abc import Sequence
from typing import Any

from features import FeatureConfig
from streams.settings import Settings

APPEND_HEADER = "linernotes.trigger.append_ms"  # the firing event's append time (e2e latency)

Request = tuple[tuple[Any, ...], int, bytes | None]
"""A fired trigger (``features.facts.Trigger`` as a plain tuple), the firing message's append time,
and its ``traceparent`` header value (``None``: not traced)."""


class PublishError(RuntimeError):
    """The helper failed or died; the worker stops rather than commit offsets without its output."""


def _serve(conn: Any, settings: Settings, schema_ids: tuple[int, int | None], config: FeatureConfig) -> None:
    from features import snapshot
    from features.facts import request
    from schemas.fastpath import StoryRequestWriter, UserFeaturesWriter
    from streams import gctune
    from streams.producer import RecordProducer
    from streams.worker.processor import Stored

    gctune.tune()
    producer = RecordProducer(settings)
    encode, produce, topic = UserFeaturesWriter(schema_ids[0]).encode, producer.produce, settings.topic_features
    encode_request = StoryRequestWriter(schema_ids[1]).encode if schema_ids[1] is not None else None
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        items, requests = job
        try:
            for key, state_bytes in items:
                snap = snapshot(Stored.loads(state_bytes).state, config)
                produce(topic, key, encode(snap), timestamp_ms=snap["as_of"])
            if requests and encode_request is None:
                raise RuntimeError("story requests submitted, but the helper has no StoryRequest schema")
            for trigger, appended, parent in requests:
                r = request(trigger)
                headers = [(APPEND_HEADER, str(appended).encode())]
                if parent is not None:
                    headers.append(("traceparent", parent))
                produce(settings.topic_requests, r.user_id.encode(), encode_request(r), headers=headers)  # type: ignore[misc]
            producer.flush(60.0)
            conn.send((len(items), len(requests)))
        except Exception as e:  # noqa: BLE001 - reported to the worker, which stops
            conn.send(f"{type(e).__name__}: {e}")
        gctune.after_flush()


class FlushPublisher:
    def __init__(
        self, settings: Settings, snapshot_schema_id: int, config: FeatureConfig, request_schema_id: int | None = None
    ) -> None:
        ctx = mp.get_context("spawn")  # the worker has threads and sockets: no fork
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve,
            args=(child, settings, (snapshot_schema_id, request_schema_id), config),
            name="flush-publisher",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self.outstanding = 0  # batches submitted and not yet confirmed

    def submit(self, items: list[tuple[bytes, bytes]], requests: Sequence[Request] = ()) -> None:
        """``(key, state bytes)`` and fired triggers to publish. The worker keeps one batch outstanding
        (it waits before the next flush); a replay may queue several before it waits."""
        try:
            self._conn.send((items, requests))
        except (BrokenPipeError, OSError) as e:
            raise PublishError(f"the flush publisher is gone: {e}") from e
        self.outstanding += 1

    def wait(self) -> tuple[int, int]:
        """Block until every outstanding batch was delivered; returns their (snapshots, requests)."""
        snapshots = requests = 0
        failed = None
        while self.outstanding:
            try:
                result = self._conn.recv()
            except (EOFError, OSError) as e:
                raise PublishError(f"the flush publisher died (exit code {self._proc.exitcode})") from e
            self.outstanding -= 1
            if isinstance(result, str):
                failed = failed or result
            else:
                snapshots, requests = snapshots + int(result[0]), requests + int(result[1])
        if failed is not None:
            raise PublishError(f"snapshots and requests could not be published: {failed}")
        return snapshots, requests

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(None)
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
