"""``linernotes replay``, ``export``, ``features-at``, ``training-set``, ``verify-parity``: history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from streams.cli.common import echo_figures, kafka_options, option, reporter, settings_from
from streams.errors import StreamsError


# -- replay and point in time ------------------------------------------------------------------------
def _time(value: str, name: str) -> int:
    from streams.ingest.simulator.listeners import parse_time

    try:
        return parse_time(value)
    except ValueError as e:
        raise click.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=name) from e


def _files(source: str) -> tuple[Path, ...]:
    if source == "topic":
        return ()
    paths = []
    for part in source.split(","):
        p = Path(part)
        found = sorted(p.glob("*.avro")) + sorted(p.glob("*.json")) if p.is_dir() else [p]
        for f in found:
            if not f.is_file():
                raise click.BadParameter(f"{f} does not exist", param_hint="--source")
        paths += found
    if not paths:
        raise click.BadParameter(f"no .avro or .json files in {source}", param_hint="--source")
    return tuple(paths)


@click.command()
@option("--from", "start", required=True, help="Start of the event-time range (ISO-8601, inclusive)")
@option("--to", "end", required=True, help="End of the range (ISO-8601, exclusive)")
@option("--source", default="topic", help="'topic' (listening-events) or export/history files, comma-separated")
@option("--users", default="", help="Only these user ids (comma-separated)")
@option("--features-only/--with-stories", default=True, help="Also write the stories (needs Triton)")
@option("--target-suffix", default=".backfill", help="Appended to every output topic and the app id")
@option("--fresh", is_flag=True, help="Ignore a checkpoint of an earlier run with the same suffix")
@option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes, each replaying its share of partitions [default: min(2, cores)]",
)
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the figures")
@kafka_options
def replay(
    *,
    start: str,
    end: str,
    source: str,
    users: str,
    features_only: bool,
    target_suffix: str,
    fresh: bool,
    workers: int | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Re-run the live feature and trigger code over history into suffixed topics (resumable)."""
    from streams.history.parallel import default_workers, run_replay, warm
    from streams.history.replay import ReplayOptions
    from streams.history.sources import load_catalog

    settings = settings_from(**kw)
    workers = workers or default_workers()
    opts = ReplayOptions(
        start_ms=_time(start, "--from"),
        end_ms=_time(end, "--to"),
        files=_files(source),
        users=frozenset(u for u in users.split(",") if u),
        with_stories=not features_only,
        suffix=target_suffix,
        progress=not as_json,
        fresh=fresh,
    )
    if workers > 1 and not opts.files:
        warm()  # the shards' fork server imports the replay's modules while the catalog loads
    try:
        result = run_replay(settings, opts, load_catalog(settings), workers=workers, report=reporter(as_json))
    except StreamsError as e:
        raise click.ClickException(str(e)) from e
    figures = dict(vars(result)) | {"events_per_s": round(result.events_per_s, 1)}
    echo_figures(figures, as_json)


@click.command()
@option("--from", "start", required=True, help="Start (ISO-8601, inclusive)")
@option("--to", "end", required=True, help="End (ISO-8601, exclusive)")
@option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory")
@kafka_options
def export(start: str, end: str, out: Path, **kw: Any) -> None:
    """Write a range of listening-events to Avro container files (schema included) for archive replays."""
    from streams.history.pointintime import export as run_export

    try:
        click.echo(json.dumps(run_export(settings_from(**kw), _time(start, "--from"), _time(end, "--to"), out)))
    except StreamsError as e:
        raise click.ClickException(str(e)) from e


@click.command("features-at")
@click.argument("user_id")
@click.argument("at")
@option("--source", default="topic", help="'topic' or export/history files, comma-separated")
@kafka_options
def features_at(user_id: str, at: str, source: str, **kw: Any) -> None:
    """USER_ID's features exactly as of event time AT (every event at or before AT, none after)."""
    from streams.history.pointintime import features_at as compute
    from streams.history.pointintime import user_events
    from streams.history.sources import load_catalog

    when, files = _time(at, "AT"), _files(source)  # misuse is reported before any broker is contacted
    settings = settings_from(**kw)
    snap = compute(user_events(settings, user_id, files=files), when, load_catalog(settings), settings.feature_config())
    if snap is None:
        raise click.ClickException(f"no events of {user_id!r} at or before {at}")
    click.echo(json.dumps(snap, indent=2))


@click.command("training-set")
@option("--events", "source", required=True, help="Export/history files (comma-separated) or FROM..TO (ISO)")
@option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Avro file to write")
@option("--users", default="", help="Only these user ids (comma-separated)")
@kafka_options
def training_set(source: str, out: Path, users: str, **kw: Any) -> None:
    """Write each event with the features as of just before it (no leakage from the future), as Avro."""
    import fastavro

    from schemas.codec import parse
    from schemas.registry import Registry
    from streams.history.pointintime import training_rows, training_schema
    from streams.history.sources import file_events, load_catalog
    from streams.kafka.read import read_topic

    settings = settings_from(**kw)
    wanted = frozenset(u for u in users.split(",") if u)
    if ".." in source:
        lo, hi = (_time(x, "--events") for x in source.split("..", 1))
        decoder = Registry(settings.schema_registry_url).decoder("ListeningEvent")
        events = [
            decoder.decode(m.value())
            for m in read_topic(settings.kafka_conf(), settings.topic_events, idle_s=1.5)
            if lo <= m.timestamp()[1] < hi
        ]
    else:
        events = [ev for _, ev in file_events(_files(source), wanted)]
    if wanted:
        events = [e for e in events if e["user_id"] in wanted]
    rows = training_rows(events, load_catalog(settings), settings.feature_config())
    with out.open("wb") as f:
        fastavro.writer(f, parse(training_schema()), rows, codec="deflate")
    click.echo(json.dumps({"events": len(events), "out": str(out)}))


@click.command("verify-parity")
@option("--users", required=True, help="User ids to check (comma-separated)")
@kafka_options
def verify_parity(users: str, **kw: Any) -> None:
    """Replay USERS' history and check it equals what the live workers published (features, story ids)."""
    from streams.history.parity import verify_parity as run_check

    wanted = frozenset(u for u in users.split(",") if u)
    try:
        report = run_check(settings_from(**kw), wanted, report=lambda line: click.echo(line, err=True))
    except StreamsError as e:
        raise click.ClickException(str(e)) from e
    click.echo(json.dumps(report, indent=2))
    if not (report["features_equal"] and report["story_ids_equal"]):
        raise SystemExit(1)
