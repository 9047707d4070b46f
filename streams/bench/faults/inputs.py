"""What each scenario sends: simulated listening, with garbage mixed in or every event sent twice, and
the plays of a Spotify history that ``linernotes import-history`` sends."""

from __future__ import annotations

import json
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.records import TrackInfo
from streams.bench.faults.truth import Sent
from streams.ingest import spotify
from streams.ingest.simulator import Simulation, SimulationConfig

Record = tuple[bytes, bytes]  # key (user id), value
GARBAGE_KINDS = ("truncated_avro", "wrong_magic_byte", "unknown_schema_id", "json", "empty")
UNKNOWN_SCHEMA_ID = 987_654  # far above what the local registry hands out for a bench's few subjects
DUPLICATE_WINDOW_MS = 60_000


@dataclass
class Workload:
    """Simulated listening in production order (each day by event time, then user, as ``linernotes
    simulate`` sends it), with each event's Avro value."""

    events: list[dict[str, Any]]
    values: list[bytes]
    tracks: list[TrackInfo]


def simulate(config: SimulationConfig, encode: Callable[[dict[str, Any]], bytes]) -> Workload:
    sim = Simulation(config)
    events = [e for day in sim.days() for e in sorted(day, key=lambda e: (e["event_time"], e["user_id"]))]
    return Workload(events, [encode(e) for e in events], list(sim.catalog.tracks))


@dataclass
class Inputs:
    records: list[Record]
    good: list[dict[str, Any]]
    """The good events in the order sent, a repeat as often as it was sent."""
    sent: Sent
    side_events: list[dict[str, Any]] = field(default_factory=list)
    """Events another process sends (the history import), in its order."""
    side_tracks: list[TrackInfo] = field(default_factory=list)


def _key(event: dict[str, Any]) -> bytes:
    return str(event["user_id"]).encode()


def plain(w: Workload) -> Inputs:
    return Inputs(
        [(_key(e), v) for e, v in zip(w.events, w.values, strict=True)], w.events, Sent(good_values=frozenset(w.values))
    )


def garbage(kind: str, event: dict[str, Any], value: bytes) -> bytes:
    """One bad record of ``kind``, made from a good event and its Confluent-framed value."""
    if kind == "truncated_avro":
        return value[: max(6, len(value) // 2)]  # framing intact, body cut
    if kind == "wrong_magic_byte":
        return b"\x01" + value[1:]
    if kind == "unknown_schema_id":
        return value[:1] + struct.pack(">I", UNKNOWN_SCHEMA_ID) + value[5:]
    if kind == "json":
        return json.dumps(event).encode()
    if kind == "empty":
        return b""
    raise ValueError(f"unknown garbage kind {kind!r}")


def with_garbage(w: Workload, share: float = 0.10) -> Inputs:
    """The workload with bad records making up ``share`` of all records: after every
    ``(1 - share) / share`` good ones, one of the five kinds in turn, keyed by that event's listener."""
    every = round((1 - share) / share)
    records: list[Record] = []
    bad: dict[str, Counter[bytes]] = {k: Counter() for k in GARBAGE_KINDS}
    for i, (event, value) in enumerate(zip(w.events, w.values, strict=True)):
        records.append((_key(event), value))
        if (i + 1) % every == 0:
            kind = GARBAGE_KINDS[((i + 1) // every - 1) % len(GARBAGE_KINDS)]
            junk = garbage(kind, event, value)
            bad[kind][junk] += 1
            records.append((_key(event), junk))
    return Inputs(records, w.events, Sent(bad, frozenset(w.values)))


def twice(w: Workload, window_ms: int = DUPLICATE_WINDOW_MS) -> Inputs:
    """Every event sent twice: the events of each ``window_ms`` of event time go out, then again, as a
    producer resends a batch whose acknowledgement it lost. The copy thus comes within a minute of
    event time of the first, inside any listener's grace window, at whatever size of workload."""
    records: list[Record] = []
    good: list[dict[str, Any]] = []
    batch: list[int] = []

    def resend() -> None:
        for _ in range(2):
            records.extend((_key(w.events[i]), w.values[i]) for i in batch)
            good.extend(w.events[i] for i in batch)
        batch.clear()

    for i, event in enumerate(w.events):
        if batch and event["event_time"] // window_ms != w.events[batch[0]]["event_time"] // window_ms:
            resend()
        batch.append(i)
    resend()
    return Inputs(records, good, Sent(good_values=frozenset(w.values)))


def history(path: Path, user_id: str) -> tuple[list[dict[str, Any]], list[TrackInfo]]:
    """The plays ``linernotes import-history PATH --user USER_ID`` sends to a listener it has no
    features of, as event dicts, and their catalog entries."""
    plays = list(spotify.read([path], user_id))
    tracks = {p.track.track_id: p.track for p in plays}
    return [p.event.to_avro() for p in plays], list(tracks.values())
