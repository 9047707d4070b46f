"""The grounding checker on hand-written tricky cases."""

from __future__ import annotations

import pytest

from inference.grounding import check, extract_claims
from schemas.records import Fact, FactSheet


def sheet(key: str = "minutes", **extra: Fact) -> FactSheet:
    facts = {
        "minutes": Fact("minutes", "DURATION", "178 minutes", 178.0, "minute"),
        "tracks": Fact("tracks", "NUMBER", "40 tracks", 40.0, "track"),
        "top_artist": Fact("top_artist", "ARTIST", "Beck"),
        "time_of_day": Fact("time_of_day", "TIME_OF_DAY", "late night"),
        **extra,
    }
    return FactSheet(key_fact=key, facts=tuple(facts.values()))


def verdict(text: str, s: FactSheet | None = None) -> bool:
    return check(text, s or sheet()).grounded


def test_plain_restatement_is_grounded() -> None:
    r = check("Your late night session ran 178 minutes across 40 tracks, with Beck leading the way.", sheet())
    assert r.grounded, r.summary()
    assert set(r.facts_used) == {"minutes", "tracks", "top_artist", "time_of_day"}


@pytest.mark.parametrize("text", ["You played forty tracks in 178 minutes.", "Forty tracks, 178 minutes.",
                                  "You got through 40 songs in 178 minutes."])  # fmt: skip
def test_number_words_and_synonyms(text: str) -> None:
    assert verdict(text), check(text, sheet()).summary()


def test_wrong_number_in_words_is_caught() -> None:
    r = check("You played forty-one tracks in 178 minutes.", sheet())
    assert not r.grounded and "41" in r.summary()


def test_a_dozen() -> None:
    s = sheet(key="tracks", tracks=Fact("tracks", "NUMBER", "12 tracks", 12.0, "track"))
    assert verdict("A dozen tracks tonight, all of them Beck.", s)
    assert not verdict("Two dozen tracks tonight.", s)
    assert not verdict("A dozen tracks in 178 minutes.", sheet(key="tracks"))  # 40 tracks, not 12


def test_three_hours_against_178_minutes_is_rounding_but_two_hours_is_not() -> None:
    assert verdict("Nearly three hours of Beck tonight.")
    assert verdict("Almost 3 hours of music.")
    assert not verdict("Two hours of Beck tonight.")
    assert not verdict("Four hours of Beck tonight.")
    assert verdict("2.97 hours of music.")
    assert not verdict("2.5 hours of music.")


def test_counts_must_be_exact_and_units_must_agree() -> None:
    assert not verdict("You spent 178 minutes with 39 tracks.")
    assert not verdict("You spent 40 minutes listening.", sheet(key="tracks"))  # 40 counts tracks, not minutes
    assert not verdict("178 tracks this late night.")


def test_artist_substring_of_a_longer_name() -> None:
    assert not verdict("178 minutes of Jeff Beck.")  # the fact is Beck, not Jeff Beck
    assert not verdict("178 minutes, most of it Becky G.")
    s = sheet(jb=Fact("other_artist", "ARTIST", "Jeff Beck"))
    r = check("178 minutes of Jeff Beck and Beck.", s)
    assert r.grounded and {"top_artist", "other_artist"} <= set(r.facts_used)
    assert verdict("Beck's songs filled 178 minutes.")


def test_invented_album_and_titles() -> None:
    assert not verdict('178 minutes of Beck, including his album "Midnight Vultures".')
    assert not verdict("178 minutes of Beck, deep into Odelay.")
    s = sheet(album=Fact("album", "ALBUM", "Odelay"))
    assert verdict('178 minutes of Beck, deep into "Odelay".', s)


def test_invented_people_places_and_genres() -> None:
    assert not verdict("178 minutes of Beck, just like Thom Yorke would.")
    assert not verdict("178 minutes of shoegaze with Beck.")
    assert not verdict("178 minutes in Berlin with Beck.")
    s = sheet(genre=Fact("genre", "GENRE", "shoegaze"))
    assert verdict("178 minutes of shoegaze with Beck.", s)


def test_dates_and_times_of_day() -> None:
    s = sheet(day=Fact("date", "DATE", "Monday, March 3"))
    assert verdict("178 minutes on Monday, March 3.", s)
    assert verdict("178 minutes on March 3.", s)
    assert not verdict("178 minutes on March 4.", s)
    assert not verdict("178 minutes on Friday.", s)
    assert not verdict("178 minutes back in 2019.", s)
    assert not verdict("178 minutes this morning.")  # the fact says late night
    assert verdict("178 minutes, late into the night.")


def test_superlatives_need_a_licence() -> None:
    assert verdict("178 minutes, and Beck was your top artist.")
    assert not verdict("178 minutes of your favorite band.")  # no name in the sentence
    no_top = FactSheet("minutes", (Fact("minutes", "DURATION", "178 minutes", 178.0, "minute"),
                                   Fact("artist", "ARTIST", "Beck")))  # fmt: skip
    assert not verdict("178 minutes of Beck, your most played artist ever.", no_top)
    assert verdict("178 minutes of Beck.", no_top)


def test_key_fact_must_be_covered() -> None:
    r = check("Forty tracks of Beck tonight.", sheet())
    assert not r.grounded and not r.covers_key_fact
    assert "key fact" in r.summary()


def test_names_with_digits_are_names_not_numbers() -> None:
    s = sheet(key="top_artist", top_artist=Fact("top_artist", "ARTIST", "Maroon 5"))
    assert verdict("Maroon 5 carried your late night.", s)
    s2 = sheet(key="top_artist", top_artist=Fact("top_artist", "ARTIST", "The 1975"))
    assert verdict("The 1975 carried your late night.", s2)
    assert not verdict("Maroon 5 carried 12 tracks.", s)


def test_ordinals_and_milestones() -> None:
    s = FactSheet(
        "play_count", (Fact("play_count", "NUMBER", "50 plays", 50.0, "play"), Fact("artist", "ARTIST", "Air"))
    )
    assert verdict("That was your 50th play of Air.", s)
    assert verdict("Your fiftieth play of Air.", s)
    assert verdict("Air, fifty times now.", s)
    assert not verdict("Your 100th play of Air.", s)
    assert not verdict("Your 50th play of Air Supply.", s)


def test_streak_week_equivalence() -> None:
    s = FactSheet("streak_days", (Fact("streak_days", "STREAK", "7 days", 7.0, "day"),))
    assert verdict("A 7-day streak.", s)
    assert verdict("Seven days in a row.", s)
    assert verdict("A full week of music, every single day.", s) is False  # "a full week": 1 week? no number word
    assert verdict("One week without a silent day.", s)
    assert not verdict("Eight days in a row.", s)


def test_empty_and_sentence_openers() -> None:
    assert not check("", sheet()).grounded
    assert verdict("Tonight you spent 178 minutes with Beck.")
    assert verdict("Congratulations! Another 178 minutes with Beck.")
    claims = [c.text for c, _, _ in extract_claims("Your week was quiet.", sheet())]
    assert claims == []


def test_names_after_a_known_name_and_invented_things() -> None:
    assert not verdict("Beck's Odelay anchored 178 minutes.")
    assert not verdict("178 minutes of Beck's latest release.")
    assert not verdict("178 minutes of Beck, like a night at his concert.")
    assert not verdict("Beck, whose lead singer carried 178 minutes.")
    s = sheet(album=Fact("album", "ALBUM", "Odelay"))
    assert verdict("178 minutes of Beck and the album Odelay.", s)


def test_parts_of_names_and_numbers_glued_to_names() -> None:
    s = FactSheet("play_count", (Fact("play_count", "NUMBER", "10 plays", 10.0, "play"),
                                 Fact("artist", "ARTIST", "Cosmic Rivers 42")))  # fmt: skip
    assert verdict("Cosmic Rivers 42 hit 10 plays in your library.", s)
    assert not verdict("In the realm of cosmic rivers, 10 plays of Cosmic Rivers 42.", s)
    s2 = FactSheet("play_count", (Fact("play_count", "NUMBER", "10 plays", 10.0, "play"),
                                  Fact("artist", "ARTIST", "Crimson Pilots")))  # fmt: skip
    assert not verdict("Crimson Pilots 10 is a wonderful show.", s2)
    assert verdict("Crimson Pilots: 10 plays and counting.", s2)
    assert verdict("Crimson Pilots 10 times now.", s2)
