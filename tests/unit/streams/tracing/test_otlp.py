"""The hand-written OTLP encoder parses to the message the SDK's encoder builds from the same spans."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import SpanKind

from streams.tracing.encoder import Encoder
from streams.tracing.records import (
    EVENT,
    EVENT_PROCESS,
    EVENT_SEND,
    REQUEST_SEND,
    TRIGGER,
    Privacy,
    readable,
    resource,
    span_count,
    spans,
)

PRIVACY = Privacy(b"k")
RECORDS = [
    (
        "send listening-events",
        2**127 + 5,
        2**63 + 7,
        None,
        SpanKind.PRODUCER.value,
        1_700_000_000_000_000_000,
        1_700_000_000_000_001_000,
        {"messaging.system": "kafka", "messaging.kafka.offset": 123456789012, "x.neg": -3},
        (),
        None,
    ),
    (
        "process listening-events",
        2**127 + 5,
        11,
        (2**127 + 5, 2**63 + 7, True),
        SpanKind.CONSUMER.value,
        10,
        20,
        {"messaging.destination.partition.id": "3", "enduser.id": "u42", "ok": True, "ratio": 0.25},
        (),
        None,
    ),
    (
        "trigger MILESTONE",
        9,
        12,
        (9, 11, False),
        SpanKind.INTERNAL.value,
        30,
        25,
        {"linernotes.story.text": "hi"},
        [(1, 2), (2**128 - 1, 2**64 - 1)],
        None,
    ),
    (
        "chat m",
        9,
        13,
        (9, 12, False),
        SpanKind.CLIENT.value,
        40,
        50,
        {"tags": ("a", "b"), "n": [1, 2]},
        (),
        "model failed",
    ),
    ("empty", 1, 1, None, SpanKind.SERVER.value, 0, 0, {}, (), None),
    # the feature worker's short records (span_records.expand)
    (EVENT_SEND, 77, 78, "listening-events", 3, 99, 1_700_000_000_000),
    (EVENT_PROCESS, 77, 79, (77, 78, True), 5, 6, "linernotes-features", "listening-events", 3, 99, "app"),
    (TRIGGER, 77, 80, 79, 6, "linernotes-features", "u42", "MILESTONE", "a1:10"),
    (REQUEST_SEND, 77, 81, 80, 7, "linernotes-features", "story-requests", "u42", "MILESTONE", "a1:10"),
    # an event's spans in one record: send (reserved ids), process, two triggers
    (
        EVENT,
        90,
        91,
        "listening-events",
        0,
        2**40,
        1_700_000_000_001,
        92,
        8,
        9,
        "linernotes-features",
        "app",
        ((93, "u42", "MILESTONE", "a1:50"), (94, "u42", "STREAK", "7")),
    ),
    # a sampled event without reserved ids: only its process span, no group
    (EVENT, 95, 0, "listening-events", 1, 5, 1_700_000_000_002, 96, 8, 9, "linernotes-features", None, ()),
]
SPANS = len(RECORDS) + 3  # the first EVENT record is four spans


@pytest.mark.parametrize("debug", [False, True])
def test_same_message_as_the_sdk_encoder(debug: bool) -> None:
    privacy = Privacy(b"k", debug)
    res = resource("linernotes-features")
    sdk = encode_spans([readable(s, res, privacy) for r in RECORDS for s in spans(r)])
    ours = ExportTraceServiceRequest.FromString(Encoder("linernotes-features", privacy).encode(RECORDS))
    assert len(ours.resource_spans[0].scope_spans[0].spans) == SPANS == sum(map(span_count, RECORDS))
    assert ours == sdk


def test_no_raw_user_id_in_the_bytes() -> None:
    body = Encoder("s", PRIVACY).encode(RECORDS)
    assert b"u42" not in body and b"hi" not in body
    assert PRIVACY.pseudonym("u42").encode() in body
