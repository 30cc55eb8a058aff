"""`outcomes multilevel --missing`: the intention-to-treat multilevel shares, as a user runs
them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ._outcomes_cli import run

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_multilevel_missing_mi_json_equals_the_api_and_keeps_every_client():
    import outcomes as oc

    result = run("multilevel", str(SAMPLE), "--missing", "mi", "--n-imputations", "2",
                 "--seed", "4", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)["shares"]
    api = oc.multilevel_shares(oc.load_sample().analysis_table(), "end_score", oc.FACTORS,
                               covariates=["baseline"], missing="mi", n_imputations=2, seed=4)
    assert payload["n"] == api.n == 1140
    assert payload["missing"]["method"] == "mi" and payload["missing"]["n_imputations"] == 2
    shares = [payload["parts"][name]["share"] for name in api.shares.index]
    np.testing.assert_allclose(shares, api.shares, rtol=1e-9)
    assert sum(shares) == pytest.approx(1.0, abs=1e-12)


def test_multilevel_missing_mi_text_says_which_method_ran():
    result = run("multilevel", str(SAMPLE), "--missing", "mi", "--n-imputations", "2")
    assert result.returncode == 0, result.stderr
    assert "nested in 60 coaches" in result.stdout
    assert "multiple imputation by chained equations" in result.stdout
    assert "2 imputations pooled" in result.stdout


@pytest.mark.parametrize(("args", "said"), [
    (["--missing", "em"], "not the likelihood of clients nested in coaches"),
    (["--n-imputations", "5"], "--n-imputations serves --missing 'mi'"),
    (["--missing", "drop"], "--missing"),
])
def test_missing_mistakes_are_usage_errors(args, said):
    result = run("multilevel", str(SAMPLE), *args)
    assert result.returncode == 2
    assert said in result.stderr
