"""The trigger modules, compiled with mypyc when they were built from the sources beside them.

Trigger detection runs for every listener's batch on the feature worker's thread. Compiled with
mypyc (``python -m streams.devstack.native_build``, which ``scripts/setup`` runs) the same source takes
about a third less of that thread's time (``linernotes bench triggers`` measures it). The compiled
modules are extension files next to the sources (``features/*.so``, not in git); without them the
pure-Python modules run, with the same results.

A compiled module is used only if it was built from the source file beside it: the build records
each source's sha256, and :func:`select` (called by ``features/__init__``, before anything imports
a trigger module) loads the pure-Python sources instead when one differs, so an edited source never
runs as a stale extension. ``python -X linernotes-pure`` asks for pure Python.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

# In import order: what update returns (the trigger modules read it), then the triggers.
MODULES = ("features.result", "features.artist_triggers", "features.calendar_triggers", "features.triggers")
GROUP = "features.native_triggers"  # the shared library of the compiled group: features/native_triggers__mypyc*.so
HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "native.json"  # {"sources": {module: sha256}, "python": "3.11.7"}, written by the native build

_chosen: list[bool] = []  # what select() chose: [True] compiled, [False] pure Python


def active() -> bool:
    """Whether the compiled trigger modules are the ones in use."""
    return bool(_chosen and _chosen[0])


def source(module: str) -> Path:
    return HERE / f"{module.rsplit('.', 1)[1]}.py"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extensions() -> dict[str, Path]:
    """Every compiled module in the package, by module name (the group's shared library aside)."""
    found = {}
    for p in HERE.glob("*.so"):
        name = p.name.split(".", 1)[0]
        if not name.endswith("__mypyc"):
            found[f"features.{name}"] = p
    return found


def fresh() -> bool:
    """Whether every compiled module exists and was built from today's source, by this Python."""
    if set(extensions()) != set(MODULES) or not MANIFEST.exists():
        return False
    try:
        built = json.loads(MANIFEST.read_text())
    except ValueError:
        return False
    if built.get("python") != sys.version.split()[0]:
        return False
    sources = built.get("sources", {})
    return all(sources.get(m) == digest(source(m)) for m in MODULES)


def python_flags() -> list[str]:
    """Interpreter flags that make a child Python choose as this one did (``-X linernotes-pure``)."""
    return ["-X", "linernotes-pure"] if "linernotes-pure" in sys._xoptions else []


def select() -> bool:
    """Use the compiled modules if they are fresh and wanted, else load the pure-Python sources in
    their place; returns whether the compiled ones are in use."""
    if _chosen or any(m in sys.modules for m in MODULES):  # already chosen (a second call, or a reload)
        return active()
    if "linernotes-pure" not in sys._xoptions and fresh():
        _chosen.append(True)
        return True
    compiled = extensions()
    if compiled:  # present but stale or unwanted: the import system would prefer them to the sources
        package = sys.modules["features"]
        strays = [m for m in compiled if m not in MODULES]  # left by a build of another module list
        for name in [*strays, *MODULES]:
            spec = importlib.util.spec_from_file_location(name, source(name))
            if spec is None or spec.loader is None:  # pragma: no cover - the file is right there
                raise ImportError(f"cannot load {source(name)}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            setattr(package, name.rsplit(".", 1)[1], module)
    _chosen.append(False)
    return False
