"""The fault bench's own arithmetic, without a broker: its truth, its figures and its inputs."""

from __future__ import annotations

import copy
import json
import struct
from collections import Counter

import pytest

from features import FeatureConfig, UserState
from features.state import A_PLAYS
from features.triggers import TriggerConfig
from streams.bench.faults import SCENARIOS
from streams.bench.faults.inputs import GARBAGE_KINDS, UNKNOWN_SCHEMA_ID, Workload, simulate, twice, with_garbage
from streams.bench.faults.truth import Observed, Sent, Truth, compare, fold, play_differences
from streams.cli.run import FAULT_SCENARIOS
from streams.ingest.simulator import SimulationConfig

CONFIG = SimulationConfig(users=8, events=600, days=8, seed=4)


def _encode(event: dict) -> bytes:
    return b"\x00" + struct.pack(">I", 7) + json.dumps(event, sort_keys=True).encode()  # framing is all that matters


@pytest.fixture(scope="module")
def workload() -> Workload:
    return simulate(CONFIG, _encode)


@pytest.fixture(scope="module")
def truth(workload: Workload) -> Truth:
    return _fold(workload.events, workload)


def _fold(events: list[dict], w: Workload) -> Truth:
    return fold(events, {t.track_id: t for t in w.tracks}, FeatureConfig(), TriggerConfig())


def _perfect(truth: Truth) -> Observed:
    return Observed(copy.deepcopy(truth.states), list(truth.requests.values()), list(truth.requests), [])


def test_the_truth_counts_each_event_once_whatever_was_sent(workload: Workload, truth: Truth) -> None:
    assert truth.plays == len(workload.events) and truth.requests
    assert _fold(twice(workload).good, workload) == truth


def test_perfect_outputs_score_perfectly(truth: Truth) -> None:
    got = compare(truth, _perfect(truth), Sent())
    assert got["lost"] == got["double_counted"] == got["duplicate_story_records"] == got["mismatched_states"] == 0
    assert got["good_events_applied_pct"] == 100.0
    assert got["garbage_in_dlq_pct"] is None  # none sent: not applicable, not 100


def test_a_lost_play_and_a_doubled_one_of_the_same_listener_do_not_cancel(truth: Truth) -> None:
    observed = _perfect(truth)
    user, state = next((u, s) for u, s in observed.states.items() if len(s.artists) >= 2)
    rec_a, rec_b = list(state.artists.values())[:2]
    rec_a[A_PLAYS] -= 1
    rec_b[A_PLAYS] += 1
    assert play_differences(truth.states, observed.states) == (1, 1)
    got = compare(truth, observed, Sent())
    assert (got["lost"], got["double_counted"], got["mismatched_states"]) == (1, 1, 1)
    assert got["good_events_applied_pct"] < 100.0
    assert got["mismatched_fields"] == {"artists": 1}, user


def test_a_listener_without_a_state_lacks_all_its_plays(truth: Truth) -> None:
    observed = _perfect(truth)
    user = next(iter(observed.states))
    del observed.states[user]
    got = compare(truth, observed, Sent())
    assert got["lost_plays"] == truth.states[user].total_plays
    assert got["mismatched_fields"] == {"<missing>": 1}


def test_requests_and_stories_missing_or_repeated(truth: Truth) -> None:
    ids = list(truth.requests)
    observed = _perfect(truth)
    observed.requests = [*observed.requests[1:], observed.requests[-1]]  # the first lost, the last twice
    observed.stories = [*ids[2:], ids[2], "not-expected"]
    got = compare(truth, observed, Sent())
    assert (got["lost_requests"], got["duplicate_request_records"]) == (1, 1)
    assert (got["lost_stories"], got["unexpected_stories"], got["duplicate_story_records"]) == (2, 1, 1)
    assert got["lost"] == 3 and got["double_counted"] == 1
    first, last = truth.requests[ids[0]], truth.requests[ids[-1]]
    assert got["lost_requests_by_kind"] == {first.kind: 1} and got["duplicate_requests_by_kind"] == {last.kind: 1}


def test_without_a_story_agent_stories_are_not_counted(truth: Truth) -> None:
    observed = _perfect(truth)
    observed.stories = None
    got = compare(truth, observed, Sent())
    assert got["lost_stories"] is None and got["duplicate_story_records"] == 0 and got["lost"] == 0


def test_garbage_on_the_dlq_is_matched_as_a_multiset(truth: Truth) -> None:
    sent = Sent({"empty": Counter({b"": 3}), "json": Counter({b"{}": 1})}, frozenset({b"good"}))
    observed = _perfect(truth)
    observed.dead = [b"", b"", b"{}", b"good"]  # one empty record never reached the DLQ; a good one did
    got = compare(truth, observed, sent)
    assert got["garbage_in_dlq_pct"] == 75.0
    assert got["garbage_by_kind"] == {"empty": {"sent": 3, "in_dlq": 2}, "json": {"sent": 1, "in_dlq": 1}}
    assert got["good_in_dlq"] == 1


def test_garbage_is_a_tenth_of_the_records_of_five_kinds(workload: Workload) -> None:
    inputs = with_garbage(workload)
    bad = {kind: sum(c.values()) for kind, c in inputs.sent.garbage.items()}
    assert sum(bad.values()) == len(inputs.records) - len(workload.events) == len(workload.events) // 9
    assert set(bad) == set(GARBAGE_KINDS) and max(bad.values()) - min(bad.values()) <= 1
    values = {kind: next(iter(c)) for kind, c in inputs.sent.garbage.items()}
    assert values["empty"] == b"" and values["wrong_magic_byte"][0] == 1
    assert struct.unpack(">I", values["unknown_schema_id"][1:5]) == (UNKNOWN_SCHEMA_ID,)
    assert values["truncated_avro"][:5] == workload.values[0][:5] and values["truncated_avro"] not in workload.values
    assert isinstance(json.loads(values["json"]), dict)
    assert inputs.good == workload.events


def test_duplicates_send_every_event_twice_within_a_minute_of_event_time(workload: Workload) -> None:
    inputs = twice(workload)
    assert Counter(v for _, v in inputs.records) == Counter(dict.fromkeys(workload.values, 2))
    first: dict[str, int] = {}
    for i, event in enumerate(inputs.good):
        if event["event_id"] in first:
            assert event["event_time"] - inputs.good[first[event["event_id"]]]["event_time"] < 60_000
        first.setdefault(event["event_id"], i)


def test_the_cli_offers_every_scenario() -> None:
    assert set(FAULT_SCENARIOS) == set(SCENARIOS)


def test_total_plays_count_where_artists_do_not_show_them() -> None:
    truth = Truth({"u": UserState("u", total_plays=2)}, {}, 2)
    got = compare(truth, Observed({"u": UserState("u", total_plays=1)}, [], None, []), Sent())
    assert (got["lost_plays"], got["mismatched_states"], got["good_events_applied_pct"]) == (1, 1, 50.0)
