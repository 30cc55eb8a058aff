"""The omega bootstrap from resample counts is the bootstrap of the resampled rows.

``bootstrap_omega`` holds each sample as how often it draws each respondent and takes its
cross-products from one matrix product. These tests redo the same draws the plain way
(index the rows, correlate them with ``np.corrcoef``, fit the one-factor model as the
bootstrap fits it) and compare the interval; samples in which an item takes one value are
left out by both.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.measures._coefficients import bootstrap_omega, omega_of, uniqueness_of
from outcomes.measures._factor_analysis import LOWEST_UNIQUENESS, one_factor, one_factor_batch


def _by_rows(matrix: np.ndarray, n_boot: int, ci_level: float, seed: int) -> tuple:
    """The interval from the resampled rows themselves (one draw of all samples at once,
    as ``bootstrap_omega`` draws them when they fit in one chunk)."""
    n = len(matrix)
    picks = np.random.default_rng(seed).integers(0, n, (n_boot, n))
    samples = [matrix[rows] for rows in picks]
    corrs = np.stack([np.corrcoef(x, rowvar=False) for x in samples
                      if np.all(np.ptp(x, axis=0) > 0)])
    start = np.clip(uniqueness_of(omega_of(matrix)[1]), LOWEST_UNIQUENESS, 1.0)
    loading, converged = one_factor_batch(corrs, start)
    for b in np.flatnonzero(~converged):
        loading[b] = one_factor(corrs[b], start=start)
    common = loading.sum(axis=1) ** 2
    draws = common / (common + uniqueness_of(loading).sum(axis=1))
    tail = (1 - ci_level) / 2
    return tuple(np.quantile(draws, [tail, 1 - tail])), len(corrs)


def _items(n: int, p: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, 1))
    return np.clip(np.round(2 + trait + rng.normal(size=(n, p))), 0, 4)


@pytest.mark.parametrize(("n", "p", "seed"), [(60, 4, 1), (120, 7, 2), (45, 3, 3)])
def test_counts_give_the_interval_of_the_resampled_rows(n, p, seed):
    matrix = _items(n, p, seed)
    start = omega_of(matrix)[1]
    got = bootstrap_omega(matrix, start, 150, 0.9, np.random.default_rng(seed), "scale")
    want, used = _by_rows(matrix, 150, 0.9, seed)
    assert used == 150
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_samples_where_an_item_takes_one_value_are_left_out():
    matrix = _items(30, 4, 4)
    matrix[:, 3] = 0.0
    matrix[:2, 3] = 1.0  # two respondents only: many samples draw neither
    start = omega_of(matrix)[1]
    want, used = _by_rows(matrix, 200, 0.95, 5)
    assert 20 < used < 190  # the case is exercised (no warning below 10 % left out)
    with pytest.warns(Warning) if used < 180 else _nothing():
        got = bootstrap_omega(matrix, start, 200, 0.95, np.random.default_rng(5), "scale")
    np.testing.assert_allclose(got, want, rtol=1e-6)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
