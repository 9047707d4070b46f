"""The feature worker's spans, without Kafka: sampling ratio, story-complete traces, and privacy
(an in-memory exporter behind the same record path the worker uses)."""

from __future__ import annotations

import math

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from features.triggers import TriggerConfig
from schemas import schema_str
from schemas.codec import Decoder, listening_event_encoder
from schemas.fastread import read_listening_event_core
from streams.ingest.simulator import Simulation, SimulationConfig
from streams.pipeline.processor import FeatureProcessor, RawMessage
from streams.tracing.records import PSEUDO_USER_ATTR, USER_ATTR, Privacy, SdkSink
from streams.tracing.tracer import Tracer

KEY = b"test-key"


def _run(
    ratio: float, *, triggers: bool, users: int = 300, events: int = 12_000
) -> tuple[list[ReadableSpan], set[str], int]:
    sim = Simulation(SimulationConfig(users=users, events=events, days=3, seed=7))
    catalog = {t.track_id: t for t in sim.catalog.tracks}
    writer = listening_event_encoder(1)
    evs = [e for day in sim.days() for e in day]
    msgs = [
        RawMessage("listening-events", 0, i, e["user_id"].encode(), writer.encode(e), e["event_time"])
        for i, e in enumerate(evs)
    ]
    exporter = InMemorySpanExporter()
    tracer = Tracer(SdkSink(SimpleSpanProcessor(exporter), "features", Privacy(KEY)), "features", ratio)
    decoder = Decoder(
        schema_str("ListeningEvent"),
        lambda _i: schema_str("ListeningEvent"),
        reader_id=1,
        fast_reader=read_listening_event_core,
    )
    proc = FeatureProcessor(
        decoder,
        catalog.get,
        lambda _u, _p: None,
        tracer=tracer,
        clock_ms=lambda: 2**62,
        trigger_config=TriggerConfig() if triggers else None,
    )
    for i in range(0, len(msgs), 500):
        proc.process(msgs[i : i + 500])
    fired = len(proc.take_requests())
    return list(exporter.get_finished_spans()), {e["user_id"] for e in evs}, fired


def test_ordinary_events_are_sampled_at_the_configured_ratio() -> None:
    spans, _, fired = _run(0.05, triggers=False)
    assert fired == 0
    n = sum(1 for s in spans if s.name == "process listening-events")
    expected, sd = 12_000 * 0.05, math.sqrt(12_000 * 0.05 * 0.95)
    assert abs(n - expected) < 5 * sd, n
    assert not [s for s in spans if s.name.startswith("trigger ")]


def test_every_trigger_has_its_spans_and_no_raw_user_id_is_exported() -> None:
    spans, users, fired = _run(0.0, triggers=True)
    trigger_spans = [s for s in spans if s.name.startswith("trigger ")]
    assert fired > 0 and len(trigger_spans) == fired  # ratio 0: only story-complete traces
    by_id = {s.context.span_id: s for s in spans}
    for t in trigger_spans:  # trigger -> process listening-events, in the same trace
        assert t.parent is not None and by_id[t.parent.span_id].name == "process listening-events"
        assert t.parent.trace_id == t.context.trace_id
    for s in spans:
        assert USER_ATTR not in (s.attributes or {})
        for value in (s.attributes or {}).values():
            assert not (isinstance(value, str) and value in users), (s.name, value)
    pseudonyms = {t.attributes[PSEUDO_USER_ATTR] for t in trigger_spans}  # type: ignore[index]
    assert pseudonyms <= {Privacy(KEY).pseudonym(u) for u in users}
    assert pseudonyms.isdisjoint({Privacy(b"another key").pseudonym(u) for u in users})


@pytest.mark.parametrize("debug", [False, True])
def test_story_text_and_raw_ids_only_with_the_debug_setting(debug: bool) -> None:
    attrs = {USER_ATTR: "u42", "linernotes.story.text": "You played 3 tracks.", "linernotes.story_id": "st-1"}
    out = Privacy(KEY, debug).scrub(attrs)
    assert out[PSEUDO_USER_ATTR] == Privacy(KEY).pseudonym("u42") != "u42"
    assert out["linernotes.story_id"] == "st-1"
    assert ("linernotes.story.text" in out) is debug and (USER_ATTR in out) is debug
    assert attrs[USER_ATTR] == "u42"  # the recorded attributes are not changed in place


def test_a_full_export_queue_drops_and_counts_spans_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    import queue

    from streams.tracing.export import ProcessSink
    from streams.tracing.records import EVENT, REQUEST_SEND

    sink = ProcessSink("http://127.0.0.1:9/v1/traces", "svc")
    try:

        def full(_item: object) -> None:
            raise queue.Full

        monkeypatch.setattr(sink._inbox, "put_nowait", full)
        emit = sink.appender()
        fired = ((3, "u1", "MILESTONE", "a:10"), (4, "u1", "STREAK", "7"))
        emit((EVENT, 1, 2, "listening-events", 0, 5, 1_700_000_000_000, 5, 10, 20, "svc", "g", fired))  # 4 spans
        emit((EVENT, 6, 0, "listening-events", 0, 6, 1_700_000_000_000, 7, 10, 20, "svc", "g", ()))  # 1 span
        emit((REQUEST_SEND, 1, 8, 3, 30, "svc", "story-requests", "u1", "MILESTONE", "a:10"))
        sink._push()
        assert sink.dropped == 6
    finally:
        monkeypatch.undo()
        sink.shutdown()
