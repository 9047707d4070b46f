"""Async client for the story models on Triton (gRPC, ``tritonclient.grpc.aio``).

- every call has a deadline (``timeout_s``);
- the Triton boundary's one retry policy lives here (``StoryClient._retry_delay``): retriable failures
  (unreachable server, overload, a deadline, an open circuit) are retried with capped exponential
  backoff and jitter; bad requests and model errors never are. A caller chooses how patient it is:
  ``retries=N`` retries an unreachable or overloaded server N times and gives a deadline or an open
  circuit back at once (a deadline is all the time the caller gave; the breaker's point is to fail
  fast), ``retries=None`` waits until Triton answers, whatever the failure (the story agent: its
  requests keep their place, and nothing above this client retries them again);
- a circuit breaker opens after ``breaker_failures`` consecutive retriable failures and fails fast
  with ``CircuitOpen`` for ``breaker_reset_s``; then one trial call is let through (half-open);
- ``wait_ready`` polls server and model readiness;
- the current OpenTelemetry context is injected into the gRPC metadata (``traceparent``), plus any
  headers the caller passes, so server-side spans and logs connect to the caller's trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schemas.records import FactSheet

from .errors import BadRequest, CircuitOpen, InferenceError, ModelFailed, Overloaded, Timeout, Unavailable
from .factsheet import to_json
from .prompt import Sampling

log = logging.getLogger("linernotes.triton")

_RETRIABLE_STATUS = {
    "StatusCode.UNAVAILABLE": Unavailable,
    "StatusCode.DEADLINE_EXCEEDED": Timeout,
    "StatusCode.RESOURCE_EXHAUSTED": Overloaded,
    "StatusCode.ABORTED": Unavailable,
    "StatusCode.CANCELLED": Unavailable,
}
_BAD_STATUS = {"StatusCode.INVALID_ARGUMENT", "StatusCode.NOT_FOUND", "StatusCode.UNIMPLEMENTED"}
_MAX_DOUBLINGS = 30  # past this the backoff is at its cap anyway; keeps 2**attempt a small number


def translate(exc: BaseException) -> InferenceError:
    """tritonclient / grpc exception -> the project's typed error."""
    if isinstance(exc, InferenceError):
        return exc
    if isinstance(exc, asyncio.TimeoutError):
        return Timeout(f"triton: deadline exceeded ({exc})")
    status_fn, message_fn = getattr(exc, "status", None), getattr(exc, "message", None)  # InferenceServerException
    status = str(status_fn()) if callable(status_fn) else ""
    msg = str(message_fn()) if callable(message_fn) else str(exc)
    if "request timeout expired" in msg.lower():  # the model's queue dropped it at its deadline (UNAVAILABLE)
        return Timeout(f"triton: {msg}")
    if status in _RETRIABLE_STATUS:
        return _RETRIABLE_STATUS[status](f"triton: {msg}")
    return _by_message(status, msg)


def _by_message(status: str, msg: str) -> InferenceError:
    """The error for a status that is not retriable in itself: decided by the message, then the status."""
    lowered = msg.lower()
    if "no available versions" in lowered or "is not ready" in lowered or "unknown model" in lowered:
        # A model that is loading or unloading (a server starting or stopping) looks like an unknown
        # one: wait for it. A truly misconfigured name shows in wait_ready and in the agent's log.
        return Unavailable(f"triton: {msg}")
    if status in _BAD_STATUS or "bad request" in msg:
        return BadRequest(f"triton: {msg}")
    if "generation failed" in msg or status == "StatusCode.INTERNAL":
        return ModelFailed(f"triton: {msg}")
    return Unavailable(f"triton: {msg}") if not status else ModelFailed(f"triton: {status} {msg}")


@dataclass
class CircuitBreaker:
    failures_to_open: int = 5
    reset_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    state: str = "closed"  # closed | open | half_open
    failures: int = 0
    opened_at: float = 0.0
    on_change: Callable[[str], None] | None = None

    def before_call(self) -> None:
        if self.state == "open":
            if self.clock() - self.opened_at >= self.reset_s:
                self._set("half_open")
            else:
                raise CircuitOpen(
                    f"triton circuit open for another {self.reset_s - (self.clock() - self.opened_at):.1f}s"
                )

    def success(self) -> None:
        self.failures = 0
        if self.state != "closed":
            self._set("closed")

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.failures_to_open:
            self.opened_at = self.clock()
            self._set("open")

    def _set(self, state: str) -> None:
        self.state = state
        if self.on_change:
            self.on_change(state)


@dataclass(frozen=True, slots=True)
class Generated:
    candidates: list[str]
    raw: list[str]
    generator: str
    prompt_tokens: int
    completion_tokens: list[int]
    latency_ms: float
    logprobs: list[float] = field(default_factory=list)  # each candidate's mean token log-probability
    device: str = ""  # where the model ran ("cpu", "cuda:0"); "" when the server does not say


@dataclass
class StoryClient:
    url: str = "127.0.0.1:18001"
    model: str = "story_generator"
    timeout_s: float = 60.0
    retries: int | None = 3
    """Retries of an unreachable or overloaded server before its error is raised; None: retry every
    retriable failure until Triton answers (see the module docstring)."""
    backoff_s: float = 0.2
    backoff_max_s: float = 5.0
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    on_retry: Callable[[InferenceError, float], None] | None = None
    """Called with the error and the wait before each retry (the story agent counts its waits)."""
    _client: Any = None
    _retired: list[Any] = field(default_factory=list)

    def _grpc(self) -> Any:
        if self._client is None:
            from tritonclient.grpc import aio

            self._client = aio.InferenceServerClient(url=self.url)
        return self._client

    async def _reset_channel(self) -> None:
        """Connect afresh on the next call. The old channel is closed only at ``close()``: closing it now
        would cancel the calls other tasks still have in flight on it."""
        if self._client is not None:
            self._retired.append(self._client)
            self._client = None

    async def close(self) -> None:
        for client in [*self._retired, self._client]:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
        self._client, self._retired = None, []

    async def __aenter__(self) -> StoryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ready(self, model: str | None = None) -> bool:
        try:
            c = self._grpc()
            return bool(await c.is_server_ready(client_timeout=2.0)) and bool(
                await c.is_model_ready(model or self.model, client_timeout=2.0)
            )
        except Exception:  # noqa: BLE001 - not ready is the answer
            return False

    async def wait_ready(self, timeout_s: float = 120.0, model: str | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while not await self.ready(model):
            if time.monotonic() > deadline:
                raise Unavailable(f"triton at {self.url}: {model or self.model} not ready after {timeout_s:.0f}s")
            await asyncio.sleep(0.5)

    @staticmethod
    def headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
        carrier: dict[str, str] = {}
        try:
            from opentelemetry.propagate import inject

            inject(carrier)
        except ImportError:  # tracing is optional here
            pass
        carrier.update(extra or {})
        return carrier

    async def _call(
        self, model: str, inputs: list[tuple[str, bytes]], output: str, headers: Mapping[str, str] | None
    ) -> bytes:
        attempt = 0
        while True:
            try:
                return await self._attempt(model, inputs, output, headers)
            except InferenceError as err:
                if not err.retriable:
                    raise
                delay = self._retry_delay(err, attempt)
                attempt += 1
                log.warning("triton unavailable (%s); retry %d in %.1fs", err, attempt, delay)
                if self.on_retry is not None:
                    self.on_retry(err, delay)
                await asyncio.sleep(delay)

    def _retry_delay(self, err: InferenceError, attempt: int) -> float:
        """The one retry decision of the Triton boundary: how long to wait before retrying after the
        ``attempt``-th retriable failure (0-based), or ``err`` raised when this caller retries no more."""
        if self.retries is not None and (attempt >= self.retries or isinstance(err, (Timeout, CircuitOpen))):
            raise err
        delay = min(self.backoff_max_s, self.backoff_s * 2.0 ** min(attempt, _MAX_DOUBLINGS))
        return float(delay * (0.5 + random.random()))

    async def _attempt(
        self, model: str, inputs: list[tuple[str, bytes]], output: str, headers: Mapping[str, str] | None
    ) -> bytes:
        """One call, if the breaker lets it through; every failure is an InferenceError (translated) and
        counted by the breaker."""
        from tritonclient.grpc import InferInput, InferRequestedOutput

        self.breaker.before_call()
        tensors = []
        for name, value in inputs:
            t = InferInput(name, [1, 1], "BYTES")
            t.set_data_from_numpy(np.array([[value]], dtype=np.object_))
            tensors.append(t)
        try:
            result = await self._grpc().infer(
                model,
                tensors,
                outputs=[InferRequestedOutput(output)],
                # The same deadline for the server's queue (the model's queue policy): a request this
                # call has stopped waiting for is not computed.
                timeout=int(self.timeout_s * 1_000_000),
                client_timeout=self.timeout_s,
                headers=self.headers(headers),
            )
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the caller is stopping
            await self._failed()  # a call cancelled under us (its channel closed): retriable
            raise Unavailable("triton: call cancelled") from None
        except Exception as e:
            err = translate(e)
            log.warning("triton call to %s failed: %s (%r)", model, err, e)
            if not err.retriable:
                self.breaker.success()  # the server answered
                raise err from e
            await self._failed()
            raise err from e
        self.breaker.success()
        out = result.as_numpy(output)
        return bytes(out.reshape(-1)[0])

    async def _failed(self) -> None:
        self.breaker.failure()
        if self.breaker.state == "open":
            await self._reset_channel()  # a restarted server: connect afresh, skip gRPC's reconnect backoff

    async def generate(
        self,
        kind: str,
        sheet: FactSheet,
        sampling: Sampling,
        draft: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Generated:
        params = {
            "n": sampling.n,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_new_tokens": sampling.max_new_tokens,
            "seed": sampling.seed,
            "draft": draft,
        }
        t0 = time.perf_counter()
        raw = await self._call(
            self.model,
            [("FACT_SHEET", to_json(sheet, kind).encode()), ("PARAMS", json.dumps(params).encode())],
            "CANDIDATES",
            headers,
        )
        doc = json.loads(raw)
        return Generated(
            candidates=list(doc["candidates"]),
            raw=list(doc.get("raw", [])),
            generator=str(doc.get("generator", self.model)),
            prompt_tokens=int(doc.get("prompt_tokens", 0)),
            completion_tokens=list(doc.get("completion_tokens", [])),
            logprobs=[float(x) for x in doc.get("logprobs", [])],
            device=str(doc.get("device", "")),
            latency_ms=(time.perf_counter() - t0) * 1000,
        )
