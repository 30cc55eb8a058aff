"""`outcomes decompose --missing`: the intention-to-treat shares, as a user runs them."""

from __future__ import annotations

import json

import numpy as np

import outcomes as oc

from .test_cli import SAMPLE, run


def test_decompose_missing_mi_prints_itt_shares_and_says_which_method_ran():
    result = run("decompose", str(SAMPLE), "--missing", "mi", "--n-imputations", "5",
                 "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "multiple imputation by chained equations" in result.stdout
    assert "5 imputations pooled" in result.stdout
    assert "n = 1140" in result.stdout


def test_decompose_missing_em_json_matches_the_api():
    result = run("decompose", str(SAMPLE), "--missing", "em", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    api = oc.decompose(oc.load_sample().analysis_table(), "end_score", oc.FACTORS,
                       covariates=["baseline"], missing="em")
    assert payload["missing"]["method"] == "em" and payload["n"] == api.n
    shares = [payload["factors"][name]["share"] for name in api.shares.index]
    np.testing.assert_allclose(shares, api.shares, rtol=1e-9)


def test_wrong_missing_value_is_a_usage_error():
    result = run("decompose", str(SAMPLE), "--missing", "drop")
    assert result.returncode == 2
    assert "--missing" in result.stderr
