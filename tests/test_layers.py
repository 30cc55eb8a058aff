"""Imports go one way: a module imports only modules above it in the flow (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "outcomes"

# The flow, top to bottom. A package (io, instruments, report) counts as one module.
LAYERS = [
    "_errors", "_engine", "apa", "_results", "_checks", "_plotting", "_chromium", "privacy",
    "reference",
    "schema",
    "io", "instruments",
    "validation",
    "measures",
    "analysis", "study", "mapping", "sample", "simulate",
    "shares", "mixed", "practice",
    "plots", "norms", "benchmarking", "report",
    "partitioned",
    "web", "cli",
]


def _module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    inside_package = path.parent != PACKAGE
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module == "outcomes":
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").startswith("outcomes."):
                found.add(node.module.split(".")[1])
            elif node.level == 1 and not inside_package or node.level == 2:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name.split(".")
                if name[0] == "outcomes":
                    found.add(name[1] if len(name) > 1 else "__init__")
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_layer():
    unknown = sorted({_module_of(p) for p in SOURCES} - set(LAYERS))
    assert not unknown, f"add these modules to LAYERS in the flow order: {unknown}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_upward(path):
    module = _module_of(path)
    if module not in LAYERS:
        pytest.skip("reported by test_every_module_has_a_layer")
    rank = LAYERS.index(module)
    for imported in _imports(path) - {module}:
        assert imported != "__init__", f"{path.name} imports the package's __init__"
        assert imported in LAYERS, f"{path.name} imports {imported}, which has no layer"
        assert LAYERS.index(imported) < rank, (
            f"{module} imports {imported}, which sits below it in the flow"
        )


def _dotted(path: Path) -> str:
    parts = ("outcomes",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every module of the package that ``path`` imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("outcomes"):
                continue
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("outcomes."))
    return found & known


def test_no_import_cycle_between_modules():
    paths = {_dotted(p): p for p in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph = {m: _imported_modules(p, known) - {m} for m, p in paths.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_top_level_holds_only_the_foundations_and_entry_points():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert len(modules) <= 12, f"{len(modules)} modules at the top level: {modules}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_file_is_too_long_to_hold_one_idea(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 450, f"{path.name} has {lines} lines: split it where it holds two ideas"
