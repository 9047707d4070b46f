"""Stage 2 of ``linernotes train``: which of the model's own frames it learns from, and which pairs it
is tuned on. The gate alone would teach it dull, well-formed frames; the house frames are the bar."""

from __future__ import annotations

from typing import Any

from inference.generator import Generation
from inference.training.run import Plan, _sample
from schemas.records import Fact, FactSheet

SHEET = FactSheet(
    "minutes",
    (
        Fact("minutes", "DURATION", "47 minutes", 47.0, "minute"),
        Fact("tracks", "NUMBER", "18 tracks", 18.0, "track"),
        Fact("top_artist", "ARTIST", "Cosmic Lanterns"),
        Fact("time_of_day", "TIME_OF_DAY", "evening"),
    ),
)


class Writes:
    """A model that writes the same frames for every sheet."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = frames

    def generate(self, requests: list[tuple[str, Any, str | None, Any]]) -> list[Generation]:
        n = len(self.frames)
        return [Generation(list(self.frames), list(self.frames), 50, [10] * n, [-0.3] * n) for _ in requests]


def test_only_frames_like_the_house_ones_are_learnt_and_refused_ones_are_dispreferred() -> None:
    house_like = "Your {time_of_day} session ran {minutes} across {tracks}, led by {top_artist}."
    bare = "{minutes} across {tracks}."  # the gate passes it; it is far from any house frame
    refused = "{tracks} led {minutes} across {time_of_day}."
    examples, pairs, seen = _sample(Writes([house_like, bare, refused]), [("SESSION_RECAP", SHEET)], Plan())
    assert seen == 3
    assert [e.frame for e in examples] == [house_like]
    assert [(p.chosen, p.rejected) for p in pairs] == [(house_like, refused)]


def test_with_no_frame_worth_learning_a_house_frame_is_preferred_over_the_refused_ones() -> None:
    from inference.frames import house_frames

    examples, pairs, _ = _sample(Writes(["{tracks} led {minutes}."]), [("SESSION_RECAP", SHEET)], Plan())
    assert examples == []
    assert len(pairs) == 1 and pairs[0].chosen in house_frames()["SESSION_RECAP"]
