"""schemas.retry: the registry boundary's one policy (what is waited out, for how long)."""

import asyncio
from collections.abc import Callable

import pytest

from schemas import RegistryUnavailable, SchemaNotFound
from schemas.retry import RegistryRetry


def flaky(failures: int, error: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return "answer"

    return calls, fn


def test_delays_double_up_to_the_cap_with_jitter() -> None:
    policy = RegistryRetry(first_s=0.2, max_s=5.0)
    assert [policy.delay_s(a, rand=lambda: 1.0) for a in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert policy.delay_s(3, rand=lambda: 0.0) == pytest.approx(0.8)  # jitter: 50% of the capped delay at least
    assert policy.delay_s(10_000, rand=lambda: 1.0) == 5.0  # no overflow however long the outage


def test_an_outage_is_waited_out_until_the_registry_answers() -> None:
    calls, fn = flaky(6, RegistryUnavailable("down"))
    slept: list[float] = []
    waits: list[float] = []
    got = RegistryRetry(first_s=0.1, max_s=0.4).call(
        fn,
        sleep=slept.append,
        on_wait=lambda _e, d: waits.append(d),
    )
    assert got == "answer" and len(calls) == 7 and len(slept) == 6 and slept == waits
    assert max(slept) <= 0.4


def test_an_answer_is_not_retried() -> None:
    calls, fn = flaky(1, SchemaNotFound("no such id"))
    with pytest.raises(SchemaNotFound):
        RegistryRetry().call(fn, sleep=lambda _s: pytest.fail("an answer must not be waited on"))
    assert len(calls) == 1


def test_a_bounded_policy_gives_up_and_a_stop_event_ends_the_wait() -> None:
    calls, fn = flaky(100, RegistryUnavailable("down"))
    slept: list[float] = []
    with pytest.raises(RegistryUnavailable):
        RegistryRetry(first_s=1.0, max_s=1.0, give_up_after_s=3.5).call(
            fn,
            sleep=slept.append,
            on_wait=lambda *_: None,
        )
    assert sum(slept) <= 3.5 and len(calls) == len(slept) + 1
    calls, fn = flaky(100, RegistryUnavailable("down"))
    with pytest.raises(RegistryUnavailable):
        RegistryRetry().call(fn, sleep=lambda _s: True, on_wait=lambda *_: None)
    assert len(calls) == 1


def test_the_async_form_runs_the_call_off_the_loop() -> None:
    import threading

    loop_thread: list[int] = []
    call_threads: list[int] = []
    failures = [2]

    def fn() -> str:
        call_threads.append(threading.get_ident())
        if failures[0]:
            failures[0] -= 1
            raise RegistryUnavailable("down")
        return "ok"

    async def go() -> str:
        loop_thread.append(threading.get_ident())
        return await RegistryRetry(first_s=0.001, max_s=0.002).call_async(fn, on_wait=lambda *_: None)

    assert asyncio.run(go()) == "ok"
    assert len(call_threads) == 3 and loop_thread[0] not in call_threads
