"""Listening streaks over active days (epoch day numbers), independent of arrival order."""

from __future__ import annotations

import bisect


def add_day(days: list[int], day: int) -> bool:
    """Insert ``day`` into the sorted list; True if it was new."""
    i = bisect.bisect_left(days, day)
    if i < len(days) and days[i] == day:
        return False
    days.insert(i, day)
    return True


def current_streak(days: list[int], today: int) -> int:
    """Consecutive active days ending today (or yesterday: a streak lives until a day is missed)."""
    if not days or days[-1] < today - 1:
        return 0
    n, expect = 0, days[-1]
    for d in reversed(days):
        if d != expect:
            break
        n += 1
        expect -= 1
    return n


def longest_streak(days: list[int]) -> int:
    best = run = 0
    prev = None
    for d in days:
        run = run + 1 if prev is not None and d == prev + 1 else 1
        best = max(best, run)
        prev = d
    return best
