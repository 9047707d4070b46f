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
  event has left the window (:meth:`Stored.forget_before`), and the set holds the ids of the
  listener's plays in ``grace`` of event time (an id applied out of order may stay up to one window
  longer). An older id still there only changes how a repeat of its event is counted (a duplicate,
  not late): applied it is never.

Beside the users, each partition of the state table holds one record of the worker's own under
``REQUESTS_MARK_KEY`` (not a listener: readers of the table or its changelog skip it with
:func:`is_listener`): the requests mark of the partition's last commit
(``streams.pipeline.checkpoint``). Stores written before it lack it, and load as they are.

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
REQUESTS_MARK_KEY: Final = b"\x00linernotes:requests-mark"
"""The state table's one key per partition that is no listener's (a user id does not begin with NUL)."""


def is_listener(key: bytes) -> bool:
    """Whether a key of the state table (or its changelog) is a listener's."""
    return not key.startswith(b"\x00")


@dataclass(slots=True)
class Stored:
    """A user's state, the per-partition offset of the last event applied to it, and the ids of the
    events applied within its grace window."""

    state: UserState
    offsets: dict[int, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    """event_id -> event_time of the events applied within the grace window, in the order applied."""

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
        """Forget the ids of events older than ``floor`` (the start of the grace window).

        Ids come in nearly in event time, so the first is nearly always the oldest: the processor looks
        at that one alone (no call) and calls this only once it has left the window. An id applied out
        of order behind a newer one leaves with the next call, at most one window later."""
        self.seen = {k: t for k, t in self.seen.items() if t >= floor}
