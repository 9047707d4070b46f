"""The compiled trigger modules (``features.native``): used only when built from today's sources,
and they fire exactly what the pure-Python sources fire."""

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from features import native

# What a simulated stream fires, as plain data: every trigger, the cooldowns' counts, the states after.
_FIRED = """
import hashlib, pickle, sys
import features
from streams.bench import triggers
from streams.config.settings import load
messages, catalog = triggers._messages(6000, 300, 3, 6)
proc = triggers._processor(load(), catalog, True)
fired = []
for i in range(0, len(messages), 700):
    proc.process(messages[i : i + 700])
    fired += [tuple(t) for t, _, _ in proc.take_requests()]
states = sorted((u, s.dumps()) for u, s in proc.cache.items())
out = (features.native.active(), fired, sorted(proc.stats.suppressed.items()), states)
sys.stdout.buffer.write(pickle.dumps(out))
"""


def _fired(native_wanted: bool) -> tuple[bool, list[tuple[object, ...]], list[tuple[str, int]], list[object]]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    pure = [] if native_wanted else ["-X", "linernotes-pure"]
    proc = subprocess.run([sys.executable, *pure, "-c", _FIRED], env=env, capture_output=True, check=True)
    return pickle.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.skipif(not native.fresh(), reason="the trigger modules are not compiled here (scripts/setup builds them)")
def test_compiled_triggers_fire_exactly_what_the_sources_fire() -> None:
    compiled, pure = _fired(True), _fired(False)
    assert compiled[0] is True and pure[0] is False
    assert len(pure[1]) > 100  # a stream that fires every kind a few times
    assert {t[1] for t in pure[1]} >= {"SESSION_RECAP", "MILESTONE", "STREAK", "DISCOVERY"}
    assert compiled[1:] == pure[1:]


def _fake_build(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "HERE", tmp)
    monkeypatch.setattr(native, "MANIFEST", tmp / "native.json")
    sources = {}
    for m in native.MODULES:
        name = m.rsplit(".", 1)[1]
        (tmp / f"{name}.py").write_text(f"X = {name!r}\n")
        (tmp / f"{name}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
        sources[m] = hashlib.sha256((tmp / f"{name}.py").read_bytes()).hexdigest()
    (tmp / "native.json").write_text(json.dumps({"sources": sources, "python": sys.version.split()[0]}))


def test_fresh_only_when_built_from_these_sources_by_this_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_build(tmp_path, monkeypatch)
    assert native.fresh()
    (tmp_path / "streaks_unrelated.py").write_text("")  # other files do not matter
    assert native.fresh()
    with (tmp_path / "calendar_triggers.py").open("a") as f:
        f.write("# edited after the build\n")
    assert not native.fresh()


def test_not_fresh_without_a_manifest_an_extension_or_for_another_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_build(tmp_path, monkeypatch)
    (tmp_path / "triggers.cpython-311-x86_64-linux-gnu.so").unlink()
    assert not native.fresh()
    _fake_build(tmp_path, monkeypatch)
    built = json.loads((tmp_path / "native.json").read_text())
    (tmp_path / "native.json").write_text(json.dumps({**built, "python": "3.11.0a0"}))
    assert not native.fresh()
    (tmp_path / "native.json").write_text("{not json")
    assert not native.fresh()
    (tmp_path / "native.json").unlink()
    assert not native.fresh()


def test_an_extension_left_by_another_build_is_not_fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_build(tmp_path, monkeypatch)
    (tmp_path / "native_triggers__mypyc.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")  # the group library
    assert native.fresh()
    (tmp_path / "facts.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")  # a module no longer compiled
    assert not native.fresh()
