"""``linernotes dlq replay``: dead letters back to where they came from, once their cause is fixed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from streams.cli.common import echo_figures, kafka_options, option, settings_from


@click.group()
def dlq() -> None:
    """Dead-letter topics (*.dlq): re-drive their records once the cause is fixed."""


@dlq.command("replay")
@click.argument("topic")
@option(
    "--group",
    default=None,
    help="Consumer group that remembers what was re-driven, so a second run sends nothing twice "
    "[default: <app id>-dlq-replay]",
)
@option("--dry-run", is_flag=True, help="Count what would be re-driven, by reason and source; send nothing")
@option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts")
@kafka_options
def replay(topic: str, group: str | None, dry_run: bool, as_json: bool, **kw: Any) -> None:
    """Send each dead letter of TOPIC back to its source topic and partition (original key, value and
    timestamp), each once: the group's position is committed after the records were delivered."""
    from streams.kafka.redrive import redrive

    result = redrive(settings_from(**kw), topic, group=group, dry_run=dry_run)
    figures = asdict(result)
    if as_json:
        echo_figures(figures, as_json=True)
        return
    verb = "would re-drive" if dry_run else "re-drove"
    click.echo(
        f"{topic}: {result.dead_letters} dead letters since the last run of group {result.group}; "
        f"{verb} {result.redriven}"
        + (f", {result.without_source} without a source topic" if result.without_source else "")
    )
    for reason, n in sorted(result.by_reason.items(), key=lambda kv: -kv[1]):
        click.echo(f"  {n:6d}  {reason}")
