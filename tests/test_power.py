"""Precision and power of factor shares by simulation (outcomes.power)."""

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes._errors import UsageError
from outcomes.shares.power import QUANTITIES, SIMULATED_RELIABILITY, Power, power
from outcomes.simulate.generative import ITEM_MODELS, expected_reliability, item_structure

FACTORS = ["client", "relationship", "expectancy", "technique"]
SPLIT = {"client": 0.4, "relationship": 0.3, "expectancy": 0.15, "technique": 0.15}
V = 36.0  # variance of true change in the generative model (docs/simulation.md)


def _subset_r2(cov: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    """R² of the last column on every subset of the others, batched over leading axes."""
    p = cov.shape[-1] - 1
    out = {(): np.zeros(cov.shape[:-2])}
    for size in range(1, p + 1):
        for subset in itertools.combinations(range(p), size):
            s = list(subset)
            c = cov[..., s, p]
            block = cov[..., s, :][..., :, s]
            out[subset] = np.einsum("...i,...i->...", c, np.linalg.solve(block, c[..., None])[
                ..., 0]) / cov[..., p, p]
    return out


def _lmg_by_orderings(cov: np.ndarray) -> np.ndarray:
    """LMG as the mean R² increment over all p! orderings (Lindeman, Merenda & Gold 1980)."""
    p = cov.shape[-1] - 1
    r2 = _subset_r2(cov)
    total = np.zeros((*cov.shape[:-2], p))
    orders = list(itertools.permutations(range(p)))
    for order in orders:
        before: tuple[int, ...] = ()
        for k in order:
            after = tuple(sorted((*before, k)))
            total[..., k] += r2[after] - r2[before]
            before = after
    return total / len(orders)


def _direct_widths(*, shares, r2, icc, rel, rel_y, n_coaches, per_coach, n_sim, n_boot,
                   ci_level, seed):
    """Mean percentile-interval width of each relative LMG share, and its Monte Carlo SE.

    Written from the model's definition alone: with uncorrelated factors the Shapley share
    of factor k is b_k² / Σ b², so b_k = √(s_k · R² · V).
    """
    rng = np.random.default_rng(seed)
    b = np.sqrt(np.array([shares[f] for f in FACTORS]) * r2 * V)
    rel = np.array([rel[f] for f in FACTORS])
    n = n_coaches * per_coach
    coach = np.repeat(np.arange(n_coaches), per_coach)
    members = np.arange(n).reshape(n_coaches, per_coach)
    a = (1 - ci_level) / 2
    widths = []
    for _ in range(n_sim):
        f = rng.standard_normal((n, 4))
        y = (f @ b + rng.normal(0, math.sqrt(icc * V), n_coaches)[coach]
             + rng.normal(0, math.sqrt((1 - r2 - icc) * V), n)
             + rng.normal(0, math.sqrt(V * (1 / rel_y - 1)), n))
        x = np.sqrt(rel) * f + np.sqrt(1 - rel) * rng.standard_normal((n, 4))
        data = np.column_stack([x, y])
        picks = rng.integers(0, n_coaches, (n_boot, n_coaches))
        rows = members[picks].reshape(n_boot, n)
        sample = data[rows]  # (n_boot, n, 5)
        centred = sample - sample.mean(axis=1, keepdims=True)
        cov = np.einsum("bni,bnj->bij", centred, centred) / (n - 1)
        lmg = _lmg_by_orderings(cov)
        relative = lmg / lmg.sum(axis=1, keepdims=True)
        low, high = np.quantile(relative, [a, 1 - a], axis=0)
        widths.append(high - low)
    widths = np.array(widths)
    return widths.mean(axis=0), widths.std(axis=0, ddof=1) / math.sqrt(n_sim)


def test_interval_widths_match_a_direct_simulation():
    settings_ = dict(shares={"client": 0.5, "relationship": 0.25, "expectancy": 0.15,
                             "technique": 0.10}, r2=0.4, icc=0.1)
    rel = {"client": 0.8, "relationship": 0.7, "expectancy": 0.9, "technique": 0.6,
           "outcome": 0.85}
    result = power(**settings_, n_coaches=12, clients_per_coach=10, factor_correlation=0.0,
                   reliability=rel, n_sim=150, n_boot=100, ci_method="percentile", ci_level=0.9,
                   reference=None, seed=11, n_jobs=1)
    rows = result.table().query("quantity == 'width'").set_index("factor")
    mean, se = _direct_widths(**settings_, rel=rel, rel_y=0.85, n_coaches=12, per_coach=10,
                              n_sim=150, n_boot=100, ci_level=0.9, seed=12)
    got, got_se = rows.loc[FACTORS, "estimate"].to_numpy(), rows.loc[FACTORS, "std_error"]
    z = (got - mean) / np.sqrt(got_se.to_numpy() ** 2 + se**2)
    assert np.all(np.abs(z) < 4), (got, mean, z)


def test_population_share_with_error_matches_lmg_of_the_implied_covariance():
    rel = {"client": 0.5, "relationship": 0.9, "expectancy": 0.7, "technique": 0.8,
           "outcome": 0.8}
    result = power(shares=SPLIT, r2=0.35, icc=0.05, n_coaches=5, clients_per_coach=4,
                   factor_correlation=0.0, reliability=rel, n_sim=2, n_boot=10, seed=1,
                   n_jobs=1)
    b = np.sqrt(np.array([SPLIT[f] for f in FACTORS]) * 0.35 * V)
    load = np.sqrt([rel[f] for f in FACTORS])
    cov = np.zeros((5, 5))
    cov[:4, :4] = np.eye(4)
    cov[:4, 4] = cov[4, :4] = load * b
    cov[4, 4] = V / 0.8
    lmg = _lmg_by_orderings(cov)
    expected = lmg / lmg.sum()
    got = result.grid("population_share").iloc[0].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-9)
    # unreliable client measurement shrinks its share below the truth
    assert got[0] < 0.4


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.1, 1.0), min_size=4, max_size=4),
       st.sampled_from(["lmg", "dominance"]))
def test_without_measurement_error_the_population_share_is_the_truth(raw, method):
    shares = dict(zip(FACTORS, np.array(raw) / sum(raw), strict=True))
    result = power(shares=shares, r2=0.3, n_coaches=3, clients_per_coach=4,
                   factor_correlation=0.2, reliability="perfect", method=method, n_sim=2,
                   n_boot=10, seed=0, n_jobs=1)
    got = result.grid("population_share").iloc[0]
    np.testing.assert_allclose(got[FACTORS].to_numpy(), [shares[f] for f in FACTORS],
                               atol=1e-7)


def test_simulated_reliability_agrees_with_the_instrument_models():
    """Client and expectancy: Σρ/(1 + Σρ) over the scales' factor validities v, ρ = v/(1 - v)."""
    for factor, keys in {"client": ["lot-r", "mspss", "gse", "urica"],
                         "expectancy": ["ahs", "ceq"]}.items():
        v = np.array([expected_reliability(item_structure(k), ITEM_MODELS[k])["factor_validity"]
                      for k in keys])
        rho = (v / (1 - v)).sum()
        assert SIMULATED_RELIABILITY[factor] == pytest.approx(rho / (1 + rho), abs=0.02)


def test_power_is_high_when_the_truth_is_far_from_the_reference():
    result = power(shares={"client": 0.7, "relationship": 0.1, "expectancy": 0.1,
                           "technique": 0.1}, r2=0.4, n_coaches=40, clients_per_coach=20,
                   reliability="perfect", n_sim=25, n_boot=100, seed=2, n_jobs=1)
    got = result.grid("power").iloc[0]
    assert got["client"] >= 0.9 and got["relationship"] >= 0.9


def test_grid_seed_and_workers():
    kwargs = dict(shares=SPLIT, r2=0.35, n_coaches=[6, 12], clients_per_coach=[5, 10],
                  n_sim=30, n_boot=30, seed=5)
    one = power(**kwargs, n_jobs=1)
    two = power(**kwargs, n_jobs=2)
    pd.testing.assert_frame_equal(one.table(), two.table())
    assert len(one.table()) == 4 * len(FACTORS) * len(QUANTITIES)
    assert list(one.grid().index) == [(6, 5), (6, 10), (12, 5), (12, 10)]
    other = power(**{**kwargs, "seed": 6}, n_jobs=1)
    assert not one.table().equals(other.table())


def test_progress_is_reported():
    calls = []
    power(shares=SPLIT, r2=0.35, n_coaches=[5, 6], clients_per_coach=4, n_sim=30, n_boot=10,
          seed=1, n_jobs=1, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (60, 60)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_reference_of_total_variance_compares_absolute_shares():
    result = power(shares=SPLIT, r2=0.35, n_coaches=10, clients_per_coach=10, n_sim=10,
                   n_boot=20, reference="norcross-lambert-2011", seed=1, n_jobs=1)
    assert result.reference_scale == "absolute"
    ref = result.grid("reference").iloc[0]
    assert ref["client"] == 0.30 and math.isnan(ref["expectancy"])
    got = result.grid("power").iloc[0]
    assert math.isnan(got["expectancy"]) and not math.isnan(got["client"])


def test_four_faces():
    result = power(shares=SPLIT, r2=0.35, n_coaches=[8, 16], clients_per_coach=10,
                   n_sim=10, n_boot=20, seed=3, n_jobs=1)
    assert isinstance(result, Power)
    table = result.table()
    assert list(table.columns) == ["n_coaches", "clients_per_coach", "n", "factor", "quantity",
                                   "estimate", "std_error", "n_sim"]
    assert set(table.quantity) == set(QUANTITIES)
    text = result.summary()
    assert "8 coaches × 10 clients = 80 clients" in text and "asay-lambert-1999" in text
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["n_sim"] == 10 and len(payload["results"]) == len(table)
    ax = result.plot()
    assert len(ax.get_lines()) >= len(FACTORS)
    assert result.plot(quantity="coverage").get_ylabel() == "coverage of the true share"


@pytest.mark.parametrize("kwargs, words", [
    (dict(shares={"client": 1.0}), "exactly"),
    (dict(shares={**SPLIT, "client": 0.5}), "sum to 1"),
    (dict(r2=0.9, icc=0.2), "r2 + icc"),
    (dict(n_coaches=2), "n_coaches"),
    (dict(n_coaches=[10, 2.5]), "n_coaches"),
    (dict(clients_per_coach=0), "clients_per_coach"),
    (dict(n_coaches=3, clients_per_coach=2), "at least 10 clients"),
    (dict(method="shapley"), "method must be one of"),
    (dict(n_boot=5), "n_boot"),
    (dict(ci_method="normal"), "ci_method must be"),
    (dict(ci_level=95), "ci_level"),
    (dict(reference="lambert-1992"), "not a known split"),
    (dict(reference="laska-2014"), "names none of the factors"),
    (dict(reliability={"client": 0}), "(0, 1]"),
    (dict(reliability={"alliance": 0.8}), "names ['alliance']"),
    (dict(reliability="high"), "reliability must be"),
])
def test_usage_errors_say_what_to_do(kwargs, words):
    base = dict(shares=SPLIT, r2=0.35, n_coaches=10, clients_per_coach=10, n_sim=5, n_boot=10)
    with pytest.raises(UsageError, match=None) as error:
        power(**{**base, **kwargs})
    assert words in str(error.value)


def test_grid_rejects_unknown_quantity():
    result = power(shares=SPLIT, r2=0.35, n_coaches=5, clients_per_coach=4, n_sim=3,
                   n_boot=10, seed=1, n_jobs=1)
    with pytest.raises(UsageError, match="quantity must be one of"):
        result.grid("precision")


def test_old_ci_keyword_warns_and_gives_the_same_numbers():
    kwargs = dict(shares=SPLIT, r2=0.35, n_coaches=5, clients_per_coach=4, n_sim=3, n_boot=10,
                  seed=1, n_jobs=1)
    new = power(**kwargs, ci_method="percentile")
    with pytest.warns(FutureWarning, match="ci_method"):
        old = power(**kwargs, ci="percentile")
    pd.testing.assert_frame_equal(old.table(), new.table())
    assert old.ci_method == new.ci_method == "percentile"
    assert new.to_dict()["ci_method"] == "percentile"


def test_a_generator_seed_is_accepted_and_repeatable():
    kwargs = dict(shares=SPLIT, r2=0.35, n_coaches=5, clients_per_coach=4, n_sim=3, n_boot=10,
                  n_jobs=1)
    one = power(**kwargs, seed=np.random.default_rng(3))
    two = power(**kwargs, seed=np.random.default_rng(3))
    pd.testing.assert_frame_equal(one.table(), two.table())
    json.dumps(one.to_dict())


def test_displays_itself():
    from outcomes._results import Summary

    result = power(shares=SPLIT, r2=0.35, n_coaches=[5, 10], clients_per_coach=4, n_sim=3,
                   n_boot=10, seed=1, n_jobs=1)
    line = repr(result)
    assert line.startswith("<Power: lmg shares, 2 study sizes of 20 to 40 clients")
    assert "\n" not in line and len(result.headline()) < 100
    assert isinstance(result.summary(), Summary)
