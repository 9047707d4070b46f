from __future__ import annotations

from typing import Any

from schemas.records import TrackInfo

T0 = 1_793_577_600_000  # 2026-11-02T00:00:00Z, a Monday
MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000

CATALOG = {
    f"t{i}": TrackInfo(f"t{i}", f"Song {i}", f"a{i % 4}", f"Artist {i % 4}", genres=(g, fam))
    for i, (g, fam) in enumerate(
        [("bebop", "jazz"), ("techno", "electronic"), ("dub", "reggae"), ("house", "electronic")] * 3
    )
}


def ev(
    t: int,
    track: str = "t0",
    ms: int = 180_000,
    skipped: bool = False,
    n: int = 0,
    user: str = "u",
    tz: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": f"e{t}-{track}-{n}",
        "user_id": user,
        "track_id": track,
        "event_time": t,
        "ms_played": ms,
        "platform": "IOS",
        "country": "SE",
        "reason_start": "clickrow",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": skipped,
        "offline": False,
        "context": {"type": "UNKNOWN", "uri": None},
        "tz": tz,
    }
