"""What ``features.update`` did with a batch, including the little the triggers need of the state
before it: the trigger modules read it for every listener's batch."""

from __future__ import annotations

from typing import Any


class UpdateResult:
    def __init__(self) -> None:
        self.applied: int = 0
        self.late: int = 0
        self.unknown_track: int = 0
        self.new_artists: list[tuple[str, str, int, int]] = []  # (artist_id, name, first play time, event index)
        self.closed_sessions: list[list[Any]] = []
        self.artist_plays: dict[str, int] = {}  # plays applied in this batch, per artist
        self.skipped_idx: list[int] = []  # indexes of events not applied (late, unknown track)
        self.closed_weeks: list[dict[str, Any]] = []  # weeks (Mon 00:00 UTC) this batch moved past
        self.watched: frozenset[int] = frozenset()  # the play counts ``update`` was asked to watch
        self.reached: list[str] = []  # artists whose play count reached a watched one (in order)
        self.reached_n: list[int] = []  # ... the count each reached
        self.reached_at: list[int] = []  # ... and the index in the batch of the event that reached it
        self.last_day: int = -1  # the latest active day before the batch (-1: none)
        self.new_days: int = 0  # active days the batch added

    def __repr__(self) -> str:
        return f"UpdateResult(applied={self.applied}, late={self.late}, closed_sessions={len(self.closed_sessions)})"
