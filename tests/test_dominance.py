"""dominance(): complete, conditional and general dominance against a brute-force refit."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes.shares.decomposition import decompose
from outcomes.shares.dominance import dominance

HERE = Path(__file__).parent
SWISS = pd.read_csv(HERE / "data" / "swiss.csv")
PREDICTORS = ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"]
SWISS_LMG = [0.0570912207680913, 0.171173028900234, 0.260134678624385,
             0.105570150373494, 0.112765922926522]


def _r2(x, y):
    if x.shape[1] == 0:
        return 0.0
    a = np.column_stack([np.ones(len(y)), x])
    resid = y - a @ np.linalg.lstsq(a, y, rcond=None)[0]
    return 1 - resid @ resid / np.sum((y - y.mean()) ** 2)


def _brute_dominance(x, y, groups, cov=()):
    """Every designation from R² refits of every subset (Budescu 1993 definitions)."""
    p = len(groups)
    r2 = {}
    for mask in itertools.product([0, 1], repeat=p):
        cols = list(cov) + [c for j in range(p) if mask[j] for c in groups[j]]
        r2[mask] = _r2(x[:, cols], y) - _r2(x[:, list(cov)], y)
    cond = np.zeros((p, p))
    counts = np.zeros((p, p))
    for mask, value in r2.items():
        for j in range(p):
            if mask[j]:
                continue
            plus = tuple(1 if i == j else m for i, m in enumerate(mask))
            cond[j, sum(mask)] += r2[plus] - value
            counts[j, sum(mask)] += 1
    cond /= counts
    complete = np.full((p, p), np.nan)
    conditional = np.full((p, p), np.nan)
    for i in range(p):
        for j in range(p):
            if i == j:
                continue
            diffs = []
            for mask in r2:
                if mask[i] or mask[j]:
                    continue
                with_i = tuple(1 if k == i else m for k, m in enumerate(mask))
                with_j = tuple(1 if k == j else m for k, m in enumerate(mask))
                diffs.append(r2[with_i] - r2[with_j])
            diffs = np.array(diffs)
            complete[i, j] = 1.0 if (diffs > 0).all() else 0.0 if (diffs < 0).all() else 0.5
            d = cond[i] - cond[j]
            conditional[i, j] = 1.0 if (d > 0).all() else 0.0 if (d < 0).all() else 0.5
    return cond, complete, conditional


def test_general_dominance_equals_published_lmg():
    dom = dominance(SWISS, "Fertility", PREDICTORS)
    np.testing.assert_allclose(dom.general.to_numpy(), SWISS_LMG, atol=1e-10)
    assert dom.general.sum() == pytest.approx(dom.r2, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, k = 60, 7
    x = rng.normal(size=(n, k)) @ rng.normal(size=(k, k))
    y = x @ rng.normal(size=k) + rng.normal(size=n) * 4
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(k)]).assign(y=y)
    groups = [[0], [1, 2], [3], [4]]
    factors = {"a": ["x0"], "b": ["x1", "x2"], "c": ["x3"], "d": ["x4"]}
    cond, complete, conditional = _brute_dominance(x, y, groups, cov=(5, 6))
    dom = dominance(df, "y", factors, covariates=["x5", "x6"])
    np.testing.assert_allclose(dom.conditional.to_numpy(), cond, atol=1e-10)
    np.testing.assert_allclose(dom.general.to_numpy(), cond.mean(axis=1), atol=1e-10)
    np.testing.assert_array_equal(dom.complete.to_numpy(), complete)
    np.testing.assert_array_equal(dom.conditional_dominance.to_numpy(), conditional)
    lmg = decompose(df, "y", factors, covariates=["x5", "x6"]).shares
    np.testing.assert_allclose(dom.general.to_numpy(), lmg.to_numpy(), atol=1e-12)


def test_orthogonal_predictors_by_hand():
    """With uncorrelated predictors every gain equals the squared correlation."""
    rng = np.random.default_rng(4)
    n = 64
    q, _ = np.linalg.qr(rng.normal(size=(n, 3)) - 0)
    x = q - q.mean(axis=0)
    x, _ = np.linalg.qr(x)
    y = x @ [3.0, 2.0, 1.0] + 0.5 * np.linalg.qr(np.column_stack([x, rng.normal(size=n)]))[0][:, 3]
    df = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y)
    r = np.array([np.corrcoef(x[:, j], y)[0, 1] ** 2 for j in range(3)])
    dom = dominance(df, "y", ["a", "b", "c"])
    for size in range(3):
        np.testing.assert_allclose(dom.conditional[size].to_numpy(), r, atol=1e-10)
    expected = np.array([[np.nan, 1, 1], [0, np.nan, 1], [0, 0, np.nan]])
    np.testing.assert_array_equal(dom.complete.to_numpy(), expected)


def test_identical_players_dominate_neither():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(50, 2))
    noise = rng.normal(size=50)
    df = pd.DataFrame({"a": base[:, 0], "b": base[:, 1], "c": noise})
    df["y"] = df.a + df.b + rng.normal(size=50)
    # a and b enter symmetrically when swapped and mirrored
    mirrored = pd.concat([df, df.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
    dom = dominance(mirrored, "y", ["a", "b", "c"])
    assert dom.complete.loc["a", "b"] == 0.5
    assert dom.general_dominance.loc["a", "b"] == 0.5
    assert dom.general["a"] == pytest.approx(dom.general["b"], abs=1e-12)


def test_bootstrap_reproducibility():
    rng = np.random.default_rng(6)
    n = 200
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    df["y"] = 2 * df.a + 0.2 * df.b + rng.normal(size=n)
    df["coach"] = np.arange(n) % 20
    one = dominance(df, "y", ["a", "b", "c"], n_boot=100, cluster="coach", seed=9)
    two = dominance(df, "y", ["a", "b", "c"], n_boot=100, cluster="coach", seed=9)
    pd.testing.assert_frame_equal(one.designations(), two.designations())
    d = one.designations()
    row = d[(d.factor == "a") & (d.other == "b") & (d.kind == "complete")].iloc[0]
    assert row.dominant == "a" and row.reproducibility > 0.95
    probs = d[["p_factor", "p_other", "p_neither"]].sum(axis=1)
    np.testing.assert_allclose(probs, 1.0)
    assert one.general_ci is not None and (one.general_ci.ci_low <= one.general.values).all()


def test_faces():
    import json

    dom = dominance(SWISS, "Fertility", PREDICTORS)
    json.dumps(dom.to_dict())
    assert set(dom.table().quantity) == {"general", "conditional"}
    assert "Complete dominance" in dom.summary()
    ax = dom.plot()
    assert ax.get_xlabel()


def test_displays_itself_and_checks_arguments():
    from outcomes._errors import UsageError
    from outcomes._results import Summary

    dom = dominance(SWISS, "Fertility", PREDICTORS)
    assert repr(dom) == f"<Dominance: {dom.headline()}>"
    assert dom.headline().startswith("R² 0.707 among 5 factors; Education completely")
    assert isinstance(dom.summary(), Summary) and dom.ci is None
    booted = dominance(SWISS, "Fertility", PREDICTORS, n_boot=30, seed=1)
    assert list(booted.ci.columns) == ["factor", "estimate", "std_error", "ci_low", "ci_high"]
    for kwargs, words in ((dict(ci_level=0), "ci_level"), (dict(n_boot=1.5), "n_boot"),
                          (dict(seed="x"), "seed")):
        with pytest.raises(UsageError, match=words):
            dominance(SWISS, "Fertility", PREDICTORS, **kwargs)
    assert "resampled together" in dominance.__doc__
