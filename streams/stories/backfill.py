"""Stories for a replay's requests (``linernotes replay --with-stories``): the live agent's writer and
checker, same seeds, so the same texts as live."""

from __future__ import annotations

import asyncio
import contextlib
import time

from schemas.records import StoryRequest
from streams.config.settings import Settings
from streams.kafka.producer import RecordProducer


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
        producer.produce(out.topic_stories, req.user_id.encode(), encoder.encode(w.story.to_avro()))
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
