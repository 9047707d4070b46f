"""The story agent: consumes ``story-requests``, writes each story through Triton, publishes ``user-stories``.

It runs apart from the feature workers (its own consumer group), so slow inference never stalls
feature updates. Guarantees:

- **Bounded work:** at most ``story_max_in_flight`` requests are being written at once; the consumer
  pauses its partitions while the agent is full and keeps polling (so it stays in its group).
- **Nothing lost:** a request's offset is committed only after its story (or its dead letter) was
  delivered, and only as part of a contiguous prefix of finished offsets per partition.
- **Triton down or slow:** unreachable-server errors (unavailable, deadline, overload, open circuit)
  are waited out by the Triton client, the boundary's one retry policy (``inference.client``; the
  agent's client has ``retries=None``): the request keeps its place and is retried until Triton
  answers, so the backlog drains when it returns. The agent adds no retry of its own on top.
- **Registry down:** a request whose writer schema cannot be fetched waits until the registry
  answers (``schemas.retry``), keeping its place; it is not a dead letter.
- **Poison requests:** an undecodable request, an invalid fact sheet, or a request the model fails on
  ``story_attempts`` times goes to ``story-requests.dlq`` with its raw bytes and the reason.
- **One record per story id:** texts are deterministic in the request's seed, and the agent remembers
  the ids it has published so a redelivered request is not published again; after a restart it
  first reads back the stories published since its last commit (``readback.py``), so a request
  redone after a crash does not publish its story twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from opentelemetry.trace import SpanKind

from inference.errors import BadRequest, InferenceError, ModelFailed
from inference.writer import StoryWriter, Written
from schemas import retry
from schemas.codec import Decoder, Encoder
from schemas.errors import DecodeError, RegistryUnavailable
from schemas.records import StoryRequest
from streams.config.settings import Settings
from streams.kafka import dlq
from streams.kafka.marks import decode_marks, earliest, encode_marks
from streams.stories.offsets import PartitionOffsets, headers_of
from streams.stories.readback import STORY_ID_HEADER, published_since
from streams.stories.spans import trace_generation
from streams.tracing.records import messaging
from streams.tracing.tracer import Span, Tracer, disabled, parse

log = logging.getLogger("linernotes.stories")
DEDUPE_IDS = 200_000
LATENCY_SAMPLES = 10_000  # write times kept for the stats: the newest, trimmed by half when full
COMMIT_INTERVAL_S = 0.5  # how often the consume loop commits what was delivered


@dataclass
class AgentStats:
    received: int = 0
    published: int = 0
    model_written: int = 0
    template: int = 0
    ungrounded: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    triton_waits: int = 0
    registry_waits: int = 0
    grounding_rejections: int = 0
    in_flight: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)  # write time per story (bounded)


class StoryAgent:
    def __init__(
        self,
        settings: Settings,
        writer: StoryWriter,
        decoder: Decoder,
        encoder: Encoder,
        *,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        on_story: Callable[[Any], None] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings, self.writer, self.decoder, self.encoder = settings, writer, decoder, encoder
        self.clock_ms = clock_ms
        self.on_story = on_story
        self.tracer = tracer or disabled("linernotes-stories")
        self.latency: Any = None  # a prometheus Histogram, when metrics are served
        self.stats = AgentStats()
        self.published: OrderedDict[str, None] = OrderedDict()
        self.partitions: dict[tuple[str, int], PartitionOffsets] = {}
        self.delivered_pending: list[tuple[tuple[str, int], int]] = []
        self.stories_end: dict[int, int] = {}  # user-stories partition -> end known from delivery reports
        self.tasks: set[asyncio.Task[None]] = set()
        self.paused = False
        conf = settings.kafka_conf()
        self.consumer = Consumer(
            {
                **conf,
                "group.id": settings.stories_app_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,  # quick joins on Tansu (see RECIPES); fine on Kafka
                "max.poll.interval.ms": 10_000,  # the loop polls every 0.1 s; the join waits this long
                "partition.assignment.strategy": "range",
            }
        )
        self.producer = Producer(
            {**conf, "enable.idempotence": True, "linger.ms": 5, "compression.type": settings.compression_type}
        )

    # -- consumer group -------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        for p in parts:
            self.partitions.setdefault((p.topic, p.partition), PartitionOffsets())
        log.info("story agent assigned %s", [p.partition for p in parts])
        self._read_back(consumer, parts)

    def _read_back(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        """Remember the stories already published for requests past the committed offsets."""
        committed = [tp for tp in consumer.committed(parts, timeout=30) if tp.offset >= 0]
        if not committed:
            return  # nothing was ever committed here: no request of this group was redone
        marks = [decode_marks(tp.metadata) for tp in committed]
        # a commit without marks (an older agent): only the whole topic is sure to hold its stories
        starts = earliest(m for m in marks if m is not None) if all(m is not None for m in marks) else {}
        for story_id in published_since(self.settings.kafka_conf(), self.settings.topic_stories, starts):
            self._remember(story_id)

    def _remember(self, story_id: str) -> None:
        self.published[story_id] = None
        if len(self.published) > DEDUPE_IDS:
            self.published.popitem(last=False)

    def _on_story_delivered(self, err: KafkaError | None, msg: Message) -> None:
        partition, offset = msg.partition(), msg.offset()
        if err is None and partition is not None and offset is not None:
            self.stories_end[partition] = max(self.stories_end.get(partition, 0), offset + 1)

    def _on_revoke(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        self._commit(sync=True)
        for p in parts:
            self.partitions.pop((p.topic, p.partition), None)  # in-flight work still publishes (same ids)

    # -- one request ------------------------------------------------------------------------------
    async def _process(self, msg: Message) -> None:
        key = (msg.topic() or "", msg.partition() or 0)
        offset = msg.offset() or 0
        try:
            await self._write_and_publish(msg)
        except Exception as e:
            log.exception("story request %s:%s failed unexpectedly", key, offset)
            self._dead_letter(msg, f"internal error: {type(e).__name__}: {e}")
        self.delivered_pending.append((key, offset))

    def triton_waited(self, error: InferenceError, delay_s: float) -> None:
        """The client's hook before each retry (``StoryClient.on_retry``): counted here, decided there."""
        self.stats.triton_waits += 1

    async def _decode(self, msg: Message) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, DecodeError]]]:
        """The request decoded. A registry outage is waited out until the registry answers for the writer
        schema (``schemas.retry``, that boundary's one policy): the request keeps its place meanwhile."""
        raw = msg.value() or b""
        while True:
            try:
                return self.decoder.decode_many([raw])
            except RegistryUnavailable as e:
                self.stats.registry_waits += 1
                if e.schema_id is None:  # not a lookup of ours: nothing to ask again but the request itself
                    await asyncio.sleep(retry.WAIT_OUT.delay_s(0))
                else:
                    await retry.WAIT_OUT.call_async(functools.partial(self.decoder.resolve, e.schema_id))

    async def _write_and_publish(self, msg: Message) -> None:
        oks, errs = await self._decode(msg)
        if errs:
            self._dead_letter(msg, errs[0][1].reason)
            return
        req = StoryRequest.from_avro(oks[0][1])
        if req.story_id in self.published:
            self.stats.duplicates += 1
            return
        in_headers = headers_of(msg)
        process = self._process_span(msg, req, in_headers)
        attempt = await self._write(msg, req, {"traceparent": process.header.decode()} if process is not None else {})
        if attempt is None:  # dead-lettered
            return
        written, t0, t0_ns = attempt
        self.stats.latencies_ms.append((time.perf_counter() - t0) * 1000)
        if self.latency is not None:
            self.latency.observe(time.perf_counter() - t0)
        if len(self.stats.latencies_ms) > LATENCY_SAMPLES:
            del self.stats.latencies_ms[: LATENCY_SAMPLES // 2]
        self.stats.grounding_rejections += len(written.rejected)
        self._publish(written, process, in_headers, t0_ns)
        self._count(written)

    def _process_span(self, msg: Message, req: StoryRequest, in_headers: dict[str, Any]) -> Span | None:
        """The request's ``process`` span, when it carries a trace and tracing is on."""
        parent = parse(in_headers.get("traceparent"))
        if parent is None or not self.tracer.enabled:
            return None
        attrs = {
            **messaging(
                msg.topic() or "",
                "process",
                partition=msg.partition(),
                offset=msg.offset(),
                group=self.settings.stories_app_id,
            ),
            "linernotes.story_id": req.story_id,
            "enduser.id": req.user_id,
        }  # the user id is hashed on export (streams.tracing.tracer)
        return self.tracer.start(f"process {msg.topic()}", parent=parent, kind=SpanKind.CONSUMER, attributes=attrs)

    async def _write(
        self, msg: Message, req: StoryRequest, headers: dict[str, str]
    ) -> tuple[Written, float, int] | None:
        """The request's story, with the start of the attempt that wrote it (perf counter, epoch ns). An
        unavailable Triton is waited out inside the client. A bad request, or a model that fails on this
        request ``story_attempts`` times, goes to the dead-letter topic instead (None): a poison request
        must not hold its partition forever."""
        failures = 0
        while True:
            t0 = time.perf_counter()
            t0_ns = time.time_ns()
            try:
                return await self.writer.write(req, now_ms=self.clock_ms(), headers=headers or None), t0, t0_ns
            except BadRequest as e:
                self._dead_letter(msg, f"bad request: {e}")
                return None
            except ModelFailed as e:
                failures += 1
                if failures >= self.settings.story_attempts:
                    self._dead_letter(msg, f"model failed {failures} times: {e}")
                    return None

    def _publish(self, written: Written, process: Span | None, in_headers: dict[str, Any], t0_ns: int) -> None:
        """The story to ``user-stories``, with its id and trace headers (and the generation's spans)."""
        story = written.story
        out_headers: list[tuple[str, str | bytes | None]] = [(STORY_ID_HEADER, story.story_id.encode())]
        send = None
        if process is not None:
            trace_generation(
                self.tracer, process, written, t0_ns, cfg=self.writer.config, server=self.settings.triton_url
            )
            attrs = {
                **messaging(self.settings.topic_stories, "send"),
                "linernotes.story_id": story.story_id,
                "linernotes.generator": story.generator,
                "linernotes.grounded": story.grounded,
                "linernotes.story.text": story.text,
            }  # the text is exported only with trace_debug
            send = self.tracer.start(
                f"send {self.settings.topic_stories}", parent=process.context, kind=SpanKind.PRODUCER, attributes=attrs
            )
            out_headers.append(("traceparent", send.header))
        if "linernotes.trigger.append_ms" in in_headers:
            out_headers.append(("linernotes.trigger.append_ms", in_headers["linernotes.trigger.append_ms"]))
        self.producer.produce(
            self.settings.topic_stories,
            self.encoder.encode(story.to_avro()),
            story.user_id.encode(),
            headers=out_headers,
            on_delivery=self._on_story_delivered,
        )
        self.producer.poll(0)
        if send is not None and process is not None:
            send.end()
            process.end()
        self._remember(story.story_id)

    def _count(self, written: Written) -> None:
        story = written.story
        s = self.stats
        s.published += 1
        s.by_kind[story.kind] = s.by_kind.get(story.kind, 0) + 1
        if written.model_written:
            s.model_written += 1
        else:
            s.template += 1
        if not story.grounded:
            s.ungrounded += 1
        if self.on_story is not None:
            self.on_story(written)

    def _dead_letter(self, msg: Message, reason: str) -> None:
        self.stats.dead_letters += 1
        log.warning("story request to DLQ: %s", reason)
        _, timestamp = msg.timestamp()
        headers: list[tuple[str, str | bytes | None]] = [
            *dlq.dead_letter_headers(
                reason,
                topic=msg.topic() or "",
                partition=msg.partition() or 0,
                offset=msg.offset() or 0,
                timestamp=timestamp,
            )
        ]
        self.producer.produce(self.settings.topic_requests_dlq, msg.value(), msg.key(), headers=headers)
        self.producer.poll(0)

    # -- commits --------------------------------------------------------------------------------
    def _commit(self, *, sync: bool = False) -> None:
        if self.delivered_pending:
            if self.producer.flush(5.0) > 0:
                log.warning("stories not yet delivered; not committing")
                return
            pending, self.delivered_pending = self.delivered_pending, []
            for key, offset in pending:
                part = self.partitions.get(key)
                if part is not None:
                    part.open.discard(offset)
                    part.finished.append(offset)
        offsets = []
        for (topic, partition), part in self.partitions.items():
            point = part.commit_point()
            if point is not None:
                marks = part.marks_at(point, self.stories_end)
                offsets.append(TopicPartition(topic, partition, point, metadata=encode_marks(marks)))
        if offsets:
            try:
                if sync:
                    self.consumer.commit(offsets=offsets, asynchronous=False)
                else:
                    self.consumer.commit(offsets=offsets, asynchronous=True)
            except Exception as e:  # noqa: BLE001 - the next commit retries
                log.warning("offset commit failed: %s", e)

    # -- main loop ------------------------------------------------------------------------------
    def _known_stories_end(self) -> None:
        """Start the stories' known end at the topic's high watermarks: any story published from
        now on lies at or past them (a broker that under-reports them only makes a read-back longer)."""
        topic = self.settings.topic_stories
        meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
        for p in meta.partitions if meta is not None and meta.error is None else ():
            _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            self.stories_end[p] = max(self.stories_end.get(p, 0), high)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        self._known_stories_end()
        self.consumer.subscribe([self.settings.topic_requests], on_assign=self._on_assign, on_revoke=self._on_revoke)
        last_commit = time.monotonic()
        limit = self.settings.story_max_in_flight
        try:
            while not stop.is_set():
                room = limit - len(self.tasks)
                if room <= 0 and not self.paused:
                    self.consumer.pause(self.consumer.assignment())
                    self.paused = True
                elif room > 0 and self.paused:
                    self.consumer.resume(self.consumer.assignment())
                    self.paused = False
                msgs = await loop.run_in_executor(None, self.consumer.consume, max(room, 1), 0.1)
                for msg in msgs:
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("consume error: %s", err)
                        continue
                    self.stats.received += 1
                    part = self.partitions.setdefault((msg.topic() or "", msg.partition() or 0), PartitionOffsets())
                    part.receive(msg.offset() or 0, self.stories_end)
                    task = asyncio.create_task(self._process(msg))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                self.stats.in_flight = len(self.tasks)
                if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
                    await loop.run_in_executor(None, self._commit)
                    last_commit = time.monotonic()
        finally:
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=30)
            await loop.run_in_executor(None, lambda: self._commit(sync=True))
            self.consumer.close()
