"""Shares with every client kept: EM and multiple imputation against independent answers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import outcomes as oc
from outcomes._errors import UsageError
from outcomes.shares.em import em_moments
from outcomes.shares.metrics import share_statistic
from outcomes.shares.mice import impute
from outcomes.shares.missing import default_imputations, pooled, prepare_incomplete

REFERENCE = Path(__file__).parent / "reference" / "missing"
FACTORS = {"relationship": ["bond", "task"], "expectancy": ["hope"], "technique": ["dose"]}


def _incomplete(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(np.zeros(4), 0.4 + 0.6 * np.eye(4), n)
    df = pd.DataFrame(x, columns=["bond", "task", "hope", "dose"])
    df["end"] = df.bond + 0.5 * df.task + 0.4 * df.hope + 0.3 * df.dose + rng.normal(size=n)
    df["coach"] = [f"C{i % 12}" for i in range(n)]
    df.loc[rng.random(n) < 1 / (1 + np.exp(1 + 1.5 * df.bond)), "end"] = np.nan  # MAR
    df.loc[rng.random(n) < 0.08, "hope"] = np.nan
    df.loc[rng.random(n) < 0.05, "task"] = np.nan
    return df


def _observed_loglik(x, mean, cov):
    total = 0.0
    seen_rows = ~np.isnan(x)
    for seen in np.unique(seen_rows, axis=0):
        d = x[(seen_rows == seen).all(axis=1)][:, seen] - mean[seen]
        c = cov[np.ix_(seen, seen)]
        quad = np.einsum("ij,ij->", d @ np.linalg.inv(c), d)
        total -= 0.5 * (len(d) * np.linalg.slogdet(2 * np.pi * c)[1] + quad)
    return total


def test_em_equals_a_direct_maximisation_of_the_observed_data_likelihood():
    x = _incomplete(n=150)[["bond", "hope", "end"]].to_numpy()
    k = x.shape[1]
    low = np.tril_indices(k)

    def unpack(theta):
        chol = np.zeros((k, k))
        chol[low] = theta[k:]
        chol[np.diag_indices(k)] = np.exp(np.diag(chol))
        return theta[:k], chol @ chol.T

    start = np.r_[np.nanmean(x, axis=0), np.eye(k)[low]]
    start[k:][[0, 2, 5]] = 0.0  # log of unit diagonal
    best = optimize.minimize(lambda t: -_observed_loglik(x, *unpack(t)), start,
                             method="BFGS", options={"gtol": 1e-10, "maxiter": 5000})
    mean, cov = unpack(best.x)
    fit = em_moments(x)
    assert fit.converged.all()
    np.testing.assert_allclose(fit.mean[0], mean, atol=1e-6)
    np.testing.assert_allclose(fit.covariance[0], cov, atol=1e-6)
    assert _observed_loglik(x, fit.mean[0], fit.covariance[0]) >= -best.fun - 1e-9


def test_em_without_missing_values_is_the_sample_covariance():
    x = np.random.default_rng(2).normal(size=(80, 3))
    fit = em_moments(x)
    np.testing.assert_allclose(fit.covariance[0], np.cov(x.T, ddof=0), atol=1e-12)


def test_mi_regression_agrees_with_r_mice_within_monte_carlo_error():
    data = pd.read_csv(REFERENCE / "mar_data.csv")[["x1", "x2", "y"]].to_numpy()
    reference = pd.read_csv(REFERENCE / "mice_regression.csv", comment="#")
    fit = em_moments(data)
    start = (fit.mean[0], fit.covariance[0])
    m = 300  # R used 500; seeds below and in mice_regression.R
    seeds = np.random.SeedSequence(20261206).spawn(m)
    coefs = []
    for s in seeds:
        done = impute(data, [(0,), (1,), (2,)], rng=np.random.default_rng(s), start=start)
        X = np.column_stack([np.ones(len(done)), done[:, :2]])
        coefs.append(np.linalg.lstsq(X, done[:, 2], rcond=None)[0])
    coefs = np.array(coefs)
    ours = coefs.mean(axis=0)
    between = coefs.std(axis=0, ddof=1)
    np.testing.assert_allclose(between, reference.between_sd, rtol=0.2)
    monte_carlo = np.sqrt(between**2 / m + reference.between_sd**2 / 500)
    assert np.all(np.abs(ours - reference.estimate) < 4 * monte_carlo), (ours, reference)


@pytest.mark.parametrize("missing", ["em", "mi"])
def test_a_replicate_drawing_every_unit_once_reproduces_the_estimate(missing):
    df = _incomplete()
    design = prepare_incomplete(df, "end", FACTORS, cluster="coach", missing=missing,
                                n_imputations=1 if missing == "mi" else None, seed=3)
    statistic = share_statistic(design, "lmg")
    estimate, _ = pooled(design, statistic)
    for by_cluster in (True, False):
        units = design.units_of(by_cluster).max() + 1
        again = design.replicate(statistic, np.ones((1, units)), by_cluster=by_cluster,
                                 seeds=design.seeds[:1])
        np.testing.assert_allclose(again[0], estimate, rtol=0, atol=1e-10)


@pytest.mark.parametrize("missing", ["em", "mi"])
def test_shares_add_up_and_every_client_is_kept(missing):
    df = _incomplete()
    d = oc.decompose(df, "end", FACTORS, missing=missing, seed=1)
    assert d.n == len(df) and d.n_dropped == 0
    assert d.shares.sum() == pytest.approx(d.r2 - d.r2_covariates, abs=1e-10)
    assert d.missingness.method == missing
    with_cov = oc.decompose(df, "end", {"relationship": ["bond", "task"]}, missing=missing,
                            covariates=["hope"], seed=1)
    assert with_cov.shares.sum() == pytest.approx(with_cov.r2 - with_cov.r2_covariates,
                                                  abs=1e-10)


@pytest.mark.parametrize("missing", ["em", "mi"])
def test_complete_data_give_the_listwise_shares(missing):
    df = _incomplete().dropna()
    a = oc.decompose(df, "end", FACTORS)
    b = oc.decompose(df, "end", FACTORS, missing=missing)
    np.testing.assert_allclose(b.shares, a.shares, atol=1e-10)
    assert b.r2 == pytest.approx(a.r2, abs=1e-10)


def test_em_and_mi_recover_what_listwise_deletion_biases():
    rng = np.random.default_rng(11)
    n = 4000
    x = rng.normal(size=(n, 2))
    y = x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n)
    full = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})
    truth = oc.decompose(full, "y", ["a", "b"]).shares
    gone = full.copy()
    gone.loc[rng.random(n) < 1 / (1 + np.exp(-2 * gone.a)), "y"] = np.nan  # MAR on a
    with pytest.warns(oc.DataWarning):
        listwise = oc.decompose(gone, "y", ["a", "b"]).shares
    em = oc.decompose(gone, "y", ["a", "b"], missing="em").shares
    mi = oc.decompose(gone, "y", ["a", "b"], missing="mi", n_imputations=10, seed=2).shares
    assert abs(listwise["a"] - truth["a"]) > 0.05
    assert abs(em["a"] - truth["a"]) < 0.03 and abs(mi["a"] - truth["a"]) < 0.03


def test_missingness_report_counts_columns_and_patterns():
    df = _incomplete()
    d = oc.decompose(df, "end", FACTORS, missing="em")
    report = d.missingness
    counts = report.columns.set_index("column").n_missing
    for col in ["bond", "task", "hope", "dose", "end"]:
        assert counts[col] == df[col].isna().sum()
    assert report.patterns.n.sum() == len(df)
    complete = int(df[["bond", "task", "hope", "dose", "end"]].notna().all(axis=1).sum())
    assert report.n_incomplete == len(df) - complete
    text = str(d.summary())
    assert "maximum likelihood" in text and "missing at random" in text
    assert d.to_dict()["missing"]["method"] == "em"


def test_default_imputations_follow_the_fraction_missing():
    df = _incomplete()
    d = oc.decompose(df, "end", FACTORS, missing="mi")
    fraction = d.missingness.fraction_incomplete
    assert d.missingness.n_imputations == default_imputations(fraction) >= 100 * fraction


def test_bootstrap_intervals_by_cluster_cover_the_estimate():
    df = _incomplete()
    for missing in ("em", "mi"):
        d = oc.decompose(df, "end", FACTORS, missing=missing, n_boot=60, cluster="coach",
                         seed=4, n_imputations=5 if missing == "mi" else None)
        shares = d.ci[d.ci.quantity == "share"]
        assert (shares.ci_low <= shares.estimate).all() and (shares.estimate <=
                                                             shares.ci_high).all()
        assert d.n_clusters == 12


def test_dominance_pools_subset_r2_over_imputations():
    df = _incomplete()
    dom = oc.dominance(df, "end", FACTORS, missing="mi", n_imputations=5, seed=1)
    d = oc.decompose(df, "end", FACTORS, missing="mi", n_imputations=5, seed=1)
    np.testing.assert_allclose(dom.general, d.shares, atol=1e-10)


def test_sensitivity_at_zero_is_the_mi_estimate_and_finds_where_the_conclusion_flips():
    df = _incomplete()
    s = oc.sensitivity(df, "end", FACTORS, conclusion=("relationship", "expectancy"),
                       deltas=np.linspace(0, 6, 7), n_imputations=5, seed=1)
    d = oc.decompose(df, "end", FACTORS, missing="mi", n_imputations=5, seed=1)
    first = s.table().iloc[0]
    np.testing.assert_allclose(first[list(FACTORS)].to_numpy(float), d.shares, atol=1e-10)
    if s.tipping_point is not None and np.isfinite(s.tipping_point):
        holds = s.table().holds.to_numpy()
        i = int(np.argmin(holds))
        assert s.table().delta[i - 1] <= s.tipping_point <= s.table().delta[i]


def test_wrong_missing_options_say_what_to_do():
    df = _incomplete()
    with pytest.raises(UsageError, match="missing must be one of"):
        oc.decompose(df, "end", FACTORS, missing="drop")
    with pytest.raises(UsageError, match="n_imputations serves"):
        oc.decompose(df.dropna(), "end", FACTORS, n_imputations=5)
    with pytest.raises(UsageError, match="reliability"):
        oc.decompose(df, "end", FACTORS, missing="mi", reliability={"bond": 0.8})
    with pytest.raises(UsageError, match="conclusion"):
        oc.sensitivity(df, "end", FACTORS, conclusion=("client", "technique"))
