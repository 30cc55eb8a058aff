"""`outcomes decompose` end to end: a study folder, a flat file, the plot and the mistakes."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

import outcomes as oc
from outcomes._checks import DEFAULT_SEED

from .test_cli import SAMPLE, no_traceback, run


def test_study_folder_with_cluster_bootstrap_matches_the_api():
    result = run("decompose", str(SAMPLE), "--boot", "500", "--cluster", "coach_id",
                 "--seed", "1", "--json")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert list(payload["factors"]) == ["client", "relationship", "expectancy", "technique"]
    with pytest.warns(oc.DataWarning, match="left out"):
        api = oc.decompose(oc.load_sample().analysis_table(), "end_score", oc.FACTORS,
                           covariates=["baseline"], n_boot=500, cluster="coach_id", seed=1)
    for name, entry in payload["factors"].items():
        assert entry["share"] == pytest.approx(float(api.shares[name]), abs=1e-12)
        assert entry["ci_low"] < entry["share"] < entry["ci_high"]
    assert payload["r2"] == pytest.approx(api.r2, abs=1e-12)
    reference = payload["reference"]
    assert reference["key"] == "asay-lambert-1999"
    assert {p: v["reference"] for p, v in reference["parts"].items()} == {
        "client": 0.4, "relationship": 0.3, "expectancy": 0.15, "technique": 0.15}
    assert any("left out" in note for note in payload["notes"])


def test_flat_file_needs_outcome_and_factors(tmp_path):
    table = oc.load_sample().analysis_table()
    path = tmp_path / "clients.csv"
    table.to_csv(path, index=False)
    result = run("decompose", str(path), "--outcome", "change", "--factor",
                 "relationship=alliance,session_rating", "--factor", "client=optimism",
                 "--method", "pratt", "--json", "--plot", str(tmp_path / "shares.png"))
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    with pytest.warns(oc.DataWarning, match="left out"):
        api = oc.decompose(table, "change", {"relationship": ["alliance", "session_rating"],
                                             "client": ["optimism"]}, method="pratt")
    got = np.array([payload["factors"][k]["share"] for k in ("relationship", "client")])
    assert np.allclose(got, api.shares.to_numpy(), atol=1e-12)
    assert (tmp_path / "shares.png").stat().st_size > 1000
    bare = run("decompose", str(path))
    assert bare.returncode == 2 and "--outcome" in bare.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--factor", "relationship"], "NAME=COL,COL"),
        (["--reference", "someone-2020"], "asay-lambert-1999"),
        (["--method", "magic"], "Invalid value"),
        (["--factor", "client=no_such_column"], "no_such_column"),
    ],
)
def test_mistakes_are_explained(args, says):
    result = run("decompose", str(SAMPLE), *args)
    no_traceback(result)
    assert result.returncode in (1, 2)
    assert says in result.stderr


def test_references_are_listed():
    result = run("references", "--json")
    assert result.returncode == 0
    splits = json.loads(result.stdout)["references"]
    assert splits["asay-lambert-1999"]["shares"] == {
        "client": 0.4, "relationship": 0.3, "expectancy": 0.15, "technique": 0.15}


def _sample_shares(**options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", oc.DataWarning)
        return oc.decompose(oc.load_sample().analysis_table(), "end_score", oc.FACTORS,
                            covariates=["baseline"], **options)


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def test_missing_mi_shows_itt_shares_beside_complete_cases_and_what_the_conclusion_rests_on():
    result = run("decompose", str(SAMPLE), "--missing", "mi", "--n-imputations", "5",
                 "--seed", "3")
    assert result.returncode == 0, result.stderr
    itt = _sample_shares(missing="mi", n_imputations=5, seed=3)
    complete = _sample_shares()
    out = result.stdout
    assert "n = 1140 clients: every client with any value is kept (intention to treat" in out
    assert "Complete cases (n = 842)" in out
    for name in oc.FACTORS:  # intention to treat, complete cases, Asay & Lambert, one row
        row = rf"\n{name.capitalize()} +{_pct(itt.relative[name])} +" \
              rf"{_pct(complete.relative[name])} +\d+\.0 %\n"
        assert re.search(row, out), (row, out)
    assert out.count("The conclusion rests on the intention-to-treat shares") == 1
    assert "ci_low" not in out and "relative %" not in out


def test_the_default_run_sets_the_itt_shares_beside_its_complete_case_shares():
    result = run("decompose", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    itt = _sample_shares(missing="mi", seed=DEFAULT_SEED)
    listed = ", ".join(f"{name} {_pct(v)}" for name, v in itt.relative.items())
    out = result.stdout
    assert "n = 842 clients with every value (complete cases)" in out
    assert f"Intention to treat (multiple imputation, n = 1140): {listed} of explained." in out
    assert "The conclusion rests on the intention-to-treat shares: 26.1 % of clients" in out
    assert "--missing mi gives them with intervals" in out


def test_complete_data_need_no_itt_comparison(tmp_path):
    table = oc.load_sample().analysis_table()
    path = tmp_path / "complete.csv"
    table.dropna(subset=["end_score", "alliance", "optimism"]).to_csv(path, index=False)
    result = run("decompose", str(path), "--outcome", "end_score", "--factor",
                 "relationship=alliance", "--factor", "client=optimism")
    assert result.returncode == 0, result.stderr
    assert "n = " in result.stdout and "Intention to treat" not in result.stdout
    assert "rests on" not in result.stdout
