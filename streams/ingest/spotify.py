"""Import a real Spotify "Extended Streaming History" export (``Streaming_History_Audio_*.json``).

Each entry becomes a ListeningEvent (event time = ``ts``, the moment the play ended) and, once per
track, a TrackInfo for the catalog. Decisions (docs/ingest.md has them for users):

* Podcast episodes and audiobook chapters (no ``spotify_track_uri``) are skipped and counted:
  linernotes tells stories about music; an episode has no artist or genre to reason about.
* ``incognito_mode`` plays are skipped unless ``include_incognito``: the listener asked Spotify not
  to use them for personalization, and we honour that.
* A malformed entry is reported with its file and index and never stops the import.
* Event ids are derived from (user, ts, track, ms_played), so importing a file twice produces the
  same ids and downstream consumers can deduplicate.
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
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
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
    entry. Raises ``ValueError`` with the reason if the entry is malformed."""
    if not isinstance(entry, dict):
        raise ValueError(f"entry is a {type(entry).__name__}, not an object")
    uri = entry.get("spotify_track_uri")
    if not uri:
        if entry.get("episode_name") or entry.get("spotify_episode_uri") or entry.get("audiobook_uri"):
            return None
        raise ValueError("neither spotify_track_uri nor an episode")
    if not isinstance(uri, str) or not uri.startswith("spotify:track:"):
        raise ValueError(f"spotify_track_uri {uri!r} is not a track uri")
    ts = parse_ts(entry.get("ts"))
    ms = entry.get("ms_played")
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
        raise ValueError(f"ms_played {ms!r} is not a non-negative integer")
    artist = entry.get("master_metadata_album_artist_name")
    track_name = entry.get("master_metadata_track_name")
    if not isinstance(artist, str) or not artist or not isinstance(track_name, str) or not track_name:
        raise ValueError("track or artist name missing")
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
    """Every importable entry of every file, in file order, stamped with time zone ``tz`` (checked
    before any file is read: ``ValueError`` if unknown). Problems go to ``report``."""
    if tz is not None:
        check_zone(tz)
    report = report if report is not None else ImportReport()
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
            report.imported += 1
            yield item
