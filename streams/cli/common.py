"""Shared pieces of the ``linernotes`` command line: options that read ``LINERNOTES_*`` variables."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from streams.config.settings import Settings, load

F = TypeVar("F", bound=Callable[..., Any])
option = functools.partial(click.option, show_envvar=True)  # --help names every LINERNOTES_* variable
CONTEXT = {"auto_envvar_prefix": "LINERNOTES", "show_default": True, "help_option_names": ["-h", "--help"]}


def _opt(*names: str, envvar: str, **kw: Any) -> Callable[[F], F]:
    return option(*names, envvar=envvar, **kw)


def kafka_options(f: F) -> F:
    f = _opt(
        "--schema-registry-url",
        envvar="LINERNOTES_SCHEMA_REGISTRY_URL",
        default=None,
        help="Confluent-compatible schema registry [default: local stack]",
    )(f)
    return _opt(
        "--bootstrap-servers",
        envvar="LINERNOTES_BOOTSTRAP_SERVERS",
        default=None,
        help="Kafka bootstrap servers [default: local stack]",
    )(f)


def stack_options(f: F) -> F:
    for name, field in reversed(
        [
            ("--run-dir", "run_dir"),
            ("--broker-port", "broker_port"),
            ("--registry-port", "registry_port"),
            ("--triton-http-port", "triton_http_port"),
            ("--triton-grpc-port", "triton_grpc_port"),
            ("--triton-metrics-port", "triton_metrics_port"),
            ("--phoenix-port", "phoenix_port"),
            ("--phoenix-grpc-port", "phoenix_grpc_port"),
        ]
    ):
        default = Settings.model_fields[field].default
        f = _opt(
            name,
            field,
            envvar=f"LINERNOTES_{field.upper()}",
            default=None,
            type=click.Path(path_type=Path) if field == "run_dir" else int,
            help=f"[default: {default}]",
        )(f)
    return f


def settings_from(**kw: Any) -> Settings:
    return load(**kw)


def reporter(as_json: bool) -> Callable[[str], None]:
    """Progress lines go to stderr, and nowhere when the output is one JSON object."""
    return (lambda _line: None) if as_json else (lambda line: click.echo(line, err=True))


def echo_figures(figures: dict[str, Any], as_json: bool) -> None:
    click.echo(json.dumps(figures) if as_json else "\n".join(f"{k}: {v}" for k, v in figures.items()))


def envvars_of(group: click.Group) -> set[str]:
    """Every variable an option of ``group``'s commands reads: named ones and click's automatic
    ``LINERNOTES_<COMMAND>_<OPTION>`` (the prefix rule of ``click.Context``)."""
    out: set[str] = set()

    def walk(cmd: click.Command, prefix: str) -> None:
        for p in cmd.params:
            if isinstance(p, click.Option):
                if p.envvar:
                    out.update([p.envvar] if isinstance(p.envvar, str) else p.envvar)
                elif p.name:
                    out.add(f"{prefix}_{p.name.upper()}")
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix}_{name.upper()}".replace("-", "_"))

    walk(group, str(CONTEXT["auto_envvar_prefix"]))
    return out
