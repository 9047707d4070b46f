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


STREAK = FactSheet("streak_days", (Fact("streak_days", "STREAK", "3 days", 3.0, "day"),))
SHIFT = FactSheet(
    "new_time_of_day",
    (
        Fact("new_time_of_day", "TIME_OF_DAY", "evening"),
        Fact("old_time_of_day", "TIME_OF_DAY", "late night"),
        Fact("share", "NUMBER", "63%", 63.0, "percent"),
    ),
)
DISCOVERY = FactSheet(
    "artist",
    (
        Fact("artist", "ARTIST", "The Rising Dunes"),
        Fact("track", "TRACK", "Gold Rain"),
        Fact("genre", "GENRE", "tejano"),
    ),
)
WEEK = FactSheet(
    "minutes",
    (
        Fact("minutes", "DURATION", "131 minutes", 131.0, "minute"),
        Fact("top_artist", "ARTIST", "Winter Lanterns"),
        Fact("plays", "NUMBER", "41 plays", 41.0, "play"),
        Fact("top_genre", "GENRE", "old school jungle"),
        Fact("week_of", "DATE", "November 2"),
    ),
)
MILESTONE = FactSheet(
    "play_count",
    (
        Fact("play_count", "NUMBER", "10 plays", 10.0, "play"),
        Fact("artist", "ARTIST", "Crimson Lanterns"),
        Fact("track", "TRACK", "Memory"),
    ),
)


MILESTONE_DATED = FactSheet("play_count", (*MILESTONE.facts, Fact("first_played", "DATE", "Monday, November 2, 2026")))


@pytest.mark.parametrize(
    ("frame", "sheet", "why"),
    [
        # a count leads nothing, is not on top, does not play another count
        ("{tracks} led {minutes} in the count.", SHEET, "the tracks lead nothing"),
        ("{minutes} now leading, {tracks} along the way.", SHEET, "the minutes lead nothing"),
        ("{minutes} of music, with {tracks} on top.", SHEET, "the tracks are not what led"),
        ("{minutes} of music, led by {tracks}.", SHEET, "the tracks are not what led"),
        ("{tracks} played {minutes}, and {top_artist} kept going.", SHEET, "the tracks do not make the minutes"),
        ("{minutes} {tracks}, led by {top_artist}.", SHEET, "nothing between them"),
        # the session's amounts are not one artist's, and the session is not the artist's
        ("{top_artist} played {minutes} across {tracks}.", SHEET, "the minutes are not for top artist alone"),
        ("{tracks} led {minutes} in the {top_artist} session.", SHEET, "the session and the week are the listener's"),
        ("{top_artist} and {top_genre} on {minutes}.", WEEK, "the minutes are not for top genre alone"),
        ("{minutes} over {top_artist}, with {top_genre} on top.", WEEK, "the minutes are not for top artist alone"),
        ("Week of {minutes}: {top_artist} of {top_genre}.", WEEK, "the top genre is the listening's"),
        # a part of the day is a time: "the" after a preposition, and not what one listens to
        ("{tracks} led {minutes} across {time_of_day}.", SHEET, "the time of day needs 'the'"),
        ("Your music in {time_of_day} ran {minutes}.", SHEET, "the time of day needs 'the'"),
        ("You listened to {new_time_of_day} now, away from the {old_time_of_day}.", SHIFT, "is when, not what"),
        ("{new_time_of_day} now: {old_time_of_day}.", SHIFT, "the old part of the day is not said as the one before"),
        (
            "You moved from {old_time_of_day} to {new_time_of_day} over {share}.",
            SHIFT,
            "share is a part of the listening",
        ),
        # a streak is days in a row; a discovery is the listener's
        ("{streak_days} of listening.", STREAK, "not said to be in a row"),
        ("You kept the music on for {streak_days}.", STREAK, "not said to be in a row"),
        ("{artist} found you through {track}.", DISCOVERY, "the listener found the artist, not the reverse"),
        ("{artist} came to {track}, and you kept listening.", DISCOVERY, "not to the track"),
        # listening moves between parts of the day; the latest is a track; a milestone's first play is dated
        ("Your listening moved to {artist}. Here's to the next discovery.", DISCOVERY, "not to the artist"),
        ("You pressed play on {artist}, the latest being {play_count}.", MILESTONE, "the latest is the track"),
        ("You gave {artist} your first play, with {play_count} of them.", MILESTONE, "first-play date"),
        # a count with "now" and a colon, or a name on top with no verb of its own, is no sentence
        ("{play_count} now played: {artist}.", MILESTONE, "'now' with no verb"),
        ("Your listening moved: {artist}. Here's to the next discovery.", DISCOVERY, "'moved:' with no parts"),
        ("Your session ran {minutes}, with {top_artist} listed.", SHEET, "listed, with nothing"),
        ("Your week came to {minutes} and {top_artist} on top.", WEEK, "on top has no verb"),
        # facts strung together say nothing about them
        ("{play_count} of {artist}.", MILESTONE, "dull: lists its facts"),
        ("{minutes} of music: {tracks}.", SHEET, "dull: lists its facts"),
        ("{top_artist} and {top_genre} in your week: {minutes}.", WEEK, "dull: lists its facts"),
    ],
)
def test_slots_in_roles_their_values_cannot_have_are_refused(frame: str, sheet: FactSheet, why: str) -> None:
    assert any(why in p for p in problems(frame, sheet)), problems(frame, sheet)


@pytest.mark.parametrize(
    ("frame", "sheet"),
    [
        ("{top_artist} led {minutes} across {tracks}.", SHEET),
        ("{tracks} across {minutes}, with {top_artist} on top.", SHEET),
        ("{tracks} in {minutes}: your {time_of_day} session, led by {top_artist}.", SHEET),
        ("In the {time_of_day}, you played {tracks} over {minutes}.", SHEET),
        ("{tracks} filled your {time_of_day} session, {minutes} of it.", SHEET),
        ("{top_artist} and {top_genre} topped your week of {minutes}.", WEEK),
        ("The week of {week_of} ran {minutes} over {plays}, led by {top_artist}.", WEEK),
        ("{streak_days} straight with music.", STREAK),
        ("{streak_days} and counting: the streak goes on.", STREAK),
        ("Your listening went from the {old_time_of_day} to the {new_time_of_day}, {share} of it now.", SHIFT),
        ("{new_time_of_day} now, {old_time_of_day} before.", SHIFT),
        ("You found {artist} through {track}, a new {genre} voice.", DISCOVERY),
        ("{artist} reached {play_count} with you, the latest being {track}.", MILESTONE),
        ("You have now given {artist} {play_count}.", MILESTONE),
        ("Listening moved: {old_time_of_day} to {new_time_of_day}, with {share} of it there.", SHIFT),
        ("You found {artist}, listed under {genre}, through {track}.", DISCOVERY),
        ("{play_count} for {artist} since {first_played}, the latest being {track}.", MILESTONE_DATED),
        ("Your listening moved from the {old_time_of_day} to the {new_time_of_day}, {share} of it now.", SHIFT),
    ],
)
def test_slots_in_their_roles_are_filled(frame: str, sheet: FactSheet) -> None:
    assert problems(frame, sheet) == []
    assert check(fill(frame, sheet), sheet).grounded, check(fill(frame, sheet), sheet).summary()


def test_the_same_words_around_a_slot_of_another_role_are_refused() -> None:
    """The rules go by what a value is, not by the sentence: one shape, two slots."""
    assert problems("{top_artist} led your session, {minutes} in all.", SHEET) == []
    assert problems("{tracks} led your session, {minutes} in all.", SHEET)
    assert problems("Your listening moved from the {old_time_of_day} to the {new_time_of_day}.", SHIFT) == []
    assert problems("Your listening moved from the {new_time_of_day} to the {old_time_of_day}.", SHIFT)


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ("{top_artist} came to {minutes} and {top_genre} on top.", "not for top artist alone"),
        ("{top_artist} and {top_genre} came to {minutes}.", "not for top artist alone"),
        ("The {top_artist} of {minutes}, led by {top_genre}.", "not for top artist alone"),
        ("{top_artist} started your week: {minutes}.", "the week is the listener's"),
        ("{tracks} now: {minutes} over {skips}.", "did not span the skips"),
    ],
)
def test_a_total_said_as_one_artists_is_refused(frame: str, why: str) -> None:
    # Slips of the trained adapter that editors labelled wrong_role or unsupported (editor 4).
    from inference.grounding.roles import problems, skeleton_of_frame

    found = problems(skeleton_of_frame(frame), "WEEKLY_DIGEST")
    assert any(why in p for p in found), found


@pytest.mark.parametrize(
    ("kind", "frame"),
    [
        ("MILESTONE", "You reached {artist} with {play_count}."),
        ("MILESTONE", "Since {first_played}, {artist} reached {play_count} with you."),
        ("DISCOVERY", "Your first {artist} track: {track}."),
        ("DISCOVERY", "Welcome, {artist}: your first play was {track}."),
        ("TIME_OF_DAY_SHIFT", "The {new_time_of_day} brings your listening to {share}, from the {old_time_of_day}."),
        ("TIME_OF_DAY_SHIFT", "Your music settled in the {new_time_of_day}, before the {old_time_of_day}."),
        ("TIME_OF_DAY_SHIFT", "Your listening moved from {old_time_of_day} to {new_time_of_day} now."),
        ("SESSION_RECAP", "You pressed play {minutes}, {top_artist} in your session."),
        ("SESSION_RECAP", "Your session ran {minutes}, and you kept going."),
        ("SESSION_RECAP", "{top_artist} held the front of your {time_of_day} session, which came to {minutes}."),
        ("SESSION_RECAP", "{top_artist} led your {time_of_day} session, which came to {minutes} over."),
        ("SESSION_RECAP", "Your session ran {minutes} and picked up {skips} tracks."),
        ("SESSION_RECAP", "You kept coming back to {minutes} over {tracks}."),
        ("SESSION_RECAP", "You gave your {time_of_day} session of {minutes}."),
        ("SESSION_RECAP", "{new_artists} joined your {time_of_day} session, with {minutes} in the mix."),
        ("MILESTONE", "{play_count} for the first time with {artist}."),
        ("MILESTONE", "{artist} rolled on to {play_count} of music."),
        ("MILESTONE", "It came to {play_count} in a mix of {artist} tracks."),
        ("STREAK", "{streak_days} in a row, one after another."),
        ("STREAK", "A streak of {streak_days} in a row."),
        ("STREAK", "Play by play for {streak_days} in a row."),
        ("STREAK", "{streak_days} in a row, each one by one."),
        ("STREAK", "Every day for {streak_days}, well done."),
        ("DISCOVERY", "{artist} came into the mix with {new_artists_7d} in the last seven days."),
        ("DISCOVERY", "You heard {artist} for the first time on {genre}."),
        ("DISCOVERY", "A new name in your listening: {artist} ({new_artists_7d})."),
        ("DISCOVERY", "{artist} is a new {genre} in your listening."),
        ("DISCOVERY", "Welcome {artist}, to your listening with {track}."),
        ("TIME_OF_DAY_SHIFT", "{share} of your listening moved from the {old_time_of_day} to the {new_time_of_day}."),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} now holds {share} of your music, the {old_time_of_day} held it before.",
        ),
        ("TIME_OF_DAY_SHIFT", "The {new_time_of_day} took the lead from the {old_time_of_day} in your day."),
        ("TIME_OF_DAY_SHIFT", "Your {new_time_of_day} listening now, the {old_time_of_day} listening before."),
        ("WEEKLY_DIGEST", "Your week of {minutes} was led by {top_artist} over {top_genre}."),
        ("WEEKLY_DIGEST", "{top_artist} led a week of {minutes} and {new_artists} in your week."),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} now covers {share} of your plays, where the {old_time_of_day} did before.",
        ),
        ("TIME_OF_DAY_SHIFT", "The {new_time_of_day} now covers {share}, where the {old_time_of_day} led before."),
        ("MILESTONE", "{artist} rolled on to {play_count}, {track}."),
        ("WEEKLY_DIGEST", "Your week: {top_artist}, with {minutes} spent listening."),
        ("WEEKLY_DIGEST", "You gave your week {minutes} of music, with {top_artist}."),
        ("WEEKLY_DIGEST", "You gave your week {minutes} of music; {top_artist} the most played name."),
        ("WEEKLY_DIGEST", "Leading your week: {top_artist}, with {minutes} spent."),
        ("SESSION_RECAP", "Session done: {top_artist}, with {minutes}."),
        ("SESSION_RECAP", "{minutes} start your session, {top_artist} up front."),
        ("SESSION_RECAP", "How your session went: {minutes}, {new_artists} up front."),
        ("MILESTONE", "You and {artist}: your rotation holds {play_count}."),
        ("TIME_OF_DAY_SHIFT", "From {old_time_of_day} to {new_time_of_day}: your music moves in the {share} of hours."),
        ("TIME_OF_DAY_SHIFT", "The clock's shifting from {old_time_of_day} to {new_time_of_day} now."),
        ("TIME_OF_DAY_SHIFT", "It used to be the {old_time_of_day}, now it's the {new_time_of_day}."),
        ("TIME_OF_DAY_SHIFT", "Before, the {old_time_of_day}, it was {new_time_of_day}. Now {share} of your plays."),
        ("WEEKLY_DIGEST", "Leading your week: {minutes}, with {top_artist} on top."),
        ("WEEKLY_DIGEST", "Leading your week was {minutes}, with {top_artist} as your top genre."),
        ("WEEKLY_DIGEST", "Beginning {week_of}, you listened {minutes}, and you kept to {top_artist}."),
        ("WEEKLY_DIGEST", "{top_artist} was your week, and {minutes} spent with music."),
        ("DISCOVERY", "You came back to {artist} with {track}."),
        ("DISCOVERY", "Starting with {artist}, you found {new_artists_7d} in the last seven days."),
        ("DISCOVERY", "You started with {artist}, and now you're at {track}."),
        ("DISCOVERY", "Starting with {artist}, your count has now reached {new_artists_7d}."),
        ("DISCOVERY", "{artist} ({genre}) reached the count."),
        ("DISCOVERY", "A discovery: {artist} up front."),
        ("WEEKLY_DIGEST", "Your week: {minutes}, with {top_artist} as your {top_genre}."),
        ("TIME_OF_DAY_SHIFT", "Before, the {old_time_of_day}, it was the {new_time_of_day}."),
        ("STREAK", "Each day with music: {streak_days}."),
        ("STREAK", "{streak_days} and going strong."),
        ("STREAK", "{streak_days} into your listening, and counting."),
    ],
)
def test_what_editors_refused_on_dev_is_refused_as_a_frame(kind: str, frame: str) -> None:
    from inference.grounding.roles import problems as role_problems
    from inference.grounding.roles import skeleton_of_frame

    assert role_problems(skeleton_of_frame(frame), kind), frame


@pytest.mark.parametrize(
    ("kind", "frame"),
    [
        (
            "TIME_OF_DAY_SHIFT",
            "You listen mostly in the {new_time_of_day} now, where before the {old_time_of_day} led.",
        ),
        ("TIME_OF_DAY_SHIFT", "Your listening has moved from the {old_time_of_day} to the {new_time_of_day} now."),
        ("SESSION_RECAP", "{minutes} across {tracks}, led by {top_artist} in your {time_of_day} session."),
        ("SESSION_RECAP", "In {minutes} you listened to {new_artists}, with {top_artist} on top."),
        ("DISCOVERY", "Welcome to {artist}: your first track was {track}."),
        ("STREAK", "{streak_days} in a row with music, and you kept going."),
        ("WEEKLY_DIGEST", "The week of {week_of} came to {minutes}, and {top_artist} reached the top of your plays."),
        ("SESSION_RECAP", "{top_artist} led your {time_of_day} session, which came to {minutes}."),
        ("SESSION_RECAP", "That was {minutes} of listening over {tracks}, with {skips} along the way."),
        ("MILESTONE", "You pressed play on {artist} for the first time on {first_played}; it's {play_count} now."),
        ("STREAK", "Every day for {streak_days}, you pressed play."),
        ("STREAK", "Play by play, you've made it {streak_days} in a row."),
        ("STREAK", "{streak_days} in a row, each one with music."),
        ("DISCOVERY", "New in your listening: {artist} ({genre}), by way of {track}."),
        ("DISCOVERY", "{artist} is a new {genre} name in your plays."),
        ("DISCOVERY", "Welcome {artist} to your listening, found through {track}."),
        ("DISCOVERY", "You heard {artist} for the first time on {track}."),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} now holds {share} of your music, where the {old_time_of_day} held it before.",
        ),
        (
            "TIME_OF_DAY_SHIFT",
            "Your listening moved from the {old_time_of_day} to the {new_time_of_day}, with {share} of it now.",
        ),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} leads your day in music now; the {old_time_of_day} led it before.",
        ),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} now covers {share} of your plays, where the {old_time_of_day} led before.",
        ),
        ("MILESTONE", "{artist} rolled on to {play_count}, {track} the latest."),
        ("WEEKLY_DIGEST", "Up front this week: {top_artist}, in a week of {minutes}."),
        ("WEEKLY_DIGEST", "{top_artist} led your week, with {minutes} spent listening."),
        ("SESSION_RECAP", "{tracks} led by {top_artist}, with {minutes} played."),
        ("MILESTONE", "You came back to {artist} for {play_count}."),
        ("DISCOVERY", "{artist} is one of {new_artists_7d} you found in the last seven days."),
        ("WEEKLY_DIGEST", "{top_artist} was your week's top artist, across {minutes} and {plays}."),
        ("DISCOVERY", "Just getting started with {artist}: you found them through {track}."),
        ("DISCOVERY", "{artist} reached your ears through {track}."),
        ("STREAK", "A streak of {streak_days}, and counting."),
        ("STREAK", "Music came along each day, {streak_days} in a row."),
        (
            "TIME_OF_DAY_SHIFT",
            "It used to be the {old_time_of_day}; now it's the {new_time_of_day} that gets {share} of your plays.",
        ),
        ("WEEKLY_DIGEST", "The week of {week_of} was led by {top_artist}, with {minutes} of listening in all."),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} leads your listening now, where the {old_time_of_day} did before.",
        ),
        (
            "TIME_OF_DAY_SHIFT",
            "The {new_time_of_day} is now the main time in your day for music, with {share} of your plays.",
        ),
        ("MILESTONE", "The plays added up one by one, and {artist} reached {play_count}."),
        ("SESSION_RECAP", "{top_artist} stood out in a mix of {tracks} over {minutes}."),
        ("WEEKLY_DIGEST", "Your week: {minutes}, with the most plays on {top_genre}, led by {top_artist}."),
        ("MILESTONE", "You're up to {play_count} of songs by {artist}, the latest being {track}."),
    ],
)
def test_the_same_words_in_good_sentences_are_not_refused(kind: str, frame: str) -> None:
    from inference.grounding.roles import problems as role_problems
    from inference.grounding.roles import skeleton_of_frame

    assert role_problems(skeleton_of_frame(frame), kind) == [], frame


def test_a_name_as_a_modifier_is_refused_only_when_it_starts_with_the() -> None:
    sheet = FactSheet(
        "artist",
        (Fact("artist", "ARTIST", "Silver Machines"), Fact("track", "TRACK", "Home")),
    )
    the = FactSheet("artist", (Fact("artist", "ARTIST", "The Broken Foxes"), Fact("track", "TRACK", "Home")))
    assert check("Your first Silver Machines track was Home.", sheet, "DISCOVERY").grounded
    assert not check("Your first The Broken Foxes track was Home.", the, "DISCOVERY").grounded
    assert problems("Your first {artist} track was {track}.", sheet)  # a frame may be filled with either
