"""``linernotes bench triggers``: what story triggers cost the feature worker's thread, broker aside.

``bench features`` measures the real thing, throughput on the real stack, but on a shared 2-core
machine its single runs scatter by 10-30% with the machine's speed. This bench runs the work the
worker's thread does for a stream -- decode, validate, ``update``, trigger detection, and at each
flush the state bytes and the fired triggers pickled for the helpers -- in one process, over the same
simulated events as ``bench features`` (same seed, same events per listener), with triggers on and off:

- by default, CPU seconds (``time.process_time``), on and off alternating for ``rounds`` rounds;
- with ``callgrind``, instructions counted by valgrind's callgrind: one child process each for on, off
  and the set-up alone (loading the events; subtracted), with a fixed ``PYTHONHASHSEED``. The counts
  are the same on a busy machine or an idle one, for the same code and inputs, so two versions of the
  code can be compared exactly.

RocksDB, the changelog, the producers and the helpers' work are not in it: ``bench features`` has them.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.config import gc as gctune
from streams.config.settings import Settings
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.pipeline.processor import FeatureProcessor, RawMessage

WRITER_ID = 1  # the events' schema id in their Confluent framing (no registry here)


def _messages(events: int, users: int, seed: int, partitions: int) -> tuple[list[RawMessage], dict[str, Any]]:
    from schemas.codec import listening_event_encoder
    from streams.ingest.simulate import encoded_days

    sim = Simulation(SimulationConfig(users=users, events=events, days=7, seed=seed))
    offsets = [0] * partitions
    out = []
    for day in encoded_days(sim, listening_event_encoder(WRITER_ID), 0, 1):
        for event_time, key, value in day:
            p = zlib.crc32(key) % partitions
            out.append(RawMessage("listening-events", p, offsets[p], key, value, event_time))
            offsets[p] += 1
    return out, {t.track_id: t for t in sim.catalog.tracks}


def _processor(settings: Settings, catalog: dict[str, Any], triggers: bool) -> FeatureProcessor:
    from schemas.codec import Decoder
    from schemas.contract import schema_str
    from schemas.fastread import read_listening_event_core

    schema = schema_str("ListeningEvent")
    decoder = Decoder(schema, lambda _id: schema, reader_id=WRITER_ID, fast_reader=read_listening_event_core)
    config = settings.feature_config()
    trigger_config = settings.trigger_config() if triggers else None
    return FeatureProcessor(
        decoder,
        catalog.get,
        lambda _user, _p: None,
        config=config,
        trigger_config=trigger_config,
        clock_ms=lambda: 1 << 62,
    )


def _flush(proc: FeatureProcessor) -> None:
    """The worker thread's share of a flush (``FeatureHotPath.flush``): the fired triggers as the
    tuples the helpers get, every dirty state's bytes, in parts, each pickled as a pipe would."""
    requests = [(tuple(t), appended, None) for t, appended, _ in proc.take_requests()]
    if requests:
        pickle.dumps(([], requests))
    for part in proc.dirty_parts():
        pickle.dumps(([(key, state) for key, _, state in part], []))
    gctune.after_batch()


def work(proc: FeatureProcessor, messages: Sequence[RawMessage], batch: int, flush_every: int) -> None:
    """Process ``messages`` in fetched batches of ``batch``, flushing every ``flush_every`` events and
    after the last batch."""
    since = 0
    for i in range(0, len(messages), batch):
        chunk = messages[i : i + batch]
        proc.process(chunk)
        gctune.after_batch()  # as the worker does after each batch
        since += len(chunk)
        if since >= flush_every:
            _flush(proc)
            since = 0
    if since:
        _flush(proc)


def _cpu_rounds(
    settings: Settings, messages: list[RawMessage], catalog: dict[str, Any], rounds: int, report: Any
) -> tuple[dict[bool, list[float]], int]:
    spent: dict[bool, list[float]] = {True: [], False: []}
    fired = 0
    for r in range(rounds):
        for on in (True, False) if r % 2 == 0 else (False, True):
            proc = _processor(settings, catalog, on)
            t0 = time.process_time()
            work(proc, messages, settings.max_poll_records, settings.flush_max_events)
            spent[on].append(time.process_time() - t0)
            if on:
                fired = sum(proc.stats.triggers.values())
            report(f"round {r + 1}, triggers {'on ' if on else 'off'}: {spent[on][-1]:.2f} CPU s")
    return spent, fired


_COLLECTED = re.compile(rb"Collected\s*:\s*([0-9,]+)")


def _callgrind(data: Path, report: Any) -> dict[str, int]:
    """Instructions of a child run per mode (on, off, and setup: loading the events only)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("--callgrind needs valgrind (apt-get install valgrind), or run without it")
    procs = {}
    for mode in ("on", "off", "setup"):  # in parallel: counts do not depend on what else runs
        cmd = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={data.parent / ('cg.' + mode)}",
            sys.executable,
            "-m",
            "streams.bench.triggers",
            mode,
            str(data),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # str hashes order sets and dicts: the same counts each time
        procs[mode] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    counts = {}
    for mode, proc in procs.items():
        _, err = proc.communicate()
        found = _COLLECTED.findall(err)
        if proc.returncode != 0 or not found:
            tail = err.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"the callgrind run '{mode}' failed (exit {proc.returncode}): {' / '.join(tail)}")
        counts[mode] = int(found[-1].replace(b",", b""))
        report(f"callgrind, {mode}: {counts[mode]:,} instructions")
    return counts


def run(
    settings: Settings,
    *,
    events: int,
    users: int,
    rounds: int = 5,
    callgrind: bool = False,
    seed: int = 1,
    report: Any = print,
) -> dict[str, Any]:
    messages, catalog = _messages(events, users, seed, settings.events_partitions)
    report(f"simulated {len(messages):,} events for {users:,} listeners")
    gctune.tune()
    out: dict[str, Any] = {"events": len(messages), "users": users}
    if callgrind:
        with tempfile.TemporaryDirectory(prefix="ln-bench-triggers-") as tmp:
            data = Path(tmp) / "events.pkl"
            data.write_bytes(pickle.dumps((settings, messages, catalog), protocol=5))
            counts = _callgrind(data, report)
        on, off = counts["on"] - counts["setup"], counts["off"] - counts["setup"]
        out |= {
            "instructions_on": on,
            "instructions_off": off,
            "instruction_overhead_pct": round(100 * (on / off - 1), 2),
        }
        report(f"triggers add {on - off:,} instructions to {off:,}: {out['instruction_overhead_pct']:.1f}%")
        return out
    spent, fired = _cpu_rounds(settings, messages, catalog, rounds, report)
    on_s, off_s = statistics.median(spent[True]), statistics.median(spent[False])
    pairs = [a / b - 1 for a, b in zip(spent[True], spent[False], strict=True)]
    out |= {
        "rounds": rounds,
        "story_requests": fired,
        "cpu_s_on": round(on_s, 3),
        "cpu_s_off": round(off_s, 3),
        "cpu_s_on_runs": [round(x, 3) for x in spent[True]],
        "cpu_s_off_runs": [round(x, 3) for x in spent[False]],
        "cpu_overhead_pct": round(100 * (on_s / off_s - 1), 1),
        "cpu_overhead_pct_paired": round(100 * statistics.median(pairs), 1),
    }
    report(
        f"triggers on {on_s:.2f} CPU s, off {off_s:.2f} (medians of {rounds}): {out['cpu_overhead_pct']:+.1f}%; "
        f"{fired:,} story requests"
    )
    return out


def _child(mode: str, data: Path) -> None:
    """One callgrind run: load the events (all modes), then process them (``on``/``off``)."""
    settings, messages, catalog = pickle.loads(data.read_bytes())  # noqa: S301 - written by run() just before
    gctune.tune()
    proc = _processor(settings, catalog, mode == "on")
    if mode != "setup":
        work(proc, messages, settings.max_poll_records, settings.flush_max_events)


if __name__ == "__main__":
    _child(sys.argv[1], Path(sys.argv[2]))
