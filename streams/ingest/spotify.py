"""Import a real Spotify "Extended Streaming History" export (``Streaming_History_Audio_*.json``).

Each entry becomes a ListeningEvent (event time = ``ts``, the moment the play ended) and, once per
track, a TrackInfo for the catalog. Decisions (docs/ingest.md has them for users):

* Podcast episodes and audiobook chapters (no ``spotify_track_uri``) are skipped and counted:
  linernotes tells stories about music; an episode has no artist or genre to reason about.
* ``incognito_mode`` plays are skipped unless ``include_incognito``: the listener asked Spotify not
  to use them for personalization, and we honour that.
* A malformed entry is reported with its file and index, with every problem it has, and never
  stops the import.
* A history is a backfill, read whole: every file, then sorted by time, so the order of the files
  and their overlaps do not matter (an export's files often share their edges). An entry that
  appears twice (same user, ``ts``, track and ``ms_played``) is one play: it is imported once.
* Event ids are derived from (user, ts, track, ms_played), so importing a file twice produces the
  same ids, and the feature worker applies an id once (``streams.pipeline.stored``).
* The export has no time zone (``ts`` is UTC): the importer names the listener's IANA zone
  (``--tz Europe/Berlin``) and every imported event carries it, so stories can say "morning" in the
  listener's own time. Without one the events carry none, and no time-of-day words are written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.records import ListeningEvent, PlayContext, TrackInfo

_PLATFORM_HINTS = (
    ("ios", "IOS"),
    ("iphone", "IOS"),
    ("ipad", "IOS"),
    ("android", "ANDROID"),
    ("windows", "DESKTOP"),
    ("os x", "DESKTOP"),
    ("osx", "DESKTOP"),
    ("macos", "DESKTOP"),
    ("linux", "DESKTOP"),
    ("web", "WEB"),
    ("cast", "SPEAKER"),
    ("sonos", "SPEAKER"),
    ("speaker", "SPEAKER"),
    ("echo", "SPEAKER"),
    ("tv", "TV"),
    ("playstation", "TV"),
    ("xbox", "TV"),
    ("car", "CAR"),
)


def platform_of(raw: str | None) -> str:
    text = (raw or "").lower()
    return next((p for hint, p in _PLATFORM_HINTS if hint in text), "OTHER")


def stable_id(prefix: str, *parts: object) -> str:
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=10).hexdigest()
    return f"{prefix}_{digest}"


def check_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows (``zoneinfo``), else ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError) as e:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA zone name such as Europe/Berlin or America/New_York"
        ) from e
    return name


def parse_ts(value: Any) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("ts missing")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValueError(f"ts {value!r} is not an ISO-8601 time") from e
    if dt.tzinfo is None:
        raise ValueError(f"ts {value!r} has no time zone")
    return int(dt.timestamp() * 1000)


@dataclass
class ImportReport:
    files: int = 0
    entries: int = 0
    imported: int = 0
    podcasts: int = 0
    incognito: int = 0
    repeats: int = 0
    """Entries that repeat a play already read (same user, ts, track and ms_played): imported once."""
    covered: int = 0
    """Plays at or before the listener's published features (``features_as_of``): not sent."""
    features_as_of: int | None = None
    """The listener's features were as of this event time when the import began (None: no features)."""
    sent: int = 0
    """Plays produced to the events topic."""
    problems: list[str] = field(default_factory=list)

    @property
    def malformed(self) -> int:
        return len(self.problems)


@dataclass(frozen=True)
class Imported:
    event: ListeningEvent
    track: TrackInfo


def convert(entry: Any, user_id: str, tz: str | None = None) -> Imported | None:
    """One export entry -> event (in zone ``tz``) + catalog entry; ``None`` for a podcast/audiobook
    entry. Raises ``ValueError`` naming every problem of a malformed entry, not just the first."""
    if not isinstance(entry, dict):
        raise ValueError(f"entry is a {type(entry).__name__}, not an object")
    uri = entry.get("spotify_track_uri")
    if not uri and (entry.get("episode_name") or entry.get("spotify_episode_uri") or entry.get("audiobook_uri")):
        return None
    problems = []
    track_uri = uri if isinstance(uri, str) and uri.startswith("spotify:track:") else None
    if not uri:
        problems.append("neither spotify_track_uri nor an episode")
    elif track_uri is None:
        problems.append(f"spotify_track_uri {uri!r} is not a track uri")
    ts: int | None = None
    try:
        ts = parse_ts(entry.get("ts"))
    except ValueError as e:
        problems.append(str(e))
    ms = entry.get("ms_played")
    ms_ok = ms if isinstance(ms, int) and not isinstance(ms, bool) and ms >= 0 else None
    if ms_ok is None:
        problems.append(f"ms_played {ms!r} is not a non-negative integer")
    artist, track_name = entry.get("master_metadata_album_artist_name"), entry.get("master_metadata_track_name")
    artist_ok = artist if isinstance(artist, str) and artist else None
    name_ok = track_name if isinstance(track_name, str) and track_name else None
    if artist_ok is None or name_ok is None:
        problems.append("track or artist name missing")
    if problems or track_uri is None or ts is None or ms_ok is None or artist_ok is None or name_ok is None:
        raise ValueError("; ".join(problems))
    uri, ms, artist, track_name = track_uri, ms_ok, artist_ok, name_ok
    album = entry.get("master_metadata_album_album_name") or None
    artist_id = stable_id("art", artist.casefold())
    track = TrackInfo(
        track_id=uri,
        track_name=track_name,
        artist_id=artist_id,
        artist_name=artist,
        album_id=stable_id("alb", artist.casefold(), album.casefold()) if album else None,
        album_name=album,
    )
    event = ListeningEvent(
        event_id=stable_id("ev", user_id, ts, uri, ms),
        user_id=user_id,
        track_id=uri,
        event_time=ts,
        ms_played=ms,
        platform=platform_of(entry.get("platform")),
        country=entry.get("conn_country") or None,
        reason_start=str(entry.get("reason_start") or "unknown"),
        reason_end=str(entry.get("reason_end") or "unknown"),
        shuffle=bool(entry.get("shuffle")),
        skipped=bool(entry.get("skipped")),
        offline=bool(entry.get("offline")),
        context=PlayContext(),
        tz=tz,
    )
    return Imported(event, track)


def read(
    paths: list[Path],
    user_id: str,
    *,
    include_incognito: bool = False,
    report: ImportReport | None = None,
    tz: str | None = None,
) -> Iterator[Imported]:
    """Every play of every file, in time order (ties by event id), each play once however many files
    hold it, stamped with time zone ``tz`` (checked before any file is read: ``ValueError`` if
    unknown). Problems go to ``report``.

    The files are read whole before the first play comes out: a backfill is sorted, so that nothing in
    it arrives after a later play of the same listener (the feature worker would count it late)."""
    if tz is not None:
        check_zone(tz)
    report = report if report is not None else ImportReport()
    plays: dict[str, tuple[str, Imported]] = {}  # event id -> (the entry as canonical JSON, the play)
    for path, i, entry in _entries(paths, report):
        report.entries += 1
        if isinstance(entry, dict) and entry.get("incognito_mode") and not include_incognito:
            report.incognito += 1
            continue
        try:
            item = convert(entry, user_id, tz)
        except (ValueError, TypeError) as e:
            report.problems.append(f"{path}[{i}]: {e}")
            continue
        if item is None:
            report.podcasts += 1
            continue
        # Repeats of a play are the same entry as a rule; should two differ in a field outside the id
        # (a device name), the one kept must not depend on which file came first.
        canonical = json.dumps(entry, sort_keys=True, default=str)
        kept = plays.get(item.event.event_id)
        if kept is not None:
            report.repeats += 1
            if kept[0] <= canonical:
                continue
        plays[item.event.event_id] = (canonical, item)
    items = sorted((item for _, item in plays.values()), key=lambda x: (x.event.event_time, x.event.event_id))
    report.imported += len(items)
    yield from items


def _entries(paths: list[Path], report: ImportReport) -> Iterator[tuple[Path, int, Any]]:
    """``(file, index, entry)`` of every readable file; an unreadable one is a problem in ``report``."""
    for path in paths:
        report.files += 1
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            report.problems.append(f"{path}: cannot read as JSON: {e}")
            continue
        if not isinstance(data, list):
            report.problems.append(f"{path}: expected a JSON array of plays, got {type(data).__name__}")
            continue
        for i, entry in enumerate(data):
            yield path, i, entry
