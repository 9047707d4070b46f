"""Span export in a separate process, so a busy worker pays a tuple append per span and nothing else.

The worker side (:class:`ProcessSink`) appends span records (plain tuples, see
``streams.tracing.tracer.SpanRecord``) to a deque. A daemon thread moves them, a few times a second, as one
list to a bounded ``multiprocessing`` queue, whose feeder thread pickles them (C code, one call per
batch). The exporter process encodes the records as OTLP/protobuf (``streams.tracing.otlp``, without SDK
span objects) and posts them to the collector. When the queue is full (the exporter or the
collector cannot keep up) batches are dropped and counted: tracing must never slow down or stop
the worker.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from streams.tracing.records import Privacy, SpanRecord, SpanSink, span_count

log = logging.getLogger("linernotes.tracing")
PUSH_INTERVAL_S = 0.2
MAX_BATCH = 2048  # records per queue item
QUEUE_BATCHES = 256  # queue items before dropping (~500k records, up to ~1.5M spans)
EXPORT_CHUNK = 2048  # records per OTLP request (~700 kB; collectors accept 4 MB by default)
EXPORT_NICE = 19  # the exporter's CPU weight: 15 against 1024 for the worker and its helpers when a core is contended


def _export_loop(inbox: Any, acks: Any, endpoint: str, service: str, privacy: Privacy) -> None:
    """The exporter process: records in, OTLP/HTTP out; a ``("flush", n)`` marker is acknowledged
    once everything before it was exported."""
    import httpx

    from streams.tracing.encoder import Encoder

    with contextlib.suppress(OSError):  # export is background work: it yields the CPU to the data path
        os.nice(EXPORT_NICE)
    logging.basicConfig(level=logging.WARNING)
    encoder = Encoder(service, privacy)
    client = httpx.Client(timeout=5.0, headers={"Content-Type": "application/x-protobuf"})
    failures = 0
    while True:
        item = inbox.get()
        if item is None:
            break
        if isinstance(item, tuple):  # ("flush", token)
            acks.put(item[1])
            continue
        for i in range(0, len(item), EXPORT_CHUNK):
            try:
                ok = client.post(endpoint, content=encoder.encode(item[i : i + EXPORT_CHUNK])).is_success
            except Exception as e:  # noqa: BLE001 - a collector outage (or a bad record) must not end the exporter
                ok = False
                log.warning("span export failed: %r", e)
            if not ok:
                failures += 1
                if failures in (1, 10, 100) or failures % 1000 == 0:
                    log.warning("span export to %s failed (%d times so far)", endpoint, failures)
    client.close()


class ProcessSink(SpanSink):
    def __init__(self, endpoint: str, service: str, privacy: Privacy | None = None) -> None:
        ctx = mp.get_context("spawn")  # no fork of a process with running threads and sockets
        self._inbox = ctx.Queue(maxsize=QUEUE_BATCHES)
        self._acks = ctx.Queue()
        self._proc = ctx.Process(
            target=_export_loop,
            args=(self._inbox, self._acks, endpoint, service, privacy or Privacy()),
            name="span-exporter",
            daemon=True,
        )
        self._proc.start()
        self._pending: collections.deque[SpanRecord] = collections.deque()
        self.dropped = 0
        self._lock = threading.Lock()  # pushes from the thread and from flush()
        self._stop = threading.Event()
        self._tokens = 0
        self._thread = threading.Thread(target=self._pusher, name="span-push", daemon=True)
        self._thread.start()

    def emit(self, rec: SpanRecord) -> None:
        self._pending.append(rec)  # atomic; the only cost on the hot path

    def appender(self) -> Callable[[SpanRecord], None]:
        return self._pending.append

    def _push(self) -> None:
        with self._lock:
            pending = self._pending
            while pending:
                n = min(len(pending), MAX_BATCH)
                batch = [pending.popleft() for _ in range(n)]
                try:
                    self._inbox.put_nowait(batch)
                except queue.Full:
                    n = sum(map(span_count, batch))
                    self.dropped += n
                    if self.dropped == n or self.dropped % 100_000 < n:
                        log.warning("span exporter is behind: %d spans dropped so far", self.dropped)

    def _pusher(self) -> None:
        while not self._stop.wait(PUSH_INTERVAL_S):
            self._push()

    def flush(self, timeout_ms: int = 5000) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000
        self._push()
        with self._lock:
            self._tokens += 1
            token = self._tokens
            try:
                self._inbox.put(("flush", token), timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                return False
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self._acks.get(timeout=left) >= token:
                    return True
            except queue.Empty:
                return False
        return False

    def shutdown(self) -> None:
        if self._stop.is_set():
            return
        self.flush(5000)
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._inbox.put(None, timeout=1.0)
        self._proc.join(timeout=5.0)
        if self._proc.is_alive():
            self._proc.terminate()
