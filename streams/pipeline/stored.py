"""The stored form of one listener: the feature state plus what makes each event count once.

Two records ride with the state, in the same RocksDB value and changelog record, so they survive
restarts and rebalances exactly as the state does:

* ``offsets``: per source partition, the offset of the last event applied. It tells events read
  again after a crash (a commit cut short) from new ones: a re-read event may be older than the
  grace window by then, and counting it as late would be as wrong as applying it again.
* ``seen``: the ``event_id`` (with its event time) of every event applied within the listener's
  grace window, ``event_time >= as_of - grace``. An event sent twice (a producer's retry, a history
  imported again, a dead letter re-driven) is skipped as a duplicate by its id. The window is the
  horizon because nothing older can be applied anyway: ``features.update`` refuses an event older
  than ``as_of - grace`` as late, and ``as_of`` never goes back. So an id may be forgotten once its
  event has left the window. Ids are forgotten in bulk (:meth:`Stored.forget_before`), when the set
  has doubled since the last time, so the set holds the window's ids plus at most as many older ones
  (and never fewer than ``PRUNE_AT``): bounded by the listener's plays in ``grace`` of event time.
  An older id still there only changes how a repeat of its event is counted (a duplicate, not late):
  applied it is never.

Format, versioned: ``{"v": 2, "s": state, "o": offsets, "i": seen}`` in msgpack. Version 1 (no
``v``, no ``i``) is what workers before ids wrote; it reads with an empty ``seen``. Fields a reader
does not know are ignored, so a worker rolled back reads what a newer one wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import msgpack

from features import UserState

FORMAT: Final = 2
PRUNE_AT: Final = 32  # ids a set may hold before old ones are looked for


@dataclass(slots=True)
class Stored:
    """A user's state, the per-partition offset of the last event applied to it, and the ids of the
    events applied within its grace window."""

    state: UserState
    offsets: dict[int, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    """event_id -> event_time of the events applied within the grace window (and some older ones)."""
    prune_at: int = field(default=PRUNE_AT, compare=False)
    """Size of ``seen`` above which :meth:`forget_before` runs again (not stored: a loaded state starts
    at ``PRUNE_AT``)."""

    def dumps(self) -> bytes:
        packed: bytes = msgpack.packb(
            {"v": FORMAT, "s": self.state.to_dict(), "o": self.offsets, "i": self.seen}, use_bin_type=True
        )
        return packed

    @classmethod
    def loads(cls, raw: bytes) -> Stored:
        # Any version reads: v1 has no "i"; a newer one's extra keys are ignored (a format that changed
        # the meaning of s, o or i would use a new key for it, not a new value under the old one).
        d: dict[str, Any] = msgpack.unpackb(raw, raw=False, strict_map_key=False)
        return cls(UserState.from_dict(d["s"]), {int(k): v for k, v in d["o"].items()}, d.get("i") or {})

    def forget_before(self, floor: int) -> None:
        """Forget the ids of events older than ``floor`` (the start of the grace window), and run again
        only once the set has doubled: a scan costs its size, so ids cost O(1) each however many a
        listener plays within the window. (The processor checks ``len(seen) > prune_at`` itself, on the
        hot path, and calls this only then.)"""
        seen = self.seen
        for event_id in [k for k, t in seen.items() if t < floor]:
            del seen[event_id]
        self.prune_at = max(PRUNE_AT, 2 * len(seen))
