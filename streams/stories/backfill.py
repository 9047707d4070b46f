"""Stories for a replay's requests (``linernotes replay --with-stories``): the live agent's writer and
checker, same seeds, so the same texts as live.

Which stories: one per story id the replay fired, over all its runs. The requests are read back from
the replay's own requests topic at its end rather than kept in memory, because a replay resumed from
a checkpoint does not fire again the requests before it, while the topic holds them (they were
delivered before the checkpoint was written). The read starts at ``marks`` taken when the replay
began, so it costs the replay's own requests only, and keeps to the replay's own listeners (a shard of
a parallel replay writes its listeners' stories, the other shards theirs). A story id fired twice (the
outputs since the last checkpoint are repeated on resume, with the same ids) gets one story, and one
already on the stories topic since the replay began (a run stopped while writing its stories) gets
none: each story carries its id in a header (``STORY_ID_HEADER``), as the live agent's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection

from schemas.records import StoryRequest
from schemas.registry import Registry
from streams.config.settings import Settings
from streams.kafka.producer import RecordProducer
from streams.kafka.read import end_marks, read_batches
from streams.stories.readback import STORY_ID_HEADER, published_since

log = logging.getLogger("linernotes.replay")

Marks = dict[str, dict[int, int]]
"""``{"requests": {partition: offset}, "stories": {...}}``: where a replay's reads of its two topics
start (JSON-safe once the partitions are strings; see :func:`marks_from_json`)."""


def marks(out: Settings) -> Marks:
    """The ends of the replay's requests and stories topics now: all it will write lies past them."""
    conf = out.kafka_conf()
    return {"requests": end_marks(conf, out.topic_requests), "stories": end_marks(conf, out.topic_stories)}


def marks_from_json(raw: dict[str, dict[str, int]]) -> Marks:
    return {role: {int(p): int(o) for p, o in parts.items()} for role, parts in raw.items()}


def pending(out: Settings, *, since: Marks, users: Collection[str]) -> list[StoryRequest]:
    """One request per story id fired for ``users`` on ``out.topic_requests`` since ``since``, less the
    ids already on ``out.topic_stories`` since then (topics without marks are read whole)."""
    conf = out.kafka_conf()
    keys = {u.encode() for u in users}
    decoder = Registry(out.schema_registry_url).decoder("StoryRequest")
    fired: dict[str, StoryRequest] = {}
    read = 0
    for batch in read_batches(conf, out.topic_requests, starts=since.get("requests")):
        for m in batch:
            read += 1
            if m.key() in keys:  # keyed by user: no decoding for another shard's listeners
                req = StoryRequest.from_avro(decoder.decode(m.value()))
                fired.setdefault(req.story_id, req)
    written = published_since(conf, out.topic_stories, since.get("stories") or {})
    todo = [r for sid, r in fired.items() if sid not in written]
    log.info("replay: %d requests read back, %d story ids, %d written before", read, len(fired), len(fired) - len(todo))
    return todo


async def write_stories(out: Settings, requests: list[StoryRequest], producer: RecordProducer) -> int:
    """Write a story for each request to ``out.topic_stories``, ``out.story_max_in_flight`` at a time."""
    from streams.stories.run import build_agent

    agent, client = build_agent(out)
    encoder = agent.encoder
    sem = asyncio.Semaphore(out.story_max_in_flight)
    written = 0

    async def one(req: StoryRequest) -> None:
        nonlocal written
        async with sem:
            w = await agent.writer.write(req, now_ms=int(time.time() * 1000))
        producer.produce(
            out.topic_stories,
            req.user_id.encode(),
            encoder.encode(w.story.to_avro()),
            headers=[(STORY_ID_HEADER, w.story.story_id.encode())],
        )
        written += 1

    try:
        await client.wait_ready(timeout_s=60)
        await asyncio.gather(*(one(r) for r in requests))
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            agent.consumer.close()
    producer.flush()
    return written
