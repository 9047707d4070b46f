"""The one retry policy of the schema-registry boundary: what is waited out, and how.

An outage (the registry cannot be reached, times out, or answers 5xx, 408 or 429:
:class:`~schemas.errors.RegistryUnavailable`) says nothing about the messages being decoded, so it is
waited out with capped exponential backoff and jitter; a registry that answers "no such schema id"
has answered, and the messages naming that id are bad data (``DecodeError``, a dead letter).
confluent-kafka's registry client has retries of its own (``max.retries``); :mod:`schemas.registry`
turns them off, so that this is the only policy and its waits are the only ones.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from schemas.errors import RegistryUnavailable

T = TypeVar("T")
log = logging.getLogger("linernotes.registry")
_MAX_DOUBLINGS = 30  # past this the delay is max_s anyway; keeps 2**attempt a small number


def _log_wait(e: RegistryUnavailable, delay_s: float) -> None:
    log.warning("schema registry unavailable (%s); waiting %.1fs", e, delay_s)


@dataclass(frozen=True, slots=True)
class RegistryRetry:
    """Capped exponential backoff with jitter; ``give_up_after_s=None`` waits as long as the outage lasts."""

    first_s: float = 0.2
    max_s: float = 5.0
    give_up_after_s: float | None = None

    def delay_s(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The wait after the ``attempt``-th failure (0-based). Jittered to 50-100% of the capped value, so
        that workers which lost the registry together do not all call it again in the same instant."""
        capped: float = min(self.max_s, self.first_s * 2.0 ** min(attempt, _MAX_DOUBLINGS))
        return capped * (0.5 + 0.5 * rand())

    def _next(self, e: RegistryUnavailable, attempt: int, waited_s: float) -> float:
        delay = self.delay_s(attempt)
        if self.give_up_after_s is not None and waited_s + delay > self.give_up_after_s:
            raise e
        return delay

    def call(
        self,
        fn: Callable[[], T],
        *,
        sleep: Callable[[float], object] = time.sleep,
        on_wait: Callable[[RegistryUnavailable, float], None] = _log_wait,
    ) -> T:
        """``fn()``, called again after each :class:`RegistryUnavailable` until it returns. ``sleep`` may
        return True to stop waiting (``threading.Event.wait`` of a stop event): the last error is raised."""
        attempt, waited = 0, 0.0
        while True:
            try:
                return fn()
            except RegistryUnavailable as e:
                delay = self._next(e, attempt, waited)
                on_wait(e, delay)
                if sleep(delay) is True:
                    raise
                attempt, waited = attempt + 1, waited + delay

    async def call_async(
        self, fn: Callable[[], T], *, on_wait: Callable[[RegistryUnavailable, float], None] = _log_wait
    ) -> T:
        """:meth:`call` for an event loop: ``fn`` runs in the default executor (a registry call blocks for
        up to its HTTP timeout), the waits are ``asyncio.sleep``."""
        loop = asyncio.get_running_loop()
        attempt, waited = 0, 0.0
        while True:
            try:
                return await loop.run_in_executor(None, fn)
            except RegistryUnavailable as e:
                delay = self._next(e, attempt, waited)
                on_wait(e, delay)
                await asyncio.sleep(delay)
                attempt, waited = attempt + 1, waited + delay


WAIT_OUT = RegistryRetry()
"""For messages that cannot be decoded yet: nothing is lost by waiting, everything by giving up."""

AT_START = RegistryRetry(give_up_after_s=60.0)
"""For registering schemas while a process starts: a registry still down after a minute is a
configuration or deployment problem to report, not an outage to sit through silently."""
