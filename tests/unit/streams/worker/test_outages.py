"""The hot path waits for a batch it cannot judge yet, and judges it once: a registry outage is waited out,
a track missing from a catalog that may be behind waits until the catalog was read to its end. Nothing
of such a batch goes to the DLQ, and it is counted once."""

import asyncio
import json
from typing import Any

import pytest
from faust.types import TP

from schemas import RegistryUnavailable, schema_str
from schemas.codec import Decoder, Encoder
from schemas.fastread import read_listening_event_core
from schemas.records import TrackInfo
from streams.pipeline.processor import FeatureProcessor
from streams.worker.catalog import CatalogBehind, CatalogJoin
from streams.worker.hot_path import FeatureHotPath
from tests.unit.streams.pipeline.test_processor import CATALOG, NOW, W, ev, msg
from tests.unit.streams.worker.test_hot_path import hot_path

T2 = TrackInfo("t2", "Other", "a2", "Another", genres=("soul",))


class Table:
    """A CatalogTable whose reader has not read ``late`` yet: read_to_end brings it in."""

    def __init__(self, late: dict[str, TrackInfo]) -> None:
        self.tracks, self.late, self.reads = dict(CATALOG), late, 0

    def __call__(self, track_id: str) -> TrackInfo | None:
        return self.tracks.get(track_id)

    def read_to_end(self) -> bool:
        self.reads += 1
        self.tracks.update(self.late)
        return True


def with_catalog(table: Table, decoder: Decoder | None = None) -> tuple[FeatureHotPath, FeatureProcessor]:
    hot, _ = hot_path(max_poll=100)
    join = CatalogJoin(table)  # type: ignore[arg-type]
    dec = decoder or Decoder(
        schema_str("ListeningEvent"),
        lambda _i: schema_str("ListeningEvent"),
        reader_id=1,
        fast_reader=read_listening_event_core,
    )
    proc = FeatureProcessor(dec, join, lambda _u, _p: None, clock_ms=lambda: NOW)
    hot.processor, hot.join = proc, join
    hot.checkpoint.processor = proc
    return hot, proc


def records(events: list[dict[str, Any]], encode: Any = W.encode) -> dict[TP, list[Any]]:
    return {TP("le", 0): [msg(i, encode(e)) for i, e in enumerate(events)]}


def test_a_track_the_catalog_has_not_read_yet_waits_for_it_and_is_applied() -> None:
    table = Table({"t2": T2})
    hot, proc = with_catalog(table)
    events = [ev(0), ev(1, track_id="t2"), ev(2, user="u2", track_id="t2")]
    asyncio.run(hot.handle(records(events)))
    assert table.reads == 1
    assert proc.stats.dead == 0 and proc.stats.applied == 3
    assert proc.stats.messages == 3 and proc.stats.batches == 1  # the batch processed twice counts once


def test_a_track_still_missing_at_the_catalogs_end_is_unknown_once_per_batch() -> None:
    table = Table({})
    hot, proc = with_catalog(table)
    dead: list[Any] = []
    hot.producer.produce = lambda *a, **k: dead.append(k["headers"])  # type: ignore[method-assign]
    asyncio.run(hot.handle(records([ev(0), ev(1, track_id="nope"), ev(2, track_id="nope")])))
    asyncio.run(hot.handle(records([ev(3, track_id="nope")])))
    assert table.reads == 2  # read to the end once for each batch with a miss, not per event
    assert proc.stats.dead == 3 and proc.stats.applied == 1 and len(dead) == 3
    assert all(b"unknown track 'nope'" in dict(h)["dlq.reason"] for h in dead)


def test_a_miss_stops_the_batch_before_anything_of_it_is_applied() -> None:
    """The contract the hot path relies on: the processor looks every track up before it applies any
    event, so a batch interrupted by CatalogBehind can be processed again from the start."""
    hot, proc = with_catalog(Table({"t2": T2}))
    assert hot.join is not None
    hot.join.new_batch()
    batch = [msg(0, W.encode(ev(0))), msg(1, W.encode(ev(1, user="u2", track_id="t2")))]
    with pytest.raises(CatalogBehind):
        proc.process(batch)
    assert proc.stats.applied == 0 and not proc.dirty and not proc.cache


def test_a_registry_outage_is_waited_out_and_the_batch_applied() -> None:
    newer = json.loads(schema_str("ListeningEvent"))
    newer["fields"] = [*newer["fields"], {"name": "mood", "type": ["null", "string"], "default": None}]
    down = [3]  # the registry fails this many lookups of the newer writer schema

    def lookup(schema_id: int) -> str:
        if down[0]:
            down[0] -= 1
            raise RegistryUnavailable("connection refused")
        return json.dumps(newer)

    decoder = Decoder(schema_str("ListeningEvent"), lookup, reader_id=1, fast_reader=read_listening_event_core)
    hot, proc = with_catalog(Table({}), decoder)
    dead: list[Any] = []
    hot.producer.produce = lambda *a, **k: dead.append(k)  # type: ignore[method-assign]
    enc = Encoder(newer, 2)  # a producer on a newer schema version: its id is looked up
    asyncio.run(hot.handle(records([{**ev(0), "mood": "calm"}, {**ev(1), "mood": None}], enc.encode)))
    assert down == [0] and not dead
    assert proc.stats.applied == 2 and proc.stats.dead == 0 and proc.stats.messages == 2
