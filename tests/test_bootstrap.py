"""Case and cluster bootstrap: replicate moments, intervals, seeds and coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from outcomes.shares.bootstrap import (
    Draws,
    bca_interval,
    bootstrap,
    percentile_interval,
    rank_probabilities,
    resample_counts,
)
from outcomes.shares.decomposition import decompose
from outcomes.shares.moments import Moments, UnitMoments
from outcomes.shares.subsets import shapley, subset_r2


def test_replicate_moments_equal_resampled_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 3)) * [1, 10, 100] + [5, -3, 1e3]
    counts = resample_counts(25, 4, rng)
    cross = UnitMoments.from_arrays(x).combine(counts)
    for row, c in zip(counts, cross, strict=True):
        expected = Moments.from_arrays(np.repeat(x, row, axis=0)).cross
        np.testing.assert_allclose(c, expected, rtol=1e-10, atol=1e-8)


def test_cluster_moments_and_leave_one_out():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2))
    w = rng.uniform(0.5, 2, size=40)
    cluster = np.repeat(["c", "a", "d", "b"], 10)
    units = UnitMoments.from_arrays(x, cluster, w)
    assert units.n_units == 4
    loo = units.leave_one_out()
    codes = sorted(set(cluster))
    for k, code in enumerate(codes):
        keep = cluster != code
        expected = Moments.from_arrays(x[keep], w[keep]).cross
        np.testing.assert_allclose(loo[k], expected, atol=1e-12)
    counts = np.array([[2, 0, 1, 1]])  # cluster "a" twice, "b" never
    rows = np.concatenate([np.flatnonzero(cluster == codes[k]).repeat(1)
                           for k, c in enumerate(counts[0]) for _ in range(c)])
    expected = Moments.from_arrays(x[rows], w[rows]).cross
    np.testing.assert_allclose(units.combine(counts)[0], expected, atol=1e-12)


def test_moments_add_across_chunks():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 4)) + 1e6
    parts = [Moments.from_arrays(x[a:b]) for a, b in ((0, 13), (13, 50), (50, 100))]
    total = parts[0] + parts[1] + parts[2]
    whole = Moments.from_arrays(x)
    assert total.weight == 100
    np.testing.assert_allclose(total.mean, whole.mean, rtol=1e-15)
    np.testing.assert_allclose(total.cross, whole.cross, rtol=1e-9)


def test_percentile_interval_is_the_quantiles():
    reps = np.random.default_rng(3).normal(size=(999, 2))
    low, high = percentile_interval(reps, 0.9)
    np.testing.assert_allclose(low, np.quantile(reps, 0.05, axis=0))
    np.testing.assert_allclose(high, np.quantile(reps, 0.95, axis=0))


def test_bca_follows_efron_1987():
    rng = np.random.default_rng(4)
    reps = rng.gamma(3.0, size=(2000, 1))
    theta = np.array([2.7])
    jack = rng.gamma(3.0, size=(30, 1)) * 0.1 + 2.7
    low, high = bca_interval(theta, reps, jack, 0.9)
    z0 = norm.ppf(np.mean(reps[:, 0] < theta[0]))
    dev = jack[:, 0].mean() - jack[:, 0]
    a = (dev**3).sum() / (6 * ((dev**2).sum()) ** 1.5)
    levels = [norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in norm.ppf([0.05, 0.95])]
    assert low[0] == pytest.approx(np.quantile(reps[:, 0], levels[0]), abs=1e-12)
    assert high[0] == pytest.approx(np.quantile(reps[:, 0], levels[1]), abs=1e-12)


def test_bca_without_bias_or_skew_is_percentile():
    reps = np.linspace(-3, 3, 1001)[:, None]
    jack = np.linspace(-1, 1, 21)[:, None]  # symmetric: acceleration 0
    low, high = bca_interval(np.zeros(1), reps, jack, 0.95)
    plow, phigh = percentile_interval(reps, 0.95)
    np.testing.assert_allclose([low, high], [plow, phigh], atol=1e-12)


def test_rank_probabilities():
    reps = np.array([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [3.0, 1.0, 2.0], [2.0, 3.0, 1.0]])
    probs = rank_probabilities(reps)
    np.testing.assert_allclose(probs.sum(axis=0), 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1)
    np.testing.assert_allclose(probs[0], [0.5, 0.25, 0.25])


def _study(seed, n=150):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    df["y"] = df.a + 0.5 * df.b + rng.normal(size=n)
    df["coach_id"] = (np.arange(n) % 15).astype(str)
    return df


@pytest.mark.parametrize("ci", ["bca", "percentile"])
def test_seed_reproduces_and_changes(ci):
    df = _study(5)
    kw = dict(n_boot=150, cluster="coach_id", ci_method=ci)
    one = decompose(df, "y", ["a", "b", "c"], seed=11, **kw)
    two = decompose(df, "y", ["a", "b", "c"], seed=11, **kw)
    other = decompose(df, "y", ["a", "b", "c"], seed=12, **kw)
    pd.testing.assert_frame_equal(one.ci, two.ci)
    pd.testing.assert_frame_equal(one.differences, two.differences)
    pd.testing.assert_frame_equal(one.rank_probabilities, two.rank_probabilities)
    assert not one.ci.ci_low.equals(other.ci.ci_low)
    assert one.draws.jackknife is None if ci == "percentile" else len(one.draws.jackknife) == 15


def test_bootstrap_tables_are_consistent():
    df = _study(6)
    d = decompose(df, "y", ["a", "b", "c"], n_boot=200, cluster="coach_id", seed=1)
    share = d.ci[d.ci.quantity == "share"]
    assert (share.ci_low.to_numpy() <= d.shares.to_numpy()).all()
    assert (share.ci_high.to_numpy() >= d.shares.to_numpy()).all()
    assert set(d.ci.quantity) == {"share", "relative", "r2"}
    np.testing.assert_allclose(d.rank_probabilities.sum(axis=1), 1)
    diff = d.differences.set_index(["factor", "other"])
    assert diff.loc[("a", "b"), "estimate"] == pytest.approx(d.shares.a - d.shares.b)
    reps = d.draws.replicates
    np.testing.assert_allclose(reps[:, :3].sum(axis=1), reps[:, 3], atol=1e-12)


def test_cluster_jackknife_leaves_out_whole_clusters():
    df = _study(7, n=60)
    d = decompose(df, "y", ["a", "b"], n_boot=20, cluster="coach_id", seed=0)
    for k, coach in enumerate(sorted(df.coach_id.unique())):
        alone = decompose(df[df.coach_id != coach], "y", ["a", "b"])
        np.testing.assert_allclose(d.draws.jackknife[k, :2], alone.shares, atol=1e-12)


def test_coverage_of_bca_intervals():
    """200 studies of n = 250 from a known population: 95 % intervals cover 90-99 %."""
    rng = np.random.default_rng(20240601)
    sx = np.array([[1, 0.3, 0.2], [0.3, 1, 0.4], [0.2, 0.4, 1]])
    beta = np.array([0.5, 0.3, 0.2])
    pop = np.zeros((4, 4))
    pop[:3, :3] = sx
    pop[:3, 3] = pop[3, :3] = sx @ beta
    pop[3, 3] = beta @ sx @ beta + 1.0
    true = shapley(subset_r2(pop, [[0], [1], [2]]))
    chol = np.linalg.cholesky(sx)
    hits = []
    for _ in range(200):
        x = rng.normal(size=(250, 3)) @ chol.T
        df = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ beta + rng.normal(size=250))
        d = decompose(df, "y", ["a", "b", "c"], n_boot=200, seed=rng)
        ci = d.ci[d.ci.quantity == "share"]
        hits.append((ci.ci_low.to_numpy() <= true) & (true <= ci.ci_high.to_numpy()))
    coverage = np.mean(hits)
    assert 0.90 <= coverage <= 0.99, coverage


def test_failed_replicates_are_dropped():
    units = UnitMoments.from_arrays(np.random.default_rng(8).normal(size=(30, 2)))

    def stat(cross):
        out = cross[:, :1, 0].copy()
        out[::2] = np.nan
        return out

    d = bootstrap(units, stat, n_boot=10, seed=0, jackknife=False)
    assert d.n_failed == 5 and len(d.replicates) == 5
    assert isinstance(d, Draws)


def test_interval_method_and_counts_are_checked():
    from outcomes._errors import UsageError

    d = Draws(np.zeros(1), np.random.default_rng(0).normal(size=(50, 1)))
    with pytest.raises(UsageError, match="ci_method"):
        d.interval("normal", 0.95)
    with pytest.raises(UsageError, match="ci_method='percentile'"):
        d.interval("bca", 0.95)
    with pytest.raises(UsageError, match="ci_level"):
        d.interval("percentile", 1.5)
    units = UnitMoments.from_arrays(np.random.default_rng(1).normal(size=(10, 2)))
    with pytest.raises(UsageError, match="n_boot"):
        bootstrap(units, lambda c: c[:, :1, 0], n_boot=-5)
