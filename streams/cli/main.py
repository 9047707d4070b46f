"""The ``linernotes`` command line. Every option can also be set with a ``LINERNOTES_*`` variable
(``--help`` names it). Misuse and unreachable services give one line and a non-zero exit."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import click

from streams.cli import dlq as cli_dlq
from streams.cli import replay as cli_replay
from streams.cli import run as cli_run
from streams.cli import stories as cli_stories
from streams.cli.common import CONTEXT, envvars_of, kafka_options, option, settings_from, stack_options
from streams.config.settings import unread_env


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="linernotes")
def cli() -> None:
    """linernotes: listening events -> real-time features -> true stories ("liner notes")."""


# -- local stack --------------------------------------------------------------------------------
@cli.command()
@option(
    "--service",
    "services",
    multiple=True,
    type=click.Choice(["broker", "registry", "triton", "phoenix"]),
    help="Start only these (repeatable) [default: all four]",
)
@stack_options
def up(services: tuple[str, ...], **kw: Any) -> None:
    """Start the local stack (Tansu broker, schema registry, Triton, Phoenix) and print endpoints."""
    from streams.devstack.stack import Stack

    s = settings_from(**kw)
    stack = Stack(s)
    t0 = time.monotonic()
    stack.up(services or None, report=lambda line: click.echo(line, err=True))
    click.echo(f"stack healthy in {time.monotonic() - t0:.1f}s", err=True)
    _print_status(stack)
    if not services or "broker" in services:
        # The registry needs the broker; topics make the stack ready to use.
        from streams.kafka import topics

        topics.create(s.model_copy(update={"bootstrap_servers": f"127.0.0.1:{s.broker_port}"}))


@cli.command()
@stack_options
def down(**kw: Any) -> None:
    """Stop the local stack and clean up its shared-memory regions."""
    from streams.devstack.stack import Stack

    stopped = Stack(settings_from(**kw)).down()
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def _print_status(stack: Any) -> None:
    for name, (state, endpoints) in stack.status().items():
        ends = "  ".join(f"{k}={v}" for k, v in endpoints.items())
        click.echo(f"{name:9s} {state:9s} {ends}")


@cli.command()
@option("--json", "as_json", is_flag=True, help="Print one JSON object")
@stack_options
def status(as_json: bool, **kw: Any) -> None:
    """Show each local service's state and endpoints (Triton's metrics endpoint included)."""
    from streams.devstack.stack import Stack

    stack = Stack(settings_from(**kw))
    if as_json:
        click.echo(json.dumps({n: {"state": st, **ep} for n, (st, ep) in stack.status().items()}))
    else:
        _print_status(stack)


# -- topics ---------------------------------------------------------------------------------------
@cli.group()
def topics() -> None:
    """Manage the project's topics."""


@topics.command("create")
@kafka_options
def topics_create(**kw: Any) -> None:
    """Create every topic in DESIGN.md with the partitions and cleanup policies from the settings."""
    from streams.kafka import topics as topic_admin

    s = settings_from(**kw)
    specs = {t.name: t for t in s.topic_specs()}
    for name, what in topic_admin.create(s).items():
        spec = specs[name]
        click.echo(
            f"{name:24s} {what:8s} partitions={spec.partitions} cleanup={'compact' if spec.compact else 'delete'}"
        )


# -- data in ---------------------------------------------------------------------------------------
@cli.command()
@option("--users", type=click.IntRange(min=1), default=1000, help="Listeners to simulate")
@option("--events", type=click.IntRange(min=0), default=100_000, help="Listening events in total")
@option(
    "--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="Events/s [default: as fast as possible]"
)
@option("--seed", type=int, default=42, help="Same seed, same bytes")
@option("--start", default="2026-11-02T00:00:00Z", help="Event time of the first day (ISO-8601)")
@option("--days", type=click.IntRange(min=1), default=7, help="Days of event time to cover")
@option("--workers", type=click.IntRange(min=1), default=None, help="Generator processes [default: min(2, cores)]")
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the figures")
@kafka_options
def simulate(
    *,
    users: int,
    events: int,
    rate: float | None,
    seed: int,
    start: str,
    days: int,
    workers: int | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Publish a synthetic catalog and deterministic, realistic listening to Kafka."""
    from streams.ingest import simulate as sim
    from streams.ingest.simulator import SimulationConfig
    from streams.ingest.simulator.listeners import parse_time

    try:
        parse_time(start)
    except ValueError as e:
        raise click.BadParameter(f"not an ISO-8601 time: {start!r}", param_hint="--start") from e
    s = settings_from(**kw)
    config = SimulationConfig(users=users, events=events, days=days, seed=seed, start=start)
    result = sim.run(s, config, rate=rate, progress=not as_json, workers=workers)
    figures = {
        "events": result.events,
        "tracks": result.tracks,
        "seconds": round(result.seconds, 3),
        "events_per_s": round(result.events_per_s, 1),
    }
    if as_json:
        click.echo(json.dumps(figures))
    else:
        click.echo(
            f"produced {result.events:,} events ({result.events_per_s:,.0f} events/s) and "
            f"{result.tracks:,} catalog tracks to {s.bootstrap_servers}"
        )


@cli.command("import-history")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@option("--user", "user_id", required=True, help="user_id to file these plays under")
@option("--include-incognito", is_flag=True, help="Also import plays made in incognito mode")
@option(
    "--tz",
    default=None,
    help="The listener's IANA time zone (e.g. Europe/Berlin), stamped on every play; without it, "
    "stories say no morning or evening",
)
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts")
@kafka_options
def import_history(
    files: tuple[Path, ...], user_id: str, include_incognito: bool, tz: str | None, as_json: bool, **kw: Any
) -> None:
    """Import Spotify "Extended Streaming History" JSON files as listening events and catalog entries:
    all files sorted by time, each play once, only plays after the listener's current features."""
    from datetime import UTC, datetime

    from streams.ingest.spotify import check_zone
    from streams.ingest.spotify_import import run as run_import

    if tz is not None:
        try:
            check_zone(tz)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--tz'") from e
    report = run_import(
        settings_from(**kw), list(files), user_id, include_incognito=include_incognito, progress=not as_json, tz=tz
    )
    counts = {
        "files": report.files,
        "entries": report.entries,
        "imported": report.imported,
        "repeats_dropped": report.repeats,
        "podcasts_skipped": report.podcasts,
        "incognito_skipped": report.incognito,
        "malformed": report.malformed,
        "already_covered": report.covered,
        "sent": report.sent,
    }
    for problem in report.problems:
        click.echo(f"malformed: {problem}", err=True)
    if report.covered:
        as_of = datetime.fromtimestamp((report.features_as_of or 0) / 1000, UTC).isoformat(timespec="seconds")
        click.echo(
            f"not sent: {report.covered} plays at or before {user_id}'s features (as of {as_of}); "
            "they cannot be applied in order any more (docs/ingest.md, 'Imports and live events')",
            err=True,
        )
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))


@cli.command()
@click.argument("topic")
@option("--limit", type=click.IntRange(min=1), default=5, help="Records to show")
@kafka_options
def peek(topic: str, limit: int, **kw: Any) -> None:
    """Print the first records of TOPIC, decoded through the schema registry (one JSON per line)."""
    from streams.kafka.peek import peek as read

    for record in read(settings_from(**kw), topic, limit=limit):
        click.echo(json.dumps(record, default=str))


cli.add_command(cli_run.worker)
cli.add_command(cli_run.features)
cli.add_command(cli_run.bench)
cli.add_command(cli_stories.eval_cmd)
cli.add_command(cli_stories.verify_cmd)
cli.add_command(cli_stories.train_cmd)
cli.add_command(cli_run.story_agent)
cli.add_command(cli_run.tail)
cli.add_command(cli_replay.replay)
cli.add_command(cli_replay.export)
cli.add_command(cli_replay.features_at)
cli.add_command(cli_replay.training_set)
cli.add_command(cli_replay.verify_parity)
cli.add_command(cli_run.trace)
cli.add_command(cli_dlq.dlq)


# -- entry point ----------------------------------------------------------------------------------
def _one_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text if "\n" in text and "Last lines" in text else text.splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn every failure into one line on stderr (LINERNOTES_DEBUG=1 shows tracebacks)."""
    debug = os.environ.get("LINERNOTES_DEBUG") == "1"
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not debug:  # the CLI reports failures itself, in one line
        logging.getLogger("linernotes.librdkafka").setLevel(logging.CRITICAL)
    unknown = unread_env(envvars_of(cli))
    if unknown:
        click.echo(f"linernotes: unknown setting {', '.join(unknown)} (see `linernotes --help`)", err=True)
        return 2
    try:
        cli.main(args=argv, prog_name="linernotes", standalone_mode=False)
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except click.UsageError as e:
        path = e.ctx.command_path.split(" ", 1)[1] + " " if e.ctx and " " in e.ctx.command_path else ""
        hint = f" (see `linernotes {path}--help`)"
        click.echo(f"linernotes: {e.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"linernotes: {e.format_message()}", err=True)
        return e.exit_code
    except (KeyboardInterrupt, click.Abort):
        click.echo("linernotes: interrupted", err=True)
        return 130
    except Exception as e:
        if debug:
            raise
        click.echo(f"linernotes: {type(e).__name__}: {_one_line(e)}", err=True)
        return 1
    return 0
