"""Invariants of the factor shares (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from outcomes.shares.decomposition import decompose
from outcomes.shares.dominance import dominance

ADDITIVE = ["lmg", "dominance", "pratt", "relative_weights", "car"]
SETTINGS = settings(max_examples=25, deadline=None)


def _frame(seed: int, n: int, k: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k))
    mix = rng.normal(size=(k, k))
    assume(np.linalg.cond(mix) < 1e4)  # a nearly singular mix makes columns dependent
    x = x @ mix
    y = x @ rng.normal(size=k) + rng.normal(size=n) * rng.uniform(0.5, 5)
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(k)]).assign(y=y)


seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(3, 6)


@SETTINGS
@given(seeds, sizes, st.sampled_from(ADDITIVE))
def test_shares_sum_to_r2(seed, k, method):
    df = _frame(seed, 40 + 5 * k, k)
    d = decompose(df, "y", [f"x{i}" for i in range(k)], method=method)
    assert abs(d.shares.sum() - d.r2) < 1e-10
    assert abs(d.relative.sum() - 1) < 1e-10


@SETTINGS
@given(seeds, sizes)
def test_general_dominance_sums_to_r2_with_covariate(seed, k):
    df = _frame(seed, 60, k + 1)
    dom = dominance(df, "y", [f"x{i}" for i in range(k)], covariates=[f"x{k}"])
    assert abs(dom.general.sum() - (dom.r2 - dom.r2_covariates)) < 1e-10
    np.testing.assert_allclose(dom.conditional.mean(axis=1), dom.general, atol=1e-12)


@SETTINGS
@given(seeds, st.sampled_from(ADDITIVE + ["first", "last", "betasq"]))
def test_exchangeable_players_get_equal_shares(seed, method):
    df = _frame(seed, 50, 3)
    mirrored = pd.concat([df, df.rename(columns={"x0": "x1", "x1": "x0"})], ignore_index=True)
    d = decompose(mirrored, "y", ["x0", "x1", "x2"], method=method)
    assert abs(d.shares["x0"] - d.shares["x1"]) < 1e-10


@SETTINGS
@given(seeds, sizes)
def test_player_orthogonal_to_everything_gets_zero(seed, k):
    df = _frame(seed, 50, k)
    rng = np.random.default_rng(seed + 1)
    basis = np.column_stack([np.ones(len(df)), df.to_numpy()])
    z = rng.normal(size=len(df))
    z -= basis @ np.linalg.lstsq(basis, z, rcond=None)[0]
    cols = [f"x{i}" for i in range(k)]
    with_z = decompose(df.assign(z=z), "y", [*cols, "z"])
    without = decompose(df, "y", cols)
    assert abs(with_z.shares["z"]) < 1e-10
    np.testing.assert_allclose(with_z.shares[cols], without.shares, atol=1e-10)


@SETTINGS
@given(seeds, sizes, st.randoms(use_true_random=False), st.sampled_from(ADDITIVE + ["first"]))
def test_factor_order_does_not_matter(seed, k, random, method):
    df = _frame(seed, 50, k)
    cols = [f"x{i}" for i in range(k)]
    shuffled = cols[:]
    random.shuffle(shuffled)
    a = decompose(df, "y", cols, method=method).shares
    b = decompose(df, "y", shuffled, method=method).shares
    assert list(b.index) == shuffled
    np.testing.assert_allclose(a[shuffled].to_numpy(), b.to_numpy(), atol=1e-10)


@SETTINGS
@given(seeds, st.lists(st.floats(-1e4, 1e4).filter(lambda v: abs(v) > 1e-2), min_size=4,
                       max_size=4), st.lists(st.floats(-1e4, 1e4), min_size=4, max_size=4))
def test_shift_and_rescale_do_not_matter(seed, scales, shifts):
    df = _frame(seed, 45, 3)
    moved = df * scales + shifts
    for method in ("lmg", "pratt", "betasq", "relative_weights"):
        a = decompose(df, "y", ["x0", "x1", "x2"], method=method).shares
        b = decompose(moved, "y", ["x0", "x1", "x2"], method=method).shares
        np.testing.assert_allclose(a, b, atol=1e-8)


@SETTINGS
@given(seeds, st.sampled_from(ADDITIVE + ["first", "last", "betasq"]))
def test_group_of_one_equals_the_variable(seed, method):
    df = _frame(seed, 40, 3)
    plain = decompose(df, "y", ["x0", "x1", "x2"], method=method).shares
    grouped = decompose(df, "y", {"a": ["x0"], "b": "x1", "c": ["x2"]}, method=method).shares
    np.testing.assert_allclose(plain.to_numpy(), grouped.to_numpy(), atol=1e-12)
    assert list(grouped.index) == ["a", "b", "c"]
