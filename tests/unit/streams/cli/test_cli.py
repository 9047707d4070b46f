"""CLI misuse and unreachable services: one line on stderr, a non-zero exit, never a traceback."""

import os
import subprocess
import sys

import pytest


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "--users", "x"),
        ("simulate", "--nope"),
        ("frobnicate",),
        ("simulate", "--start", "yesterday"),
        ("import-history",),
        ("import-history", "missing.json", "--user", "u"),
        ("import-history", "tests/fixtures/Streaming_History_Audio_2024.json", "--user", "u", "--tz", "Mars/Base"),
        ("replay", "--from", "soon", "--to", "2026-01-01T00:00:00Z"),
        ("replay", "--from", "2026-01-01T00:00:00Z", "--to", "2026-02-01T00:00:00Z", "--source", "nowhere.avro"),
        ("features-at", "u1", "noon"),
        ("tail", "poems"),
        ("eval", "--samples", "0"),
        ("bench", "e2e", "--duration", "1"),
        ("bench", "triggers", "--events", "10"),
    ],
)
def test_misuse_is_one_line(args: tuple[str, ...]) -> None:
    # No service is reachable: misuse must be reported before anything is contacted, whether or not a stack is up.
    nowhere = {"LINERNOTES_BOOTSTRAP_SERVERS": "127.0.0.1:1", "LINERNOTES_SCHEMA_REGISTRY_URL": "http://127.0.0.1:1"}
    r = run(*args, env=os.environ | nowhere)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.startswith("linernotes: ")


def test_unreachable_broker_is_one_line() -> None:
    r = run("topics", "create", "--bootstrap-servers", "127.0.0.1:1")
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "unreachable" in r.stderr and "linernotes up" in r.stderr


def test_help_names_env_vars() -> None:
    r = run("simulate", "--help")
    assert r.returncode == 0
    assert "LINERNOTES_SIMULATE_USERS" in r.stdout and "LINERNOTES_BOOTSTRAP_SERVERS" in r.stdout


def test_trigger_settings_parse_and_refuse_unknown_kinds() -> None:
    from features.config import KINDS
    from streams.config.settings import load

    cfg = load(
        triggers="STREAK,MILESTONE", trigger_milestones="50,10", trigger_cooldowns_s="MILESTONE=60"
    ).trigger_config()
    assert cfg.enabled == frozenset({"STREAK", "MILESTONE"}) and cfg.milestones == (10, 50)
    assert cfg.cooldown_ms == {**dict.fromkeys(KINDS, 0), "MILESTONE": 60_000}  # unlisted kinds: no cooldown
    with pytest.raises(ValueError, match="unknown trigger kinds"):
        load(triggers="STREAK,NOPE").trigger_config()


def test_a_misspelt_variable_stops_the_command_with_its_name() -> None:
    env = {**os.environ, "LINERNOTES_BOOTSTRAP_SERVER": "kafka:9092"}
    r = run("status", env=env)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "linernotes: unknown setting LINERNOTES_BOOTSTRAP_SERVER (did you mean LINERNOTES_BOOTSTRAP_SERVERS?)"
        " (see `linernotes --help`)"
    ]


def test_every_variable_the_project_names_is_read_by_something() -> None:
    """The variables in the deploy manifests, scripts and docs are settings, CLI options or read by
    another process (streams.config.settings.READ_ELSEWHERE)."""
    import re
    from pathlib import Path

    from streams.cli.common import envvars_of
    from streams.cli.main import cli
    from streams.config.settings import unread_env

    root = Path(__file__).resolve().parents[4]
    named: set[str] = set()
    for folder in ("deploy", "scripts", ".ci"):
        for f in (root / folder).rglob("*"):
            if f.is_file() and f.suffix in {"", ".yaml", ".sh", ".py", ".txt"}:
                named |= set(re.findall(r"LINERNOTES_[A-Z0-9_]*[A-Z0-9]", f.read_text(errors="replace")))
    assert named
    assert unread_env(envvars_of(cli), dict.fromkeys(named, "1")) == []
