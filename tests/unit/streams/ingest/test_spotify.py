import json
from pathlib import Path

from streams.ingest.spotify import ImportReport, platform_of, read

FIXTURE = Path(__file__).parents[3] / "fixtures" / "Streaming_History_Audio_2024.json"


def test_good_entries_go_through_and_bad_ones_are_reported_with_file_and_index() -> None:
    report = ImportReport()
    items = list(read([FIXTURE], "me", report=report))
    assert [i.event.track_id for i in items] == [
        "spotify:track:0GjEhVFGZW8afUYGChu3Rr",
        "spotify:track:1Z8gIUpKHtYkR8vjLsVzFq",
        "spotify:track:4lBkNNCfpM9ROxSuVzTdWy",
    ]
    assert (report.entries, report.imported, report.podcasts, report.incognito, report.malformed) == (8, 3, 1, 1, 3)
    assert [p.split(": ", 1)[0] for p in report.problems] == [f"{FIXTURE}[3]", f"{FIXTURE}[4]", f"{FIXTURE}[5]"]
    assert "ms_played" in report.problems[1]


def test_mapping_of_fields() -> None:
    first, second, third = (i for i in read([FIXTURE], "me"))
    e = first.event
    assert e.event_time == 1709277165000 and e.ms_played == 201344 and e.country == "SE"
    assert e.platform == "IOS" and e.reason_start == "clickrow" and not e.skipped
    assert second.event.skipped and second.event.shuffle
    assert third.event.platform == "SPEAKER" and third.event.offline
    assert first.track.artist_name == "ABBA" and first.track.artist_id == third.track.artist_id
    assert first.track.album_id == third.track.album_id  # same album "Arrival"


def test_ids_are_stable_across_imports() -> None:
    a = [i.event.event_id for i in read([FIXTURE], "me")]
    b = [i.event.event_id for i in read([FIXTURE], "me")]
    assert a == b and len(set(a)) == 3
    assert a != [i.event.event_id for i in read([FIXTURE], "you")]


def test_incognito_can_be_included() -> None:
    assert len(list(read([FIXTURE], "me", include_incognito=True))) == 4


def test_unreadable_file_is_reported_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    obj = tmp_path / "obj.json"
    obj.write_text(json.dumps({"not": "a list"}))
    report = ImportReport()
    assert list(read([broken, obj, FIXTURE], "me", report=report))
    assert report.problems[0].startswith(f"{broken}: cannot read") and "JSON array" in report.problems[1]


def test_platform_mapping() -> None:
    assert platform_of("Android OS 9 API 28 (samsung, SM-G960F)") == "ANDROID"
    assert platform_of("windows 10 (10.0.19045; x64)") == "DESKTOP"
    assert platform_of(None) == "OTHER"


def test_the_listeners_zone_is_stamped_on_every_play_and_an_unknown_one_is_refused() -> None:
    import pytest

    assert {i.event.tz for i in read([FIXTURE], "me", tz="Europe/Stockholm")} == {"Europe/Stockholm"}
    assert {i.event.tz for i in read([FIXTURE], "me")} == {None}
    assert [i.event.event_id for i in read([FIXTURE], "me", tz="Asia/Tokyo")] == [
        i.event.event_id for i in read([FIXTURE], "me")
    ]  # the zone is not part of a play's identity
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd", "Europe"):
        with pytest.raises(ValueError, match="unknown time zone"):
            next(read([FIXTURE], "me", tz=bad))


def play(ts: str, uri: str = "spotify:track:a", ms: int = 200_000, **kw: object) -> dict:
    return {
        "ts": ts,
        "ms_played": ms,
        "spotify_track_uri": uri,
        "master_metadata_track_name": "Song " + uri[-1],
        "master_metadata_album_artist_name": "Artist",
        **kw,
    }


def test_every_problem_of_a_malformed_entry_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"ts": "not-a-time", "ms_played": "abc", "master_metadata_track_name": "A"}]))
    report = ImportReport()
    assert list(read([path], "me", report=report)) == []
    (problem,) = report.problems
    assert problem.startswith(f"{path}[0]: ")
    for needle in ("spotify_track_uri", "ts 'not-a-time'", "ms_played 'abc'", "artist name missing"):
        assert needle in problem, (needle, problem)


def test_files_in_any_order_and_overlapping_give_each_play_once_in_time_order(tmp_path: Path) -> None:
    plays = [play(f"2024-03-0{d}T10:00:00Z", uri=f"spotify:track:{d}") for d in range(1, 8)]
    older, newer = tmp_path / "a.json", tmp_path / "b.json"
    older.write_text(json.dumps(plays[:5]))  # days 1-5
    newer.write_text(json.dumps(plays[3:]))  # days 4-7: two plays in both files
    got = {}
    for order in ([older, newer], [newer, older]):
        report = ImportReport()
        got[tuple(order)] = [i.event for i in read(order, "me", report=report)]
        assert (report.entries, report.repeats, report.imported) == (9, 2, 7)
    first, second = got.values()
    assert first == second
    assert [e.event_time for e in first] == sorted(e.event_time for e in first)
    assert len({e.event_id for e in first}) == 7


def test_a_repeat_that_differs_outside_its_id_keeps_the_same_entry_whatever_the_file_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps([play("2024-03-01T10:00:00Z", platform="iOS")]))
    b.write_text(json.dumps([play("2024-03-01T10:00:00Z", platform="Android")]))
    kept = {next(read(order, "me")).event.platform for order in ([a, b], [b, a])}
    assert len(kept) == 1
