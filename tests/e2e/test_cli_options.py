"""The options of every command: help text, one declaration of each shared option, the aliases.

Each shared option is named after the keyword argument it sets (``--n-boot`` sets ``n_boot``)
and keeps its older spelling as an alias that gives exactly the same output. No command
passes an old keyword name to the Python API (that would print a FutureWarning).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

import outcomes as oc
from outcomes.cli import main
from outcomes.mixed.alliance import alliance_outcome

ROOT = Path(__file__).resolve().parents[2]
MULTILEVEL = ROOT / "tests" / "reference" / "multilevel"

#: Each shared option: the keyword it sets and its names, the new one first.
SHARED = {
    "as_json": ["--json"],
    "n_boot": ["--n-boot", "--boot"],
    "seed": ["--seed"],
    "cluster": ["--cluster", "--group"],
    "ci_level": ["--ci-level"],
    "ci_method": ["--ci-method", "--ci"],
}


def _commands() -> dict[str, click.Command]:
    return dict(sorted(main.commands.items()))


def _invoke(*args: str) -> str:
    """Run ``outcomes ARGS`` in this process; its stdout, once it exited 0."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def renamed_keywords(monkeypatch):
    """Every 'f(old=...) is now f(new=...)' FutureWarning raised while the test runs."""
    seen: list[str] = []
    original = warnings.warn

    def warn(message, category=None, stacklevel=1, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if category is FutureWarning and " is now " in str(message):
            seen.append(str(message))
        return original(message, category, stacklevel + 1, **kwargs)

    monkeypatch.setattr(warnings, "warn", warn)
    return seen


@pytest.mark.parametrize("name", list(_commands()))
def test_every_command_and_option_has_help(name):
    command = _commands()[name]
    assert command.help and len(command.help.split()) > 5, f"{name} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"outcomes {name} {param.opts[0]} has no help text"
    assert "--help" in _invoke(name, "--help")


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in _commands() if f"`outcomes {name}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


@pytest.mark.parametrize("name", list(_commands()))
def test_shared_options_carry_one_name_each(name):
    options = {p.name: p for p in _commands()[name].params if isinstance(p, click.Option)}
    for keyword, opts in SHARED.items():
        if keyword in options:
            assert options[keyword].opts == opts, (name, keyword)
    for option in options.values():
        assert not set(option.opts) & {"--boot", "--group", "--ci"} or option.name in SHARED
        if "--engine" in option.opts:  # engine means pandas or Dask, never a solver
            assert list(option.type.choices) == ["pandas", "dask"]


def _arguments(name: str, tmp: Path) -> list[str]:
    """Arguments that let ``outcomes NAME`` parse."""
    return {
        "decompose": [str(tmp)], "multilevel": [str(tmp)], "reliability": [str(tmp),
                                                                            "--instrument", "x"],
        "improvement": [str(tmp), "--role", "full=a"], "power": [],
        "report": [str(tmp), "--out", str(tmp)], "norms": [str(tmp), "--out", "n.json"],
    }[name]


@pytest.mark.parametrize("name", [n for n, c in _commands().items()
                                  if any(p.name == "n_boot" for p in c.params)])
def test_every_bootstrap_command_reads_n_boot_and_boot_alike(name, tmp_path):
    command = _commands()[name]
    parsed = [command.make_context(name, [*_arguments(name, tmp_path), flag, "7"]).params
              for flag in ("--n-boot", "--boot")]
    assert parsed[0]["n_boot"] == 7
    assert parsed[0] == parsed[1]


@pytest.fixture(scope="module")
def clients(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clients") / "clients.csv"
    pd.read_csv(MULTILEVEL / "clients.csv").to_csv(path, index=False)
    return path


def test_decompose_aliases_give_the_same_numbers_as_the_api(clients, renamed_keywords):
    common = ["decompose", str(clients), "--outcome", "end_score", "--factor",
              "relationship=alliance", "--factor", "expectancy=hope", "--covariate",
              "baseline", "--seed", "5", "--json"]
    new = _invoke(*common, "--n-boot", "60", "--cluster", "coach_id", "--ci-method",
                  "percentile", "--ci-level", "0.9")
    old = _invoke(*common, "--boot", "60", "--group", "coach_id", "--ci", "percentile",
                  "--ci-level", "0.9")
    assert new == old
    api = oc.decompose(pd.read_csv(clients), "end_score",
                       {"relationship": ["alliance"], "expectancy": ["hope"]},
                       covariates=["baseline"], n_boot=60, cluster="coach_id",
                       ci_method="percentile", ci_level=0.9, seed=5)
    expected = json.loads(json.dumps(api.to_dict(reference="asay-lambert-1999")))
    assert json.loads(new)["seed"] == 5  # the command records its seed
    assert {k: v for k, v in json.loads(new).items() if k not in ("notes", "seed")} == expected
    assert renamed_keywords == []


def test_multilevel_aliases_give_the_same_output(clients, renamed_keywords):
    common = ["multilevel", str(clients), "--outcome", "end_score", "--factor",
              "relationship=alliance", "--factor", "client=baseline,hope", "--seed", "3",
              "--json"]
    new = _invoke(*common, "--n-boot", "20", "--cluster", "coach_id", "--ci-method",
                  "percentile", "--ml")
    old = _invoke(*common, "--boot", "20", "--group", "coach_id", "--ci", "percentile",
                  "--ml")
    assert new == old
    assert json.loads(new)["shares"]["n_boot"] == 20
    assert renamed_keywords == []


def test_alliance_cluster_and_group_give_the_same_output(renamed_keywords):
    sessions = str(MULTILEVEL / "sessions.csv")
    new = _invoke("alliance", sessions, "--cluster", "coach_id", "--json")
    old = _invoke("alliance", sessions, "--group", "coach_id", "--json")
    assert new == old
    api = alliance_outcome(pd.read_csv(sessions), alliance="alliance", outcome="outcome",
                           cluster="coach_id")
    assert {k: v for k, v in json.loads(new).items() if k != "notes"} == \
        json.loads(json.dumps(api.to_dict()))
    assert renamed_keywords == []


def test_improvement_and_power_read_n_boot_and_boot_alike(tmp_path, renamed_keywords):
    arms = pd.DataFrame({"arm": ["wait"] * 12 + ["coaching"] * 12,
                         "pre": [10.0 + i % 5 for i in range(24)],
                         "post": [12.0 + i % 7 + 4 * (i >= 12) for i in range(24)]})
    arms.to_csv(tmp_path / "arms.csv", index=False)
    common = ["improvement", str(tmp_path / "arms.csv"), "--pre", "pre", "--post", "post",
              "--role", "none=wait", "--role", "full=coaching", "--seed", "1", "--json"]
    assert _invoke(*common, "--n-boot", "100") == _invoke(*common, "--boot", "100")
    common = ["power", "--n-coaches", "5", "--clients-per-coach", "6", "--n-sim", "3",
              "--n-jobs", "1", "--seed", "2", "--json"]
    older = ["power", "--coaches", "5", "--clients-per-coach", "6", "--sims", "3",
             "--jobs", "1", "--seed", "2", "--json"]
    assert _invoke(*common, "--n-boot", "10") == _invoke(*older, "--boot", "10")
    assert renamed_keywords == []


def test_change_client_and_id_alike(tmp_path):
    table = pd.DataFrame({"who": [f"c{i}" for i in range(8)],
                          "pre": [10.0, 12, 15, 9, 20, 18, 11, 14],
                          "post": [18.0, 13, 25, 8, 21, 28, 19, 12]})
    table.to_csv(tmp_path / "scores.csv", index=False)
    common = ["change", str(tmp_path / "scores.csv"), "--pre", "pre", "--post", "post",
              "--reliability", "0.8", "--json"]
    new = _invoke(*common, "--client", "who")
    assert new == _invoke(*common, "--id", "who")
    lower = json.loads(_invoke(*common, "--client", "who", "--lower-is-better"))
    assert lower["counts"] != json.loads(new)["counts"]


def test_report_config_reads_n_boot_and_its_older_name_boot(tmp_path):
    from outcomes.cli._config import read_report_config as _config

    path = tmp_path / "report.toml"
    path.write_text("seed = 1\nboot = 50\n", encoding="utf-8")
    assert _config(str(path)) == {"seed": 1, "n_boot": 50}
    path.write_text("[report]\nn_boot = 50\n", encoding="utf-8")
    assert _config(str(path)) == {"n_boot": 50}
    path.write_text("n_boot = 50\nboot = 60\n", encoding="utf-8")
    with pytest.raises(oc.UsageError, match="older name 'boot'"):
        _config(str(path))
