"""Settings take their trigger defaults from features.config, the one place they are defined."""

from features.config import DEFAULT_TRIGGERS, KINDS
from schemas.records import STORY_KINDS
from streams.config.settings import Settings


def test_default_settings_describe_the_default_triggers() -> None:
    assert Settings().trigger_config() == DEFAULT_TRIGGERS


def test_trigger_kinds_are_the_story_schemas_kinds() -> None:
    assert set(KINDS) == set(STORY_KINDS) - {"OTHER"}


def test_compression_reaches_the_producers() -> None:
    from streams.kafka.producer import RecordProducer

    producer = RecordProducer(Settings(compression_type="zstd", bootstrap_servers="127.0.0.1:1"))
    assert producer.conf["compression.type"] == "zstd"
