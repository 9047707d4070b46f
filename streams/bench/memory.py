"""``linernotes bench memory``: the feature worker's memory against the number of its listeners.

The processor is driven as the worker drives it: batches of ``max_poll_records`` events, and every
``flush_max_events`` a flush that serializes the changed states and writes them to RocksDB, opened
with the worker's own store options (``streams.worker.faust_app.state_store_options``). The
listeners each play ``plays`` times, in rounds: every listener once a round, each round in a new
shuffled order, so a bounded cache meets a listener again only after all the others (an LRU's worst
case: every event of a later round is a miss, read back from RocksDB).

Each configuration runs in a fresh process, whose peak RSS (``VmHWM``) is the figure: the bounded
cache (``state_cache_users``) and, as the baseline in the same run, no bound (the cache as it was
before issue 30). No broker and no Avro: the events are decoded dicts (``process_decoded``), so what
is measured is the working set of the states, the processor and RocksDB, not the transport's.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from streams.config.settings import Settings

T0 = 1_800_000_000_000
HOUR_MS = 3_600_000
TRACKS = 2000
ARTISTS = 400
GENRES = ("rock", "pop", "jazz", "techno", "folk", "hip hop", "classical", "metal")


def run(
    settings: Settings,
    *,
    listeners: int,
    plays: int,
    cache_users: int,
    baseline: bool = True,
    report: Any = print,
) -> dict[str, Any]:
    """The bounded run and (with ``baseline``) the unbounded one, each in its own process."""
    from streams.bench.common import env_for

    figures: dict[str, Any] = {"listeners": listeners, "plays": plays, "events": listeners * plays}
    env = env_for(settings.model_copy(update={"state_cache_users": cache_users}))
    for label, unbounded in [("bounded", False), *([("unbounded", True)] if baseline else [])]:
        args = json.dumps({"listeners": listeners, "plays": plays, "unbounded": unbounded})
        cmd = [sys.executable, "-m", "streams.bench.memory", args]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        got = json.loads(out.strip().splitlines()[-1])
        figures[label] = got
        report(
            f"{label}: peak RSS {got['peak_rss_mb']:,.0f} MB, {got['cached_states']:,} states in memory at the "
            f"end, {got['evicted']:,} evicted, {got['events_per_s']:,.0f} events/s"
        )
    return figures


def _catalog() -> dict[str, Any]:
    from schemas.records import TrackInfo

    rng = random.Random(7)
    out = {}
    for n in range(TRACKS):
        artist = n % ARTISTS
        genres = (rng.choice(GENRES),)
        out[f"trk{n:05d}"] = TrackInfo(
            f"trk{n:05d}", f"Track {n}", f"art{artist:04d}", f"Artist {artist}", genres=genres
        )
    return out


def measure(settings: Settings, *, listeners: int, plays: int, unbounded: bool) -> dict[str, Any]:
    """One configuration, in this process: its peak RSS and what the processor did."""
    from faust.stores.rocksdb import RocksDBOptions
    from rocksdict import WriteBatch

    from schemas.codec import Decoder
    from streams.pipeline.processor import FeatureProcessor, RawMessage
    from streams.worker.faust_app import state_store_options

    catalog = _catalog()
    tracks = list(catalog)
    partitions = settings.events_partitions
    options = RocksDBOptions(**state_store_options(settings), use_rocksdict=True)
    with tempfile.TemporaryDirectory(prefix="ln-bench-memory-") as tmp:
        dbs = [options.open(Path(tmp) / f"user-state-{p}.db") for p in range(partitions)]

        def load(user: str, partition: int) -> bytes | None:
            raw = dbs[partition].get(user.encode())
            return bytes(raw) if raw is not None else None

        trigger_config = settings.trigger_config()
        processor = FeatureProcessor(
            cast(Decoder, None),  # decoded events only (process_decoded)
            catalog.get,
            load,
            config=settings.feature_config(),
            trigger_config=trigger_config if trigger_config.enabled else None,
            clock_ms=lambda: 2**62,
            cache_users=None if unbounded else settings.state_cache_users,
        )

        def flush() -> None:
            for part in processor.dirty_parts():
                batches: dict[int, Any] = {}
                for key, partition, value in part:
                    batches.setdefault(partition, WriteBatch(raw_mode=True)).put(key, value)
                for partition, batch in batches.items():
                    dbs[partition].write(batch)

        rng = random.Random(1)
        offsets = [0] * partitions
        batch: list[tuple[RawMessage, dict[str, Any]]] = []
        since_flush = 0
        t0, cpu0 = time.monotonic(), time.process_time()
        for r in range(plays):
            order = list(range(listeners))
            rng.shuffle(order)
            for pos, i in enumerate(order):
                p = i % partitions
                t = T0 + r * HOUR_MS + pos * HOUR_MS // listeners
                event = _event(f"u{i:07d}", f"e{r}-{i}", tracks[(i * 7 + r) % TRACKS], t)
                batch.append((RawMessage("listening-events", p, offsets[p], None, None, t), event))
                offsets[p] += 1
                if len(batch) >= settings.max_poll_records:
                    processor.process_decoded(batch)
                    processor.take_requests()  # handed to the flush helpers in the worker
                    since_flush += len(batch)
                    batch = []
                    if since_flush >= settings.flush_max_events:
                        flush()
                        since_flush = 0
        processor.process_decoded(batch)
        processor.take_requests()
        flush()
        seconds, cpu = time.monotonic() - t0, time.process_time() - cpu0
        store_bytes = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        # RocksDB's own share of the memory at the end (not its peak): memtables, and the index and filter
        # blocks held outside the block cache, summed over the partitions.
        rocksdb_mb = {
            name: round(sum(db.property_int_value(f"rocksdb.{prop}") or 0 for db in dbs) / 1024 / 1024, 1)
            for name, prop in (
                ("memtables", "size-all-mem-tables"),
                ("block_cache", "block-cache-usage"),
                ("table_readers", "estimate-table-readers-mem"),
            )
        }
        status = {
            k: int(v.split()[0]) / 1024
            for k, v in (line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
            if k in ("VmHWM", "VmRSS")
        }
        for db in dbs:
            db.close()
    st = processor.stats
    return {
        "unbounded": unbounded,
        "cache_users": None if unbounded else settings.state_cache_users,
        "peak_rss_mb": round(status["VmHWM"], 1),
        "final_rss_mb": round(status["VmRSS"], 1),
        "cached_states": len(processor.cache),
        "evicted": st.evicted,
        "applied": st.applied,
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "events_per_s": round(st.applied / seconds, 1) if seconds else 0.0,
        "store_mb": round(store_bytes / 1024 / 1024, 1),
        "rocksdb_mb_at_end": rocksdb_mb,
        "block_cache_mb_per_partition": settings.state_block_cache_mb,
        "write_buffer_mb_per_partition": settings.state_write_buffer_mb,
        "partitions": partitions,
    }


def _event(user: str, event_id: str, track: str, t: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "user_id": user,
        "track_id": track,
        "event_time": t,
        "ms_played": 180_000,
        "platform": "IOS",
        "country": "SE",
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "context": {"type": "UNKNOWN", "uri": None},
        "tz": "Europe/Stockholm",
    }


if __name__ == "__main__":  # one configuration in a fresh process (see ``run``)
    from streams.config.settings import load

    args = json.loads(sys.argv[1])
    print(json.dumps(measure(load(), listeners=args["listeners"], plays=args["plays"], unbounded=args["unbounded"])))
