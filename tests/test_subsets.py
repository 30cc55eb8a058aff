"""The all-subsets engine: R² of every subset from sufficient statistics."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

import outcomes.shares.subsets as subsets
from outcomes.shares.moments import Moments
from outcomes.shares.subsets import (
    complete_dominance,
    conditional_contributions,
    popcount,
    shapley,
    subset_r2,
)


def _data(seed, n=90, k=8):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)) @ rng.normal(size=(k, k))
    y = x @ rng.normal(size=k) + 3 * rng.normal(size=n)
    return x, y


def _lstsq_r2(x, y, cols):
    a = np.column_stack([np.ones(len(y)), x[:, cols]])
    resid = y - a @ np.linalg.lstsq(a, y, rcond=None)[0]
    return 1 - resid @ resid / np.sum((y - y.mean()) ** 2)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_subset_equals_a_refit(seed):
    x, y = _data(seed)
    players = [[0], [1, 2], [3], [4, 5, 6], [7]]
    cross = Moments.from_arrays(np.column_stack([x, y])).cross
    r2 = subset_r2(cross, players)
    for mask in range(2 ** len(players)):
        cols = [c for j, p in enumerate(players) if mask >> j & 1 for c in p]
        assert r2[mask] == pytest.approx(_lstsq_r2(x, y, cols), abs=1e-12)


def test_chunked_walk_equals_one_pass(monkeypatch):
    x, y = _data(2, k=10)
    corr = np.corrcoef(np.column_stack([x, y]).T)
    players = [[i] for i in range(10)]
    whole = subset_r2(corr, players)
    monkeypatch.setattr(subsets, "_BUDGET", 2000)  # forces many small chunks
    np.testing.assert_allclose(subset_r2(corr, players), whole, atol=1e-14)
    batch = np.stack([corr, corr[::-1, ::-1]])
    out = subset_r2(batch, players, outcome=10)
    np.testing.assert_allclose(out[0], whole, atol=1e-14)


def test_outcome_position_and_batches():
    x, y = _data(3, k=4)
    data = np.column_stack([y, x])
    corr = np.corrcoef(data.T)
    first = subset_r2(corr, [[1], [2], [3], [4]], outcome=0)
    last = subset_r2(np.corrcoef(np.column_stack([x, y]).T), [[0], [1], [2], [3]])
    np.testing.assert_allclose(first, last, atol=1e-14)
    batch = subset_r2(np.stack([corr] * 3).reshape(3, 1, 5, 5), [[1], [2]], outcome=0)
    assert batch.shape == (3, 1, 4)


def test_shapley_equals_the_permutation_definition():
    x, y = _data(4, k=5)
    r2 = subset_r2(np.corrcoef(np.column_stack([x, y]).T), [[i] for i in range(5)])
    p = 5
    expected = np.zeros(p)
    for order in itertools.permutations(range(p)):
        mask = 0
        for j in order:
            expected[j] += r2[mask | 1 << j] - r2[mask]
            mask |= 1 << j
    expected /= factorial(p)
    np.testing.assert_allclose(shapley(r2), expected, atol=1e-14)
    np.testing.assert_allclose(conditional_contributions(r2).mean(axis=1), expected, atol=1e-14)


def test_conditional_contributions_and_complete_dominance_by_hand():
    # three players with R² of each subset written out
    r2 = np.array([0.0, 0.30, 0.20, 0.40, 0.10, 0.35, 0.25, 0.45])
    cond = conditional_contributions(r2)
    # player 0: size 0 -> .30; size 1 -> mean(.40-.20, .35-.10) = .225; size 2 -> .45-.25
    np.testing.assert_allclose(cond[0], [0.30, 0.225, 0.20])
    # player 2: size 0 -> .10; size 1 -> mean(.35-.30, .25-.20); size 2 -> .45-.40
    np.testing.assert_allclose(cond[2], [0.10, 0.05, 0.05])
    dom = complete_dominance(r2)
    # 0 vs 1: R²({0}) .30 > R²({1}) .20; R²({0,2}) .35 > R²({1,2}) .25
    assert dom[0, 1] == 1.0 and dom[1, 0] == 0.0
    assert np.isnan(dom[0, 0])
    r2_tie = r2.copy()
    r2_tie[5] = 0.20  # {0,2} now below {1,2}: no complete dominance of 0 over 1
    assert complete_dominance(r2_tie)[0, 1] == 0.5


def test_badly_scaled_columns_give_the_same_r2():
    x, y = _data(5, k=4)
    scaled = x * [1e6, 1e-6, 1.0, 1e3] + [1e8, 0.0, -5.0, 1e4]
    a = subset_r2(Moments.from_arrays(np.column_stack([x, y])).correlation(), [[0], [1], [2], [3]])
    b = subset_r2(Moments.from_arrays(np.column_stack([scaled, y * 1e5])).correlation(),
                  [[0], [1], [2], [3]])
    np.testing.assert_allclose(a, b, atol=1e-10)


def test_popcount_and_memory_layout():
    assert popcount(4).tolist() == [bin(s).count("1") for s in range(16)]
    assert not popcount(4).flags.writeable
