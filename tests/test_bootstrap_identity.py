"""Every bootstrap is held to its point estimate: a replicate drawing each unit once equals it.

The draw of the units is replaced by the identity (every row, or every coach, drawn exactly
once) and the bootstrap is run through the public functions, so that each replicate goes
through the very code that computes the replicates of a real bootstrap: the fast path from
sufficient statistics (decompose, dominance, random-intercept models) and the refit path
(random slopes, statsmodels' MixedLM), with rows and with coaches resampled. Each statistic
a bootstrap reports (shares, relative shares, R², share differences, general dominance
weights, the ICC, Rights & Sterba's parts, multilevel shares) must then reproduce the point
estimate, which is computed by other code, to 1e-10.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import outcomes as oc
import outcomes.mixed.resampling as resampling
import outcomes.mixed.shares as mixed_shares
import outcomes.shares.bootstrap as bootstrap
from outcomes.analysis import FACTORS

TOLERANCE = 1e-10
CLIENTS = Path(__file__).resolve().parent / "reference" / "multilevel" / "clients.csv"
CLIENT_FACTORS = {"client": ["baseline"], "relationship": ["alliance"], "expectancy": ["hope"]}


def _identity(n_units, n_boot, rng):
    return np.ones((n_boot, n_units), dtype=np.int64)


@pytest.fixture
def identity(monkeypatch):
    """Every replicate draws each unit (row or coach) exactly once."""
    for module in (bootstrap, resampling, mixed_shares):
        monkeypatch.setattr(module, "resample_counts", _identity)


@pytest.fixture(scope="module")
def table():
    return oc.load_sample().analysis_table()


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("cluster", [None, "coach_id"])
@pytest.mark.parametrize("method", ["lmg", "pratt", "relative_weights", "car"])
def test_decompose_replicate_reproduces_estimate(identity, table, cluster, method):
    d = _quiet(oc.decompose, table, "end_score", FACTORS, covariates=["baseline"],
               method=method, cluster=cluster, n_boot=2, seed=1)
    expected = np.r_[d.shares.to_numpy(), d.r2]
    assert d.draws.replicates.shape == (2, len(expected))
    np.testing.assert_allclose(d.draws.replicates, np.tile(expected, (2, 1)), rtol=0,
                               atol=TOLERANCE)
    ci = d.ci.set_index(["quantity", "factor"], drop=False)
    point = {("share", f): v for f, v in d.shares.items()}
    point.update({("relative", f): v for f, v in d.relative.items()})
    point[("r2", None)] = d.r2
    for (quantity, factor), value in point.items():
        row = ci[(ci.quantity == quantity) & (ci.factor.isna() if factor is None
                                               else ci.factor == factor)].iloc[0]
        assert abs(row.ci_low - value) < TOLERANCE and abs(row.ci_high - value) < TOLERANCE
        assert row.std_error < TOLERANCE
    for row in d.differences.itertuples():
        expected_diff = d.shares[row.factor] - d.shares[row.other]
        assert abs(row.ci_low - expected_diff) < TOLERANCE
        assert abs(row.ci_high - expected_diff) < TOLERANCE


def test_weighted_decompose_replicate_reproduces_estimate(identity, table):
    weighted = table.assign(w=np.linspace(0.5, 2.0, len(table)))
    d = _quiet(oc.decompose, weighted, "end_score", FACTORS, weights="w", n_boot=1, seed=2,
               ci_method="percentile")
    np.testing.assert_allclose(d.draws.replicates[0], np.r_[d.shares.to_numpy(), d.r2],
                               rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("cluster", [None, "coach_id"])
def test_dominance_replicate_reproduces_estimate(identity, table, cluster):
    dom = _quiet(oc.dominance, table, "end_score", FACTORS, cluster=cluster, n_boot=2,
                 seed=3)
    general = dom.general_ci.set_index("factor")
    np.testing.assert_allclose(general.ci_low, dom.general[general.index], rtol=0,
                               atol=TOLERANCE)
    np.testing.assert_allclose(general.ci_high, dom.general[general.index], rtol=0,
                               atol=TOLERANCE)
    assert (dom.bootstrap.reproducibility == 1.0).all()


def _check_fit(fit):
    ci = fit.ci.set_index("quantity")
    point = {"r2_marginal": fit.r2_marginal, "r2_conditional": fit.r2_conditional,
             "icc": fit.icc, **fit.rights_sterba.to_dict()}
    assert set(point) == set(resampling.QUANTITIES) == set(ci.index)
    for quantity, value in point.items():
        assert abs(ci.ci_low[quantity] - value) < TOLERANCE, quantity
        assert abs(ci.ci_high[quantity] - value) < TOLERANCE, quantity
    assert int(ci.n_boot.iloc[0]) == fit.n_boot


def test_multilevel_fast_path_replicate_reproduces_estimate(identity, table):
    fit = _quiet(oc.multilevel, table, "end_score", FACTORS, covariates=["baseline"],
                 n_boot=2, seed=4, n_jobs=1)
    _check_fit(fit)


@pytest.mark.parametrize("options", [{"random_slopes": ["alliance"]},
                                     {"solver": "statsmodels"}])
def test_multilevel_refit_path_replicate_reproduces_estimate(identity, options):
    clients = pd.read_csv(CLIENTS)
    fit = _quiet(oc.multilevel, clients, "end_score", CLIENT_FACTORS, n_boot=1, seed=5,
                 n_jobs=1, **options)
    _check_fit(fit)


def test_multilevel_shares_replicate_reproduces_estimate(identity):
    clients = pd.read_csv(CLIENTS)
    factors = {"relationship": ["alliance"], "expectancy": ["hope"]}
    shares = _quiet(oc.multilevel_shares, clients, "end_score", factors,
                    covariates=["baseline"], n_boot=2, seed=6, n_jobs=1)
    expected = np.r_[shares.shares.to_numpy(), shares.r2_marginal]
    np.testing.assert_allclose(shares.draws.replicates, np.tile(expected, (2, 1)), rtol=0,
                               atol=TOLERANCE)
    # the point estimate itself agrees with the fit of the full model (other code)
    fit = _quiet(oc.multilevel, clients, "end_score", factors, covariates=["baseline"])
    assert abs(shares.r2_marginal - fit.r2_marginal) < TOLERANCE
    assert abs(shares.shares["coach"] - fit.rights_sterba["m"]) < TOLERANCE
    assert abs(shares.shares["unexplained"] - fit.rights_sterba["residual"]) < TOLERANCE


def test_identity_draw_is_what_the_fixture_installs(identity):
    counts = resampling.resample_counts(7, 3, np.random.default_rng(0))
    assert counts.shape == (3, 7) and (counts == 1).all()
