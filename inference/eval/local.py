"""What a story model in this process publishes for the evaluation's sheets: its candidates written in
batches (``recorded.record``), then the story writer's own choice per sheet (``recorded.replay``)."""

from __future__ import annotations

from dataclasses import dataclass

from inference.generator import StoryModel
from inference.writer import WriterConfig

from .published import Published
from .recorded import Recorded, record, replay
from .sets import EvalSet


@dataclass(frozen=True, slots=True)
class LocalRun:
    published: list[Published]
    tokens_per_s: float
    device: str
    recorded: list[Recorded]


def local_pipeline(model: StoryModel, es: EvalSet, config: WriterConfig | None = None, batch: int = 16) -> LocalRun:
    config = config or WriterConfig()
    recorded, tokens_per_s = record(model, es, config, batch)
    return LocalRun(replay(es, recorded, config), tokens_per_s, str(model.device), recorded)
