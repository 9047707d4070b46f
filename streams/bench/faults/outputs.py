"""A scenario's outputs, read from their first record while the scenario runs.

One consumer in a background thread follows the worker's state changelog, story-requests,
user-stories and listening-events.dlq, so that the bench can tell the moment the outputs are
complete (``recovery_s``) without reading every topic again each time it looks. Records are kept raw
and decoded when asked for: the changelog keeps only each listener's latest record, and story
requests are decoded through the registry, which one scenario stops.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from features import UserState
from schemas.errors import DecodeError, SchemaError
from schemas.records import Story, StoryRequest
from schemas.registry import Registry
from streams.bench.faults.truth import Observed
from streams.config.settings import Settings
from streams.pipeline.stored import Stored, is_listener
from streams.stories.readback import STORY_ID_HEADER

TOPIC_CHECK_S = 1.0  # how often topics not there yet (the changelog: faust creates it) are looked for


def changelog_topic(settings: Settings) -> str:
    return f"{settings.app_id}-user-state-changelog"  # faust's name for the worker's "user-state" table


class Outputs:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._changelog, self._requests_topic = changelog_topic(settings), settings.topic_requests
        self._stories_topic, self._dlq_topic = settings.topic_stories, settings.topic_events_dlq
        registry = Registry(settings.schema_registry_url)
        self._request_decoder = registry.decoder("StoryRequest")
        self._story_decoder = registry.decoder("Story")
        self._lock = threading.Lock()
        self._raw_states: dict[str, bytes | None] = {}
        self._changed: set[str] = set()
        self._states: dict[str, UserState] = {}
        self._raw_requests: list[bytes] = []
        self._requests: list[StoryRequest] = []
        self._undecodable = 0
        self._stories: list[str] = []
        self._dead: list[bytes] = []
        self.records = 0
        self.last_record_at = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="fault-bench-outputs", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> Outputs:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    # -- the reading thread ---------------------------------------------------------------------
    def _follow(self) -> None:
        wanted = {self._changelog, self._requests_topic, self._stories_topic, self._dlq_topic}
        consumer = Consumer(
            {**self.settings.kafka_conf(), "group.id": f"fault-bench-{uuid.uuid4()}", "enable.auto.commit": False}
        )
        assigned: set[str] = set()
        next_look = 0.0
        try:
            while not self._stop.is_set():
                if assigned != wanted and time.monotonic() >= next_look:
                    assigned |= self._assign_new(consumer, wanted - assigned)
                    next_look = time.monotonic() + TOPIC_CHECK_S
                messages = consumer.consume(2000, timeout=0.2)
                good = [m for m in messages if m.error() is None]
                if good:
                    with self._lock:
                        for m in good:
                            self._keep(m)
                        self.records += len(good)
                        self.last_record_at = time.monotonic()
        except KafkaException as e:  # the broker itself went away: the scenario cannot be judged
            self.error = e
        finally:
            consumer.close()

    @staticmethod
    def _assign_new(consumer: Consumer, topics: set[str]) -> set[str]:
        try:
            meta = consumer.list_topics(timeout=5).topics
        except KafkaException:
            return set()
        found = {t for t in topics if t in meta and meta[t].error is None and meta[t].partitions}
        if found:
            consumer.incremental_assign(
                [TopicPartition(t, p, OFFSET_BEGINNING) for t in found for p in meta[t].partitions]
            )
        return found

    def _keep(self, m: Any) -> None:
        topic, value = m.topic(), m.value()
        if topic == self._changelog:
            if not is_listener(m.key() or b""):
                return  # the worker's own record (its requests mark)
            user = (m.key() or b"").decode()
            self._raw_states[user] = value  # None: a tombstone, the listener's state deleted
            self._changed.add(user)
        elif topic == self._requests_topic:
            self._raw_requests.append(value or b"")
        elif topic == self._stories_topic:
            ids = [v.decode() for k, v in m.headers() or [] if k == STORY_ID_HEADER and v is not None]
            self._stories.append(ids[0] if ids else self._story_id(value or b""))
        elif topic == self._dlq_topic:
            self._dead.append(value or b"")

    def _story_id(self, value: bytes) -> str:
        """A story without the id header (an agent older than the header): its id from its body."""
        try:
            return Story.from_avro(self._story_decoder.decode(value)).story_id
        except SchemaError:
            return "<undecodable story>"

    # -- what the scenario looks at ------------------------------------------------------------
    def observed(self, *, stories: bool) -> Observed:
        """The outputs so far. Story requests the registry cannot decode right now are left for the
        next look (they are counted missing meanwhile); bad ones are counted as undecodable."""
        with self._lock:
            changed = {u: self._raw_states[u] for u in self._changed}
            self._changed.clear()
            raw_requests = self._raw_requests[len(self._requests) + self._undecodable :]
            story_ids = list(self._stories)
            dead = list(self._dead)
        for user, raw in changed.items():
            if raw is None:
                self._states.pop(user, None)
            else:
                self._states[user] = Stored.loads(raw).state
        for raw in raw_requests:
            try:
                self._requests.append(StoryRequest.from_avro(self._request_decoder.decode(raw)))
            except DecodeError:
                self._undecodable += 1
            except SchemaError:  # the registry is away: try again at the next look
                break
        return Observed(
            dict(self._states), list(self._requests), story_ids if stories else None, dead, self._undecodable
        )

    def stories_published(self) -> int:
        with self._lock:
            return len(set(self._stories))

    def quiet_for(self) -> float:
        with self._lock:
            return time.monotonic() - self.last_record_at
