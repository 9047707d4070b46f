"""Feature definitions' parameters. Units are in the names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from schemas.records import STORY_KINDS

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000
WEEK_MS: Final = 604_800_000  # 7 days


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


NEVER: Final = -1_000_000_000_000_000  # "no story yet" in the triggers' cooldown bookkeeping

KINDS = tuple(k for k in STORY_KINDS if k != "OTHER")
"""The story kinds a trigger can fire (see features.triggers): the Story schema's, less OTHER."""


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    enabled: frozenset[str] = frozenset(KINDS)
    session_min_plays: int = 5
    milestones: tuple[int, ...] = (10, 50, 100, 250, 500, 1000)
    discovery_min_ms: int = 60_000
    discovery_replay_ms: int = DAY_MS
    discovery_min_history: int = 50
    streak_days: tuple[int, ...] = (3, 7, 30, 100, 365)
    tod_min_plays_7d: int = 30
    tod_min_plays_lifetime: int = 150
    tod_min_share: float = 0.4
    weekly_min_plays: int = 5
    cooldown_ms: Mapping[str, int] = field(
        default_factory=lambda: {
            "SESSION_RECAP": 6 * HOUR_MS,
            "MILESTONE": HOUR_MS,
            "DISCOVERY": 6 * HOUR_MS,
            "STREAK": 0,
            "TIME_OF_DAY_SHIFT": WEEK_MS,
            "WEEKLY_DIGEST": 0,
        }
    )
    user_cooldown_ms: int = 10 * MINUTE_MS
    watch: frozenset[int] = field(init=False, repr=False, compare=False)
    """The play counts of an artist the triggers look for (milestones, and 2 for a discovery by
    replay): ``features.update`` notes the artists that reach one, so detection skips the rest."""

    def __post_init__(self) -> None:
        unknown = set(self.enabled) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown trigger kinds: {', '.join(sorted(unknown))}")
        if any(v < 0 for v in self.cooldown_ms.values()) or self.user_cooldown_ms < 0:
            raise ValueError("cooldowns must be >= 0")
        if any(n < 1 for n in (*self.milestones, *self.streak_days)):
            raise ValueError("milestones and streak_days must be >= 1")
        # sorted and distinct: the triggers bisect them and stop at the first one above a count
        object.__setattr__(self, "milestones", tuple(sorted(set(self.milestones))))
        object.__setattr__(self, "streak_days", tuple(sorted(set(self.streak_days))))
        object.__setattr__(self, "watch", frozenset({*self.milestones, 2}))


DEFAULT_TRIGGERS = TriggerConfig()
