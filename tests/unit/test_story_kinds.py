"""Story kinds are defined once (the Story schema's enum, mirrored by schemas.records.STORY_KINDS);
every table keyed by kind covers exactly the kinds a trigger can fire."""

import json

import pytest

from features import facts
from features.config import KINDS
from inference import factsheet, prompt, templates
from inference.grounding import vocabulary
from schemas.contract import schema_str
from schemas.records import STORY_KINDS


def test_the_records_mirror_the_schema_enum() -> None:
    story = json.loads(schema_str("Story"))
    kind = next(f["type"] for f in story["fields"] if f["name"] == "kind")
    assert tuple(kind["symbols"]) == STORY_KINDS


@pytest.mark.parametrize(
    "table",
    [
        facts._WRITERS,
        factsheet.KIND_FACTS,
        prompt._KIND_HINT,
        templates.TEMPLATES,
        vocabulary.KIND_WORDS,
    ],
    ids=["facts", "factsheet", "prompt", "templates", "vocabulary"],
)
def test_every_kind_table_covers_the_trigger_kinds(table: dict[str, object]) -> None:
    assert set(table) - {"OTHER"} == set(KINDS)
