"""Chains of imputation run together give each chain's own numbers, and EM's E-step holds."""

import numpy as np
import pytest

from outcomes.shares.em import em_moments
from outcomes.shares.mice import impute, impute_many


def _matrix(n=200, seed=0):
    """Two numbers, a three-level category as two dummies, an indicator never seen where the
    outcome is missing, and an outcome missing at random."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    level = rng.integers(0, 3, size=n)
    dummies = np.column_stack([level == 1, level == 2]).astype(float)
    rare = (np.arange(n) < 8).astype(float)
    y = a + dummies @ [0.5, -0.5] + rng.normal(size=n)
    x = np.column_stack([a, rng.normal(size=n), dummies, rare, y])
    x[rng.random(n) < 0.2, 1] = np.nan
    x[rng.random(n) < 0.15, 2:4] = np.nan
    x[:8, -1] = np.nan  # the indicator is zero wherever the outcome is seen
    x[rng.random(n) < 1 / (1 + np.exp(1 + a)), -1] = np.nan
    return x


@pytest.mark.parametrize("weighted", [False, True])
def test_a_chain_does_not_depend_on_the_chains_it_runs_with(weighted):
    x = _matrix()
    blocks = [(0,), (1,), (2, 3), (4,), (5,)]
    rng = np.random.default_rng(9)
    rows = [rng.integers(0, len(x), size=len(x) + d) for d in (-30, 0, 25)] + [np.arange(50)]
    weights = [rng.uniform(0.5, 2, size=len(r)) for r in rows] if weighted else None
    fit = em_moments(x)
    start = (fit.mean[0], fit.covariance[0])
    together = impute_many([x[r] for r in rows], blocks,
                           rngs=[np.random.default_rng(s) for s in range(len(rows))],
                           weights=weights, start=start)
    for s, r in enumerate(rows):
        alone = impute(x[r], blocks, rng=np.random.default_rng(s), start=start,
                       weights=None if weights is None else weights[s])
        np.testing.assert_allclose(together[s], alone, rtol=0, atol=1e-9)
        seen = ~np.isnan(x[r])
        assert np.array_equal(alone[seen], x[r][seen]) and np.isfinite(alone).all()
        category = alone[:, 2:4]
        assert set(np.unique(category)) <= {0.0, 1.0} and (category.sum(axis=1) <= 1).all()


def test_em_replicates_converge_to_the_estimate_of_their_weights():
    """The batched E-step (one inverse of the covariance per iteration) gives, for each
    weighting, the same fixed point as EM run on that weighting alone."""
    x = _matrix(n=150, seed=1)[:, [0, 1, 5]]
    rng = np.random.default_rng(2)
    weights = rng.poisson(1.0, size=(4, len(x))).astype(float)
    together = em_moments(x, weights, start=em_moments(x))
    for i, w in enumerate(weights):
        alone = em_moments(x, w)
        np.testing.assert_allclose(together.covariance[i], alone.covariance[0], atol=1e-8)
        np.testing.assert_allclose(together.mean[i], alone.mean[0], atol=1e-8)
