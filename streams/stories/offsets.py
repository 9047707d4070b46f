"""The story agent's bookkeeping per message: its headers, and per partition which offsets are in
flight, which are finished and what may be committed."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Message


def headers_of(msg: Message) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    raw: Any = msg.headers() or []
    for k, v in raw.items() if isinstance(raw, dict) else raw:
        if isinstance(v, bytes):
            out[k] = v
        elif isinstance(v, str):
            out[k] = v.encode()
    return out


class PartitionOffsets:
    """Offsets of one partition: which are in flight, which are finished, what may be committed."""

    def __init__(self) -> None:
        self.open: set[int] = set()
        self.finished: list[int] = []
        self.marks: dict[int, dict[int, int]] = {}  # offset -> the stories' known end when it arrived

    def receive(self, offset: int, stories_end: dict[int, int]) -> None:
        self.open.add(offset)
        self.marks[offset] = dict(stories_end)

    def marks_at(self, point: int, stories_end: dict[int, int]) -> dict[int, int]:
        """The read-back marks of a commit at ``point``: the stories' known end when the request at
        ``point`` arrived, or now if it has not arrived yet (see readback.py)."""
        for offset in [o for o in self.marks if o < point]:
            del self.marks[offset]
        arrived = [o for o in self.marks if o >= point]  # offsets need not be contiguous
        return dict(self.marks[min(arrived)]) if arrived else dict(stories_end)

    def commit_point(self) -> int | None:
        """The next offset to read, if finished work extends the committed prefix."""
        if not self.finished:
            return None
        lowest_open = min(self.open) if self.open else None
        ready = [o for o in self.finished if lowest_open is None or o < lowest_open]
        if not ready:
            return None
        top = max(ready)
        self.finished = [o for o in self.finished if o > top]
        return top + 1
