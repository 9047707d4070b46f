"""``linernotes worker``, ``features`` and ``bench ...``: the commands that run workloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from streams.cli.common import echo_figures, kafka_options, option, reporter, settings_from


# -- workers ---------------------------------------------------------------------------------------
@click.command()
@option("--web-port", type=int, default=None, help="HTTP port (features lookup, table routing) [default: 6066]")
@option("--data-dir", type=click.Path(path_type=Path), default=None, help="rocksdict state directory")
@option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO")
@kafka_options
def worker(web_port: int | None, data_dir: Path | None, loglevel: str, **kw: Any) -> None:
    """Run a feature worker: listening-events -> per-user features (state + changelog) -> user-features."""
    from streams.worker.run import run as run_worker

    run_worker(settings_from(**kw), web_port=web_port, data_dir=data_dir, loglevel=loglevel)


@click.command()
@click.argument("user_id")
@option("--url", default="http://127.0.0.1:6066", help="Any feature worker; it routes to the owner")
def features(user_id: str, url: str) -> None:
    """Print USER_ID's current features (JSON), from the worker that owns the user's partition."""
    import httpx

    try:
        r = httpx.get(f"{url.rstrip('/')}/features/{user_id}/", timeout=10.0, follow_redirects=True)
    except httpx.HTTPError as e:
        raise click.ClickException(f"no feature worker at {url} ({e}); start one with `linernotes worker`") from e
    if r.status_code == httpx.codes.NOT_FOUND:
        raise click.ClickException(f"no features for user {user_id!r}")
    r.raise_for_status()
    click.echo(json.dumps(r.json(), indent=2))


@click.command("story-agent")
@option("--max-in-flight", type=click.IntRange(min=1), default=None, help="Stories being written at once [default: 32]")
@option("--triton-url", default=None, help="Triton gRPC host:port [default: local stack]")
@option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO")
@kafka_options
def story_agent(max_in_flight: int | None, triton_url: str | None, loglevel: str, **kw: Any) -> None:
    """Run the story agent: story-requests -> Triton (grounded, with fallbacks) -> user-stories."""
    import asyncio
    import logging

    from streams.stories.run import serve

    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_from(**kw, story_max_in_flight=max_in_flight, triton_url=triton_url)
    agent = asyncio.run(serve(settings))
    click.echo(json.dumps({k: v for k, v in vars(agent.stats).items() if k != "latencies_ms"}), err=True)


@click.command("tail")
@click.argument("what", type=click.Choice(["stories"]))
@option("--user", default=None, help="Only this user's stories")
@option("--from-beginning", is_flag=True, help="Start at the oldest story, not at new ones")
@option("--idle-exit", "idle_exit_s", type=float, default=None, help="Exit after this many seconds without a story")
@option("--json", "as_json", is_flag=True, help="One Story record per line as JSON (what `linernotes verify` reads)")
@kafka_options
def tail(
    what: str, user: str | None, from_beginning: bool, idle_exit_s: float | None, as_json: bool, **kw: Any
) -> None:
    """Print stories as they arrive: kind, user, text, and whether the model or a template wrote it."""
    from streams.stories.run import line
    from streams.stories.run import tail as follow

    try:
        for story, _ in follow(settings_from(**kw), user=user, from_beginning=from_beginning, idle_exit_s=idle_exit_s):
            click.echo(json.dumps(story.to_avro(), ensure_ascii=False) if as_json else line(story))
    except LookupError as e:
        raise click.ClickException(str(e)) from e
    except KeyboardInterrupt:
        pass


@click.command()
@click.argument("story_id")
@option("--ui", default=None, help="Tracing UI base URL [default: the local stack's Phoenix]")
@kafka_options
def trace(story_id: str, ui: str | None, **kw: Any) -> None:
    """Print STORY_ID's trace id and a link that opens the whole trace in the dashboard."""
    import httpx

    from streams.kafka.read import read_topic
    from streams.tracing.records import PROJECT
    from streams.tracing.tracer import header, parse

    settings = settings_from(**kw)
    needle = story_id.encode()
    found = None
    for m in read_topic(settings.kafka_conf(), settings.topic_stories, idle_s=1.5):
        if needle in (m.value() or b""):
            found = m
    if found is None:
        raise click.ClickException(f"story {story_id!r} is not on {settings.topic_stories}")
    ctx = parse(header(found.headers()))
    if ctx is None:
        raise click.ClickException(f"story {story_id!r} was published without trace context")
    trace_id = f"{ctx.trace_id:032x}"
    base = (ui or f"http://127.0.0.1:{settings.phoenix_port}").rstrip("/")
    link = f"{base}/projects (project {PROJECT}, trace {trace_id})"
    try:
        projects = httpx.get(f"{base}/v1/projects", timeout=5).json().get("data", [])
        pid = next((p["id"] for p in projects if p.get("name") == PROJECT), None)
        if pid:
            link = f"{base}/projects/{pid}/traces/{trace_id}"
    except (httpx.HTTPError, ValueError):
        pass
    click.echo(f"trace_id: {trace_id}\n{link}")


# -- benchmarks ------------------------------------------------------------------------------------
@click.group()
def bench() -> None:
    """Benchmarks; each compares against a baseline measured in the same run."""


@bench.command("features")
@option("--events", type=click.IntRange(min=1000), default=200_000, help="Avro events to process")
@option("--users", type=click.IntRange(min=1), default=10_000, help="Listeners (skewed activity)")
@option("--naive-events", type=click.IntRange(min=100), default=20_000, help="Events timed for the naive agent")
@option("--rounds", type=click.IntRange(min=1), default=5, help="Alternating runs with triggers on and off (medians)")
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the figures")
@kafka_options
def bench_features(events: int, users: int, naive_events: int, rounds: int, as_json: bool, **kw: Any) -> None:
    """One feature worker (batch path) vs a naive per-event faust agent, on the real broker."""
    from streams.bench.features import run as run_bench

    figures = run_bench(
        settings_from(**kw),
        events=events,
        users=users,
        naive_events=naive_events,
        rounds=rounds,
        report=reporter(as_json),
    )
    echo_figures(figures, as_json)


@bench.command("memory")
@option("--listeners", type=click.IntRange(min=1), default=1_000_000, help="Distinct listeners")
@option("--plays", type=click.IntRange(min=1), default=2, help="Plays of each listener (rounds)")
@option("--cache-users", type=click.IntRange(min=1), default=None, help="The cache's bound [default: the setting]")
@option("--baseline/--no-baseline", default=True, help="Also run without a bound (the cache before issue 30)")
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the figures")
def bench_memory(listeners: int, plays: int, cache_users: int | None, baseline: bool, as_json: bool) -> None:
    """The worker's peak RSS with many listeners: its state cache bounded, and without a bound."""
    from streams.bench.memory import run as run_bench

    settings = settings_from()
    figures = run_bench(
        settings,
        listeners=listeners,
        plays=plays,
        cache_users=cache_users or settings.state_cache_users,
        baseline=baseline,
        report=reporter(as_json),
    )
    echo_figures(figures, as_json)


@bench.command("triggers")
@option("--events", type=click.IntRange(min=1000), default=200_000, help="Avro events to process")
@option("--users", type=click.IntRange(min=1), default=10_000, help="Listeners (skewed activity)")
@option("--rounds", type=click.IntRange(min=1), default=5, help="Alternating runs with triggers on and off (medians)")
@option("--callgrind", is_flag=True, help="Count instructions with valgrind instead of timing (one run a mode)")
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the figures")
def bench_triggers(events: int, users: int, rounds: int, callgrind: bool, as_json: bool) -> None:
    """What triggers cost the feature worker's thread, offline (no broker): CPU or instructions."""
    from streams.bench.triggers import run as run_bench

    figures = run_bench(
        settings_from(), events=events, users=users, rounds=rounds, callgrind=callgrind, report=reporter(as_json)
    )
    echo_figures(figures, as_json)


@bench.command("e2e")
@option("--users", type=click.IntRange(min=1), default=30, help="Simulated listeners")
@option("--events-per-s", type=click.FloatRange(min=1), default=4.0, help="Steady event rate (wall clock)")
@option("--duration", "duration_s", type=click.FloatRange(min=5), default=180.0, help="Seconds of load")
@option("--speedup", type=click.FloatRange(min=1), default=600.0, help="Event time runs this much faster")
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@kafka_options
def bench_e2e(users: int, events_per_s: float, duration_s: float, speedup: float, as_json: bool, **kw: Any) -> None:
    """Event -> story latency (p50/p99, and over the model's batch-1 time) on the real stack."""
    from streams.bench.e2e import run as run_bench

    figures = run_bench(
        settings_from(**kw),
        users=users,
        events_per_s=events_per_s,
        duration_s=duration_s,
        speedup=speedup,
        report=reporter(as_json),
    )
    echo_figures(figures, as_json)


@bench.command("replay")
@option("--events", type=click.IntRange(min=1000), default=200_000, help="Events to produce")
@option("--users", type=click.IntRange(min=1), default=10_000, help="Listeners (skewed activity)")
@option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Replay processes (see linernotes replay --workers) [default: min(2, cores)]",
)
@option("--rounds", type=click.IntRange(min=1), default=5, help="Alternating live/replay pairs (medians)")
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@kafka_options
def bench_replay(events: int, users: int, workers: int | None, rounds: int, as_json: bool, **kw: Any) -> None:
    """Replay (features only) vs the live feature worker on the same events, in one run."""
    from streams.bench.replay import run as run_bench

    figures = run_bench(
        settings_from(**kw),
        events=events,
        users=users,
        workers=workers,
        rounds=rounds,
        report=reporter(as_json),
    )
    echo_figures(figures, as_json)


@bench.command("tracing")
@option("--events", type=click.IntRange(min=1000), default=200_000, help="Events to produce")
@option("--users", type=click.IntRange(min=1), default=10_000, help="Listeners (skewed activity)")
@option("--rounds", type=click.IntRange(min=1), default=5, help="Interleaved off/on pairs (medians)")
@option(
    "--receiver",
    type=click.Choice(["null", "phoenix"]),
    default="null",
    help="Where spans go: an OTLP receiver that only counts, or the stack's Phoenix",
)
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@kafka_options
def bench_tracing(events: int, users: int, rounds: int, receiver: str, as_json: bool, **kw: Any) -> None:
    """Feature worker throughput with tracing off vs on (story-complete + sampled), interleaved."""
    from streams.bench.tracing import run as run_bench

    figures = run_bench(
        settings_from(**kw),
        events=events,
        users=users,
        rounds=rounds,
        report=reporter(as_json),
        receiver=receiver,
    )
    echo_figures(figures, as_json)


@bench.command("stories")
@option("--stories", type=click.IntRange(min=4), default=64, help="Stories per measurement")
@option("--concurrency", type=click.IntRange(min=2), default=32, help="Requests in flight")
@option(
    "--candidates",
    type=click.IntRange(min=1, max=8),
    default=None,
    help="Candidates per story, ranked by the writer [default: LINERNOTES_STORY_CANDIDATES]",
)
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
def bench_stories(stories: int, concurrency: int, candidates: int | None, as_json: bool) -> None:
    """Stories/s and latency through Triton: dynamic batching on vs off, in one run."""
    from streams.bench.stories import run as run_bench

    settings = settings_from()
    figures = run_bench(
        settings,
        stories=stories,
        concurrency=concurrency,
        candidates=candidates or settings.story_candidates,
        report=reporter(as_json),
    )
    echo_figures(figures, as_json)


FAULT_SCENARIOS = (
    "worker-kill",
    "worker-restart",
    "agent-kill",
    "triton-outage",
    "registry-outage",
    "garbage",
    "duplicates",
    "history-import",
)


@bench.command("faults")
@option("--scenario", "scenarios", type=click.Choice(FAULT_SCENARIOS), multiple=True, help="Only these [default: all]")
@option("--events", type=click.IntRange(min=100), default=200_000, help="Events of each scenario's flow")
@option("--users", type=click.IntRange(min=1), default=10_000, help="Listeners of the flow")
@option("--events-per-s", type=click.FloatRange(min=1), default=2000.0, help="Good events sent a second")
@option("--story-events", type=click.IntRange(min=100), default=600, help="Events of the story scenarios")
@option("--history", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A Spotify export to import")
@option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep the processes' logs and state here")
@option("--json", "as_json", is_flag=True, help="Print one JSON object (the last line)")
@kafka_options
def bench_faults(
    *, scenarios: tuple[str, ...], history: Path | None, keep: Path | None, as_json: bool, **kw: Any
) -> None:
    """Kills, outages, garbage, duplicates and a history import on the real local stack, each run's outputs
    against a fold over its inputs (lost, double_counted, ...). Stops and starts the stack's Triton and registry."""
    from streams.bench.faults import HISTORY_FIXTURE, table
    from streams.bench.faults import run as run_bench

    sizes = {k: kw.pop(k) for k in ("events", "users", "events_per_s", "story_events")}
    try:
        figures = run_bench(
            settings_from(**kw),
            scenarios=list(scenarios or FAULT_SCENARIOS),
            **sizes,
            history_file=history or HISTORY_FIXTURE,
            keep=keep,
            report=reporter(as_json),
        )
    except RuntimeError as e:
        raise click.ClickException(str(e)) from e
    click.echo(json.dumps(figures) if as_json else table(figures))
