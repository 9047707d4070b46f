"""The local registry service, exercised with confluent-kafka's own client and serializers."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas import schema_str
from schemas.registry import Registry
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.kafka import topics

pytestmark = pytest.mark.integration

TRACK = {
    "track_id": "spotify:track:1",
    "track_name": "Dancing Queen",
    "artist_id": "art_1",
    "artist_name": "ABBA",
    "album_id": None,
    "album_name": None,
    "genres": ["europop", "pop"],
    "duration_ms": 231_000,
    "release_year": 1976,
}


def consume_all(s: Settings, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    consumer = Consumer(
        {
            **s.kafka_conf(),
            "group.id": f"t-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "max.poll.interval.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    out: list = []
    import time

    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.append(msg)
    finally:
        consumer.close()
    return out


def test_confluent_serializers_round_trip_through_the_broker(kafka: Settings) -> None:
    topics.create(kafka)
    client = SchemaRegistryClient({"url": kafka.schema_registry_url})
    ser = AvroSerializer(client, schema_str("TrackInfo"))
    ctx = SerializationContext(kafka.topic_catalog, MessageField.VALUE)
    value = ser(TRACK, ctx)
    producer = Producer(kafka.kafka_conf())
    producer.produce(kafka.topic_catalog, value, TRACK["track_id"].encode())
    assert producer.flush(10) == 0

    [msg] = consume_all(kafka, kafka.topic_catalog, 1)
    assert AvroDeserializer(client)(msg.value(), ctx) == TRACK
    # Our own batch decoder reads the Confluent serializer's bytes, by registry id.
    oks, errs = Registry(kafka.schema_registry_url).decoder("TrackInfo").decode_many([msg.value()])
    assert not errs and oks[0][1] == TRACK
    # And the Confluent deserializer reads ours.
    ours = Registry(kafka.schema_registry_url).encoder(kafka.topic_catalog, "TrackInfo").encode(TRACK)
    assert AvroDeserializer(client)(ours, ctx) == TRACK


def test_evolution_both_ways_and_an_incompatible_change_refused(stack: Stack, kafka: Settings) -> None:
    subject = f"evolve-{uuid.uuid4().hex[:6]}-value"
    v1 = {
        "type": "record",
        "name": "Play",
        "namespace": "linernotes.v1",
        "fields": [{"name": "user_id", "type": "string"}, {"name": "ms", "type": "long"}],
    }
    v2 = {**v1, "fields": [*v1["fields"], {"name": "device", "type": "string", "default": "unknown"}]}
    bad = {**v1, "fields": [*v1["fields"], {"name": "mood", "type": "string"}]}
    client = SchemaRegistryClient({"url": kafka.schema_registry_url})
    assert client.get_compatibility() == "BACKWARD"
    ctx = SerializationContext(subject.removesuffix("-value"), MessageField.VALUE)

    old_bytes = AvroSerializer(client, json.dumps(v1))({"user_id": "u", "ms": 1}, ctx)
    new_bytes = AvroSerializer(client, json.dumps(v2))({"user_id": "u", "ms": 2, "device": "car"}, ctx)
    assert client.get_versions(subject) == [1, 2]

    new_reader = AvroDeserializer(client, json.dumps(v2))
    old_reader = AvroDeserializer(client, json.dumps(v1))
    assert new_reader(old_bytes, ctx) == {"user_id": "u", "ms": 1, "device": "unknown"}
    assert old_reader(new_bytes, ctx) == {"user_id": "u", "ms": 2}

    assert client.test_compatibility(subject, Schema(json.dumps(bad), "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as e:
        client.register_schema(subject, Schema(json.dumps(bad), "AVRO"))
    assert e.value.http_status_code == 409
    with pytest.raises(SchemaRegistryError) as e:
        client.get_version(subject, 9)
    assert e.value.error_code == 40402
    with pytest.raises(SchemaRegistryError) as e:
        client.get_latest_version("no-such-subject")
    assert e.value.error_code == 40401
    with pytest.raises(SchemaRegistryError) as e:
        SchemaRegistryClient({"url": kafka.schema_registry_url}).get_schema(987654)
    assert e.value.error_code == 40403

    client.set_compatibility(subject, "NONE")
    assert client.get_compatibility(subject) == "NONE"
    assert client.register_schema(subject, Schema(json.dumps(bad), "AVRO")) > 0


def test_restart_finds_schemas_again_from_the_topic(stack: Stack, kafka: Settings) -> None:
    subject = f"restart-{uuid.uuid4().hex[:6]}-value"
    client = SchemaRegistryClient({"url": kafka.schema_registry_url})
    sid = client.register_schema(subject, Schema(schema_str("Story"), "AVRO"))
    client.set_compatibility(subject, "FULL")

    registry = stack.services["registry"]
    assert registry.stop()
    assert registry.status() == "stopped"
    registry.start(timeout_s=60)

    fresh = SchemaRegistryClient({"url": kafka.schema_registry_url})  # no client-side cache
    assert json.loads(fresh.get_schema(sid).schema_str) == json.loads(schema_str("Story"))
    assert fresh.get_latest_version(subject).schema_id == sid
    assert fresh.get_compatibility(subject) == "FULL"
    assert subject in fresh.get_subjects()
