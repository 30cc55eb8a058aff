"""Imports go one way: a module imports only modules above it in the flow (DESIGN.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "outcomes"

# The flow, top to bottom. A package (io, instruments, report) counts as one module.
LAYERS = [
    "_errors", "_engine", "_results", "_checks", "_plotting", "privacy", "reference",
    "io", "instruments",
    "schema", "validation",
    "measures",
    "analysis", "study", "mapping", "sample", "simulate",
    "shares", "mixed", "practice",
    "plots", "norms", "benchmarking", "report",
    "partitioned",
    "cli",
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
