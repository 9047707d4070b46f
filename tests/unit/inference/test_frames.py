"""Slot frames: filled from the sheet by code; refused when they bring facts of their own."""

from __future__ import annotations

import pytest

from inference.frames import FrameError, fill, parse, problems
from inference.grounding import check
from schemas.records import Fact, FactSheet

SHEET = FactSheet(
    "minutes",
    (
        Fact("minutes", "DURATION", "47 minutes", 47.0, "minute"),
        Fact("tracks", "NUMBER", "18 tracks", 18.0, "track"),
        Fact("top_artist", "ARTIST", "Cosmic Lanterns"),
        Fact("time_of_day", "TIME_OF_DAY", "late night"),
    ),
)


def test_a_frame_is_filled_from_the_facts() -> None:
    text = fill("{minutes} across {tracks}: your {time_of_day} session, led by {top_artist}.", SHEET)
    assert text == "47 minutes across 18 tracks: your late night session, led by Cosmic Lanterns."
    assert check(text, SHEET, "SESSION_RECAP").grounded
    assert parse("Your {time_of_day} session ran {minutes}.").slots == ("time_of_day", "minutes")


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ("Your session ran {minutes} with {skips}.", "unknown slot {skips}"),
        ("Your session ran {minutes} across 18 tracks.", "a number of its own"),
        ("Your session ran {minutes} across eighteen tracks.", "a number word of its own"),
        ("Your session ran {minutes} and two hours.", "a number word of its own"),
        ("Your session ran {minutes}, led by Radiohead.", "a name of its own: 'Radiohead'"),
        ("{minutes}, and {minutes} again.", "slot {minutes} twice"),
        ("Your session, led by {top_artist}.", "no slot for the key fact {minutes}"),
        ("Your session ran {minutes!r}.", "malformed slot"),
        ("Your session ran {minutes.", "malformed frame"),
    ],
)
def test_frames_with_facts_of_their_own_are_refused(frame: str, why: str) -> None:
    assert any(why in p for p in problems(frame, SHEET)), problems(frame, SHEET)
    with pytest.raises(FrameError):
        fill(frame, SHEET)


def test_sentence_openers_and_colons_are_not_names() -> None:
    assert problems("Session wrapped: {tracks} in {minutes}. Here's to the next one.", SHEET) == []


def test_every_shipped_frame_fills_into_a_story_the_gate_passes() -> None:
    """The frames the story model is trained on are house style: on every evaluation sheet a frame
    fits, its filled story passes the gate; every kind has at least 30 of them."""
    import json
    from collections import Counter
    from importlib import resources

    from inference.eval import sets

    frames = [
        json.loads(x) for x in resources.files("inference").joinpath("data", "frames.jsonl").read_text().splitlines()
    ]
    assert min(Counter(f["kind"] for f in frames).values()) >= 30 and len(Counter(f["kind"] for f in frames)) == 6
    sheets = list(sets.load().sheets.values())
    for f in frames:
        fits = [s for s in sheets if s.kind == f["kind"] and not problems(f["frame"], s.sheet)]
        assert fits, f"{f['frame']!r} fits no sheet"
        for s in fits:
            report = check(fill(f["frame"], s.sheet), s.sheet, s.kind)
            assert report.grounded, (f["frame"], s.id, report.summary())
