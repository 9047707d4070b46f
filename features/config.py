"""Feature definitions' parameters. Units are in the names."""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    session_gap_ms: int = 30 * MINUTE_MS
    """Plays further apart than this start a new session."""
    grace_ms: int = 10 * MINUTE_MS
    """Events up to this much older than the user's latest event are applied exactly; older ones
    are counted in ``late_events`` and otherwise ignored."""
    decay_half_life_ms: int = WEEK_MS
    """Half-life of the decayed artist and genre scores."""
    top_k: int = 5
    window_top_k: int = 3
    genre_streak_days_kept: int = 60
    days_kept: int = 2000
    """Active days remembered for streaks (older ones are folded into ``longest_streak``)."""
    min_score: float = 1e-4
    """Decayed scores below this (relative to a fresh play) are forgotten."""

    def __post_init__(self) -> None:
        if self.session_gap_ms <= 0 or self.grace_ms < 0 or self.decay_half_life_ms <= 0 or self.top_k < 1:
            raise ValueError("session_gap_ms and decay_half_life_ms must be > 0, grace_ms >= 0, top_k >= 1")
