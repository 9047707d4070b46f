"""Build and run the story agent (``linernotes story-agent``), and follow stories (``linernotes tail stories``)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from inference.client import CircuitBreaker, StoryClient
from inference.writer import StoryWriter, WriterConfig
from schemas.records import Story
from schemas.registry import Registry
from streams.config.settings import Settings
from streams.stories.agent import StoryAgent
from streams.tracing.records import Privacy
from streams.tracing.tracer import make_tracer


def build_agent(settings: Settings, *, on_story: Callable[[Any], None] | None = None) -> tuple[StoryAgent, StoryClient]:
    registry = Registry(settings.schema_registry_url)
    client = StoryClient(
        url=settings.triton_url,
        model=settings.triton_model,
        timeout_s=settings.triton_timeout_s,
        retries=None,  # the agent's requests wait until Triton answers; the client is the one that waits
        breaker=CircuitBreaker(failures_to_open=5, reset_s=5.0),
    )
    writer = StoryWriter(
        client,
        WriterConfig(
            candidates=settings.story_candidates,
            regenerations=settings.story_regenerations,
            max_new_tokens=settings.story_max_new_tokens,
        ),
    )
    agent = StoryAgent(
        settings,
        writer,
        registry.decoder("StoryRequest"),
        registry.encoder(settings.topic_stories, "Story"),
        on_story=on_story,
        tracer=make_tracer(
            "linernotes-stories", settings.otlp_endpoint, settings.trace_ratio, privacy=Privacy.of(settings)
        ),
    )
    client.on_retry = agent.triton_waited
    return agent, client


async def serve(settings: Settings, stop: asyncio.Event | None = None, **kw: Any) -> StoryAgent:
    agent, client = build_agent(settings, **kw)
    if settings.story_agent_metrics_port:
        from streams.stories.metrics import serve as serve_metrics

        agent.latency = serve_metrics(agent, client.breaker, settings.story_agent_metrics_port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            break
    try:
        await agent.run(stop)
    finally:
        await client.close()
        agent.tracer.shutdown()
    return agent


def tail(
    settings: Settings, *, user: str | None = None, from_beginning: bool = False, idle_exit_s: float | None = None
) -> Iterator[tuple[Story, dict[str, bytes]]]:
    """Stories as they arrive (optionally for one user); stops after ``idle_exit_s`` without any."""
    registry = Registry(settings.schema_registry_url)
    decoder = registry.decoder("Story")
    topic = settings.topic_stories
    consumer = Consumer({**settings.kafka_conf(), "group.id": f"tail-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise LookupError(f"topic {topic!r} does not exist (is the stack up and a story agent running?)")
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        consumer.assign([TopicPartition(topic, p, start) for p in meta.partitions])
        last = time.monotonic()
        while idle_exit_s is None or time.monotonic() - last < idle_exit_s:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            last = time.monotonic()
            if user is not None and (msg.key() or b"").decode() != user:
                continue
            story = Story.from_avro(decoder.decode(msg.value() or b""))
            headers: dict[str, bytes] = {}
            raw: Any = msg.headers() or []
            for k, v in raw.items() if isinstance(raw, dict) else raw:
                if isinstance(v, bytes):
                    headers[k] = v
            headers["append_ms"] = str(msg.timestamp()[1]).encode()
            yield story, headers
    finally:
        consumer.close()


def line(story: Story) -> str:
    mark = "model" if not story.generator.startswith("template:") else "tmpl "
    check = "" if story.grounded else " [UNGROUNDED]"
    return f"[{mark}] {story.kind:<17} {story.user_id:<10} {story.text}{check}"
