"""``linernotes verify-parity``: replay users' history and compare it with what live published."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.config.settings import Settings
from streams.history.replay import Replay, ReplayOptions
from streams.history.sources import latest, load_catalog, story_ids


def verify_parity(
    settings: Settings, users: frozenset[str], *, report: Callable[[str], None] = print
) -> dict[str, Any]:
    """Replay these users' whole history into ``.parity`` topics and compare with what live published:
    final features and story ids must be identical."""
    opts = ReplayOptions(start_ms=0, end_ms=2**62, users=users, suffix=".parity", progress=False, fresh=True)
    replay = Replay(settings, opts, load_catalog(settings))
    try:
        result = replay.run(report)
        out = replay.out
        live_f = latest(settings, settings.topic_features, "UserFeatures", users)
        replay_f = latest(out, out.topic_features, "UserFeatures", users)
        live_ids = set(story_ids(settings, settings.topic_requests, users))
        replay_ids = set(story_ids(out, out.topic_requests, users))
    finally:
        from streams.kafka import topics

        topics.delete(replay.out, [t.name for t in replay.out.topic_specs() if t.name.endswith(".parity")])
    differing = sorted(u for u in set(live_f) | set(replay_f) if live_f.get(u) != replay_f.get(u))
    return {
        "users": len(replay_f),
        "events": result.events,
        "features_equal": not differing,
        "differing_users": differing[:20],
        "story_ids_live": len(live_ids),
        "story_ids_replay": len(replay_ids),
        "story_ids_equal": live_ids == replay_ids,
        "only_live": sorted(live_ids - replay_ids)[:20],
        "only_replay": sorted(replay_ids - live_ids)[:20],
    }
