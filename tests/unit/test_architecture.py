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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph() -> dict[str, set[str]]:
    """Every import of one of our modules, function-local ones included: a cycle hidden in a function
    is still a cycle for whoever reads the code."""
    modules = {module_name(f): f for package in OURS for f in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, f in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    target = f"{node.module}.{a.name}"
                    edges.add(target if target in modules else node.module)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def test_no_import_cycles() -> None:
    graph = module_graph()

    # a package's __init__ re-exporting its own modules is not a cycle worth reporting
    def edges(m: str) -> set[str]:
        return {e for e in graph[m] if not m.startswith(e + ".")}

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        index[m] = low[m] = len(index)
        stack.append(m)
        for e in edges(m):
            if e not in index:
                visit(e)
                low[m] = min(low[m], low[e])
            elif e in stack:
                low[m] = min(low[m], index[e])
        if low[m] == index[m]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == m:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    assert not cycles, f"import cycles: {cycles}"


def test_streams_root_is_a_table_of_contents() -> None:
    root_modules = sorted(p.name for p in (ROOT / "streams").glob("*.py"))
    assert len(root_modules) <= 5, root_modules


# Dev-only tooling: the local stack, the local registry service and the benches.
DEV_ONLY = ("streams.devstack", "streams.bench")
# What runs in production: none of it may import dev-only tooling (the CLI and the benches may).
RUNTIME = (
    "schemas",
    "features",
    "inference",
    "streams.config",
    "streams.kafka",
    "streams.pipeline",
    "streams.worker",
    "streams.stories",
    "streams.history",
    "streams.tracing",
)


def test_runtime_never_imports_dev_tooling() -> None:
    graph = module_graph()
    for m, edges in graph.items():
        if m.startswith(RUNTIME):
            bad = {e for e in edges if e.startswith(DEV_ONLY)}
            assert not bad, f"{m} imports dev-only {bad}"


def test_the_shared_pipeline_stands_on_its_own() -> None:
    """Replay runs the same pipeline as the worker, so the pipeline imports neither faust wiring
    nor anything that composes it."""
    above = ("streams.worker", "streams.stories", "streams.history", "streams.cli", *DEV_ONLY)
    for m, edges in module_graph().items():
        if m.startswith("streams.pipeline"):
            bad = {e for e in edges if e.startswith(above)}
            assert not bad, f"{m} imports {bad}"
