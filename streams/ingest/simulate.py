"""``linernotes simulate``: publish a synthetic catalog, then simulated listening, to Kafka.

Generation and Avro encoding run in worker processes, one shard of listeners each; the parent
merges each simulated day by ``(event_time, user_id)`` and produces. The result is the same byte
stream whatever the number of workers, because each listener depends on its own seed only.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import operator
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from tqdm import tqdm

from schemas.codec import Encoder, listening_event_encoder
from schemas.contract import schema_str
from schemas.registry import Registry, subject_for
from streams.config.settings import Settings
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.kafka import topics
from streams.kafka.producer import RecordProducer

Encoded = tuple[int, bytes, bytes]  # event_time, key (user_id), value
_order = operator.itemgetter(0, 1)  # by event time, then user: the same total order for any sharding


@dataclass(frozen=True)
class SimulateResult:
    events: int
    tracks: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def encoded_days(sim: Simulation, writer: Encoder, shard: int, shards: int) -> Iterator[list[Encoded]]:
    encode = writer.encode
    for day in sim.days(shard=shard, shards=shards):
        gc.disable()  # no cycles here; GC passes over the day's dicts would cost a third of the time
        try:
            encoded = [(e["event_time"], e["user_id"].encode(), encode(e)) for e in day]
        finally:
            gc.enable()
        yield encoded


def _worker(sim: Simulation, schema_id: int, shard: int, shards: int, conn: Connection) -> None:
    try:
        for day in encoded_days(sim, listening_event_encoder(schema_id), shard, shards):
            conn.send(day)
    finally:
        conn.close()


class MergedDays:
    """Days of encoded events from ``workers`` processes (1 = in this process).

    Workers are forked on construction from the already-built simulation, so they start
    generating at once, while the caller does other work such as publishing the catalog.
    """

    def __init__(self, sim: Simulation, schema_id: int, workers: int) -> None:
        self.sim, self.config, self.schema_id, self.workers = sim, sim.config, schema_id, workers
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        if workers > 1:
            ctx = mp.get_context("fork")
            for shard in range(workers):
                parent, child = ctx.Pipe(duplex=False)
                # fork: the child inherits the built simulation (catalog, listeners) at no cost
                proc = ctx.Process(target=_worker, args=(sim, schema_id, shard, workers, child), daemon=True)
                proc.start()
                child.close()
                self._pipes.append(parent)
                self._procs.append(proc)

    def __iter__(self) -> Iterator[list[Encoded]]:
        if self.workers <= 1:
            yield from encoded_days(self.sim, listening_event_encoder(self.schema_id), 0, 1)
            return
        try:
            for _ in range(self.config.days):
                day: list[Encoded] = []
                for pipe in self._pipes:
                    try:
                        day.extend(pipe.recv())
                    except EOFError as e:
                        raise RuntimeError("a simulator worker died; see its error above") from e
                day.sort(key=_order)
                yield day
        finally:
            self.close()

    def close(self) -> None:
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


def run(
    settings: Settings,
    config: SimulationConfig,
    *,
    rate: float | None = None,
    progress: bool = True,
    workers: int | None = None,
) -> SimulateResult:
    topics.create(settings)
    registry = Registry(settings.schema_registry_url)
    catalog_encoder = registry.encoder(settings.topic_catalog, "TrackInfo")
    events_id = registry.register(subject_for(settings.topic_events), schema_str("ListeningEvent"))
    producer = RecordProducer(settings)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    sim = Simulation(config)
    days = MergedDays(sim, events_id, workers)  # generators start while the catalog goes out

    for track in sim.catalog.tracks:
        producer.produce(settings.topic_catalog, track.track_id.encode(), catalog_encoder.encode(track.to_avro()))
    producer.flush()
    tracks = producer.sent

    topic = settings.topic_events
    bar = tqdm(total=config.events, unit="ev", unit_scale=True, disable=not progress, desc="simulate")
    start = time.perf_counter()
    sent = 0
    for day in days:
        for i in range(0, len(day), 5000):
            chunk = day[i : i + 5000]
            producer.produce_many(topic, chunk)
            sent += len(chunk)
            producer.poll()
            bar.update(len(chunk))
            if rate:
                ahead = sent / rate - (time.perf_counter() - start)
                if ahead > 0:
                    time.sleep(ahead)
    producer.flush()
    seconds = time.perf_counter() - start
    bar.close()
    return SimulateResult(events=producer.sent - tracks, tracks=tracks, seconds=seconds)
