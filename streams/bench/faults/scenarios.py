"""The scenarios: what each sends, the fault each does while its events flow, and the run of one
scenario from its inputs to its figures (``streams.bench.faults`` defines both)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.codec import listening_event_encoder
from schemas.contract import schema_str
from schemas.registry import Registry, subject_for
from streams.bench.common import cleanup, env_for, isolated
from streams.bench.faults.inputs import Inputs, Workload, history, plain, simulate, twice, with_garbage
from streams.bench.faults.outputs import Outputs
from streams.bench.faults.processes import Flow, Supervised, launch_agent, launch_worker
from streams.bench.faults.truth import Truth, compare, fold
from streams.config.settings import Settings
from streams.devstack.stack import Stack
from streams.ingest.simulator import SimulationConfig
from streams.kafka import topics
from streams.kafka.producer import RecordProducer

WORKER_KILL_EVERY_S = 10.0  # of each worker's life from the moment it is ready
AGENT_KILL_EVERY_S = 20.0  # of each story agent's life from its start
MAX_AGENT_KILLS = 6  # then the last one is left to finish (a kill may land before any story is out)
OUTAGE_S = 30.0
READY_TIMEOUT_S = 300.0
STORIES_BEFORE_OUTAGE = 5  # Triton stops once a fifth of the expected stories are out
STORIES_TIMEOUT_S = 900.0
IMPORT_TIMEOUT_S = 300.0
CHECK_EVERY_S = 1.0  # how often the outputs are compared with the truth once the fault is over
QUIET_S = 180.0  # nothing written and no process at work for this long: what is missing will not come
SETTLE_MAX_S = 1800.0
DRAIN_QUIET_S = 3.0  # after the processes stopped: the last records they wrote are read
# Stories short enough for a CPU Triton on a shared 2-core machine to write a scenario's in minutes.
STORY_SETTINGS = {"story_candidates": 1, "story_regenerations": 0, "story_max_new_tokens": 16, "story_max_in_flight": 8}


@dataclass
class Fault:
    ended_at: float  # monotonic; 0.0: the fault is the input itself, over when the last record is sent
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """One scenario while it runs: what the fault functions act on."""

    settings: Settings
    stack: Stack
    worker: Supervised
    agent: Supervised | None
    flow: Flow
    outputs: Outputs
    truth: Truth
    inputs: Inputs
    history_file: Path
    history_user: str
    _busy_at: float = field(default_factory=time.monotonic)

    def tick(self) -> None:
        self.worker.supervise()
        if self.agent is not None:
            self.agent.supervise()
        if self.outputs.error is not None:
            raise RuntimeError(f"reading the outputs failed: {self.outputs.error}")

    def wait_until(self, done: Callable[[], bool], *, timeout_s: float = SETTLE_MAX_S, what: str = "") -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what or 'a condition'} not reached within {timeout_s:.0f}s")
            self.tick()
            time.sleep(0.2)

    def wait(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        self.wait_until(lambda: time.monotonic() >= until)

    def wait_ready(self) -> None:
        self.wait_until(self.worker.ready, timeout_s=READY_TIMEOUT_S, what="the feature worker's readiness")

    def quiet_for(self) -> float:
        """Seconds since the outputs last grew or a process was last seen at work."""
        if self.worker.busy() or (self.agent is not None and self.agent.busy()):
            self._busy_at = time.monotonic()
        return min(self.outputs.quiet_for(), time.monotonic() - self._busy_at)

    def figures(self) -> dict[str, Any]:
        return compare(self.truth, self.outputs.observed(stories=self.agent is not None), self.inputs.sent)

    def stories_out(self) -> bool:
        return self.outputs.stories_published() >= len(self.truth.requests)


# -- the faults -------------------------------------------------------------------------------------
def worker_kill(run: Run) -> Fault:
    """SIGKILL the worker 10 s after each incarnation is ready, until the first kill after the last
    event was sent; it is started again at once, on the same state directory."""
    while True:
        run.wait_ready()
        run.wait(WORKER_KILL_EVERY_S)
        flowed = run.flow.done.is_set()
        run.worker.kill()
        if flowed:
            return Fault(time.monotonic())


def worker_restart(run: Run) -> Fault:
    """Stop the worker the polite way (SIGTERM, as a rolling restart does) 10 s after each incarnation
    is ready, and start it again at once on the same state directory, until the first stop after the
    last event was sent."""
    stops: list[dict[str, Any]] = []
    while True:
        run.wait_ready()
        run.wait(WORKER_KILL_EVERY_S)
        flowed = run.flow.done.is_set()
        stops.append(run.worker.restart())
        if flowed:
            return Fault(
                time.monotonic(),
                {
                    "worker_restarts": len(stops),
                    "worker_stop_s_max": max(st["stop_s"] for st in stops),
                    "worker_stops_killed": sum(st["exit_code"] == -signal.SIGKILL for st in stops),
                },
            )


def agent_kill(run: Run) -> Fault:
    """SIGKILL the story agent 20 s after each start, and start it again at once, at most
    ``MAX_AGENT_KILLS`` times or until every expected story is out."""
    last = 0.0
    agent = run.agent
    assert agent is not None
    for _ in range(MAX_AGENT_KILLS):
        run.wait_until(lambda: time.monotonic() >= agent.started_at + AGENT_KILL_EVERY_S or run.stories_out())
        if run.stories_out():
            break
        agent.kill()
        last = time.monotonic()
    return Fault(last)


def triton_outage(run: Run) -> Fault:
    before = max(1, len(run.truth.requests) // STORIES_BEFORE_OUTAGE)
    run.wait_until(
        lambda: run.outputs.stories_published() >= before, timeout_s=STORIES_TIMEOUT_S, what=f"{before} stories"
    )
    triton = run.stack.services["triton"]
    t0, published = time.monotonic(), run.outputs.stories_published()
    triton.stop()
    try:
        run.wait(OUTAGE_S)
    finally:  # the local stack is left as it was found, whatever happened meanwhile
        triton.start(run.settings.stack_timeout_s)
    now = time.monotonic()
    return Fault(now, {"outage_s": round(now - t0, 1), "stories_before_outage": published})


def registry_outage(run: Run) -> Fault:
    """The registry stops a quarter into the flow; the worker is restarted into the outage (SIGTERM),
    so that it meets it without the schemas it had cached; after 30 s the registry starts again."""
    quarter = len(run.flow.records) // 4
    run.wait_until(lambda: run.flow.sent >= quarter or run.flow.done.is_set())
    registry = run.stack.services["registry"]
    t0 = time.monotonic()
    registry.stop()
    try:
        stopped = run.worker.restart()
        run.wait_until(lambda: time.monotonic() >= t0 + OUTAGE_S)
    finally:
        registry.start(run.settings.stack_timeout_s)
    now = time.monotonic()
    return Fault(now, {"outage_s": round(now - t0, 1), **{f"worker_restart_{k}": v for k, v in stopped.items()}})


def bad_input(run: Run) -> Fault:
    """Garbage and repeats are in the records themselves: the fault is over with the last one sent."""
    return Fault(0.0)


def history_import(run: Run) -> Fault:
    """``linernotes import-history`` half-way through the flow, into the running worker."""
    half = len(run.flow.records) // 2
    run.wait_until(lambda: run.flow.sent >= half or run.flow.done.is_set())
    cmd = [sys.executable, "-m", "streams.cli", "import-history", str(run.history_file), "--user", run.history_user]
    done = subprocess.run(
        [*cmd, "--json"], env=env_for(run.settings), capture_output=True, timeout=IMPORT_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"import-history failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    sent = json.loads(done.stdout.decode().strip().splitlines()[-1])["sent"]
    now = time.monotonic()
    return Fault(now, {"history_plays_expected": len(run.inputs.side_events), "history_plays_sent": sent})


@dataclass(frozen=True)
class Scenario:
    name: str
    inputs: Callable[[Workload], Inputs]
    fault: Callable[[Run], Fault]
    stories: bool = False  # the story workload, with the story agent running (needs Triton)
    imports_history: bool = False


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("worker-kill", plain, worker_kill),
        Scenario("worker-restart", plain, worker_restart),
        Scenario("agent-kill", plain, agent_kill, stories=True),
        Scenario("triton-outage", plain, triton_outage, stories=True),
        Scenario("registry-outage", plain, registry_outage),
        Scenario("garbage", with_garbage, bad_input),
        Scenario("duplicates", twice, bad_input),
        Scenario("history-import", plain, history_import, imports_history=True),
    )
}


# -- one scenario, start to end ---------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    workload: SimulationConfig
    stories: SimulationConfig
    events_per_s: float
    history_file: Path


def _settle(run: Run, since: float) -> float | None:
    """Seconds from ``since`` until nothing expected is missing from the outputs; None if they went
    quiet (or ``SETTLE_MAX_S`` passed) first."""
    while True:
        run.tick()
        if run.figures()["lost"] == 0:
            return round(max(0.0, time.monotonic() - since), 1)
        if run.quiet_for() > QUIET_S or time.monotonic() - since > SETTLE_MAX_S:
            return None
        time.sleep(CHECK_EVERY_S)


def _prepare(s: Settings, scenario: Scenario, sizes: Sizes) -> tuple[Workload, Inputs, Truth, str]:
    registry = Registry(s.schema_registry_url)
    writer = listening_event_encoder(registry.register(subject_for(s.topic_events), schema_str("ListeningEvent")))
    workload = simulate(sizes.stories if scenario.stories else sizes.workload, writer.encode)
    inputs = scenario.inputs(workload)
    user = f"history-{s.app_id.rsplit('-', 1)[-1]}"
    if scenario.imports_history:
        inputs.side_events, inputs.side_tracks = history(sizes.history_file, user)
    catalog = {t.track_id: t for t in [*workload.tracks, *inputs.side_tracks]}
    truth = fold([*inputs.good, *inputs.side_events], catalog, s.feature_config(), s.trigger_config())
    producer = RecordProducer(s)
    encoder = registry.encoder(s.topic_catalog, "TrackInfo")
    for track in workload.tracks:  # the import sends its own
        producer.produce(s.topic_catalog, track.track_id.encode(), encoder.encode(track.to_avro()))
    producer.flush()
    return workload, inputs, truth, user


def run_scenario(
    settings: Settings, stack: Stack, scenario: Scenario, *, sizes: Sizes, workdir: Path, report: Callable[[str], None]
) -> dict[str, Any]:
    s = isolated(settings, f"faults-{scenario.name}")
    if scenario.stories:
        s = s.model_copy(update=STORY_SETTINGS)
    topics.create(s)
    try:
        return _run(s, stack, scenario, sizes=sizes, workdir=workdir, report=report)
    finally:
        cleanup(s)  # its topics, the worker's changelog with them: the broker keeps all in memory


def _run(
    s: Settings, stack: Stack, scenario: Scenario, *, sizes: Sizes, workdir: Path, report: Callable[[str], None]
) -> dict[str, Any]:
    started = time.monotonic()
    workload, inputs, truth, user = _prepare(s, scenario, sizes)
    per_s = sizes.events_per_s * len(inputs.records) / max(1, len(workload.events))
    report(
        f"{scenario.name}: {len(workload.events):,} events in {len(inputs.records):,} records at {per_s:,.0f}/s; "
        f"the fold expects {truth.plays:,} plays and {len(truth.requests):,} story requests"
    )
    with Outputs(s) as outputs:
        with contextlib.ExitStack() as procs:
            worker = procs.enter_context(Supervised("worker", launch_worker(s, workdir / "worker")))
            agent = (
                procs.enter_context(Supervised("agent", launch_agent(s, workdir / "agent")))
                if scenario.stories
                else None
            )
            flow = Flow(s, inputs.records, per_s)
            procs.callback(flow.stop)
            run = Run(s, stack, worker, agent, flow, outputs, truth, inputs, sizes.history_file, user)
            run.wait_ready()
            flow.start()
            fault = scenario.fault(run)
            run.wait_until(flow.done.is_set, what="the end of the flow")
            if flow.error:
                raise RuntimeError(f"producing the scenario's records failed: {flow.error}")
            assert flow.ended_at is not None
            recovery = _settle(run, max(fault.ended_at, flow.ended_at))
            report(
                f"{scenario.name}: "
                + (f"complete {recovery}s after the fault" if recovery is not None else "never complete")
            )
            run.wait(s.flush_interval_s + DRAIN_QUIET_S)  # anything counted twice after that moment shows too
            counts = {**worker.counts(), **(agent.counts() if agent else {})}
        run.wait_until(lambda: outputs.quiet_for() >= DRAIN_QUIET_S, timeout_s=120.0, what="the outputs' end")
        figures = run.figures()
    head = ("lost", "double_counted", "duplicate_story_records", "garbage_in_dlq_pct", "good_events_applied_pct")
    return {
        **{k: figures.pop(k) for k in head},
        "recovery_s": recovery,
        **figures,
        **counts,
        **fault.notes,
        "events": len(workload.events),
        "records_sent": flow.sent,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
