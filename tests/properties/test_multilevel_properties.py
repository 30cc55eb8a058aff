"""Invariants of the multilevel decomposition (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.mixed.fit import multilevel
from outcomes.mixed.shares import multilevel_shares

SETTINGS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def _frame(seed: int, k: int = 2) -> pd.DataFrame:
    """Clients in coaches of unequal size; predictors vary within and between coaches."""
    rng = np.random.default_rng(seed)
    n_coaches = int(rng.integers(8, 25))
    coach = np.repeat(np.arange(n_coaches), rng.integers(2, 15, n_coaches))
    n = coach.size
    x = rng.normal(size=(n, k)) + rng.uniform(0, 1.5) * rng.normal(size=(n_coaches, k))[coach]
    y = (x @ rng.normal(size=k) + rng.uniform(0, 2) * rng.normal(size=n_coaches)[coach]
         + rng.uniform(0.5, 3) * rng.normal(size=n))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(k)])
    return frame.assign(coach_id=coach.astype(str), y=y)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@SETTINGS
@given(seeds, st.sampled_from(["within", "none"]), st.booleans())
def test_rights_sterba_parts_sum_to_the_total_variance(seed, centring, reml):
    fit = multilevel(_frame(seed), "y", ["x0", "x1"], centring=centring, reml=reml)
    assert abs(fit.rights_sterba.sum() - 1) < 1e-12
    assert abs(fit.variances.sum() * fit.rights_sterba["f1"] - fit.variances["f1"]) < 1e-9
    assert (fit.rights_sterba >= -1e-15).all()
    assert abs(fit.r2_marginal - fit.rights_sterba[["f1", "f2"]].sum()) < 1e-12
    assert abs(fit.r2_conditional - (1 - fit.rights_sterba["residual"])) < 1e-12


@SETTINGS
@given(seeds)
def test_without_random_slopes_v_is_zero_and_m_is_the_coach_variance(seed):
    fit = multilevel(_frame(seed), "y", ["x0", "x1"])
    assert fit.rights_sterba["v"] == 0
    assert abs(fit.variances["m"] - fit.variance_components["intercept"]) < 1e-12


@settings(max_examples=4, deadline=None)
@given(seeds)
def test_random_slope_parts_still_sum_to_one(seed):
    fit = _quiet(multilevel, _frame(seed), "y", ["x0", "x1"], random_slopes=["x0"])
    assert abs(fit.rights_sterba.sum() - 1) < 1e-12
    assert fit.rights_sterba["v"] >= 0


@SETTINGS
@given(seeds)
def test_f2_is_the_between_part_only(seed):
    df = _frame(seed, k=1)
    mean = df.groupby("coach_id").x0.transform("mean")
    within_only = df.assign(x0=df.x0 - mean)
    fit = multilevel(within_only, "y", ["x0"])
    assert list(fit.fixed_effects.index) == ["intercept", "x0_within"]
    assert abs(fit.variances["f2"]) < 1e-20
    both = multilevel(df, "y", ["x0"])
    b = both.fixed_effects.estimate["x0_between"]
    between = b**2 * np.sum((mean - mean.mean()) ** 2) / (len(df) - 1)
    assert abs(both.variances["f2"] - between) < 1e-9 * max(1.0, between)
    w = both.fixed_effects.estimate["x0_within"]
    within = w**2 * np.sum((df.x0 - mean) ** 2) / (len(df) - 1)
    assert abs(both.variances["f1"] - within) < 1e-9 * max(1.0, within)


@SETTINGS
@given(seeds, st.floats(-50, 50), st.floats(0.1, 20))
def test_variance_shares_do_not_depend_on_the_outcome_scale(seed, shift, scale):
    df = _frame(seed)
    a = multilevel(df, "y", ["x0", "x1"])
    b = multilevel(df.assign(y=shift + scale * df.y), "y", ["x0", "x1"])
    np.testing.assert_allclose(a.rights_sterba, b.rights_sterba, atol=1e-7)
    np.testing.assert_allclose(b.variances, scale**2 * a.variances, rtol=1e-6, atol=1e-9)
    assert abs(a.icc - b.icc) < 1e-7


@SETTINGS
@given(seeds)
def test_multilevel_shares_sum_to_one_and_follow_their_groups(seed):
    df = _frame(seed, k=3)
    groups = {"a": ["x0"], "b": ["x1", "x2"]}
    s = multilevel_shares(df, "y", groups)
    assert abs(s.shares.sum() - 1) < 1e-12
    flipped = multilevel_shares(df, "y", {"b": ["x2", "x1"], "a": ["x0"]})
    np.testing.assert_allclose(s.shares[["a", "b"]], flipped.shares[["a", "b"]], atol=1e-10)
    full = multilevel(df, "y", groups)
    assert abs(s.shares[["a", "b"]].sum() - full.r2_marginal) < 1e-10
