"""A flush's snapshots and story requests, written and published by a helper process.

Building a ``UserFeatures`` snapshot (nine windows, top lists, streaks) and encoding it is the
biggest piece of Python per dirty user per flush; writing a story request's fact sheet (number words,
dates, the story id's hash) and encoding it comes next. Neither changes what the worker decides,
so the worker hands this helper what it already has: each dirty state's changelog bytes, and each
fired trigger as a small tuple (``features.facts.Trigger``). The helper builds, encodes and
produces them with its own producer, on the machine's other core, while the worker goes on with
the next batch. Offsets of a flush are committed only after the helper reports everything
delivered (step 1 of ``streams.pipeline.checkpoint.Checkpoint.commit``), so nothing is lost on a crash.

A helper lives exactly as long as its worker: it ignores SIGTERM and SIGINT (a stop signal sent to
the worker's process group must not take the helpers away before the worker's last flush was
delivered; the worker closes their pipes when it is done), and dies with the worker when that is
killed (``PR_SET_PDEATHSIG`` on Linux), so that no request of a dead worker reaches story-requests
after its successor read that topic back (``streams.pipeline.published``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing as mp
import signal
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from features import FeatureConfig
from streams.config.settings import Settings
from streams.errors import StreamsError

APPEND_HEADER = "linernotes.trigger.append_ms"  # the firing event's append time (e2e latency)

Request = tuple[tuple[Any, ...], int, bytes | None]
"""A fired trigger (``features.facts.Trigger`` as a plain tuple), the firing message's append time,
and its ``traceparent`` header value (``None``: not traced)."""


class PublishError(StreamsError):
    """The helper failed or died; the worker stops rather than commit offsets without its output."""


class FlushWriter:
    """Encodes and produces a flush's snapshots and story requests: in the helper processes, and in a
    replay shard that has no helpers."""

    def __init__(self, settings: Settings, schema_ids: tuple[int, int | None]) -> None:
        from schemas.codec import Encoder
        from schemas.contract import schema_str
        from schemas.fastpath import UserFeaturesWriter
        from streams.kafka.producer import RecordProducer

        self.settings = settings
        self.producer = RecordProducer(settings)
        self._encode = UserFeaturesWriter(schema_ids[0]).encode
        self._encode_request = (
            Encoder(schema_str("StoryRequest"), schema_ids[1]).encode if schema_ids[1] is not None else None
        )

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
            req = request(trigger)
            headers = [(APPEND_HEADER, b"%d" % appended)]
            if parent is not None:
                headers.append(("traceparent", parent))
            produce(topic, req.user_id.encode(), encode(req.to_avro()), headers=headers)


def _bind_to_worker() -> None:
    """Stop signals are the worker's to act on; the worker's death is this helper's (see the module)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _serve(conn: Any, settings: Settings, schema_ids: tuple[int, int | None], config: FeatureConfig) -> None:
    from features import snapshot
    from streams.config import gc as gctune
    from streams.pipeline.processor import Stored

    _bind_to_worker()
    gctune.tune()
    writer = FlushWriter(settings, schema_ids)
    pending: list[tuple[int, int]] = []  # jobs received and not yet answered: (snapshots, requests)
    failure: str | None = None
    while True:
        try:
            job = conn.recv()
        except EOFError:
            job = None
        if job is None:  # closing: what was produced still goes out, as far as it can (nobody waits now)
            with contextlib.suppress(Exception):
                writer.producer.flush(10.0)
            return
        items, requests = job
        urgent = bool(requests) and not items
        pending.append((len(items), len(requests)))
        if failure is None:
            try:
                writer.snapshots((key, snapshot(Stored.loads(state).state, config)) for key, state in items)
                writer.requests(requests)
                if urgent or not conn.poll():
                    writer.producer.flush(60.0)  # raises if a record failed or is still queued
            except Exception as e:  # noqa: BLE001 - reported to the worker, which stops
                failure = f"{type(e).__name__}: {e}"
        # More of this flush is waiting (it comes in parts): one delivery wait for all. Requests alone are
        # answered at once: the worker writes no state before they were delivered (FlushPublisher.wait_for).
        if not urgent and conn.poll():
            continue
        for result in pending:  # every part answered, and only after the delivery that covers it
            conn.send(failure if failure is not None else result)
        pending, failure = [], None
        gctune.after_batch()


class FlushPublisher:
    """``processes`` helper processes; a flush's snapshots and requests are split between them by
    user, so a listener's requests keep their order, and a flush is delivered when all report."""

    def __init__(
        self,
        settings: Settings,
        snapshot_schema_id: int,
        config: FeatureConfig,
        request_schema_id: int | None = None,
        *,
        processes: int = 1,
    ) -> None:
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
        # One sender thread per helper: a part is written to its pipe while the worker goes on. A pipe
        # holds 64 KB and a helper reads the next part only when it finished the one before, so a
        # worker writing the parts itself waited for the helpers inside a big flush.
        self._senders = [ThreadPoolExecutor(1, thread_name_prefix=f"flush-send-{i}") for i in range(len(self._conns))]
        self._sent: list[list[Future[None]]] = [[] for _ in self._conns]  # each pipe's writes not yet checked
        self._submitted = [0] * len(self._conns)  # parts handed to each process, ever
        self._answered = [0] * len(self._conns)  # and answered (or lost in the hand-over, which raised)
        self._delivered = [0, 0]  # snapshots, requests answered since the last wait
        self._failed: str | None = None
        self._closed = False
        # Before multiprocessing's own exit handler, which would signal the helpers (they ignore it)
        # and then wait for them while their pipes are still open.
        atexit.register(self.close)

    def submit(self, items: list[tuple[bytes, bytes]], requests: Sequence[Request] = ()) -> None:
        """``(key, state bytes)`` and fired triggers to publish. A flush may come in several parts (the
        worker hands over its states as it serializes them, so the helpers start at once); the worker
        keeps one flush outstanding (it waits before the next flush), a replay may queue several."""
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
            self._check_sent(i, block=False)  # an earlier write that failed fails this submit
            self._sent[i].append(self._senders[i].submit(conn.send, (part, reqs)))
            self._submitted[i] += 1

    def _check_sent(self, i: int, *, block: bool) -> bool:
        """Whether pipe ``i``'s writes are all done (``block``: wait for them); a failed one raises
        (a part that never reached its helper would never be answered)."""
        sent = self._sent[i]
        while sent and (block or sent[0].done()):
            try:
                sent.pop(0).result()
            except Exception as e:  # a broken pipe, or a part that could not be pickled
                self._answered[i] += 1  # never reached the helper: no answer is owed for it
                raise PublishError(f"the flush publisher is gone or could not take a part: {e}") from e
        return not sent

    def _drain(self, *, block: bool) -> None:
        """Take the helpers' answers: those already there, or (``block``) all that are owed."""
        for i, conn in enumerate(self._conns):
            if not self._check_sent(i, block=block):
                continue  # still writing: its answers cannot all be there
            while self._answered[i] < self._submitted[i] and (block or conn.poll()):
                self._take_answer(i)

    def _take_answer(self, i: int) -> None:
        try:
            result = self._conns[i].recv()
        except (EOFError, OSError) as e:
            raise PublishError(f"the flush publisher died (exit code {self._procs[i].exitcode})") from e
        self._answered[i] += 1
        if isinstance(result, str):
            self._failed = self._failed or result
        else:
            self._delivered[0] += int(result[0])
            self._delivered[1] += int(result[1])

    def mark(self) -> tuple[int, ...]:
        """Where the parts submitted so far end, for :meth:`wait_for`."""
        return tuple(self._submitted)

    def wait_for(self, mark: tuple[int, ...]) -> None:
        """Block until every part submitted before ``mark`` was delivered, not the ones after it (a
        flush's states go on to the helpers while the requests before them are delivered); raises
        if any answered part failed (and :meth:`wait` raises it again)."""
        for i, conn in enumerate(self._conns):
            while self._answered[i] < mark[i]:
                self._check_sent(i, block=False)  # a part that never reached the helper raises
                if self._answered[i] < mark[i] and conn.poll(0.05):
                    self._take_answer(i)
        if self._failed is not None:
            raise PublishError(f"snapshots and requests could not be published: {self._failed}")

    def done(self) -> bool:
        """Whether ``wait`` would return at once (every part submitted was answered)."""
        self._drain(block=False)
        return self._answered == self._submitted

    def wait(self) -> tuple[int, int]:
        """Block until everything submitted was delivered; returns the (snapshots, requests) delivered
        since the last call."""
        self._drain(block=True)
        (snapshots, requests), self._delivered = self._delivered, [0, 0]
        failed, self._failed = self._failed, None
        if failed is not None:
            raise PublishError(f"snapshots and requests could not be published: {failed}")
        return snapshots, requests

    def close(self) -> None:
        """Let the helpers go: what they produced still goes out (10 s at most), then they exit."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for sender in self._senders:
            sender.shutdown(wait=True)
        for conn in self._conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(None)
        for proc in self._procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()  # it ignores SIGTERM
                proc.join(timeout=5)
