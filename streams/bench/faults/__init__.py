"""``linernotes bench faults``: faults on the real local stack, each run's outputs compared with a fold
over its inputs.

Each scenario has its own topics, consumer groups and worker state, and runs alone: the catalog goes
out, a feature worker starts (and a story agent where stories are measured), and once the worker is
ready the scenario's records flow to listening-events at ``--events-per-s`` good events a second
while the fault happens:

- ``worker-kill``: the worker is killed with SIGKILL (its process group, flush helpers included) 10 s
  after each incarnation is ready, and started again at once on the same state directory, until the
  first kill after the last event was sent (the ``--events`` workload: 200k events by default).
- ``worker-restart``: the same, stopped the polite way (SIGTERM to its process group, as a rolling
  restart does; SIGKILL if it has not exited 20 s later), so a graceful stop is measured on its own:
  ``worker_restarts``, the longest stop (``worker_stop_s_max``) and the stops that had to be killed.
- ``agent-kill``: the story agent is killed with SIGKILL 20 s after each start and started again, at
  most 6 times, until every expected story is out (the story workload, below).
- ``triton-outage``: Triton is stopped once a fifth of the expected stories are out, and started again
  30 s later (the story workload).
- ``registry-outage``: the schema registry is stopped a quarter into the flow and started again 30 s
  later; right after it stops, the worker is restarted (SIGTERM), so that it meets the outage without
  the schemas it had cached, as a worker that joins or restarts during one does.
- ``garbage``: after every 9 good records one bad one (10% of records), of five kinds in turn:
  truncated Avro (the framing intact, the body cut in half), a wrong magic byte, an unknown schema
  id, the event as JSON, an empty value.
- ``duplicates``: every event sent twice: each minute of event time is sent, then sent again, as a
  producer resends a batch whose acknowledgement it lost (the copy comes within a minute of event
  time, so inside any listener's grace window, at any workload size).
- ``history-import``: half-way through the flow, ``linernotes import-history`` sends a Spotify export
  (``--history``, the test fixture by default) as a new listener's, into the running worker.

The story workload (``--story-events`` events of ``--story-events / 50`` listeners over 8 days, about
one story request per 10 events) is written with 1 candidate of at most 16 tokens, no regeneration,
8 in flight, so that a CPU Triton writes it in minutes. The other scenarios run no story agent; their
story requests are still compared. A worker or agent that exits on its own is started again after
1 s, as an orchestrator would, and counted (``*_crashes``).

**The truth** (``streams.bench.faults.truth``): the distinct good events (the first copy of each
``(user_id, event_id)``), per listener in the order sent, folded one at a time through
``features.update`` and ``features.triggers.fire`` with the worker's settings: a final state per
listener and a set of story requests. **The outputs**: the latest record per listener of the
worker's state changelog, every record of story-requests and user-stories, and the values on
listening-events.dlq, read once the processes have stopped and the topics are quiet.

**The figures** (one object per scenario):

- ``lost``: ``lost_plays + lost_requests + lost_stories``. ``lost_plays``: expected applications
  missing from the final states, per (listener, artist): the truth's plays less the state's, where
  positive (a listener's total shortfall if that is more; a listener without a state lacks all its
  plays). ``lost_requests``: expected story ids absent from story-requests. ``lost_stories``:
  expected story ids absent from user-stories (null where no story agent runs).
- ``double_counted``: ``double_counted_plays + duplicate_request_records``. ``double_counted_plays``:
  plays counted more than once, per (listener, artist): the state's plays less the truth's, where
  positive (or a listener's total excess if that is more). ``duplicate_request_records``: records
  on story-requests whose story id came before (a trigger that fired twice).
- ``duplicate_story_records``: records on user-stories whose story id (its ``linernotes.story_id``
  header) came before.
- ``garbage_in_dlq_pct``: of the bad records sent, the percentage found on listening-events.dlq,
  matched by value (as a multiset: one DLQ record answers for one bad record); null where none was
  sent. ``garbage_by_kind`` splits it.
- ``good_events_applied_pct``: of the plays the truth applies, the percentage the final states hold:
  ``100 * (expected_plays - lost_plays) / expected_plays``.
- ``recovery_s``: seconds from the end of the fault (the last kill, the stopped service healthy again,
  the import done), or from the last record sent if that is later, until nothing counted in ``lost``
  was missing any more; outputs are compared every second. Null when something was still missing
  after 3 minutes in which nothing was written and no process was at work (the worker consuming, the
  agent with stories in flight), or after 30 minutes in all; ``lost`` then counts what never came.

And to say what went wrong where one does: ``unexpected_requests`` / ``unexpected_stories`` (ids the
truth does not have), ``lost_requests_by_kind`` / ``duplicate_requests_by_kind`` (by trigger kind, where
any), ``mismatched_states`` (listeners whose final state is not the truth's, field by
field: a late count or a session the plays alone do not show) with ``mismatched_fields`` (how many
differ in each field), ``mismatched_requests`` (request
records whose fact sheet differs from the truth's for the same id), ``undecodable_requests``,
``good_in_dlq`` (good events dead-lettered), ``expected_plays``, ``expected_requests``, the kills,
crashes and outage lengths, ``events``, ``records_sent``, ``elapsed_s``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streams.bench.faults.scenarios import SCENARIOS, Sizes, run_scenario
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.ingest.simulator import SimulationConfig

STORY_LISTENER_EVENTS = 50  # story workload: one listener per this many events
HISTORY_FIXTURE = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "Streaming_History_Audio_2024.json"

HEADLINE = (
    "lost",
    "double_counted",
    "duplicate_story_records",
    "garbage_in_dlq_pct",
    "good_events_applied_pct",
    "recovery_s",
)

__all__ = ["HEADLINE", "HISTORY_FIXTURE", "SCENARIOS", "run", "table"]


def _check_stack(stack: Stack, names: Sequence[str], history_file: Path) -> None:
    """Fail before anything runs when a chosen scenario needs what is not there."""
    problems = []
    if any(SCENARIOS[n].stories for n in names) and stack.services["triton"].status() != "healthy":
        problems.append("the story scenarios need the local stack's Triton (`linernotes up`)")
    if "triton-outage" in names and stack.services["triton"].pid() is None:
        problems.append("triton-outage stops and starts the local stack's Triton, and none runs under its run dir")
    if "registry-outage" in names and stack.services["registry"].pid() is None:
        problems.append("registry-outage stops and starts the local stack's registry, and none runs under its run dir")
    if "history-import" in names and not history_file.is_file():
        problems.append(f"history-import needs a Spotify export: {history_file} is not a file")
    if problems:
        raise RuntimeError("; ".join(problems))


def run(
    settings: Settings,
    *,
    scenarios: Sequence[str],
    events: int,
    users: int,
    events_per_s: float,
    story_events: int,
    history_file: Path = HISTORY_FIXTURE,
    keep: Path | None = None,
    seed: int = 3,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``scenarios`` one after another; ``{"scenarios": {name: figures}}``. A scenario that fails
    is reported with its ``error`` and the next one runs."""
    stack = Stack(settings)
    _check_stack(stack, scenarios, history_file)
    sizes = Sizes(
        workload=SimulationConfig(users=users, events=events, days=7, seed=seed),
        stories=SimulationConfig(
            users=max(2, story_events // STORY_LISTENER_EVENTS), events=story_events, days=8, seed=seed
        ),
        events_per_s=events_per_s,
        history_file=history_file,
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ln-bench-faults-") as tmp:
        for name in scenarios:
            workdir = (keep or Path(tmp)) / name
            try:
                out[name] = run_scenario(settings, stack, SCENARIOS[name], sizes=sizes, workdir=workdir, report=report)
            except Exception as e:  # noqa: BLE001 - one scenario's failure is its figure; the others still run
                report(f"{name}: failed: {e}")
                out[name] = {"error": f"{type(e).__name__}: {e}"}
    return {"scenarios": out}


def table(figures: dict[str, Any]) -> str:
    """The headline figures, a line per scenario ("-": null, not applicable)."""
    lines = [" ".join(["scenario".ljust(16), *HEADLINE])]
    for name, got in figures["scenarios"].items():
        cells = [("-" if got.get(k) is None else str(got[k])).rjust(len(k)) for k in HEADLINE]
        lines.append(" ".join([name.ljust(16), *(cells if "error" not in got else [got["error"]])]))
    return "\n".join(lines)
