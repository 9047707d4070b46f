"""Each story reaches ``user-stories`` once, whatever happens to the story agent: killed with
SIGKILL between publishing stories and committing their requests, it restarts and publishes the
rest without repeating any (real broker, real Triton)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.records import Fact, FactSheet, StoryRequest
from schemas.registry import Registry
from streams.bench.common import cleanup, isolated, story_agent_process
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.kafka import topics
from streams.kafka.producer import RecordProducer
from streams.kafka.read import read_topic
from streams.stories.readback import STORY_ID_HEADER

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REQUESTS = 40


@pytest.fixture
def osettings(triton: Stack, stack_settings: Settings) -> Iterator[Settings]:
    s = isolated(stack_settings, "once").model_copy(
        update={
            "requests_partitions": 2,
            "stories_partitions": 2,
            "story_candidates": 1,
            "story_regenerations": 0,
            "story_max_new_tokens": 16,
            "story_max_in_flight": 8,
        }
    )
    topics.create(s)
    yield s
    cleanup(s)


def story_ids(s: Settings) -> list[str]:
    out = []
    for m in read_topic(s.kafka_conf(), s.topic_stories):
        ids = [v.decode() for k, v in m.headers() or [] if k == STORY_ID_HEADER]
        assert ids, "every story carries its id in a header"
        out += ids
    return out


def test_a_killed_agent_publishes_each_story_once(osettings: Settings, tmp_path: Path) -> None:
    s = osettings
    encoder = Registry(s.schema_registry_url).encoder(s.topic_requests, "StoryRequest")
    producer = RecordProducer(s)
    for i in range(REQUESTS):
        days = 3 + i % 20
        sheet = FactSheet("streak_days", (Fact("streak_days", "STREAK", f"{days} days", float(days), "day"),))
        req = StoryRequest(f"once-{i}", f"u{i}", "STREAK", str(days), 1_700_000_000_000 + i, sheet, seed=i)
        producer.produce(s.topic_requests, f"u{i}".encode(), encoder.encode(req.to_avro()))
    producer.flush()

    kills = 0
    for round_ in range(4):
        with story_agent_process(s, tmp_path / f"a{round_}") as (proc, _):
            seen = len(story_ids(s))
            deadline = time.monotonic() + 240
            while True:
                assert proc.poll() is None, (tmp_path / f"a{round_}" / "agent.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the agent stopped making progress"
                now = len(set(story_ids(s)))
                if now >= REQUESTS:
                    break
                if round_ < 3 and now > seen:  # stories just went out; their requests are not committed yet
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    kills += 1
                    break
                time.sleep(0.2)
        if len(set(story_ids(s))) >= REQUESTS:
            break
    ids = story_ids(s)
    assert kills >= 1, "the agent was never killed mid-way"
    assert set(ids) == {f"once-{i}" for i in range(REQUESTS)}
    repeated = {k: n for k, n in Counter(ids).items() if n > 1}
    assert not repeated, f"{len(repeated)} stories published more than once after {kills} kills"
