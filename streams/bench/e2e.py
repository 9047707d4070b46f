"""``linernotes bench e2e``: event -> story latency on the real stack, at a steady load.

Simulated listeners produce events at ``events_per_s`` for ``duration_s`` of wall time; event time
runs ``speedup`` times faster than the wall clock (sessions close, days pass), while the records'
append times are the wall clock. A feature worker and a story agent (subprocesses, as in
production) turn them into stories. For each story: latency = the story's append time minus the
append time of the event whose batch fired its trigger (carried in the request/story headers).
Before the load, the model's own batch-1 time is measured: one generate call with the agent's
settings, alone on the server (median of 5). The ratio p99 / batch-1 is the figure of merit.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference import golden
from inference.client import StoryClient
from inference.eval.metrics import percentile
from inference.prompt import Sampling
from inference.templates import render
from schemas.codec import listening_event_encoder
from schemas.contract import schema_str
from schemas.registry import Registry, subject_for
from streams.bench.common import cleanup, isolated, story_agent_process, wait_for, worker_process
from streams.config.settings import Settings
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from streams.stories.run import tail


async def _batch1_ms(settings: Settings, repeats: int = 5) -> float:
    case = golden.load()[0]
    draft = render(case.kind, case.sheet, 0).text
    async with StoryClient(url=settings.triton_url, timeout_s=300) as client:
        await client.wait_ready(timeout_s=120)
        times = []
        for i in range(repeats + 1):
            s = Sampling(n=settings.story_candidates, max_new_tokens=settings.story_max_new_tokens, seed=i)
            t0 = time.perf_counter()
            await client.generate(case.kind, case.sheet, s, draft=draft)
            if i:  # the first call warms up
                times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _simulated(
    *, users: int, events_per_s: float, duration_s: float, speedup: float
) -> tuple[Simulation, list[dict[str, Any]]]:
    """A simulation and its first ``duration_s * speedup`` of event time, in time order, at
    ``events_per_s`` of wall time once sped up (simulated over whole days)."""
    span_ms = duration_s * speedup * 1000
    days = max(1, math.ceil(span_ms / 86_400_000))
    total = int(events_per_s * duration_s * days * 86_400_000 / span_ms) + 1
    sim = Simulation(SimulationConfig(users=users, events=total, days=days, seed=23))
    events = sorted((e for day in sim.days() for e in day), key=lambda e: e["event_time"])
    start_t = events[0]["event_time"]
    return sim, [e for e in events if e["event_time"] < start_t + span_ms]


def run(
    settings: Settings,
    *,
    users: int,
    events_per_s: float,
    duration_s: float,
    speedup: float,
    report: Callable[[str], None],
) -> dict[str, Any]:
    s = isolated(settings, "bench-e2e").model_copy(update={"flush_interval_s": 0.5})
    topics.create(s)
    try:
        batch1 = asyncio.run(_batch1_ms(s))
        report(f"model batch-1 generation: {batch1:.0f} ms")
        sim, events = _simulated(users=users, events_per_s=events_per_s, duration_s=duration_s, speedup=speedup)
        start_t = events[0]["event_time"]
        registry = Registry(s.schema_registry_url)
        producer = RecordProducer(s)
        catalog_encoder = registry.encoder(s.topic_catalog, "TrackInfo")
        for track in sim.catalog.tracks:
            producer.produce(s.topic_catalog, track.track_id.encode(), catalog_encoder.encode(track.to_avro()))
        producer.flush()
        writer = listening_event_encoder(registry.register(subject_for(s.topic_events), schema_str("ListeningEvent")))
        with tempfile.TemporaryDirectory(prefix="ln-bench-e2e-") as tmp:
            work = Path(tmp)
            with worker_process(s, work / "w") as (wproc, url), story_agent_process(s, work / "a") as (aproc, _):
                wait_for(url, wproc, lambda x: x is not None, timeout_s=120, what="feature worker")
                report(
                    f"producing {len(events):,} events for {users} listeners over {duration_s:.0f}s "
                    f"({events_per_s:.0f}/s, event time x{speedup:.0f})..."
                )
                t0 = time.monotonic()
                for e in events:
                    due = t0 + (e["event_time"] - start_t) / speedup / 1000
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    producer.produce(s.topic_events, e["user_id"].encode(), writer.encode(e))  # append time: now
                    producer.poll()
                producer.flush()
                produced_s = time.monotonic() - t0
                report("waiting for the last stories...")
                stories = list(tail(s, from_beginning=True, idle_exit_s=30.0))
                if aproc.poll() is not None:
                    raise RuntimeError("the story agent exited (see its log)")
        lat: list[float] = []
        first_append = last_append = None
        for _story, headers in stories:
            if "linernotes.trigger.append_ms" not in headers:
                continue
            appended = int(headers["append_ms"])
            lat.append(appended - int(headers["linernotes.trigger.append_ms"]))
            first_append = appended if first_append is None else min(first_append, appended)
            last_append = appended if last_append is None else max(last_append, appended)
        if not lat:
            raise RuntimeError("no stories were published; see the worker and agent logs")
        window_s = max(1e-9, ((last_append or 0) - (first_append or 0)) / 1000)
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        model_written = sum(1 for st, _ in stories if not st.generator.startswith("template:"))
        return {
            "users": users,
            "events": len(events),
            "events_per_s": round(len(events) / produced_s, 1),
            "event_time_speedup": speedup,
            "stories": len(lat),
            "stories_per_s": round(len(lat) / window_s, 3),
            "p50_ms": round(p50),
            "p99_ms": round(p99),
            "model_batch1_ms": round(batch1),
            "p50_over_model": round(p50 / batch1, 2),
            "p99_over_model": round(p99 / batch1, 2),
            "model_accept_rate": round(model_written / len(stories), 3),
            "story_candidates": s.story_candidates,
            "story_regenerations": s.story_regenerations,
            "max_new_tokens": s.story_max_new_tokens,
        }
    finally:
        cleanup(s)
