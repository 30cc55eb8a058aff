"""The exact profiled random-intercept likelihood and the MixedLM wrapper.

Known answers come from lme4 1.1-31 (tests/reference/multilevel/lme4_reference.R on
clients.csv); the MixedLM comparisons use statsmodels on the same data.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from outcomes.mixed.likelihood import ClusterStats, fit_profiled, profile_interval
from outcomes.mixed.mixedlm import fit_mixedlm

HERE = Path(__file__).resolve().parent / "reference" / "multilevel"
CWC = ["baseline_within", "baseline_between", "alliance_within", "alliance_between",
       "hope_within", "hope_between"]


@pytest.fixture(scope="module")
def clients():
    d = pd.read_csv(HERE / "clients.csv")
    for v in ("baseline", "alliance", "hope"):
        d[f"{v}_between"] = d.groupby("coach_id")[v].transform("mean")
        d[f"{v}_within"] = d[v] - d[f"{v}_between"]
    return d


@pytest.fixture(scope="module")
def lme4():
    return pd.read_csv(HERE / "lme4_reference.csv", comment="#", keep_default_na=False,
                       na_values=[""])


def _ref(lme4, model, method, quantity):
    rows = lme4[(lme4.model == model) & (lme4.method == method) & (lme4.quantity == quantity)]
    return rows.set_index("term").value


@pytest.mark.parametrize("model,columns", [("null", []), ("ri_cwc", CWC),
                                           ("ri_none", ["baseline", "alliance", "hope"])])
@pytest.mark.parametrize("reml", [True, False])
def test_profiled_fit_equals_lme4(clients, lme4, model, columns, reml):
    method = "REML" if reml else "ML"
    stats = ClusterStats.from_arrays(clients[columns].to_numpy(), clients.end_score,
                                     clients.coach_id)
    fit = fit_profiled(stats, range(len(columns)), reml=reml)
    estimate = _ref(lme4, model, method, "estimate")
    np.testing.assert_allclose(fit.coef[0], estimate.to_numpy(), rtol=0, atol=1e-4)
    se = _ref(lme4, model, method, "std_error")
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov[0])), se.to_numpy(), rtol=1e-4)
    variance = _ref(lme4, model, method, "variance")
    np.testing.assert_allclose(fit.tau2[0], variance["coach_id:(Intercept)"], rtol=1e-3)
    np.testing.assert_allclose(fit.sigma2[0], variance["residual"], rtol=1e-3)
    assert fit.loglik[0] == pytest.approx(_ref(lme4, model, method, "loglik").iloc[0], abs=1e-4)
    r2m = _ref(lme4, model, method, "r2_marginal").iloc[0]
    assert fit.r2_marginal()[0] == pytest.approx(r2m, abs=1e-4)


@pytest.mark.parametrize("reml", [True, False])
def test_profiled_fit_equals_mixedlm(clients, reml):
    stats = ClusterStats.from_arrays(clients[CWC].to_numpy(), clients.end_score,
                                     clients.coach_id)
    fit = fit_profiled(stats, range(len(CWC)), reml=reml)
    X = np.column_stack([np.ones(len(clients)), clients[CWC]])
    ref = fit_mixedlm(clients.end_score, X, clients.coach_id.to_numpy(), reml=reml)
    assert ref.converged
    np.testing.assert_allclose(fit.coef[0], ref.coef, rtol=0, atol=1e-6)
    assert fit.loglik[0] == pytest.approx(ref.loglik, abs=1e-8)
    assert fit.tau2[0] == pytest.approx(ref.random_cov[0, 0], rel=1e-6)
    np.testing.assert_allclose(fit.cov[0], ref.cov, rtol=1e-5, atol=1e-12)


def test_statsmodels_alone_can_stop_short(clients):
    """Why the wrapper tries several optimisers: on these data statsmodels' BFGS stops
    short of the ML optimum (or its L-BFGS breaks down under REML), and says so."""
    X = np.column_stack([np.ones(len(clients)), clients[CWC]])
    model = MixedLM(clients.end_score.to_numpy(), X, clients.coach_id.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = model.fit(reml=False, method=["bfgs"])
        reml = model.fit(reml=True, method=["lbfgs"])
    stats = ClusterStats.from_arrays(clients[CWC].to_numpy(), clients.end_score,
                                     clients.coach_id)
    best = fit_profiled(stats, range(len(CWC)), reml=False).loglik[0]
    assert (not ml.converged and ml.llf < best - 1e-3) or not np.isfinite(reml.llf)


def test_cluster_counts_equal_a_fit_of_the_repeated_clusters():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(12), rng.integers(3, 9, 12))
    x = rng.normal(size=(g.size, 2))
    y = x @ [1.0, -0.5] + rng.normal(size=12)[g] + rng.normal(size=g.size)
    stats = ClusterStats.from_arrays(x, y, g)
    counts = np.array([[2, 0, 1, 1, 3, 0, 1, 0, 2, 1, 1, 0]])
    rows, codes = [], []
    for cluster, k in enumerate(counts[0]):
        for copy in range(k):
            rows.append(np.flatnonzero(g == cluster))
            codes.append(np.full(len(rows[-1]), 100 * cluster + copy))
    idx = np.concatenate(rows)
    expanded = ClusterStats.from_arrays(x[idx], y[idx], np.concatenate(codes))
    for reml in (True, False):
        a = fit_profiled(stats, [0, 1], reml=reml, counts=counts)
        b = fit_profiled(expanded, [0, 1], reml=reml)
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-9)
        np.testing.assert_allclose(a.ratio, b.ratio, rtol=1e-7)
        np.testing.assert_allclose(a.loglik, b.loglik, atol=1e-8)
        np.testing.assert_allclose(a.fixed_variance, b.fixed_variance, rtol=1e-10)


def test_boundary_fit_is_at_zero_and_no_worse_than_mixedlm():
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(20), 6)
    x = rng.normal(size=g.size)
    noise = rng.normal(size=g.size)
    y = x + noise - (np.bincount(g, noise) / 6)[g]  # residual cluster means all zero
    stats = ClusterStats.from_arrays(x[:, None], y, g)
    fits = {reml: fit_profiled(stats, [0], reml=reml) for reml in (True, False)}
    assert min(f.ratio[0] for f in fits.values()) == 0.0
    for reml, fit in fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = MixedLM(y, np.column_stack([np.ones(g.size), x]), g).fit(reml=reml,
                                                                           method=["bfgs"])
        assert fit.loglik[0] >= ref.llf - 1e-8


def test_profile_interval_brackets_the_estimate_and_widens_with_level(clients):
    stats = ClusterStats.from_arrays(np.zeros((len(clients), 0)), clients.end_score,
                                     clients.coach_id)
    fit = fit_profiled(stats, [])
    rho = fit.ratio[0] / (1 + fit.ratio[0])
    low, high = profile_interval(stats, [], ci_level=0.95)
    low90, high90 = profile_interval(stats, [], ci_level=0.90)
    assert low < low90 < rho < high90 < high


def test_mixedlm_retries_and_keeps_the_story(clients, monkeypatch):
    calls = []
    original = MixedLM.fit

    def flaky(self, *args, method=None, **kwargs):
        calls.append(method[0])
        result = original(self, *args, method=method, **kwargs)
        if method[0] == "bfgs":
            warnings.warn("optimisation stalled", UserWarning, stacklevel=1)
            result.converged = False
        return result

    monkeypatch.setattr(MixedLM, "fit", flaky)
    X = np.column_stack([np.ones(len(clients)), clients[CWC]])
    Z = np.column_stack([np.ones(len(clients)), clients.alliance_within])
    sol = fit_mixedlm(clients.end_score, X, clients.coach_id.to_numpy(), exog_re=Z)
    assert calls[:2] == ["bfgs", "lbfgs"]
    assert sol.optimizer != "bfgs" and sol.converged
    assert sol.attempts[0] == "bfgs"
    assert any("stalled" in m for m in sol.messages)


def test_mixedlm_reports_failure_when_no_optimiser_converges(clients, monkeypatch):
    original = MixedLM.fit

    def never(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        result.converged = False
        return result

    monkeypatch.setattr(MixedLM, "fit", never)
    X = np.column_stack([np.ones(len(clients)), clients[CWC]])
    sol = fit_mixedlm(clients.end_score, X, clients.coach_id.to_numpy(),
                      optimisers=("bfgs", "cg"))
    assert not sol.converged
    assert sol.attempts == ("bfgs", "cg")


def test_a_gradient_fit_that_stops_short_is_caught_by_powell(clients, monkeypatch):
    original = MixedLM.fit

    def stops_short(self, *args, method=None, **kwargs):
        if method == ["lbfgs"]:
            kwargs["maxiter"] = 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = original(self, *args, method=method, **kwargs)
            result.converged = True  # claims convergence silently, as L-BFGS sometimes does
            return result
        return original(self, *args, method=method, **kwargs)

    monkeypatch.setattr(MixedLM, "fit", stops_short)
    X = np.column_stack([np.ones(len(clients)), clients[CWC]])
    sol = fit_mixedlm(clients.end_score, X, clients.coach_id.to_numpy(), reml=False,
                      optimisers=("lbfgs",))
    stats = ClusterStats.from_arrays(clients[CWC].to_numpy(), clients.end_score,
                                     clients.coach_id)
    exact = fit_profiled(stats, range(len(CWC)), reml=False)
    assert sol.optimizer == "lbfgs, then powell"
    assert sol.loglik == pytest.approx(exact.loglik[0], abs=1e-4)
    assert any("raised the log-likelihood" in m for m in sol.messages)
