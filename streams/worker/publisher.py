"""``UserFeatures`` snapshots built and published by a helper process, overlapped with processing.

Building a snapshot (nine windows, top lists, streaks) and encoding it is ~120 µs of Python per
dirty user per flush, a fifth of a busy worker's time. The worker already serialises each dirty
state for the changelog; it hands those bytes to this helper, which decodes them, builds and
encodes the snapshots and produces them with its own producer, on the machine's other core, while
the worker goes on with the next batch. Offsets of a flush are committed only after the helper
reports its snapshots delivered (see ``FeatureHotPath.flush``), so nothing is lost on a crash.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from typing import Any

from features import FeatureConfig
from streams.settings import Settings


class SnapshotError(RuntimeError):
    """The helper failed or died; the worker stops rather than commit offsets without snapshots."""


def _serve(conn: Any, settings: Settings, schema_id: int, config: FeatureConfig) -> None:
    from features import snapshot
    from schemas.fastpath import UserFeaturesWriter
    from streams import gctune
    from streams.producer import RecordProducer
    from streams.worker.processor import Stored

    gctune.tune()
    producer = RecordProducer(settings)
    encode, produce, topic = UserFeaturesWriter(schema_id).encode, producer.produce, settings.topic_features
    while True:
        try:
            items = conn.recv()
        except EOFError:
            return
        if items is None:
            return
        try:
            for key, state_bytes in items:
                snap = snapshot(Stored.loads(state_bytes).state, config)
                produce(topic, key, encode(snap), timestamp_ms=snap["as_of"])
            producer.flush(60.0)
            conn.send(len(items))
        except Exception as e:  # noqa: BLE001 - reported to the worker, which stops
            conn.send(f"{type(e).__name__}: {e}")
        gctune.after_flush()


class SnapshotPublisher:
    def __init__(self, settings: Settings, schema_id: int, config: FeatureConfig) -> None:
        ctx = mp.get_context("spawn")  # the worker has threads and sockets: no fork
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(child, settings, schema_id, config), name="snapshot-publisher", daemon=True
        )
        self._proc.start()
        child.close()
        self.outstanding = 0  # batches submitted and not yet confirmed

    def submit(self, items: list[tuple[bytes, bytes]]) -> None:
        """``(key, state bytes)`` of one flush; at most one batch is outstanding (call ``wait`` first)."""
        if self.outstanding:
            raise RuntimeError("wait() for the previous batch first")
        try:
            self._conn.send(items)
        except (BrokenPipeError, OSError) as e:
            raise SnapshotError(f"the snapshot publisher is gone: {e}") from e
        self.outstanding = 1

    def wait(self) -> int:
        """Block until the outstanding batch was delivered; returns its size (0 if none)."""
        if not self.outstanding:
            return 0
        try:
            result = self._conn.recv()
        except (EOFError, OSError) as e:
            raise SnapshotError(f"the snapshot publisher died (exit code {self._proc.exitcode})") from e
        self.outstanding = 0
        if isinstance(result, str):
            raise SnapshotError(f"snapshots could not be published: {result}")
        return int(result)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(None)
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
