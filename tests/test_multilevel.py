"""multilevel() and multilevel_shares(): known answers from lme4 and performance, faces, errors.

Reference numbers: tests/reference/multilevel/lme4_reference.R (lme4 1.1-31, performance
0.10.2) on clients.csv, written to lme4_reference.csv.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import ConvergenceWarning, DataError, DataWarning, ModelError, UsageError
from outcomes.mixed.fit import MultilevelFit, multilevel
from outcomes.mixed.shares import MultilevelShares, multilevel_shares

HERE = Path(__file__).resolve().parent / "reference" / "multilevel"
FACTORS = {"client": ["baseline"], "relationship": ["alliance"], "expectancy": ["hope"]}
MODELS = {  # model in the R script -> (factors, random slopes, centring)
    "null": ([], (), "within"),
    "ri_cwc": (FACTORS, (), "within"),
    "ri_none": (FACTORS, (), "none"),
    "rs_cwc": (FACTORS, ("alliance",), "within"),
}


@pytest.fixture(scope="module")
def clients():
    return pd.read_csv(HERE / "clients.csv")


@pytest.fixture(scope="module")
def lme4():
    return pd.read_csv(HERE / "lme4_reference.csv", comment="#", keep_default_na=False,
                       na_values=[""])


def _ref(lme4, model, method, quantity):
    rows = lme4[(lme4.model == model) & (lme4.method == method) & (lme4.quantity == quantity)]
    return rows.set_index("term").value


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("reml", [True, False])
def test_fit_equals_lme4_and_performance(clients, lme4, model, reml):
    factors, slopes, centring = MODELS[model]
    method = "REML" if reml else "ML"
    fit = multilevel(clients, "end_score", factors, random_slopes=slopes, centring=centring,
                     reml=reml)
    estimate = _ref(lme4, model, method, "estimate")
    fe = fit.fixed_effects
    assert len(fe) == len(estimate)
    np.testing.assert_allclose(fe.estimate, estimate.to_numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(fe.std_error, _ref(lme4, model, method, "std_error").to_numpy(),
                               rtol=1e-4)
    variance = _ref(lme4, model, method, "variance")
    vc = fit.variance_components
    assert vc["intercept"] == pytest.approx(variance["coach_id:(Intercept)"], rel=1e-3)
    assert vc["residual"] == pytest.approx(variance["residual"], rel=1e-3)
    if slopes:
        assert vc["alliance_within"] == pytest.approx(variance["coach_id:alliance_within"],
                                                      rel=1e-3)
        cov = fit.random_covariance.loc["intercept", "alliance_within"]
        assert cov == pytest.approx(variance["coach_id:(Intercept),alliance_within"], rel=1e-3)
    assert fit.loglik == pytest.approx(_ref(lme4, model, method, "loglik").iloc[0], abs=1e-4)
    assert fit.r2_marginal == pytest.approx(_ref(lme4, model, method, "r2_marginal").iloc[0],
                                            abs=1e-4)
    if model == "null":
        assert fit.icc == pytest.approx(_ref(lme4, model, method, "icc_adjusted").iloc[0],
                                        abs=1e-4)
    else:
        assert fit.r2_conditional == pytest.approx(
            _ref(lme4, model, method, "r2_conditional").iloc[0], abs=1e-4)
        # performance::icc of this model: random over random + residual (Johnson 2014)
        v = fit.variances
        adjusted = (v.v + v.m) / (v.v + v.m + v.residual)
        assert adjusted == pytest.approx(_ref(lme4, model, method, "icc_adjusted").iloc[0],
                                         abs=1e-4)
    assert fit.converged and not fit.singular
    assert fit.rights_sterba.sum() == pytest.approx(1.0, abs=1e-12)


def test_statsmodels_solver_agrees_with_the_profiled_likelihood(clients):
    fast = multilevel(clients, "end_score", FACTORS)
    slow = multilevel(clients, "end_score", FACTORS, solver="statsmodels")
    np.testing.assert_allclose(fast.fixed_effects.estimate, slow.fixed_effects.estimate,
                               atol=1e-6)
    np.testing.assert_allclose(fast.rights_sterba, slow.rights_sterba, atol=1e-6)
    assert fast.icc == pytest.approx(slow.icc, abs=1e-6)
    assert fast.optimizer.startswith("profiled") and slow.optimizer in ("bfgs", "lbfgs", "cg")


def test_shares_equal_lme4_shapley(clients, lme4):
    shares = multilevel_shares(clients, "end_score", FACTORS)
    expected = _ref(lme4, "shares", "REML", "share")
    np.testing.assert_allclose(shares.shares[expected.index], expected, atol=1e-4)
    assert shares.r2_marginal == pytest.approx(_ref(lme4, "shares", "REML",
                                                    "r2_marginal").iloc[0], abs=1e-4)
    assert shares.shares.sum() == pytest.approx(1.0, abs=1e-12)


def test_shares_equal_the_mixedlm_path(clients):
    fast = multilevel_shares(clients, "end_score", FACTORS)
    slow = multilevel_shares(clients, "end_score", FACTORS, solver="statsmodels")
    np.testing.assert_allclose(fast.shares, slow.shares, atol=1e-6)
    assert fast.r2_marginal == pytest.approx(slow.r2_marginal, abs=1e-6)


def test_covariates_get_their_own_line_and_everything_sums_to_one(clients):
    s = multilevel_shares(clients, "end_score", {"relationship": ["alliance"],
                                                 "expectancy": ["hope"]},
                          covariates=["baseline"])
    assert list(s.shares.index) == ["relationship", "expectancy", "covariates", "coach",
                                    "unexplained"]
    assert s.shares.sum() == pytest.approx(1.0, abs=1e-12)
    alone = multilevel(clients, "end_score", {"c": ["baseline"]})
    assert s.shares["covariates"] == pytest.approx(alone.r2_marginal, abs=1e-10)


def test_bootstrap_is_seeded_and_independent_of_workers(clients):
    a = multilevel_shares(clients, "end_score", FACTORS, n_boot=120, seed=3, n_jobs=1)
    b = multilevel_shares(clients, "end_score", FACTORS, n_boot=120, seed=3, n_jobs=2)
    np.testing.assert_allclose(a.draws.replicates, b.draws.replicates, atol=1e-12)
    assert np.all(a.ci.ci_low <= a.ci.ci_high)
    c = multilevel_shares(clients, "end_score", FACTORS, n_boot=120, seed=4, n_jobs=1)
    assert not np.allclose(a.draws.replicates, c.draws.replicates)


def test_fit_bootstrap_intervals(clients):
    fit = multilevel(clients, "end_score", FACTORS, n_boot=60, seed=1, n_jobs=1)
    assert set(fit.ci.quantity) == {"r2_marginal", "r2_conditional", "f1", "f2", "v", "m",
                                    "residual", "icc"}
    row = fit.ci.set_index("quantity").loc["r2_marginal"]
    assert row.ci_low < fit.r2_marginal < row.ci_high
    assert (fit.ci.set_index("quantity").loc["v", ["ci_low", "ci_high"]] == 0).all()


def test_icc_interval_covers_the_truth_in_most_studies():
    """A light version of benchmarks/bench_multilevel.py --coverage (100 studies there)."""
    covered = {}
    for icc in (0.05, 0.15):
        hits = 0
        for seed in range(25):
            rng = np.random.default_rng(seed)
            coach = np.repeat(np.arange(60), 20)
            y = np.sqrt(icc) * rng.normal(size=60)[coach] + np.sqrt(1 - icc) * rng.normal(
                size=coach.size)
            fit = multilevel(pd.DataFrame({"coach_id": coach, "y": y}), "y", [])
            hits += fit.icc_interval[0] <= icc <= fit.icc_interval[1]
        covered[icc] = hits / 25
    assert min(covered.values()) >= 0.8, covered


def test_centring_within_splits_and_none_keeps(clients):
    within = multilevel(clients, "end_score", ["alliance"])
    assert list(within.fixed_effects.index) == ["intercept", "alliance_within",
                                                "alliance_between"]
    none = multilevel(clients, "end_score", ["alliance"], centring="none")
    assert list(none.fixed_effects.index) == ["intercept", "alliance"]
    coach_level = clients.assign(size=clients.groupby("coach_id").alliance.transform("size"))
    fit = multilevel(coach_level, "end_score", ["size"])
    assert list(fit.fixed_effects.index) == ["intercept", "size"]  # constant within coaches


def test_four_faces(clients):
    fit = multilevel(clients, "end_score", FACTORS, random_slopes=["alliance"])
    assert isinstance(fit, MultilevelFit)
    table = fit.table()
    assert list(table.columns) == ["kind", "term", "estimate", "std_error", "ci_low",
                                   "ci_high", "p_value", "n", "df"]
    assert set(table.kind) == {"fixed", "variance", "share", "r2", "icc"}
    text = fit.summary()
    assert "Rights & Sterba" in text and "alliance_within" in text and "converged" in text
    payload = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert payload["rights_sterba"]["v"] == pytest.approx(fit.rights_sterba["v"])
    ax = fit.plot()
    assert len(ax.patches) == 10
    shares = multilevel_shares(clients, "end_score", FACTORS, n_boot=30, seed=1, n_jobs=1)
    assert isinstance(shares, MultilevelShares)
    assert list(shares.table().columns) == ["part", "estimate", "std_error", "ci_low",
                                            "ci_high", "n"]
    assert "coach" in shares.summary()
    payload = json.loads(json.dumps(shares.to_dict(), allow_nan=False))
    assert payload["parts"]["relationship"]["columns"] == ["alliance"]
    assert "reference" in payload
    assert len(shares.plot().patches) == 5
    comparison = shares.compare("norcross-lambert-2011")
    assert "therapist" in set(comparison.parts.part)


def test_input_is_not_modified(clients):
    before = clients.copy()
    multilevel(clients, "end_score", FACTORS, n_boot=5, seed=1, n_jobs=1)
    multilevel_shares(clients, "end_score", FACTORS)
    pd.testing.assert_frame_equal(clients, before)


def test_errors_say_what_to_do(clients):
    with pytest.raises(DataError, match="no such column"):
        multilevel(clients, "end_score", ["missing_column"])
    with pytest.raises(DataError, match="numeric"):
        multilevel(clients.assign(label="a"), "end_score", ["label"])
    with pytest.raises(UsageError, match="random slope"):
        multilevel(clients, "end_score", FACTORS, random_slopes=["unknown"])
    with pytest.raises(UsageError, match="centring"):
        multilevel(clients, "end_score", FACTORS, centring="grand")
    with pytest.raises(UsageError, match="at least one factor"):
        multilevel_shares(clients, "end_score", [])
    with pytest.raises(ModelError, match="at least 3 coaches"):
        multilevel(clients[clients.coach_id.isin(["K01", "K02"])], "end_score", FACTORS)
    with pytest.warns(DataWarning, match="missing values"):
        multilevel(clients.assign(hope=clients.hope.where(clients.index > 5)), "end_score",
                   FACTORS)


def test_non_convergence_is_reported_plainly(clients, monkeypatch):
    from statsmodels.regression.mixed_linear_model import MixedLM

    original = MixedLM.fit

    def never(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        result.converged = False
        return result

    monkeypatch.setattr(MixedLM, "fit", never)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = multilevel(clients, "end_score", FACTORS, random_slopes=["alliance"])
    kinds = {type(w.message) for w in caught}
    assert ConvergenceWarning in kinds
    assert all(issubclass(k, ConvergenceWarning) or not k.__module__.startswith("statsmodels")
               for k in kinds)
    assert not fit.converged and "DID NOT CONVERGE" in fit.summary()


def test_singular_fit_is_reported():
    rng = np.random.default_rng(2)
    coach = np.repeat(np.arange(20), 10)
    noise = rng.normal(size=coach.size)
    y = noise - (np.bincount(coach, noise) / 10)[coach]
    fit = multilevel(pd.DataFrame({"coach_id": coach, "y": y, "x": rng.normal(size=200)}),
                     "y", ["x"], centring="none")
    assert fit.singular and fit.variance_components["intercept"] == 0
    assert "singular" in fit.summary()


def test_replicates_that_cannot_be_fitted_are_left_out_and_counted():
    rng = np.random.default_rng(0)
    coach = np.repeat(np.arange(8), 10)
    df = pd.DataFrame({"coach_id": coach, "x": rng.normal(size=80),
                       "special": (coach == 0).astype(float)})  # a coach attribute of one coach
    df["y"] = df.x + rng.normal(size=8)[coach] + rng.normal(size=80)
    with pytest.warns(DataWarning, match="could not be fitted"):
        s = multilevel_shares(df, "y", {"a": ["x"], "b": ["special"]}, n_boot=100, seed=1,
                              n_jobs=1)
    from outcomes.shares.bootstrap import resample_counts

    counts = resample_counts(8, 100, np.random.default_rng(1))
    draws_without_coach_0 = int((counts[:, 0] == 0).sum())
    assert s.draws.n_failed == draws_without_coach_0 > 0
    assert np.isfinite(s.ci[["ci_low", "ci_high"]].to_numpy()).all()


def _same(a, b):
    pd.testing.assert_frame_equal(a.table(), b.table())
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())


def test_old_group_keyword_warns_and_gives_the_same_fit(clients):
    new = multilevel(clients, "end_score", FACTORS, cluster="coach_id")
    with pytest.warns(FutureWarning, match="cluster"):
        old = multilevel(clients, "end_score", FACTORS, group="coach_id")
    _same(new, old)
    with pytest.raises(UsageError, match="cluster"):
        multilevel(clients, "end_score", FACTORS, group="coach_id", cluster="coach_id")


def test_old_engine_keyword_warns_and_gives_the_same_fit(clients):
    new = multilevel(clients, "end_score", ["alliance"], solver="statsmodels")
    with pytest.warns(FutureWarning, match="solver"):
        old = multilevel(clients, "end_score", ["alliance"], engine="statsmodels")
    _same(new, old)
    with pytest.raises(UsageError, match="solver"):
        multilevel(clients, "end_score", ["alliance"], solver="lme4")


def test_old_keywords_of_the_shares_warn_and_give_the_same_shares(clients):
    groups = {"relationship": ["alliance"], "expectancy": ["hope"]}
    new = multilevel_shares(clients, "end_score", groups, cluster="coach_id",
                            ci_method="percentile", n_boot=20, seed=2, n_jobs=1)
    with pytest.warns(FutureWarning, match="cluster"):
        old = multilevel_shares(clients, "end_score", groups, group="coach_id",
                                ci_method="percentile", n_boot=20, seed=2, n_jobs=1)
    _same(new, old)
    with pytest.warns(FutureWarning, match="ci_method"):
        old = multilevel_shares(clients, "end_score", groups, ci="percentile", n_boot=20,
                                seed=2, n_jobs=1)
    _same(new, old)
    exact = multilevel_shares(clients, "end_score", groups, solver="statsmodels")
    with pytest.warns(FutureWarning, match="solver"):
        old = multilevel_shares(clients, "end_score", groups, engine="statsmodels")
    _same(exact, old)


def test_old_attribute_names_warn_and_give_the_new_ones(clients):
    fit = multilevel(clients, "end_score", [])
    shares = multilevel_shares(clients, "end_score", ["alliance"])
    for result in (fit, shares):
        with pytest.warns(FutureWarning, match="cluster"):
            assert result.group == result.cluster == "coach_id"
        with pytest.warns(FutureWarning, match="n_clusters"):
            assert result.n_groups == result.n_clusters == clients.coach_id.nunique()
    with pytest.warns(FutureWarning, match="solver"):
        assert shares.engine == shares.solver


def test_results_display_themselves(clients):
    from outcomes._results import Summary

    fit = multilevel(clients, "end_score", FACTORS)
    shares = multilevel_shares(clients, "end_score", FACTORS)
    for result in (fit, shares):
        line = repr(result)
        assert line.startswith(f"<{type(result).__name__}: ") and "\n" not in line
        assert len(result.headline()) < 100
        assert isinstance(result.summary(), Summary)
        assert "<table" in result._repr_html_()
    assert f"ICC {fit.icc:.3f}" in fit.headline()
    assert f"coach {shares.shares['coach']:.3f}" in shares.headline()
