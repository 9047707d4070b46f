"""Listeners with habits: daily rhythms, sessions with gaps, drifting genre taste, skips, repeats,
discoveries, multi-day streaks and several devices. Deterministic for a given config.

Each listener lives in a time zone of their country (``tz`` on every event) and listens at their
favourite hours of *local* time: a listener in Tokyo and one in New York who both like 8 am play
14 hours apart in UTC.

Output is grouped by day (in event time): each day's events from all listeners, sorted by
``event_time``. Per listener, event times strictly increase across the whole run.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import operator
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from features import localtime
from streams.ingest.simulator.catalog import Catalog, build_catalog

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000
SESSION_GAP_MS = 35 * MIN_MS  # a little above the default 30 min session gap, so sessions separate
DEFAULT_START = "2026-11-02T00:00:00Z"  # a Monday; fixed so that default runs are reproducible
_COUNTRIES = ("US", "GB", "DE", "SE", "BR", "MX", "FR", "JP", "IN", "ES", "NL", "CA", "AU", "PL", "IT")
_PLATFORMS = ("IOS", "ANDROID", "DESKTOP", "WEB", "SPEAKER", "TV", "CAR")
_CONTEXTS = ("PLAYLIST", "ALBUM", "ARTIST", "RADIO", "SEARCH", "COLLECTION")
_CONTEXT_W = tuple(itertools.accumulate((40, 15, 10, 12, 6, 17)))
_FIRST_REASONS = ("clickrow", "playbtn", "appload", "remote")
# IANA zones per country, weighted roughly by population (the default where a country has one)
_ZONES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "US": (
        (
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "Pacific/Honolulu",
        ),
        (47, 29, 5, 2, 16, 1),
    ),
    "GB": (("Europe/London",), (1,)),
    "DE": (("Europe/Berlin",), (1,)),
    "SE": (("Europe/Stockholm",), (1,)),
    "BR": (("America/Sao_Paulo", "America/Bahia", "America/Manaus"), (80, 12, 8)),
    "MX": (("America/Mexico_City", "America/Monterrey", "America/Tijuana"), (70, 18, 12)),
    "FR": (("Europe/Paris",), (1,)),
    "JP": (("Asia/Tokyo",), (1,)),
    "IN": (("Asia/Kolkata",), (1,)),
    "ES": (("Europe/Madrid", "Atlantic/Canary"), (95, 5)),
    "NL": (("Europe/Amsterdam",), (1,)),
    "CA": (
        (
            "America/Toronto",
            "America/Vancouver",
            "America/Edmonton",
            "America/Winnipeg",
            "America/Halifax",
            "America/St_Johns",
        ),
        (60, 15, 12, 6, 5, 2),
    ),
    "AU": (
        ("Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth", "Australia/Adelaide"),
        (33, 31, 17, 11, 8),
    ),
    "PL": (("Europe/Warsaw",), (1,)),
    "IT": (("Europe/Rome",), (1,)),
}
_by_time = operator.itemgetter("event_time")


def parse_time(iso: str) -> int:
    """ISO-8601 -> UTC epoch millis ('Z' or an offset; naive means UTC)."""
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


@dataclass(frozen=True)
class SimulationConfig:
    users: int
    events: int
    days: int = 7
    seed: int = 42
    start: str = DEFAULT_START
    artists: int | None = None

    @property
    def start_ms(self) -> int:
        return parse_time(self.start)

    @property
    def artist_count(self) -> int:
        return self.artists or max(100, min(5000, self.users // 4))


@dataclass
class Listener:
    index: int
    user_id: str
    rng: random.Random
    weight: float
    daily_prob: float
    peak_hours: list[int]
    taste: list[tuple[str, float]]
    known: list[int] = field(default_factory=list)
    known_set: set[int] = field(default_factory=set)
    p_new: float = 0.08
    p_skip: float = 0.2
    p_repeat: float = 0.05
    session_len: int = 10
    platforms: tuple[str, ...] = ("IOS",)
    country: str = "US"
    tz: str = "America/New_York"
    last_end: int = 0
    seq: int = 0


class Simulation:
    def __init__(self, config: SimulationConfig) -> None:
        if config.users < 1 or config.events < 0 or config.days < 1:
            raise ValueError("need users >= 1, events >= 0 and days >= 1")
        self.config = config
        self.catalog: Catalog = build_catalog(artists=config.artist_count, seed=config.seed)
        self.listeners = [self._listener(i) for i in range(config.users)]
        self._track_ids = tuple(t.track_id for t in self.catalog.tracks)
        self._durations = tuple(t.duration_ms or 180_000 for t in self.catalog.tracks)
        self._plan = self._plan_days()

    # -- set-up ------------------------------------------------------------------------------
    def _listener(self, i: int) -> Listener:
        rng = random.Random(f"listener/{self.config.seed}/{i}")
        genres = self.catalog.genres
        taste = [(g, rng.uniform(0.2, 1.0)) for g in rng.sample(genres, rng.randint(2, 5))]
        habit = rng.random()
        listener = Listener(
            index=i,
            user_id=f"u{i:07d}",
            rng=rng,
            weight=min(rng.paretovariate(1.3), 40.0),  # a few heavy listeners, a long tail of light ones
            daily_prob=0.97 if habit < 0.3 else rng.uniform(0.35, 0.9),  # 30% listen (nearly) every day
            peak_hours=sorted(rng.sample((7, 8, 9, 12, 13, 17, 18, 19, 20, 21, 22, 23), rng.randint(1, 3))),
            taste=taste,
            p_new=rng.uniform(0.02, 0.2),
            p_skip=rng.uniform(0.03, 0.4),
            p_repeat=rng.uniform(0.0, 0.1),
            session_len=rng.randint(4, 25),
            platforms=tuple(rng.sample(_PLATFORMS, rng.randint(1, 3))),
            country=rng.choice(_COUNTRIES),
        )
        # (a generator of its own: the listener's other draws stay what they were before zones)
        zones, weights = _ZONES[listener.country]
        listener.tz = random.Random(f"zone/{self.config.seed}/{i}").choices(zones, weights)[0]
        return listener

    def _plan_days(self) -> list[list[int]]:
        """Events per listener per day, summing exactly to ``config.events``."""
        cfg = self.config
        total_w = sum(li.weight for li in self.listeners)
        exact = [cfg.events * li.weight / total_w for li in self.listeners]
        quotas = [int(x) for x in exact]
        by_remainder = sorted(range(cfg.users), key=lambda i: (quotas[i] - exact[i], i))
        for i in by_remainder[: cfg.events - sum(quotas)]:
            quotas[i] += 1
        plan: list[list[int]] = []
        for li, q in zip(self.listeners, quotas, strict=True):
            rng = random.Random(f"plan/{cfg.seed}/{li.index}")
            active = [d for d in range(cfg.days) if rng.random() < li.daily_prob] or [rng.randrange(cfg.days)]
            cuts = sorted(rng.randint(0, q) for _ in range(len(active) - 1))
            counts = [b - a for a, b in itertools.pairwise([0, *cuts, q])]
            per_day = [0] * cfg.days
            for d, c in zip(active, counts, strict=True):
                per_day[d] = c
            plan.append(per_day)
        return plan

    # -- output ------------------------------------------------------------------------------
    def days(self, *, shard: int = 0, shards: int = 1) -> Iterator[list[dict[str, Any]]]:
        """Each simulated day's events, sorted by event time (ties: by listener).

        With ``shards > 1`` only listeners with ``index % shards == shard`` are simulated; every
        listener's behaviour depends on its own seed only, so shards merged by
        ``(event_time, user_id)`` give exactly the unsharded stream.
        """
        for d in range(self.config.days):
            day_start = self.config.start_ms + d * DAY_MS
            events: list[dict[str, Any]] = []
            gc.disable()  # hundreds of thousands of small dicts, no cycles: collector passes find nothing
            try:
                for li, per_day in zip(self.listeners, self._plan, strict=True):
                    if li.index % shards != shard:
                        continue
                    self._drift(li)
                    if per_day[d]:
                        self._listen(li, day_start, per_day[d], events)
            finally:
                gc.enable()
            events.sort(key=_by_time)  # stable: ties keep their (deterministic) order
            yield events

    def _drift(self, li: Listener) -> None:
        rng = li.rng
        li.taste = [(g, min(3.0, max(0.05, w * rng.uniform(0.8, 1.25)))) for g, w in li.taste]
        if rng.random() < 0.04:  # picks up a new genre now and then
            li.taste.append((rng.choice(self.catalog.genres), 0.3))
        if rng.random() < 0.03:  # habits shift: a new time of day
            li.peak_hours[rng.randrange(len(li.peak_hours))] = rng.randrange(24)

    def _pick_artist(self, li: Listener) -> int:
        rng = li.rng
        if li.known and rng.random() >= li.p_new:
            # Favourites first: early-known artists are replayed most.
            return li.known[int(rng.random() ** 2 * len(li.known))]
        cumulative = list(itertools.accumulate(w for _, w in li.taste))
        genre = li.taste[bisect.bisect(cumulative, rng.random() * cumulative[-1])][0]
        pool = self.catalog.artists_by_genre.get(genre) or next(iter(self.catalog.artists_by_genre.values()))
        artist = pool[int(rng.random() ** 3 * len(pool))]  # popular artists are found first
        if artist not in li.known_set:
            li.known_set.add(artist)
            li.known.append(artist)
        return artist

    def _listen(self, li: Listener, day_start: int, n: int, out: list[dict[str, Any]]) -> None:
        rng = li.rng
        sessions = max(1, min(n, round(n / li.session_len)))
        cuts = sorted(rng.randint(1, n - 1) for _ in range(sessions - 1)) if n > 1 else []
        sizes = [b - a for a, b in itertools.pairwise([0, *cuts, n]) if b > a]
        # Peak hours are local: the UTC time of that local hour, kept inside this UTC day (so each day's
        # events stay grouped by UTC day), at the zone's offset of the day's midday.
        offset = localtime.span(li.tz, day_start + DAY_MS // 2)[0] or 0
        starts = sorted(
            day_start + (rng.choice(li.peak_hours) * HOUR_MS - offset) % DAY_MS + rng.randrange(HOUR_MS) for _ in sizes
        )
        track_ids, durations, rand = self._track_ids, self._durations, rng.random
        seed, index, user_id, country, tz = self.config.seed, li.index, li.user_id, li.country, li.tz
        for size, planned in zip(sizes, starts, strict=True):
            t = max(planned, li.last_end + SESSION_GAP_MS)
            platform = rng.choice(li.platforms)
            offline = platform in ("IOS", "ANDROID") and rng.random() < 0.05
            shuffle = rng.random() < 0.35
            ctx_type = _CONTEXTS[bisect.bisect(_CONTEXT_W, rng.random() * _CONTEXT_W[-1])]
            artist = self._pick_artist(li)
            if ctx_type == "ALBUM":
                albums = self.catalog.albums_by_artist[artist]
                album_idx = rng.randrange(len(albums))
                queue = list(albums[album_idx])
                uri: str | None = f"spotify:album:{artist:06d}{album_idx}"
            else:
                queue = []
                uri = (
                    None
                    if ctx_type in ("SEARCH", "COLLECTION")
                    else f"spotify:{ctx_type.lower()}:{rng.randrange(10**6)}"
                )
            ctx = {"type": ctx_type, "uri": uri}
            reason_start = rng.choice(_FIRST_REASONS)
            previous = -1
            for k in range(size):
                if queue:
                    track = queue[k % len(queue)]
                elif previous >= 0 and rng.random() < li.p_repeat:
                    track = previous  # on repeat
                else:
                    if k:
                        artist = self._pick_artist(li)
                    by_artist = self.catalog.tracks_by_artist[artist]
                    track = by_artist[int(rng.random() ** 1.5 * len(by_artist))]
                duration = durations[track]
                skipped = rand() < li.p_skip
                if skipped:
                    ms, reason_end = 1_500 + int(rand() * 27_500), "fwdbtn"
                elif k == size - 1 and rand() < 0.5:
                    ms, reason_end = rng.randint(10_000, duration), rng.choice(("endplay", "logout"))
                else:
                    ms, reason_end = duration, "trackdone"
                t += ms
                li.seq += 1
                out.append(
                    {
                        "event_id": f"ev-{seed}-{index}-{li.seq}",
                        "user_id": user_id,
                        "track_id": track_ids[track],
                        "event_time": t,
                        "ms_played": ms,
                        "platform": platform,
                        "country": country,
                        "reason_start": reason_start,
                        "reason_end": reason_end,
                        "shuffle": shuffle,
                        "skipped": skipped,
                        "offline": offline,
                        "context": ctx,
                        "tz": tz,
                    }
                )
                reason_start = "fwdbtn" if skipped else "trackdone"
                previous = track
                t += int(rand() * 4_000)
            li.last_end = t
