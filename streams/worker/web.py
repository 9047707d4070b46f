"""HTTP lookup of a user's current features, served by the worker that owns the user's partition."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from features import snapshot
from streams.settings import Settings
from streams.worker.processor import Stored


def install_routes(app: faust.App, table: Any, hot: Any, settings: Settings) -> None:
    @app.page("/features/{user_id}/")
    @app.table_route(table=table, match_info="user_id")
    async def features(web: View, request: Request, user_id: str) -> Response:
        stored = hot.processor.cache.get(user_id)
        if stored is None:
            partition = app.producer.key_partition(table.changelog_topic.get_topic_name(), user_id.encode())
            raw = hot.load(user_id, partition.partition if hasattr(partition, "partition") else partition)
            stored = Stored.loads(raw) if raw is not None else None
        if stored is None:
            return web.json({"error": f"no features for user {user_id!r}"}, status=404)
        return web.json(snapshot(stored.state, hot.processor.config))

    @app.page("/stats/")
    async def stats(web: View, request: Request) -> Response:
        return web.json(vars(hot.processor.stats))
