"""DESIGN.md's import direction, checked on the source."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"schemas", "features", "inference", "streams"}
ALLOWED = {"schemas": set(), "features": {"schemas"}, "inference": {"schemas"}, "streams": OURS}
FORBIDDEN_THIRD_PARTY = {
    "features": {"faust", "confluent_kafka", "aiokafka", "tritonclient", "os", "time", "datetime.datetime.now"},
    "inference": {"faust"},
    "schemas": {"faust"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(OURS))
def test_import_direction(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert files or package in {"features", "inference"}
    for f in files:
        imported = imports_of(f)
        bad = (imported & OURS) - ALLOWED[package] - {package}
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"
        banned = imported & FORBIDDEN_THIRD_PARTY.get(package, set())
        assert not banned, f"{f.relative_to(ROOT)} imports {banned}"


def test_only_streams_imports_faust() -> None:
    for package in OURS - {"streams"}:
        for f in (ROOT / package).rglob("*.py"):
            assert "faust" not in imports_of(f)
