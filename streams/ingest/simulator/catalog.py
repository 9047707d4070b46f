"""A synthetic catalog (artists, albums, tracks) over a real genre hierarchy.

Genres come from the shared vocabulary in ``schemas.genres`` (beets' genre tree), so they have
parents: "synthpop" -> "new wave" -> "rock".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.genres import genre_paths
from schemas.records import TrackInfo

_ADJECTIVES = (
    "Velvet Silent Golden Broken Electric Hollow Northern Paper Crimson Midnight Glass Wild Lucky Neon "
    "Quiet Burning Frozen Secret Lonely Bright Distant Sugar Iron Faded Cosmic Tender Restless Silver "
    "Wandering Blue Copper Little Modern Ancient Rising Open Lazy Shadow Summer Winter"
).split()
_NOUNS = (
    "Harbors Lanterns Foxes Rivers Machines Satellites Orchards Ghosts Pilots Tides Echoes Gardens Wolves "
    "Cathedrals Comets Mirrors Sparrows Engines Valleys Parades Monsoons Atlases Keys Bridges Arrows "
    "Signals Islands Owls Horizons Canyons Embers Lights Waves Kings Anchors Poets Dunes Clocks"
).split()
_WORDS = (
    "love night fire road home heart dream light rain city stars gold ocean sky time summer river shadow "
    "morning dance fever highway silence echo paradise thunder honey memory mirror garden wire"
).split()


@dataclass(frozen=True)
class Catalog:
    tracks: tuple[TrackInfo, ...]
    genres: tuple[str, ...]  # the leaf genres artists were drawn from
    artists_by_genre: dict[str, tuple[int, ...]]  # genre -> artist indexes, most popular first
    tracks_by_artist: tuple[tuple[int, ...], ...]  # artist index -> track indexes
    albums_by_artist: tuple[tuple[tuple[int, ...], ...], ...]  # artist -> albums -> track indexes


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(('The ', '', ''))}{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        if name not in used:
            used.add(name)
            return name
        name = f"{name} {rng.randint(2, 99)}"
        if name not in used:
            used.add(name)
            return name


def _title(rng: random.Random) -> str:
    words = rng.sample(_WORDS, rng.randint(1, 3))
    return " ".join(w.capitalize() for w in words)


def build_catalog(*, artists: int, seed: int, genres: int = 48) -> Catalog:
    rng = random.Random(f"catalog/{seed}")
    paths = genre_paths()
    # Specific genres (at least one parent) spread over the top-level branches.
    leaves = sorted(g for g, p in paths.items() if len(p) >= 2)
    chosen = tuple(sorted(rng.sample(leaves, min(genres, len(leaves)))))
    tracks: list[TrackInfo] = []
    by_genre: dict[str, list[int]] = {g: [] for g in chosen}
    tracks_by_artist: list[tuple[int, ...]] = []
    albums_by_artist: list[tuple[tuple[int, ...], ...]] = []
    used: set[str] = set()
    for a in range(artists):
        genre = chosen[a % len(chosen)] if a < len(chosen) else rng.choice(chosen)
        artist_name = _name(rng, used)
        artist_id = f"art_{a:06d}"
        by_genre[genre].append(a)
        albums: list[tuple[int, ...]] = []
        for b in range(rng.randint(1, 3)):
            album_id = f"alb_{a:06d}_{b}"
            album_name = _title(rng)
            year = rng.randint(1965, 2026)
            album: list[int] = []
            for _ in range(rng.randint(4, 10)):
                album.append(len(tracks))
                tracks.append(
                    TrackInfo(
                        track_id=f"trk_{len(tracks):07d}",
                        track_name=_title(rng),
                        artist_id=artist_id,
                        artist_name=artist_name,
                        album_id=album_id,
                        album_name=album_name,
                        genres=paths[genre],
                        duration_ms=rng.randint(95_000, 330_000),
                        release_year=year,
                    )
                )
            albums.append(tuple(album))
        albums_by_artist.append(tuple(albums))
        tracks_by_artist.append(tuple(t for al in albums for t in al))
    return Catalog(
        tracks=tuple(tracks),
        genres=chosen,
        artists_by_genre={g: tuple(v) for g, v in by_genre.items() if v},
        tracks_by_artist=tuple(tracks_by_artist),
        albums_by_artist=tuple(albums_by_artist),
    )
