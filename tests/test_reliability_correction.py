"""Shares of true scores: the correction for unreliability, by hand and by its invariants.

Known answers are closed forms: the true-score covariance written out by hand, LMG of two
predictors from the three correlations, and Spearman's correction of one correlation,
r / sqrt(rel_x rel_y). The bootstrap re-estimates reliabilities from the clients it draws:
a replicate equals the point estimate on the resampled rows, and drawing every unit once
reproduces the point estimate.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import outcomes as oc
from outcomes.shares.attenuation import correction, positive_definite, true_score_cross
from outcomes.shares.design import prepare
from outcomes.shares.metrics import share_statistic
from outcomes.simulate.generative import DEFAULT_SHARES, FACTORS, generative_model
from outcomes.simulate.measured import item_columns, measured_draw

from .e2e._outcomes_cli import run
from .e2e.test_cli import SAMPLE


def _frame(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) @ np.array([[1.0, 0.4], [0.0, 0.9]])
    frame = pd.DataFrame(x, columns=["x1", "x2"])
    frame["y"] = 0.6 * frame.x1 + 0.3 * frame.x2 + rng.normal(size=n)
    return frame


def _items_frame(seed: int, n_coaches: int = 30, per_coach: int = 10) -> pd.DataFrame:
    model = generative_model(shares=DEFAULT_SHARES, r2=0.35, icc=0.05, factor_correlation=0.3)
    return measured_draw(model, n_coaches, per_coach, np.random.default_rng(seed),
                         reliability={"client": 0.7, "relationship": 0.8}, n_items=4)


ITEMS = {"client": item_columns("client", 4), "relationship": item_columns("relationship", 4)}
ONE_EACH = {f: [f] for f in FACTORS}


def test_true_score_covariance_by_hand():
    cross = np.array([[4.0, 1.2, 2.0], [1.2, 9.0, 3.0], [2.0, 3.0, 16.0]])
    expected = np.array([[3.2, 1.2, 2.0], [1.2, 6.3, 3.0], [2.0, 3.0, 16.0]])
    assert np.array_equal(true_score_cross(cross, [0.8, 0.7, 1.0]), expected)
    assert positive_definite(expected[None]).tolist() == [True]
    assert positive_definite(true_score_cross(cross, [0.1, 0.1, 1.0])[None]).tolist() == [False]


def test_two_predictor_lmg_from_disattenuated_correlations_by_hand():
    frame = _frame(1)
    rel = {"x1": 0.8, "x2": 0.9}
    d = oc.decompose(frame, "y", ["x1", "x2"], reliability=rel)
    r = frame[["x1", "x2", "y"]].corr().to_numpy()
    r12 = r[0, 1] / np.sqrt(0.8 * 0.9)
    r1y, r2y = r[0, 2] / np.sqrt(0.8), r[1, 2] / np.sqrt(0.9)
    r2 = (r1y**2 + r2y**2 - 2 * r1y * r2y * r12) / (1 - r12**2)
    lmg1 = 0.5 * r1y**2 + 0.5 * (r2 - r2y**2)
    lmg2 = 0.5 * r2y**2 + 0.5 * (r2 - r1y**2)
    assert d.r2 == pytest.approx(r2, abs=1e-12)
    assert d.shares.tolist() == pytest.approx([lmg1, lmg2], abs=1e-12)
    assert d.corrected == ("x1", "x2")


def test_spearman_correction_of_one_correlation_is_reproduced():
    frame = _frame(2)
    r = frame["x1"].corr(frame["y"])
    d = oc.decompose(frame, "y", ["x1"], reliability={"x1": 0.75, "y": 0.85})
    assert np.sqrt(d.r2) == pytest.approx(abs(r) / np.sqrt(0.75 * 0.85), abs=1e-12)
    table = d.reliability.set_index("column")
    assert table.loc["y", "factor"] == "outcome" and table.loc["x1", "source"] == "given"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), method=st.sampled_from(["lmg", "pratt", "relative_weights",
                                                           "first", "last", "betasq"]))
def test_reliability_one_gives_the_observed_shares_exactly(seed, method):
    frame = _frame(seed, n=80)
    frame["z"] = np.random.default_rng(seed + 1).normal(size=80)
    factors = {"a": ["x1", "z"], "b": ["x2"]}
    plain = oc.decompose(frame, "y", factors, method=method)
    ones = oc.decompose(frame, "y", factors, method=method,
                        reliability={"x1": 1.0, "z": 1, "x2": 1.0, "y": 1.0})
    assert np.array_equal(plain.shares.to_numpy(), ones.shares.to_numpy())
    assert plain.r2 == ones.r2


@pytest.mark.parametrize("cluster", [None, "coach_id"])
def test_every_unit_drawn_once_reproduces_the_point_estimate(cluster):
    frame = _items_frame(3)
    reliability = {"client": "estimate", "relationship": "alpha", "technique": 0.9}
    d = oc.decompose(frame, "change", ONE_EACH, reliability=reliability, items=ITEMS,
                     cluster=cluster)
    design = prepare(frame, "change", ONE_EACH, cluster=cluster)
    fix = correction(design, frame, reliability, items=ITEMS, cluster=cluster)
    units = fix.units(by_cluster=cluster is not None)
    rows = fix.replicate(share_statistic(design, "lmg"), np.ones((1, units[0].n_units)),
                         units=units)
    assert rows[0].tolist() == pytest.approx([*d.shares, d.r2], abs=1e-10, rel=0)
    assert d.reliability.set_index("column").loc[["client", "relationship"], "source"].tolist() \
        == ["omega", "alpha"]


def test_a_replicate_re_estimates_the_reliabilities_from_the_clients_it_drew():
    frame = _items_frame(4)
    reliability = {"client": "alpha", "relationship": "omega"}
    design = prepare(frame, "change", ONE_EACH)
    fix = correction(design, frame, reliability, items=ITEMS)
    counts = np.random.default_rng(5).multinomial(len(frame), np.full(len(frame),
                                                                      1 / len(frame)))
    rows = fix.replicate(share_statistic(design, "lmg"), counts[None])
    resampled = frame.loc[np.repeat(frame.index, counts)].reset_index(drop=True)
    direct = oc.decompose(resampled, "change", ONE_EACH, reliability=reliability, items=ITEMS)
    assert rows[0].tolist() == pytest.approx([*direct.shares, direct.r2], abs=1e-8, rel=0)
    assert not np.allclose(direct.reliability["reliability"], fix.table["reliability"])


def test_estimated_and_given_reliabilities_differ_only_in_the_replicates():
    frame = _items_frame(6)
    estimated = oc.decompose(frame, "change", ONE_EACH, items=ITEMS, reliability={
        "client": "estimate", "relationship": "estimate"}, n_boot=300, seed=1)
    values = estimated.reliability.set_index("column")["reliability"].to_dict()
    known = oc.decompose(frame, "change", ONE_EACH, reliability=values, n_boot=300, seed=1)
    assert estimated.shares.to_numpy() == pytest.approx(known.shares.to_numpy(), abs=1e-12)
    # the same draws of clients, but the reliabilities move with them in one of the two
    corrected = estimated.ci.factor.isin(["client", "relationship"]) & (
        estimated.ci.quantity == "share")
    assert not np.allclose(estimated.ci.std_error[corrected], known.ci.std_error[corrected],
                           rtol=1e-3)
    assert "re-estimated in every bootstrap replicate" in str(estimated.summary())


def test_omega_from_the_study_responses_matches_reliability():
    study = oc.load_sample()
    table = study.analysis_table()
    responses = study.valid("responses")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", oc.DataWarning)
        d = oc.decompose(table, "end_score", oc.FACTORS, covariates=["baseline"],
                         reliability={"optimism": "omega", "hope_agency": "alpha"},
                         items=responses)
    used = table.dropna(subset=[c for cs in oc.FACTORS.values() for c in cs]
                        + ["baseline", "end_score"])["engagement_id"]
    mine = responses[responses["engagement_id"].isin(used)]
    rows = d.reliability.set_index("column")
    lot = oc.reliability(mine, "lot-r", occasion="intake", n_boot=0)
    ahs = oc.reliability(mine, "ahs", occasion="intake", n_boot=0)
    assert rows.loc["optimism", "reliability"] == pytest.approx(lot.omega["total"], abs=1e-6)
    assert rows.loc["hope_agency", "reliability"] == pytest.approx(ahs.alpha["agency"],
                                                                   abs=1e-10)
    assert d.corrected == ("client", "expectancy")
    text = str(d.summary())
    assert "Corrected for unreliability" in text and "optimism (client): reliability" in text


def test_an_impossible_reliability_is_named_with_the_least_that_would_do():
    frame = _frame(7)
    frame["x3"] = frame["x1"] + 0.3 * np.random.default_rng(0).normal(size=len(frame))
    with pytest.raises(oc.ModelError, match=r"0\.300 of 'x1'.*not positive definite.*exceed"):
        oc.decompose(frame, "y", ["x1", "x2", "x3"], reliability={"x1": 0.3})


@pytest.mark.parametrize("reliability, items, message", [
    ({"nope": 0.8}, None, "not a column of the model"),
    ({"x1": 1.5}, None, r"number in \(0, 1\]"),
    ({"x1": "guess"}, None, "give a number"),
    ("estimate", None, "needs the items"),
    ({"x1": "estimate"}, {"x2": ["x1", "y"]}, "cannot be estimated"),
    (None, {"x1": ["x2", "y"]}, "items= serves"),
])
def test_usage_mistakes_say_what_to_give(reliability, items, message):
    with pytest.raises(oc.UsageError, match=message):
        oc.decompose(_frame(8), "y", ["x1", "x2"], reliability=reliability, items=items)


def test_dominance_takes_the_same_correction():
    frame = _items_frame(9)
    rel = {"client": 0.7, "relationship": 0.8}
    dom = oc.dominance(frame, "change", ONE_EACH, reliability=rel)
    d = oc.decompose(frame, "change", ONE_EACH, reliability=rel)
    assert dom.general.to_numpy() == pytest.approx(d.shares.to_numpy(), abs=1e-12)
    assert "Corrected for unreliability" in str(dom.summary())


def test_recovery_in_small_measurement_error_worlds():
    """A fast version of the recovery study: observed shares are pulled off the truth,
    corrected ones (known and estimated reliabilities) come back to it."""
    model = generative_model(shares=DEFAULT_SHARES, r2=0.35, icc=0.05, factor_correlation=0.3)
    truth = np.array([DEFAULT_SHARES[f] for f in FACTORS])
    rel = {"client": 0.6, "relationship": 0.9, "expectancy": 0.9, "technique": 0.9}
    items = {f: item_columns(f, 6) for f in FACTORS}
    found: dict[str, list[np.ndarray]] = {"observed": [], "known": [], "estimated": []}
    for seed in range(12):
        frame = measured_draw(model, 60, 25, np.random.default_rng(seed), reliability=rel)
        found["observed"].append(oc.decompose(frame, "change", ONE_EACH).relative.to_numpy())
        found["known"].append(oc.decompose(frame, "change", ONE_EACH,
                                           reliability=rel).relative.to_numpy())
        found["estimated"].append(oc.decompose(frame, "change", ONE_EACH, reliability="estimate",
                                               items=items).relative.to_numpy())
    bias = {k: np.mean(v, axis=0) - truth for k, v in found.items()}
    assert bias["observed"][0] < -0.06  # the unreliable client scale loses share
    assert np.abs(bias["known"]).max() < 0.04  # three Monte Carlo standard errors
    assert np.abs(bias["estimated"]).max() < 0.04


def test_cli_reliability_estimate_on_the_sample(tmp_path):
    result = run("decompose", str(SAMPLE), "--reliability", "estimate", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["factors"]["relationship"]["corrected"] is True
    assert payload["factors"]["technique"]["corrected"] is False
    sources = {row["column"]: row["source"] for row in payload["reliability"]}
    assert sources["alliance"] == "omega" and sources["adherence"] == "none"
    frame = _frame(7)
    frame["x3"] = frame["x1"] + 0.3 * np.random.default_rng(0).normal(size=len(frame))
    frame.to_csv(tmp_path / "clients.csv", index=False)
    bad = run("decompose", str(tmp_path / "clients.csv"), "--outcome", "y", "--factor",
              "a=x1", "--factor", "b=x2,x3", "--reliability", "x1=0.3")
    assert bad.returncode == 2 and "not positive definite" in bad.stderr
    flat = run("decompose", str(tmp_path / "clients.csv"), "--outcome", "y", "--factor",
               "a=x1", "--factor", "b=x2,x3", "--reliability", "estimate")
    assert flat.returncode == 2 and "study folder" in flat.stderr
