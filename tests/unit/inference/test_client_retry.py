"""The Triton boundary's one retry policy (StoryClient): what each kind of caller gets retried."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from inference import golden
from inference.client import CircuitBreaker, StoryClient
from inference.errors import BadRequest, CircuitOpen, InferenceError, Timeout
from inference.prompt import Sampling

CASE = next(c for c in golden.load() if c.id == "session-1")
ANSWER = json.dumps({"candidates": ["A story."], "generator": "story_generator/test"}).encode()


class Result:
    def as_numpy(self, _name: str) -> Any:
        return np.array([[ANSWER]], dtype=np.object_)


class Server:
    """Fails with the given gRPC statuses (None: a call cancelled under the caller), then answers."""

    def __init__(self, failures: list[str | None]) -> None:
        self.failures = failures
        self.calls = 0

    async def infer(self, *_: Any, **__: Any) -> Any:
        self.calls += 1
        if self.failures:
            status = self.failures.pop(0)
            if status is None:
                raise asyncio.CancelledError
            raise InferenceServerException("nope", status=status)
        return Result()

    async def close(self) -> None:
        pass


def client(server: Server, **kw: Any) -> StoryClient:
    c = StoryClient(backoff_s=0.001, backoff_max_s=0.002, _client=server, **kw)
    c._reset_channel = _keep_channel.__get__(c)  # type: ignore[method-assign]  # the fake is the channel
    return c


async def _keep_channel(_self: StoryClient) -> None:
    pass


def test_a_patient_caller_waits_out_every_retriable_failure_and_counts_its_waits() -> None:
    server = Server(
        ["StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", None, "StatusCode.RESOURCE_EXHAUSTED"] * 3
    )
    waits: list[tuple[InferenceError, float]] = []
    breaker = CircuitBreaker(failures_to_open=5, reset_s=0.01)
    c = client(server, retries=None, breaker=breaker, on_retry=lambda e, d: waits.append((e, d)))
    got = asyncio.run(c.generate("OTHER", CASE.sheet, Sampling()))
    assert got.candidates == ["A story."]
    assert server.calls == 13  # 12 failures, then the answer
    assert any(isinstance(e, CircuitOpen) for e, _ in waits), "the open circuit was waited out, not raised"
    assert len(waits) >= 12 and all(d <= 0.003 for _, d in waits)
    assert breaker.state == "closed"


def test_a_bounded_caller_gets_a_deadline_back_at_once() -> None:
    server = Server(["StatusCode.DEADLINE_EXCEEDED"])
    with pytest.raises(Timeout):
        asyncio.run(client(server, retries=3).generate("OTHER", CASE.sheet, Sampling()))
    assert server.calls == 1  # the server still works on it: resending only adds load


def test_a_bad_request_is_never_retried_even_by_a_patient_caller() -> None:
    server = Server(["StatusCode.INVALID_ARGUMENT"])
    waits: list[Any] = []
    with pytest.raises(BadRequest):
        asyncio.run(
            client(server, retries=None, on_retry=lambda *a: waits.append(a)).generate("OTHER", CASE.sheet, Sampling())
        )
    assert server.calls == 1 and waits == []


def test_a_caller_that_is_cancelled_is_not_retried() -> None:
    class Slow(Server):
        async def infer(self, *_: Any, **__: Any) -> Any:
            self.calls += 1
            await asyncio.sleep(10)

    async def go() -> None:
        server = Slow([])
        task = asyncio.create_task(client(server, retries=None).generate("OTHER", CASE.sheet, Sampling()))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert server.calls == 1

    asyncio.run(go())
