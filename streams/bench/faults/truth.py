"""What a fault scenario should have produced, and how far its outputs are from it (pure: no Kafka).

The truth is a fold over the inputs, independent of how the worker batches, restarts or retries: the
distinct good events (first copy of each ``(user_id, event_id)``), per listener in the order they were
produced, folded one at a time through ``features.update`` and ``features.triggers.fire`` with the
worker's own settings. A listener's final state does not depend on batching (``features.triggers``
says why), so the fold's state is what the worker's changelog must end with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from features import FeatureConfig, UserState, update
from features.state import A_PLAYS
from features.triggers import TriggerConfig, fire
from features.update import Track
from schemas.records import StoryRequest


@dataclass
class Truth:
    states: dict[str, UserState]
    requests: dict[str, StoryRequest]  # by story id
    plays: int  # plays the fold applied (the distinct events less those it found late)


def fold(
    events: Iterable[Mapping[str, Any]], catalog: Mapping[str, Track], config: FeatureConfig, triggers: TriggerConfig
) -> Truth:
    states: dict[str, UserState] = {}
    requests: dict[str, StoryRequest] = {}
    seen: set[tuple[str, str]] = set()
    for event in events:
        user = event["user_id"]
        if (user, event["event_id"]) in seen:
            continue
        seen.add((user, event["event_id"]))
        state = states.get(user)
        if state is None:
            state = states[user] = UserState(user)
        result = update(state, [event], catalog, config)
        if triggers.enabled:
            for request in fire(state, result, [event], catalog, triggers, config).requests:
                requests[request.story_id] = request
    return Truth(states, requests, sum(s.total_plays for s in states.values()))


@dataclass
class Observed:
    """A scenario's outputs as read back: the latest changelog state of each listener, the story
    requests in the order read, the story ids on user-stories (None: no story agent ran), and the
    values on listening-events.dlq."""

    states: dict[str, UserState]
    requests: list[StoryRequest]
    stories: list[str] | None
    dead: list[bytes]
    undecodable_requests: int = 0


@dataclass(frozen=True)
class Sent:
    """What a scenario sent besides good events: garbage values by kind, and every good value (to
    recognise a good event on the DLQ)."""

    garbage: Mapping[str, Counter[bytes]] = field(default_factory=dict)
    good_values: frozenset[bytes] = frozenset()


def _plays(state: UserState | None) -> tuple[int, dict[str, int]]:
    if state is None:
        return 0, {}
    return state.total_plays, {artist: int(rec[A_PLAYS]) for artist, rec in state.artists.items()}


def play_differences(expected: Mapping[str, UserState], got: Mapping[str, UserState]) -> tuple[int, int]:
    """``(lost, extra)``: per (listener, artist), plays the truth has that the state lacks, and plays
    the state has beyond the truth. Per artist, so a play lost and another counted twice for the same
    listener do not cancel out (and never fewer than the listener's total plays differ by); a listener
    missing from ``got`` lacks all of its plays."""
    lost = extra = 0
    for user in expected.keys() | got.keys():
        (want_total, want), (have_total, have) = _plays(expected.get(user)), _plays(got.get(user))
        user_lost = user_extra = 0
        for artist in want.keys() | have.keys():
            diff = want.get(artist, 0) - have.get(artist, 0)
            if diff > 0:
                user_lost += diff
            else:
                user_extra -= diff
        lost += max(user_lost, want_total - have_total)
        extra += max(user_extra, have_total - want_total)
    return lost, extra


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


def mismatched_states(truth: Truth, observed: Observed) -> tuple[int, Counter[str]]:
    """How many listeners' final states differ from the truth's, and per field of ``UserState`` in how
    many ("<missing>": no state, or a state the truth has none of)."""
    states, fields = 0, Counter[str]()
    for user in truth.states.keys() | observed.states.keys():
        want, got = truth.states.get(user), observed.states.get(user)
        if want == got:
            continue
        states += 1
        if want is None or got is None:
            fields["<missing>"] += 1
        else:
            a, b = want.to_dict(), got.to_dict()
            fields.update(f for f in a if a[f] != b[f])
    return states, fields


def _repeats(requests: list[StoryRequest]) -> list[StoryRequest]:
    """The request records whose story id came before."""
    seen: set[str] = set()
    out = []
    for r in requests:
        if r.story_id in seen:
            out.append(r)
        seen.add(r.story_id)
    return out


def compare(truth: Truth, observed: Observed, sent: Sent) -> dict[str, Any]:
    """The figures of ``streams.bench.faults`` (its docstring defines each), less ``recovery_s``."""
    lost_plays, extra_plays = play_differences(truth.states, observed.states)
    request_ids = [r.story_id for r in observed.requests]
    requested = set(request_ids)
    expected = truth.requests.keys()
    lost_requests = len(expected - requested)
    duplicate_requests = len(request_ids) - len(requested)
    stories = observed.stories
    published = set(stories) if stories is not None else set()
    lost_stories = len(expected - published) if stories is not None else 0
    dead = Counter(observed.dead)
    mismatched, fields = mismatched_states(truth, observed)
    garbage_sent = sum(sum(values.values()) for values in sent.garbage.values())
    garbage_found = {kind: sum(min(n, dead[v]) for v, n in values.items()) for kind, values in sent.garbage.items()}
    figures: dict[str, Any] = {
        "lost": lost_plays + lost_requests + lost_stories,
        "double_counted": extra_plays + duplicate_requests,
        "duplicate_story_records": len(stories) - len(published) if stories is not None else 0,
        "garbage_in_dlq_pct": _pct(sum(garbage_found.values()), garbage_sent),
        "good_events_applied_pct": _pct(truth.plays - lost_plays, truth.plays),
        "lost_plays": lost_plays,
        "lost_requests": lost_requests,
        "lost_stories": lost_stories if stories is not None else None,
        "double_counted_plays": extra_plays,
        "duplicate_request_records": duplicate_requests,
        "unexpected_requests": len(requested - expected),
        "unexpected_stories": len(published - expected) if stories is not None else None,
        "mismatched_states": mismatched,
        "mismatched_fields": dict(fields),
        "mismatched_requests": sum(
            1 for r in observed.requests if r.story_id in truth.requests and r != truth.requests[r.story_id]
        ),
        "undecodable_requests": observed.undecodable_requests,
        "good_in_dlq": sum(n for v, n in dead.items() if v in sent.good_values),
        "expected_plays": truth.plays,
        "expected_requests": len(expected),
    }
    missing = Counter(truth.requests[i].kind for i in expected - requested)
    repeated = Counter(r.kind for r in _repeats(observed.requests))
    if missing or repeated:  # by trigger kind: where a trigger fired twice or not at all
        figures["lost_requests_by_kind"], figures["duplicate_requests_by_kind"] = dict(missing), dict(repeated)
    if sent.garbage:
        figures["garbage_by_kind"] = {
            kind: {"sent": sum(values.values()), "in_dlq": garbage_found[kind]} for kind, values in sent.garbage.items()
        }
    return figures
