"""bench stories' model repository: the same model twice, the second without dynamic batching."""

from __future__ import annotations

from pathlib import Path

from streams.bench.stories import UNBATCHED, make_repository

MODELS = Path(__file__).resolve().parents[4] / "deploy" / "triton" / "models"


def test_the_unbatched_copy_has_no_batching_block_and_still_parses(tmp_path: Path) -> None:
    make_repository(MODELS, tmp_path)
    shipped = (tmp_path / "story_generator" / "config.pbtxt").read_text()
    config = (tmp_path / UNBATCHED / "config.pbtxt").read_text()
    assert "dynamic_batching" in shipped and "default_queue_policy" in shipped  # a nested block to remove
    assert "dynamic_batching" not in config and "default_queue_policy" not in config
    assert config.count("{") == config.count("}") and config.count("[") == config.count("]")
    assert f'name: "{UNBATCHED}"' in config and "instance_group" in config and "max_batch_size: 32" in config
