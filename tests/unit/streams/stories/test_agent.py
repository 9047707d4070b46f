"""The story agent's handling of one request, against a fake writer and producer (the real stack: integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from inference import golden
from inference.errors import BadRequest, ModelFailed
from inference.writer import StoryWriter, WriterConfig, Written, template_story
from schemas import schema_str
from schemas.codec import Decoder, Encoder
from schemas.records import StoryRequest
from streams.config.settings import Settings
from streams.kafka import dlq
from streams.stories.agent import StoryAgent
from streams.stories.readback import STORY_ID_HEADER
from streams.tracing.records import SdkSink
from streams.tracing.tracer import Tracer, parse, traceparent

CASE = next(c for c in golden.load() if c.id == "session-1")
REQUEST = StoryRequest("sid-1", "u1", CASE.kind, "k", 123, CASE.sheet, seed=1)
REQUEST_ID = 1


class FakeMessage:
    def __init__(self, value: bytes, offset: int = 0, headers: list[tuple[str, bytes]] | None = None) -> None:
        self._value, self._offset, self._headers = value, offset, headers or []

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return b"u1"

    def topic(self) -> str:
        return "story-requests"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return 1, 1000

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def produce(self, topic: str, value: bytes, key: bytes, *, headers: Any = None, on_delivery: Any = None) -> None:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers or [])})

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float = 0) -> int:
        return 0


class FakeWriter:
    """Raises the given errors, one a call, then writes the request's template story."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0
        self.config = None

    async def write(self, request: StoryRequest, now_ms: int, headers: dict[str, str] | None = None) -> Written:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return template_story(request, now_ms)


def encoded(request: StoryRequest) -> bytes:
    return Encoder(schema_str("StoryRequest"), REQUEST_ID).encode(request.to_avro())


@pytest.fixture
def make() -> Iterator[Any]:
    agents: list[StoryAgent] = []

    def _make(writer: FakeWriter, tracer: Tracer | None = None) -> tuple[StoryAgent, FakeProducer]:
        schema = schema_str("StoryRequest")
        decoder = Decoder(schema, lambda _id: schema, reader_id=REQUEST_ID)
        settings = Settings(bootstrap_servers="127.0.0.1:9")  # never reached: the producer is replaced
        encoder = Encoder(schema_str("Story"), 2)
        agent = StoryAgent(settings, writer, decoder, encoder, clock_ms=lambda: 5, tracer=tracer)
        agent.producer = FakeProducer()
        agents.append(agent)
        return agent, agent.producer

    yield _make
    for agent in agents:
        agent.consumer.close()


def test_a_story_is_published_once_with_its_id(make: Any) -> None:
    agent, producer = make(FakeWriter([]))
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST))))
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST), offset=1)))  # redelivered
    assert [m["topic"] for m in producer.sent] == [agent.settings.topic_stories]
    sent = producer.sent[0]
    assert sent["key"] == b"u1" and sent["headers"][STORY_ID_HEADER] == b"sid-1"
    assert (agent.stats.published, agent.stats.duplicates, agent.stats.template) == (1, 1, 1)
    assert len(agent.stats.latencies_ms) == 1 and agent.stats.dead_letters == 0
    assert agent.delivered_pending == [(("story-requests", 0), 0), (("story-requests", 0), 1)]


def test_an_undecodable_request_goes_to_the_dlq_with_its_bytes(make: Any) -> None:
    agent, producer = make(FakeWriter([]))
    asyncio.run(agent._process(FakeMessage(b"\x00\x00\x00\x00\x01not avro")))
    (sent,) = producer.sent
    assert sent["topic"] == agent.settings.topic_requests_dlq and sent["value"] == b"\x00\x00\x00\x00\x01not avro"
    assert sent["headers"][dlq.REASON] and agent.stats.dead_letters == 1 and agent.stats.published == 0


def test_a_bad_request_goes_to_the_dlq_without_a_retry(make: Any) -> None:
    writer = FakeWriter([BadRequest("no facts")])
    agent, producer = make(writer)
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST))))
    assert writer.calls == 1
    assert [m["topic"] for m in producer.sent] == [agent.settings.topic_requests_dlq]
    assert producer.sent[0]["headers"][dlq.REASON] == b"bad request: no facts"


def test_a_model_that_keeps_failing_sends_the_request_to_the_dlq(make: Any) -> None:
    writer = FakeWriter([ModelFailed("boom")] * 10)
    agent, producer = make(writer)
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST))))
    attempts = agent.settings.story_attempts
    assert writer.calls == attempts
    assert producer.sent[0]["headers"][dlq.REASON] == f"model failed {attempts} times: boom".encode()


def test_an_unavailable_triton_is_waited_out_by_the_client_alone(make: Any) -> None:
    """Wired as build_agent wires it: the client (retries=None) waits Triton out and the agent counts the
    waits; the agent itself does not retry an unavailable Triton (one policy, not two stacked)."""
    from tests.unit.inference.test_client_retry import Server, client

    server = Server(["StatusCode.UNAVAILABLE", "StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED"])
    triton = client(server, retries=None)
    agent, producer = make(StoryWriter(triton, WriterConfig(regenerations=0)))
    triton.on_retry = agent.triton_waited
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST))))
    assert server.calls == 4 and agent.stats.triton_waits == 3
    assert [m["topic"] for m in producer.sent] == [agent.settings.topic_stories]


def test_a_registry_outage_is_waited_out_not_dead_lettered(make: Any) -> None:
    from schemas import RegistryUnavailable

    schema = schema_str("StoryRequest")
    down = [2]

    def lookup(_id: int) -> str:
        if down[0]:
            down[0] -= 1
            raise RegistryUnavailable("connection refused")
        return schema

    agent, producer = make(FakeWriter([]))
    agent.decoder = Decoder(schema, lookup)  # no reader id: every writer id is looked up
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST))))
    assert down == [0] and agent.stats.registry_waits == 1 and agent.stats.dead_letters == 0
    assert [m["topic"] for m in producer.sent] == [agent.settings.topic_stories]


def test_a_traced_request_continues_its_trace_into_the_story(make: Any) -> None:
    exporter = InMemorySpanExporter()
    tracer = Tracer(SdkSink(SimpleSpanProcessor(exporter), "stories"), "stories", 1.0)
    agent, producer = make(FakeWriter([]), tracer)
    asyncio.run(agent._process(FakeMessage(encoded(REQUEST), headers=[("traceparent", traceparent(0xABC, 0xDEF))])))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    process, send = spans["process story-requests"], spans[f"send {agent.settings.topic_stories}"]
    assert process.context.trace_id == 0xABC and process.parent.span_id == 0xDEF
    assert send.parent.span_id == process.context.span_id
    header = parse(producer.sent[0]["headers"]["traceparent"])
    assert header is not None and (header.trace_id, header.span_id) == (0xABC, send.context.span_id)
