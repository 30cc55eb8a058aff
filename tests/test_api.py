"""The public names of `import outcomes as oc`, the package's plain module, and its type stub."""

import ast
import importlib
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import outcomes as oc

PACKAGE = Path(oc.__file__).parent
PUBLIC_FUNCTIONS = sorted(
    name for name in oc.__all__
    if name != "__version__" and isinstance(getattr(oc, name), types.FunctionType)
)


def _subpackages() -> list[str]:
    found = ["outcomes"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="outcomes."):
        if info.ispkg:
            found.append(info.name)
    return found


def test_the_package_is_a_plain_module():
    assert type(oc) is types.ModuleType
    assert type(oc).__class__ is type


def test_every_public_name_resolves():
    missing = [name for name in oc.__all__ if not hasattr(oc, name)]
    assert missing == []


@pytest.mark.parametrize("package", _subpackages())
def test_no_exported_function_shares_its_name_with_a_module(package):
    module = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    exported = set(getattr(module, "__all__", ()))
    if package == "outcomes":
        exported = set(PUBLIC_FUNCTIONS)
    assert not submodules & exported, f"{package}: a module and a public name share a name"


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_a_function_stays_a_function_after_its_module_is_imported(name):
    module = importlib.import_module(f"outcomes.{oc._EXPORTS[name]}")
    assert getattr(module, name) is getattr(oc, name)
    assert isinstance(getattr(oc, name), types.FunctionType)


def test_a_module_is_what_its_import_says():
    code = ("import outcomes as oc\n"
            "import outcomes.practice.change as ch\n"
            "from outcomes.practice.change import change\n"
            "import types\n"
            "assert isinstance(ch, types.ModuleType) and ch.change is change is oc.change\n"
            "oc.change; import outcomes.shares.dominance as dm\n"
            "assert isinstance(dm, types.ModuleType) and dm.dominance is oc.dominance\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_instruments_stays_a_module():
    assert isinstance(oc.instruments, types.ModuleType)
    assert oc.instruments.get("ors").n_items == 4


def test_the_old_name_of_the_partitioned_package_warns():
    with pytest.warns(FutureWarning, match="outcomes.partitioned"):
        old = oc.scale
    assert old is oc.partitioned


def _stub_exports() -> dict[str, str]:
    tree = ast.parse((PACKAGE / "__init__.pyi").read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.asname or alias.name
                module = node.module.removeprefix("outcomes").lstrip(".")
                found[name] = f"{module}.{alias.name}" if module else alias.name
    return found


def test_the_type_stub_names_every_export_from_its_module():
    stub = _stub_exports()
    expected = {name: (module if module == name else f"{module}.{name}")
                for name, module in oc._EXPORTS.items()}
    missing = sorted(set(expected) - set(stub))
    wrong = sorted(n for n in expected if n in stub and stub[n] != expected[n])
    assert not missing, f"__init__.pyi lacks {missing}"
    assert not wrong, f"__init__.pyi imports these from another module than _EXPORTS: {wrong}"
    assert set(stub) - set(expected) <= {"scale"}, "__init__.pyi has names _EXPORTS lacks"


def test_the_type_stub_gives_mypy_the_real_signature(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import outcomes as oc\n"
                     "reveal_type(oc.decompose)\n"
                     "oc.decompose(1, 2, 3, not_an_option=4)\n")
    cache = PACKAGE.parents[1] / ".mypy_cache"  # shared with the static checks
    run = subprocess.run([sys.executable, "-m", "mypy", str(probe), "--cache-dir", str(cache),
                          "--no-error-summary"],
                         capture_output=True, text=True, timeout=600)
    assert "def (data: Any, outcome: builtins.str" in run.stdout or "outcome:" in run.stdout
    assert 'Unexpected keyword argument "not_an_option"' in run.stdout
