"""Garbage-collector settings for the long-running hot loops (feature worker, replay).

A worker holds hundreds of thousands of long-lived objects (catalog, user states) and allocates
many short-lived dicts per batch. With CPython's default thresholds (700, 10, 10) the collector
runs a young-generation pass every 700 allocations and keeps re-scanning the old heap, where
nothing can be freed: the states hold no reference cycles (dicts, lists and numbers, freed by
reference counting), so collecting less often loses nothing but a little memory held between passes.
"""

from __future__ import annotations

import gc
import time

THRESHOLD = (50_000, 20, 100)
FULL_EVERY_S = 600.0  # a full collection over everything, frozen or not, this often
_last_full = [time.monotonic()]


def tune() -> None:
    """Raise the thresholds and move everything alive now out of the collector's way."""
    gc.set_threshold(*THRESHOLD)
    gc.freeze()


def freeze() -> None:
    """After a big long-lived structure was loaded (the catalog): never scan it again."""
    gc.freeze()


def after_batch() -> None:
    """Called after each batch a hot loop applied (the worker's batches, replay's chunks, the helpers'
    parts): what survived it (mostly user state, and the story requests fired since the last flush)
    is frozen, so the collector never scans it again. The passes find nothing to free in it, and
    freezing only at flushes would leave the older generations' passes re-scanning the survivors
    gathered since the last flush. Every ``FULL_EVERY_S`` everything is unfrozen and collected once,
    so a reference cycle that became garbage after being frozen is still freed."""
    now = time.monotonic()
    if now - _last_full[0] >= FULL_EVERY_S:
        gc.unfreeze()
        gc.collect()
        _last_full[0] = now
    gc.freeze()
