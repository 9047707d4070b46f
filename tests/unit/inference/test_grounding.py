"""The truth gate on hand-written cases, one family of claims per test (docs/stories.md)."""

from __future__ import annotations

import pytest

from inference.grounding import check
from schemas.records import Fact, FactSheet

SESSION = {
    "minutes": Fact("minutes", "DURATION", "56 minutes", 56.0, "minute"),
    "tracks": Fact("tracks", "NUMBER", "13 tracks", 13.0, "track"),
    "top_artist": Fact("top_artist", "ARTIST", "The Silent Pilots"),
    "time_of_day": Fact("time_of_day", "TIME_OF_DAY", "evening"),
    "skips": Fact("skips", "NUMBER", "2 skips", 2.0, "skip"),
}


def sheet(key: str = "minutes", drop: tuple[str, ...] = (), **extra: Fact) -> FactSheet:
    facts = {k: v for k, v in {**SESSION, **extra}.items() if k not in drop}
    return FactSheet(key_fact=key, facts=tuple(facts.values()))


MILESTONE = FactSheet(
    "play_count",
    (
        Fact("play_count", "NUMBER", "100 plays", 100.0, "play"),
        Fact("artist", "ARTIST", "Sugar Orchards"),
        Fact("track", "TRACK", "Memory"),
        Fact("first_played", "DATE", "Monday, November 2, 2026"),
    ),
)
STREAK = FactSheet("streak_days", (Fact("streak_days", "STREAK", "7 days", 7.0, "day"),))
SHIFT = FactSheet(
    "new_time_of_day",
    (
        Fact("new_time_of_day", "TIME_OF_DAY", "late night"),
        Fact("old_time_of_day", "TIME_OF_DAY", "morning"),
        Fact("share", "NUMBER", "44%", 44.0, "percent"),
    ),
)
DISCOVERY = FactSheet(
    "artist",
    (
        Fact("artist", "ARTIST", "Rain"),
        Fact("track", "TRACK", "Home"),
        Fact("new_artists_7d", "NUMBER", "5 new artists", 5.0, "artist"),
        Fact("genre", "GENRE", "j-pop"),
    ),
)


def ok(text: str, s: FactSheet | None = None, kind: str = "") -> None:
    r = check(text, s or sheet(), kind)
    assert r.grounded, f"{text!r} refused: {r.summary()}"


def refused(text: str, s: FactSheet | None = None, why: str = "", kind: str = "") -> None:
    r = check(text, s or sheet(), kind)
    assert not r.grounded, f"{text!r} accepted"
    assert why in r.summary(), r.summary()


def test_a_plain_restatement_binds_every_fact() -> None:
    r = check("Your evening session ran 56 minutes across 13 tracks, led by The Silent Pilots.", sheet())
    assert r.grounded, r.summary()
    assert set(r.facts_used) == {"minutes", "tracks", "top_artist", "time_of_day"}
    assert r.skeleton == "your {time_of_day} session ran {minutes} across {tracks} , led by {top_artist} ."


@pytest.mark.parametrize(
    "text",
    [
        "Thirteen tracks in 56 minutes, led by Silent Pilots.",
        "56 minutes and 13 songs, with the silent pilots on top.",
        "Nearly an hour of music across 13 tracks, 2 of them skipped.",
        "A 56-minute evening session: 13 tracks, led by The Silent Pilots.",
    ],
)
def test_true_paraphrases_pass(text: str) -> None:
    ok(text)


@pytest.mark.parametrize(
    ("minutes", "text", "true"),
    [
        (56, "nearly an hour", True),
        (50, "almost an hour", True),
        (47, "nearly an hour", False),
        (60, "an hour", True),
        (74, "an hour and 14 minutes", True),
        (74, "1 hour 14 minutes", True),
        (75, "an hour and 14 minutes", False),
        (90, "an hour and a half", True),
        (70, "over an hour", True),
        (95, "over an hour", False),
        (30, "half an hour", True),
        (178, "nearly three hours", True),
        (178, "two hours", False),
        (178, "three hours", False),
        (63, "about an hour", True),
        (120, "two hours", True),
        (121, "more than two hours", True),
    ],
)
def test_durations_follow_the_grammar(minutes: int, text: str, true: bool) -> None:
    s = sheet(minutes=Fact("minutes", "DURATION", f"{minutes} minutes", float(minutes), "minute"))
    story = f"Your evening session ran {text} across 13 tracks."
    ok(story, s) if true else refused(story, s, "no fact says")


@pytest.mark.parametrize(
    ("days", "text", "true"),
    [
        (7, "A week-long streak, and counting.", True),
        (7, "A full week in a row with music.", True),
        (6, "A week-long streak, and counting.", False),
        (7, "Seven days in a row with music.", True),
        (14, "Two weeks in a row with music, and counting.", True),
        (7, "7 straight days with music.", True),
    ],
)
def test_streak_paraphrases(days: int, text: str, true: bool) -> None:
    s = FactSheet("streak_days", (Fact("streak_days", "STREAK", f"{days} days", float(days), "day"),))
    ok(text, s) if true else refused(text, s)


def test_a_right_number_in_the_wrong_role_is_refused() -> None:
    refused("You skipped 13 tracks in 56 minutes.", why="wrong role: 'skipped 13 tracks' (13 is the tracks)")
    refused("56 minutes, 13 skips.", why="wrong role")
    ok("You played 13 tracks in 56 minutes, 2 of them skipped.")
    ok("You skipped 2 tracks in 56 minutes.")
    refused("56 minutes, and 13 replays.", why="number without its noun")
    refused("You played 13 of them in 56 minutes.", why="number without its noun")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("56 minutes of legendary music from The Silent Pilots.", "opinion: 'legendary'"),
        ("56 minutes at a sold-out show.", "not in the house vocabulary: 'sold-out'"),
        ("56 minutes of The Silent Pilots on vinyl.", "the world outside the plays: 'vinyl'"),
        ("56 minutes, live from london.", "the world outside the plays: 'live'"),
        ("You never once skipped in 56 minutes.", "negation: 'never'"),
        ("56 minutes with no skips at all.", "negation: 'no'"),
        ("Your longest session ever: 56 minutes.", "superlative: 'longest'"),
        ("56 minutes, twice as many as usual.", "comparison: 'twice'"),
        ("56 minutes with radiohead.", "not in the house vocabulary: 'radiohead'"),
        ("56 minutes with Radiohead and The Silent Pilots.", "a name not in the facts: 'Radiohead'"),
        ("56 minutes of indie rock.", "not in the house vocabulary: 'indie'"),
        ("Yesterday you listened for 56 minutes.", "relative time: 'Yesterday'"),
        ("56 minutes of music this evening.", "relative time: 'this evening'"),
        ("56 minutes of music 🎧", "emoji or symbol"),
        ("56 minutes of music, see https://example.com for more.", "a link"),
        ("56 minutes of music #NowPlaying", "hashtag"),
        ("The original sentence was rephrased to: 56 minutes.", "prompt leak: 'original'"),
        ("I loved your 56 minutes of music.", "first person: 'I'"),
        ("Your morning session ran 56 minutes.", "time of day not in the facts"),
        ("Half of your 56 minutes went to The Silent Pilots.", "not in the house vocabulary: 'Half'"),
        ("56 minutes, 49 per cent of it The Silent Pilots.", "no such fact: '49 per cent'"),
        ("56 minutes of music, most of it from The Silent Pilots.", "superlative: 'most'"),
        ("13 tracks of music from The Silent Pilots.", "key fact not stated: minutes"),
        ("56 minutes and 56 minutes again.", "states minutes twice"),
        ("Your 56 minutes. Your 13 tracks. Your evening.", "more than two sentences"),
        ("56 minutes with Silent.", "a name not in the facts: 'Silent'"),
    ],
)
def test_claims_no_fact_makes_are_refused_with_their_reason(text: str, why: str) -> None:
    refused(text, why=why)


def test_time_of_day_words_need_a_time_of_day_fact() -> None:
    no_zone = sheet(drop=("time_of_day",))
    ok("Your session ran 56 minutes across 13 tracks.", no_zone)
    refused("Your evening session ran 56 minutes.", no_zone, "time of day not in the facts: 'evening'")


def test_milestones_name_their_artist_and_dates_match_the_fact() -> None:
    ok("Sugar Orchards reached 100 plays with you, the latest being Memory.", MILESTONE)
    ok("Your 100th play of Sugar Orchards, since you first pressed play on Nov 2.", MILESTONE)
    ok("Sugar Orchards hit 100 plays, since Monday, November 2.", MILESTONE)
    refused("You reached 100 plays, the latest being Memory.", MILESTONE, "does not name the artist")
    refused("Sugar Orchards hit 100 plays, since November 3.", MILESTONE, "date not in the facts")
    refused("Sugar Orchards hit 100 plays, since Tuesday.", MILESTONE, "date not in the facts")
    refused("Sugar Orchards hit 100 plays today, November 2, 2026.", MILESTONE, "relative time: 'today'")
    refused("Sweets, a sweet treat: 100 plays.", MILESTONE)
    refused("Sugar Orchards hit 100 plays, a trip down memory lane.", MILESTONE, "'lane'")


def test_negations_stated_by_a_fact_are_licensed() -> None:
    ok("7 days in a row without a silent day.", STREAK)
    refused("7 days in a row without a single skip.", STREAK, "negation: 'without'")
    ok("You listen in the late night now, not the morning as before: 44% of your listening.", SHIFT)
    ok("Your listening moved from the morning to late night, 44 percent of it now.", SHIFT)
    refused("You never listen in the morning now: late night took 44%.", SHIFT, "negation: 'never'")
    refused("Late night took 44% of your listening.", SHIFT, "does not name the old time of day")


def test_names_that_are_common_words_bind_only_as_themselves() -> None:
    ok("You found Rain through Home and kept listening.", DISCOVERY)
    ok("Rain is one of 5 new artists you found in the last seven days.", DISCOVERY)
    refused("Rain is one of 5 new artists you found this week.", DISCOVERY, "'week'")
    refused("You found Rain through Home, a j-pop legend.", DISCOVERY, "opinion: 'legend'")
    refused("You found Rain through Summer and kept listening.", DISCOVERY, "a name not in the facts: 'Summer'")


def test_the_kind_decides_kind_words() -> None:
    weekly = FactSheet(
        "minutes",
        (
            Fact("minutes", "DURATION", "135 minutes", 135.0, "minute"),
            Fact("top_artist", "ARTIST", "Glass Monsoons"),
            Fact("plays", "NUMBER", "40 plays", 40.0, "play"),
            Fact("week_of", "DATE", "November 2"),
        ),
    )
    ok("135 minutes this week, led by Glass Monsoons.", weekly)
    ok("The week of Nov 2nd: 135 minutes and 40 plays, with Glass Monsoons on top.", weekly)
    refused("You spent 135 minutes listening to Glass Monsoons last week.", weekly, "relative time: 'last'")


def test_grammar_slips_of_templates_are_refused() -> None:
    refused(
        "Silver is one of 1 new artist you found in the last seven days.",
        FactSheet(
            "artist",
            (Fact("artist", "ARTIST", "Silver"), Fact("new_artists_7d", "NUMBER", "1 new artist", 1.0, "artist")),
        ),
        "grammar",
    )
    refused("Your session ran a 56 minutes.", why="grammar")


def test_no_word_every_story_may_use_is_one_the_house_style_refuses() -> None:
    """Verb forms are expanded from their base ("lasted" must not bring in "last", as in "last week")."""
    from inference.grounding.vocabulary import FUNCTION, REFUSED, STORY

    refused = frozenset().union(*REFUSED.values())
    assert not (FUNCTION | STORY) & refused


def test_one_word_names_that_are_also_plain_words_bind_only_as_written() -> None:
    s = FactSheet(
        "play_count",
        (
            Fact("play_count", "NUMBER", "10 plays", 10.0, "play"),
            Fact("artist", "ARTIST", "The Silent Rivers"),
            Fact("track", "TRACK", "Morning"),
        ),
    )
    ok("The Silent Rivers reached 10 plays with you, the latest being Morning.", s)
    refused("The Silent Rivers reached 10 plays with you one morning.", s, "time of day not in the facts")


def test_numbers_with_thousands_separators() -> None:
    s = sheet(minutes=Fact("minutes", "DURATION", "1,690 minutes", 1690.0, "minute"))
    ok("Your evening session ran 1,690 minutes across 13 tracks.", s)
    refused("Your evening session ran 1,691 minutes, 2026 of them late.", s, "no fact says")


def test_slips_the_trained_model_makes_are_refused() -> None:
    s = sheet(top_artist=Fact("top_artist", "ARTIST", "The Velvet Poets"))
    refused("13 tracks led 56 minutes, with The Velvet Poets on top.", s, "wrong role: the tracks lead nothing")
    refused("56 minutes in the The Velvet Poets session.", s, "grammar: 'the The'")
    ok("13 tracks in 56 minutes, led by The Velvet Poets.", s)
