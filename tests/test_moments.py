"""Sufficient statistics: correlations, partial correlations and the estimability check."""

from __future__ import annotations

import numpy as np
import pytest

from outcomes._errors import ModelError
from outcomes.shares.moments import Moments, check_estimable, correlation, partial_correlation


def _data(seed, n=90, k=8):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)) @ rng.normal(size=(k, k))
    y = x @ rng.normal(size=k) + 3 * rng.normal(size=n)
    return x, y


def test_partial_correlation_by_regression():
    x, y = _data(6, k=3)
    data = np.column_stack([x, y])
    matrix, resid = partial_correlation(np.corrcoef(data.T), [0, 1, 3], [2])
    z = np.column_stack([np.ones(len(y)), x[:, 2]])
    res = [v - z @ np.linalg.lstsq(z, v, rcond=None)[0] for v in (x[:, 0], x[:, 1], y)]
    np.testing.assert_allclose(matrix, np.corrcoef(np.array(res)), atol=1e-12)
    expected = [r @ r / np.sum((v - v.mean()) ** 2) for r, v in zip(res, (x[:, 0], x[:, 1], y),
                                                                    strict=True)]
    np.testing.assert_allclose(resid, expected, atol=1e-12)


def test_weighted_moments():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 3))
    w = rng.integers(1, 4, size=50)
    weighted = Moments.from_arrays(x, w)
    repeated = Moments.from_arrays(np.repeat(x, w, axis=0))
    np.testing.assert_allclose(weighted.cross, repeated.cross, atol=1e-12)
    np.testing.assert_allclose(weighted.correlation(), correlation(repeated.cross), atol=1e-14)


def test_rank_deficiency_names_columns():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(30, 3))
    dependent = np.column_stack([x, x[:, 0] - 2 * x[:, 1], rng.normal(size=30)])
    names = ["a", "b", "c", "d", "y"]
    with pytest.raises(ModelError) as info:
        check_estimable(Moments.from_arrays(dependent).cross, names, outcome="y")
    text = str(info.value)
    assert '"a"' in text and '"b"' in text and '"d"' in text and '"c"' not in text
    with pytest.raises(ModelError, match='"k"'):
        check_estimable(np.diag([1.0, 0.0, 1.0]), ["j", "k", "y"], outcome="y")
