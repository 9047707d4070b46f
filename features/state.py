"""One listener's feature state: plain data, so it serializes to any format (the changelog uses
msgpack) and two states compare with ``==``.

Log entries, sessions and artist records are lists, not tuples, so a state read back from a
serialized form equals the state that was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Final

# Indexes into an artist record: [plays, ms_played, first_seen, last_seen, name]
A_PLAYS: Final = 0
A_MS: Final = 1
A_FIRST: Final = 2
A_LAST: Final = 3
A_NAME: Final = 4
# Indexes into a log entry: [event_time, artist_id, genre, ms_played, skipped, local hour (-1: no zone)]
# (entries of a state saved before local hours have no L_HOUR: read it with ``local_hour_of``)
L_TIME: Final = 0
L_ARTIST: Final = 1
L_GENRE: Final = 2
L_MS: Final = 3
L_SKIP: Final = 4
L_HOUR: Final = 5
# Indexes into a session: [start, end, plays, ms_played, skips, {artist_id: plays}, tz of its first play]
# (sessions of a state saved before time zones have no S_TZ: read it with ``session_tz``)
S_START: Final = 0
S_END: Final = 1
S_PLAYS: Final = 2
S_MS: Final = 3
S_SKIPS: Final = 4
S_ARTISTS: Final = 5
S_TZ: Final = 6


@dataclass(slots=True)
class UserState:
    user_id: str
    as_of: int = 0
    """Event time of the latest applied event (the user's own event-time clock)."""
    total_plays: int = 0
    total_ms: int = 0
    skips: int = 0
    late_events: int = 0
    artists: dict[str, list[Any]] = field(default_factory=dict)
    genres: dict[str, list[int]] = field(default_factory=dict)  # genre -> [plays, ms]
    landmark: int = 0  # decayed scores are relative to 2^((t - landmark) / half_life)
    artist_scores: dict[str, float] = field(default_factory=dict)
    genre_scores: dict[str, float] = field(default_factory=dict)
    log: list[list[Any]] = field(default_factory=list)  # sorted by event time; the last 7 d + grace
    # Plays per local hour of day (the event's own zone), of the plays whose event had a known zone.
    # (A state saved before time zones has ``hours`` by UTC hour instead: ``from_dict`` drops it.)
    local_hours: list[int] = field(default_factory=lambda: [0] * 24)
    days: list[int] = field(default_factory=list)  # sorted active days (epoch day numbers)
    longest_before: int = 0  # longest streak among days no longer kept
    genre_days: dict[str, list[int]] = field(default_factory=dict)  # genre family -> sorted recent days
    open_sessions: list[list[Any]] = field(default_factory=list)  # sorted by start
    sessions_closed: int = 0
    last_session: list[Any] | None = None
    story_times: dict[str, int] = field(default_factory=dict)  # trigger kind (or "*") -> event time of its last story
    discovered: dict[str, int] = field(default_factory=dict)  # artist -> discovery time, kept for about two days

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, sharing (not copying) the nested containers: serialize it, don't keep it."""
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UserState:
        if "hours" in d:  # saved before time zones: plays by UTC hour, which say nothing of local time
            d = {k: v for k, v in d.items() if k != "hours"}
        return cls(**d)


def local_hour_of(entry: list[Any]) -> int:
    """A log entry's local hour of day; -1 when its event had no known zone."""
    return int(entry[L_HOUR]) if len(entry) > L_HOUR else -1


def session_tz(session: list[Any]) -> str | None:
    """The time zone of a session's first play (None: unknown)."""
    return session[S_TZ] if len(session) > S_TZ else None


_FIELDS = tuple(f.name for f in fields(UserState))
