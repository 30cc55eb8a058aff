"""`outcomes multilevel` and `outcomes alliance` end to end: a real process, exit codes, JSON
equal to the Python API's numbers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REFERENCE = ROOT / "tests" / "reference" / "multilevel"




@pytest.fixture(scope="module")
def sample():
    import outcomes as oc

    return oc.load_sample()


def test_multilevel_on_the_sample_equals_the_api(sample):
    from outcomes.analysis import FACTORS
    from outcomes.mixed.fit import multilevel
    from outcomes.mixed.shares import multilevel_shares

    result = run("multilevel", str(SAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    table = sample.analysis_table()
    options = {"covariates": ["baseline"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = multilevel(table, "end_score", FACTORS, **options)
        shares = multilevel_shares(table, "end_score", FACTORS, **options)
    assert payload["fit"] == json.loads(json.dumps(fit.to_dict()))
    assert payload["shares"] == json.loads(json.dumps(shares.to_dict()))
    parts = payload["shares"]["parts"]
    assert list(parts) == ["client", "relationship", "expectancy", "technique", "covariates",
                           "coach", "unexplained"]
    assert sum(p["share"] for p in parts.values()) == pytest.approx(1.0, abs=1e-12)
    assert any("missing values" in note for note in payload["notes"])


def test_alliance_on_the_sample_equals_the_api(sample):
    from outcomes.mixed.alliance import alliance_outcome
    from outcomes.mixed.sessions import session_table

    result = run("alliance", str(SAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    table = session_table(sample.scores(), sample.valid("engagements"))
    api = alliance_outcome(table, alliance="alliance", outcome="outcome")
    expected = json.loads(json.dumps(api.to_dict()))
    assert {k: v for k, v in payload.items() if k != "notes"} == expected
    assert set(payload["effects"]) == {"within", "between", "between_minus_within"}


def test_multilevel_flat_file_and_text_output(tmp_path):
    from outcomes.mixed.shares import multilevel_shares

    data = pd.read_csv(REFERENCE / "clients.csv")
    path = tmp_path / "clients.csv"
    data.to_csv(path, index=False)
    result = run("multilevel", str(path), "--outcome", "end_score", "--factor",
                 "relationship=alliance", "--factor", "client=baseline,hope", "--boot", "40",
                 "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    api = multilevel_shares(data, "end_score", {"relationship": ["alliance"],
                                                "client": ["baseline", "hope"]},
                            n_boot=40, seed=3)
    assert payload["shares"] == json.loads(json.dumps(api.to_dict()))
    got = pd.Series({k: v["share"] for k, v in payload["shares"]["parts"].items()})
    np.testing.assert_array_equal(got[api.shares.index], api.shares)
    text = run("multilevel", str(path), "--outcome", "end_score", "--plot",
               str(tmp_path / "fit.png"))
    assert text.returncode == 0 and "null model" in text.stdout
    assert payload["fit"]["fixed_effects"]["alliance_within"]["estimate"] > 0
    assert (tmp_path / "fit.png").stat().st_size > 1000


def test_alliance_flat_file(tmp_path):
    result = run("alliance", str(REFERENCE / "sessions.csv"), "--lag", "2", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["lag"] == 2 and payload["n_groups"] == 12


def test_mistakes_exit_with_a_message():
    flat = str(REFERENCE / "clients.csv")
    no_outcome = run("multilevel", flat)
    assert no_outcome.returncode == 2 and "--outcome" in no_outcome.stderr
    bad_factor = run("multilevel", flat, "--outcome", "end_score", "--factor", "alliance")
    assert bad_factor.returncode == 2 and "NAME=COL" in bad_factor.stderr
    missing = run("multilevel", flat, "--outcome", "end_score", "--factor", "r=wai")
    assert missing.returncode == 1 and '"wai"' in missing.stderr
    helped = run("alliance", "--help")
    assert helped.returncode == 0 and "--lag" in helped.stdout


def test_help_is_there():
    helped = run("multilevel", "--help")
    assert helped.returncode == 0 and "--random-slope" in helped.stdout
