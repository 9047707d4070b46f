"""Exponentially decayed scores: each play adds 2^((t - landmark) / half_life).

Sums commute, so scores do not depend on arrival order (up to float rounding, which the
snapshot's rounding hides). The landmark moves forward now and then to keep exponents small.
"""

from __future__ import annotations

from features.config import FeatureConfig

_RESCALE_HALF_LIVES = 64


def rescale(scores: dict[str, float], old: int, new: int, config: FeatureConfig) -> None:
    factor = 2.0 ** ((old - new) / config.decay_half_life_ms)
    floor = config.min_score
    for key in list(scores):
        v = scores[key] * factor
        if v < floor:
            del scores[key]
        else:
            scores[key] = v


def maybe_move_landmark(landmark: int, as_of: int, config: FeatureConfig, *tables: dict[str, float]) -> int:
    """Return the landmark to use from now on, rescaling ``tables`` if it moves."""
    if as_of - landmark <= _RESCALE_HALF_LIVES * config.decay_half_life_ms:
        return landmark
    for table in tables:
        rescale(table, landmark, as_of, config)
    return as_of


def at(score: float, landmark: int, as_of: int, config: FeatureConfig) -> float:
    """A stored score expressed as of ``as_of`` (one fresh play at as_of = 1.0)."""
    return float(score * 2.0 ** ((landmark - as_of) / config.decay_half_life_ms))
