"""What a replay is asked to do (:class:`ReplayOptions`) and what it did (:class:`ReplayResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CHUNK_EVENTS = 50_000  # events a replay hands to the feature code at once (see Replay._chunks)


@dataclass
class ReplayResult:
    events: int = 0
    applied: int = 0
    duplicates: int = 0  # events skipped because the listener had applied their event_id
    dead: int = 0
    users: int = 0
    requests: int = 0
    stories: int = 0
    seconds: float = 0.0
    resumed: bool = False
    scanned_from_start: bool = False
    notes: list[str] = field(default_factory=list)
    first_event_at: float = 0.0  # epoch seconds: the first events were read
    finished_at: float = 0.0  # epoch seconds: the last outputs were delivered

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def steady_events_per_s(self) -> float:
        """Events/s from the first event read to the last output delivered: without the start-up
        (processes, clients, state stores), as the live worker's figure is measured."""
        span = self.finished_at - self.first_event_at
        return self.events / span if self.first_event_at and span > 0 else 0.0


@dataclass(frozen=True)
class ReplayOptions:
    start_ms: int
    end_ms: int
    files: tuple[Path, ...] = ()
    users: frozenset[str] = frozenset()
    with_stories: bool = False
    suffix: str = ".backfill"
    checkpoint_every: int = 200_000
    progress: bool = True
    fresh: bool = False  # ignore an existing checkpoint
    stop_after_checkpoints: int | None = None  # tests: simulate an interruption after N checkpoints
    partitions: frozenset[int] = frozenset()  # topic source: only these partitions (a shard); empty = all
    shard: str = ""  # a shard's own state and checkpoint directory
    publishers: int = 2  # helper processes writing snapshots and requests (0: this process writes them)
