"""FeatureHotPath.handle/flush with fakes around a real FeatureProcessor: when fired triggers are
handed to the helpers, and that they always go before the states that record them."""

import asyncio
import time
from typing import Any

from faust.types import TP

from streams.config.settings import load
from streams.pipeline.checkpoint import Checkpoint
from streams.pipeline.processor import FeatureProcessor
from streams.worker.hot_path import FeatureHotPath
from tests.unit.streams.pipeline.test_processor import CATALOG, W, ev, msg, processor


class Publisher:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []  # (states, requests) per submit
        self.log: list[Any] = []  # submits, waits and state writes, in order

    def submit(self, items: list, requests: Any = ()) -> None:
        self.calls.append((len(items), len(requests)))
        self.log.append(("submit", len(items), len(requests)))

    def done(self) -> bool:
        return True

    def mark(self) -> int:
        return len(self.calls)

    def wait_for(self, mark: int) -> None:
        self.log.append(("delivered", mark))  # every part before the mark


class States:
    def __init__(self, log: list) -> None:
        self.log = log

    def write(self, states: list) -> None:
        self.log.append(("write", len(states)))


class Nothing:
    def __getattr__(self, _name: str) -> Any:
        return lambda *a, **k: None


def hot_path(max_poll: int) -> tuple[FeatureHotPath, Publisher]:
    settings = load(max_poll_records=max_poll)
    proc: FeatureProcessor = processor({})
    proc.trigger_config = settings.trigger_config()
    hot = FeatureHotPath.__new__(FeatureHotPath)
    publisher = Publisher()
    hot.settings, hot.processor = settings, proc
    hot.producer = Nothing()  # type: ignore[assignment]
    hot.checkpoint = Checkpoint(
        proc,
        publisher,  # type: ignore[arg-type]
        States(publisher.log),  # type: ignore[arg-type]
        hot.producer,
        lambda offsets: publisher.log.append(("done", dict(offsets))),
        requests_topic=settings.topic_requests,
    )
    hot._catalog_frozen, hot._read = True, {}
    hot._since_flush, hot.last_flush = 0, time.monotonic() + 3600  # no flush from handle itself
    return hot, publisher


def batches(sizes: list[int]) -> list[dict[TP, list]]:
    out, offset = [], 0
    for n in sizes:
        out.append({TP("le", 0): [msg(offset + i, W.encode(ev(offset + i))) for i in range(n)]})
        offset += n
    return out


def test_a_backlog_gathers_fired_triggers_and_the_flush_hands_them_over_before_the_states() -> None:
    assert CATALOG["t1"].artist_id == "a1"  # every event plays a1: its 10th play is a milestone
    hot, publisher = hot_path(max_poll=4)

    async def run() -> None:
        for records in batches([4, 4, 4]):  # full fetches: a backlog
            await hot.handle(records)
        assert publisher.calls == [] and len(hot.processor.requests) == 1
        await hot.flush(wait=False)

    asyncio.run(run())
    # The request goes first; the state that records its trigger is written only after the request was
    # delivered (its snapshot need not be: it is handed over before that wait).
    assert publisher.log == [("submit", 0, 1), ("submit", 1, 0), ("delivered", 1), ("write", 1)]
    assert hot.processor.stats.triggers == {"MILESTONE": 1}


def test_a_short_fetch_hands_its_fired_triggers_over_at_once() -> None:
    hot, publisher = hot_path(max_poll=20)

    async def run() -> None:
        for records in batches([4, 4, 4]):  # short fetches: caught up
            await hot.handle(records)

    asyncio.run(run())
    assert publisher.calls == [(0, 1)] and hot.processor.requests == []
