import dataclasses
import json

import fastavro
import pytest

from schemas import SCHEMA_NAMES, SchemaError, load_schema, records, schema_str

RECORD_TYPES = {
    "ListeningEvent": records.ListeningEvent,
    "TrackInfo": records.TrackInfo,
    "UserFeatures": records.UserFeatures,
    "StoryRequest": records.StoryRequest,
    "Story": records.Story,
}


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_self_contained_and_namespaced(name: str) -> None:
    schema = load_schema(name)
    assert schema["namespace"] == "linernotes.v1"
    fastavro.parse_schema(schema)  # no dangling named-type references
    assert json.loads(schema_str(name)) == schema


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_record_types_mirror_the_schemas(name: str) -> None:
    fields = [f["name"] for f in load_schema(name)["fields"]]
    assert sorted(f.name for f in dataclasses.fields(RECORD_TYPES[name])) == sorted(fields)


def test_listening_event_carries_what_a_real_one_does() -> None:
    fields = {f["name"] for f in load_schema("ListeningEvent")["fields"]}
    assert fields >= {
        "event_id",
        "user_id",
        "track_id",
        "event_time",
        "ms_played",
        "platform",
        "country",
        "reason_start",
        "reason_end",
        "shuffle",
        "skipped",
        "offline",
        "context",
    }


def test_enum_symbols_match_record_constants() -> None:
    event = load_schema("ListeningEvent")
    by_name = {f["name"]: f for f in event["fields"]}
    assert tuple(by_name["platform"]["type"]["symbols"]) == records.PLATFORMS
    ctx_fields = {f["name"]: f for f in by_name["context"]["type"]["fields"]}
    assert tuple(ctx_fields["type"]["type"]["symbols"]) == records.CONTEXT_TYPES
    story_kind = {f["name"]: f for f in load_schema("StoryRequest")["fields"]}["kind"]["type"]
    assert tuple(story_kind["symbols"]) == records.STORY_KINDS


def test_unknown_schema_is_a_typed_error() -> None:
    with pytest.raises(SchemaError, match="unknown schema"):
        load_schema("Nope")


def test_records_round_trip_through_avro() -> None:
    sheet = records.FactSheet("plays", (records.Fact("plays", "NUMBER", "12", 12.0, "plays"),))
    story = records.Story("s1", "u1", "MILESTONE", "Your 12th play.", sheet, "template:m1", True, 1, 2, ("plays",))
    parsed = fastavro.parse_schema(load_schema("Story"))
    import io

    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, story.to_avro())
    buf.seek(0)
    back = fastavro.schemaless_reader(buf, parsed, None)
    back["event_time"] = int(back["event_time"].timestamp() * 1000)
    back["created_at"] = int(back["created_at"].timestamp() * 1000)
    assert records.Story.from_avro(back) == story
