"""Record types that mirror the .avsc files field for field.

Times are UTC epoch milliseconds (``int``) everywhere in Python; the schemas mark them
``timestamp-millis`` so other clients see timestamps. Enum symbols are plain ``str``.
``to_avro``/``from_avro`` convert to and from the dicts fastavro reads and writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PLATFORMS = ("IOS", "ANDROID", "DESKTOP", "WEB", "SPEAKER", "TV", "CAR", "OTHER")
CONTEXT_TYPES = ("PLAYLIST", "ALBUM", "ARTIST", "RADIO", "SEARCH", "COLLECTION", "UNKNOWN")
STORY_KINDS = ("SESSION_RECAP", "MILESTONE", "DISCOVERY", "STREAK", "TIME_OF_DAY_SHIFT", "WEEKLY_DIGEST", "OTHER")
FACT_TYPES = ("NUMBER", "DURATION", "ARTIST", "TRACK", "GENRE", "ALBUM", "DATE", "TIME_OF_DAY", "STREAK", "TEXT")


@dataclass(slots=True, frozen=True)
class PlayContext:
    type: str = "UNKNOWN"
    uri: str | None = None


@dataclass(slots=True, frozen=True)
class ListeningEvent:
    event_id: str
    user_id: str
    track_id: str
    event_time: int
    ms_played: int
    platform: str = "OTHER"
    country: str | None = None
    reason_start: str = "unknown"
    reason_end: str = "unknown"
    shuffle: bool = False
    skipped: bool = False
    offline: bool = False
    context: PlayContext = field(default_factory=PlayContext)
    tz: str | None = None
    """The listener's IANA time zone (``Europe/Berlin``) if known; local time of day comes from it."""

    def to_avro(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_avro(cls, d: dict[str, Any]) -> ListeningEvent:
        ctx = d.get("context") or {}
        return cls(**{**d, "context": PlayContext(**ctx)})


@dataclass(slots=True, frozen=True)
class TrackInfo:
    track_id: str
    track_name: str
    artist_id: str
    artist_name: str
    album_id: str | None = None
    album_name: str | None = None
    genres: tuple[str, ...] = ()
    duration_ms: int | None = None
    release_year: int | None = None

    def to_avro(self) -> dict[str, Any]:
        d = asdict(self)
        d["genres"] = list(self.genres)
        return d

    @classmethod
    def from_avro(cls, d: dict[str, Any]) -> TrackInfo:
        return cls(**{**d, "genres": tuple(d.get("genres") or ())})


@dataclass(slots=True, frozen=True)
class Scored:
    name: str
    score: float


@dataclass(slots=True, frozen=True)
class Counted:
    name: str
    count: int


@dataclass(slots=True, frozen=True)
class WindowAgg:
    name: str
    start: int
    end: int
    plays: int
    minutes: float
    top_artists: tuple[Counted, ...] = ()
    top_genres: tuple[Counted, ...] = ()


@dataclass(slots=True, frozen=True)
class SessionSummary:
    start: int
    end: int
    plays: int
    minutes: float
    skips: int
    top_artist: str | None = None


@dataclass(slots=True, frozen=True)
class UserFeatures:
    user_id: str
    as_of: int
    total_plays: int
    total_ms_played: int
    skip_rate: float = 0.0
    skip_rate_7d: float = 0.0
    plays_1h: int = 0
    plays_24h: int = 0
    plays_7d: int = 0
    minutes_24h: float = 0.0
    minutes_7d: float = 0.0
    windows: tuple[WindowAgg, ...] = ()
    top_artists: tuple[Scored, ...] = ()
    top_genres: tuple[Scored, ...] = ()
    artist_plays: tuple[Counted, ...] = ()
    streak_days: int = 0
    longest_streak_days: int = 0
    genre_streaks: tuple[Counted, ...] = ()
    distinct_artists: int = 0
    new_artists_7d: int = 0
    sessions: int = 0
    last_session: SessionSummary | None = None
    hour_profile: tuple[float, ...] = ()
    late_events: int = 0

    def to_avro(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_avro(cls, d: dict[str, Any]) -> UserFeatures:
        def counted(items: Any) -> tuple[Counted, ...]:
            return tuple(Counted(**c) for c in items or ())

        last = d.get("last_session")
        return cls(
            **{
                **d,
                "windows": tuple(
                    WindowAgg(**{**w, "top_artists": counted(w["top_artists"]), "top_genres": counted(w["top_genres"])})
                    for w in d.get("windows") or ()
                ),
                "top_artists": tuple(Scored(**x) for x in d.get("top_artists") or ()),
                "top_genres": tuple(Scored(**x) for x in d.get("top_genres") or ()),
                "artist_plays": counted(d.get("artist_plays")),
                "genre_streaks": counted(d.get("genre_streaks")),
                "last_session": SessionSummary(**last) if last else None,
                "hour_profile": tuple(d.get("hour_profile") or ()),
            }
        )


@dataclass(slots=True, frozen=True)
class Fact:
    name: str
    type: str
    value: str
    number: float | None = None
    unit: str | None = None

    def to_avro(self) -> dict[str, Any]:  # by hand: dataclasses.asdict deep-copies every value
        return {"name": self.name, "type": self.type, "value": self.value, "number": self.number, "unit": self.unit}


@dataclass(slots=True, frozen=True)
class FactSheet:
    key_fact: str
    facts: tuple[Fact, ...] = ()

    def to_avro(self) -> dict[str, Any]:
        return {"key_fact": self.key_fact, "facts": [f.to_avro() for f in self.facts]}

    @classmethod
    def from_avro(cls, d: dict[str, Any]) -> FactSheet:
        return cls(key_fact=d["key_fact"], facts=tuple(Fact(**f) for f in d.get("facts") or ()))


@dataclass(slots=True, frozen=True)
class StoryRequest:
    story_id: str
    user_id: str
    kind: str
    trigger_key: str
    event_time: int
    facts: FactSheet
    seed: int = 0

    def to_avro(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in ("story_id", "user_id", "kind", "trigger_key", "event_time", "seed")}
        d["facts"] = self.facts.to_avro()
        return d

    @classmethod
    def from_avro(cls, d: dict[str, Any]) -> StoryRequest:
        return cls(**{**d, "facts": FactSheet.from_avro(d["facts"])})


@dataclass(slots=True, frozen=True)
class Story:
    story_id: str
    user_id: str
    kind: str
    text: str
    facts: FactSheet
    generator: str
    grounded: bool
    event_time: int
    created_at: int
    facts_used: tuple[str, ...] = ()

    def to_avro(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            f: getattr(self, f)
            for f in ("story_id", "user_id", "kind", "text", "generator", "grounded", "event_time", "created_at")
        }
        d["facts"] = self.facts.to_avro()
        d["facts_used"] = list(self.facts_used)
        return d

    @classmethod
    def from_avro(cls, d: dict[str, Any]) -> Story:
        return cls(**{**d, "facts": FactSheet.from_avro(d["facts"]), "facts_used": tuple(d.get("facts_used") or ())})
