"""decompose(): known answers (published swiss values, base-R refits) and brute force."""

from __future__ import annotations

import itertools
import re
import warnings
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import DataError, DataWarning, ModelError, UsageError
from outcomes.shares._share_words import METHOD_NAMES
from outcomes.shares.decomposition import decompose
from outcomes.shares.metrics import METHODS

HERE = Path(__file__).parent
SWISS = pd.read_csv(HERE / "data" / "swiss.csv")
PREDICTORS = ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"]
# Groemping (2006), J Stat Softw 17(1); relaimpo's lmg for lm(Fertility ~ ., swiss)
SWISS_LMG = [0.0570912207680913, 0.171173028900234, 0.260134678624385,
             0.105570150373494, 0.112765922926522]
# relaimpo 2.2-7, calc.relimp on R's swiss data (4 decimals)
SWISS_OTHER = {
    "first": [0.1247, 0.4172, 0.4406, 0.2150, 0.1735],
    "last": [0.0429, 0.0074, 0.1620, 0.0624, 0.0569],
    "betasq": [0.0979, 0.0272, 0.4494, 0.1208, 0.0631],
    "pratt": [-0.1105, 0.1064, 0.4450, 0.1612, 0.1046],
}
REFERENCE = pd.read_csv(
    HERE / "reference" / "importance" / "swiss_reference.csv", comment="#",
    skipinitialspace=True,
)
CASES = {
    "plain": dict(factors=PREDICTORS),
    "grouped": dict(factors={"Agriculture": ["Agriculture"],
                             "schooling": ["Examination", "Education"],
                             "Catholic": ["Catholic"], "Infant.Mortality": ["Infant.Mortality"]}),
    "always": dict(factors=PREDICTORS[:4], covariates=["Infant.Mortality"]),
    "grouped_always": dict(factors={"schooling": ["Examination", "Education"],
                                    "other": ["Agriculture", "Catholic"]},
                           covariates=["Infant.Mortality"]),
    "weighted": dict(factors=PREDICTORS, weights=SWISS.Agriculture / 10 + 1),
}


def test_swiss_lmg_equals_published_values():
    d = decompose(SWISS, "Fertility", PREDICTORS)
    np.testing.assert_allclose(d.shares.to_numpy(), SWISS_LMG, rtol=0, atol=1e-10)
    assert abs(d.r2 - 0.706735) < 1e-6
    assert abs(d.shares.sum() - d.r2) < 1e-12
    assert abs(d.relative.sum() - 1) < 1e-12
    assert list(d.shares.index) == PREDICTORS


def test_dominance_method_equals_lmg():
    d = decompose(SWISS, "Fertility", PREDICTORS, method="dominance")
    np.testing.assert_allclose(d.shares.to_numpy(), SWISS_LMG, atol=1e-10)


@pytest.mark.parametrize("method", sorted(SWISS_OTHER))
def test_swiss_other_methods_match_relaimpo(method):
    d = decompose(SWISS, "Fertility", PREDICTORS, method=method)
    np.testing.assert_allclose(d.shares.to_numpy(), SWISS_OTHER[method], atol=5e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_base_r_refits(case):
    ref = REFERENCE[REFERENCE.case == case]
    options = CASES[case]
    for method in ("lmg", "first", "last", "betasq", "pratt"):
        expected = ref[method].to_numpy(dtype=float)
        if np.isnan(expected).any():
            continue
        d = decompose(SWISS, "Fertility", method=method, **options)
        assert list(d.shares.index) == list(ref.factor)
        np.testing.assert_allclose(d.shares.to_numpy(), expected, atol=1e-12, err_msg=method)
        assert d.r2 == pytest.approx(float(ref.r2.iloc[0]), abs=1e-12)
        assert d.r2_covariates == pytest.approx(float(ref.r2_covariates.iloc[0]), abs=1e-12)


def test_covariate_shares_sum_to_remaining_r2():
    for method in ("lmg", "pratt", "relative_weights", "car"):
        d = decompose(SWISS, "Fertility", PREDICTORS[:4], covariates=["Infant.Mortality"],
                      method=method)
        assert d.shares.sum() == pytest.approx(d.r2 - d.r2_covariates, abs=1e-12)


# ---------------------------------------------------------------- brute force on random data


def _ols_r2(x, y, w=None):
    w = np.ones(len(y)) if w is None else w
    if x.shape[1] == 0:
        return 0.0
    a = np.column_stack([np.ones(len(y)), x]) * np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(a, y * np.sqrt(w), rcond=None)[0]
    resid = y - np.column_stack([np.ones(len(y)), x]) @ coef
    mean = np.average(y, weights=w)
    return 1 - np.sum(w * resid**2) / np.sum(w * (y - mean) ** 2)


def _brute(x, y, groups, cov_cols=(), w=None):
    """LMG, first and last by refitting OLS on every subset (lstsq per subset)."""
    p = len(groups)
    base = list(cov_cols)
    r2 = {}
    for mask in itertools.product([0, 1], repeat=p):
        cols = base + [c for j in range(p) if mask[j] for c in groups[j]]
        r2[mask] = _ols_r2(x[:, cols], y, w)
    lmg, first, last = np.zeros(p), np.zeros(p), np.zeros(p)
    full, none = (1,) * p, (0,) * p
    for j in range(p):
        for mask in r2:
            if mask[j]:
                continue
            k = sum(mask)
            with_j = tuple(1 if i == j else m for i, m in enumerate(mask))
            lmg[j] += factorial(k) * factorial(p - k - 1) / factorial(p) * (r2[with_j] - r2[mask])
        first[j] = r2[tuple(int(i == j) for i in range(p))] - r2[none]
        last[j] = r2[full] - r2[tuple(int(i != j) for i in range(p))]
    return {"lmg": lmg, "first": first, "last": last, "r2": r2[full], "r2_cov": r2[none]}


def _brute_coefficients(x, y, cols, cov_cols=(), w=None):
    """betasq and pratt from the full weighted least-squares fit (single columns)."""
    w = np.ones(len(y)) if w is None else w
    allc = list(cov_cols) + list(cols)
    a = np.column_stack([np.ones(len(y)), x[:, allc]])
    coef = np.linalg.lstsq(a * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    b = coef[1 + len(cov_cols):]
    def wcov(u, v):
        mu, mv = np.average(u, weights=w), np.average(v, weights=w)
        return np.average((u - mu) * (v - mv), weights=w)
    resid_x = []
    for c in cols:
        if cov_cols:
            z = np.column_stack([np.ones(len(y)), x[:, list(cov_cols)]])
            g = np.linalg.lstsq(z * np.sqrt(w)[:, None], x[:, c] * np.sqrt(w), rcond=None)[0]
            resid_x.append(x[:, c] - z @ g)
        else:
            resid_x.append(x[:, c])
    vy = wcov(y, y)
    betasq = np.array([b[i] ** 2 * wcov(r, r) / vy for i, r in enumerate(resid_x)])
    pratt = np.array([b[i] * wcov(r, y) / vy for i, r in enumerate(resid_x)])
    return betasq, pratt


def _random_frame(seed, n=80, k=6):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(k, k))
    x = rng.normal(size=(n, k)) @ mix
    y = x @ rng.normal(size=k) + rng.normal(size=n) * 3
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(k)]).assign(y=y)
    return df, x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_columns_equal_brute_force(seed):
    df, x, y = _random_frame(seed)
    cols = [f"x{i}" for i in range(6)]
    expected = _brute(x, y, [[i] for i in range(6)])
    for method in ("lmg", "first", "last"):
        d = decompose(df, "y", cols, method=method)
        np.testing.assert_allclose(d.shares.to_numpy(), expected[method], atol=1e-10)
    betasq, pratt = _brute_coefficients(x, y, range(6))
    np.testing.assert_allclose(decompose(df, "y", cols, method="betasq").shares, betasq,
                               atol=1e-10)
    np.testing.assert_allclose(decompose(df, "y", cols, method="pratt").shares, pratt,
                               atol=1e-10)


@pytest.mark.parametrize("seed", [3, 4])
def test_groups_covariates_weights_equal_brute_force(seed):
    df, x, y = _random_frame(seed, k=7)
    rng = np.random.default_rng(seed + 100)
    w = rng.uniform(0.2, 3, size=len(y))
    groups = [[0, 1], [2], [3, 4]]
    factors = {"a": ["x0", "x1"], "b": ["x2"], "c": ["x3", "x4"]}
    expected = _brute(x, y, groups, cov_cols=(5, 6), w=w)
    for method in ("lmg", "first", "last"):
        d = decompose(df, "y", factors, covariates=["x5", "x6"], weights=w, method=method)
        np.testing.assert_allclose(d.shares.to_numpy(), expected[method], atol=1e-10)
        assert d.r2 == pytest.approx(expected["r2"], abs=1e-10)
        assert d.r2_covariates == pytest.approx(expected["r2_cov"], abs=1e-10)
    betasq, pratt = _brute_coefficients(x, y, [0, 1, 2, 3, 4], cov_cols=(5, 6), w=w)
    singles = [f"x{i}" for i in range(5)]
    for method, values in (("betasq", betasq), ("pratt", pratt)):
        d = decompose(df, "y", singles, covariates=["x5", "x6"], weights=w, method=method)
        np.testing.assert_allclose(d.shares.to_numpy(), values, atol=1e-10)
    # pratt of a group is the sum over its columns
    d = decompose(df, "y", factors, covariates=["x5", "x6"], weights=w, method="pratt")
    np.testing.assert_allclose(d.shares.to_numpy(),
                               [pratt[0] + pratt[1], pratt[2], pratt[3] + pratt[4]], atol=1e-10)


def test_relative_weights_and_car_by_hand():
    """Johnson (2000) and CAR scores from their defining matrix formulas."""
    df, x, y = _random_frame(5, k=4)
    z = np.column_stack([x, y])
    r = np.corrcoef(z.T)
    rxx, rxy = r[:4, :4], r[:4, 4]
    vals, vecs = np.linalg.eigh(rxx)
    root = vecs @ np.diag(np.sqrt(vals)) @ vecs.T
    beta_star = np.linalg.solve(root, rxy)
    eps = (root**2) @ beta_star**2
    cols = ["x0", "x1", "x2", "x3"]
    np.testing.assert_allclose(decompose(df, "y", cols, method="relative_weights").shares,
                               eps, atol=1e-12)
    np.testing.assert_allclose(decompose(df, "y", cols, method="car").shares, beta_star**2,
                               atol=1e-12)
    assert eps.sum() == pytest.approx(rxy @ np.linalg.solve(rxx, rxy), abs=1e-12)


def test_categorical_column_is_one_player():
    rng = np.random.default_rng(7)
    n = 120
    region = rng.choice(["north", "south", "west"], size=n)
    x = rng.normal(size=n)
    y = x + (region == "south") * 1.5 + rng.normal(size=n)
    df = pd.DataFrame({"region": region, "x": x, "y": y})
    dummies = np.column_stack([(region == "south"), (region == "west")]).astype(float)
    expected = _brute(np.column_stack([x, dummies]), y, [[0], [1, 2]])
    d = decompose(df, "y", ["x", "region"])
    np.testing.assert_allclose(d.shares.to_numpy(), expected["lmg"], atol=1e-10)
    cat = df.assign(region=df.region.astype("category"))
    np.testing.assert_allclose(decompose(cat, "y", ["x", "region"]).shares, expected["lmg"],
                               atol=1e-10)


def test_missing_rows_dropped_and_counted():
    df = SWISS.copy()
    df.loc[[0, 5], "Catholic"] = np.nan
    df.loc[9, "Fertility"] = np.nan
    with pytest.warns(DataWarning, match="3 of 47 rows"):
        d = decompose(df, "Fertility", PREDICTORS)
    assert d.n == 44 and d.n_dropped == 3
    clean = decompose(SWISS.drop(index=[0, 5, 9]), "Fertility", PREDICTORS)
    np.testing.assert_allclose(d.shares, clean.shares, atol=1e-14)
    assert df.loc[0, "Catholic"] != df.loc[0, "Catholic"]  # caller's frame untouched


def test_badly_scaled_columns():
    df, x, y = _random_frame(8, k=4)
    scaled = df.assign(x0=df.x0 * 1e6 + 3e7, x1=df.x1 * 1e-6, y=df.y * 1e5)
    a = decompose(df, "y", ["x0", "x1", "x2", "x3"])
    b = decompose(scaled, "y", ["x0", "x1", "x2", "x3"])
    np.testing.assert_allclose(a.shares, b.shares, atol=1e-10)


def test_errors_name_the_problem():
    with pytest.raises(DataError, match="nope"):
        decompose(SWISS, "Fertility", ["nope"])
    with pytest.raises(UsageError, match="method"):
        decompose(SWISS, "Fertility", PREDICTORS, method="magic")
    with pytest.raises(UsageError, match="one factor only"):
        decompose(SWISS, "Fertility", {"a": ["Education"], "b": ["Education"]})
    with pytest.raises(ModelError, match='"constant"'):
        decompose(SWISS.assign(constant=1.0), "Fertility", ["Education", "constant"])
    dup = SWISS.assign(twice=SWISS.Education * 2 + 1)
    with pytest.raises(ModelError, match="twice") as info:
        decompose(dup, "Fertility", ["Education", "twice", "Catholic"])
    assert "Education" in str(info.value) and "Catholic" not in str(info.value)
    with pytest.raises(DataError, match="numeric"):
        decompose(SWISS, "province", PREDICTORS)
    with pytest.raises(UsageError, match="outcome"):
        decompose(SWISS, "Fertility", ["Fertility", "Education"])


def test_every_method_runs_and_reports():
    for method in METHODS:
        d = decompose(SWISS, "Fertility", PREDICTORS, method=method)
        assert d.method == method
        assert np.isfinite(d.shares).all()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            text = d.summary()
        assert METHOD_NAMES[method] in text  # the method in words, never its code key
        assert not re.search(r"\b(lmg|relative_weights|betasq|car)\b", text)


def test_weights_and_cluster_by_column_name():
    df = SWISS.assign(w=SWISS.Agriculture / 10 + 1, region=np.arange(47) % 6)
    by_name = decompose(df, "Fertility", PREDICTORS, weights="w")
    ref = REFERENCE[REFERENCE.case == "weighted"]
    np.testing.assert_allclose(by_name.shares.to_numpy(), ref.lmg.to_numpy(float), atol=1e-12)
    with pytest.raises(DataError, match="non-negative"):
        decompose(df.assign(w=-df.w), "Fertility", PREDICTORS, weights="w")
    df.loc[3, "w"] = np.nan
    with pytest.warns(DataWarning, match='"w" \\(1\\)'):
        d = decompose(df, "Fertility", PREDICTORS, weights="w", cluster="region", n_boot=50,
                      seed=0)
    assert d.n == 46 and d.n_clusters == 6
    with pytest.warns(FutureWarning, match="n_clusters"):
        assert d.cluster_count == 6


def test_to_dict_follows_the_json_layout():
    import json

    rng = np.random.default_rng(9)
    df = pd.DataFrame(rng.normal(size=(120, 4)), columns=["a", "b", "c", "d"])
    df["y"] = df.sum(axis=1) + rng.normal(size=120)
    factors = {"client": ["a"], "relationship": ["b", "c"], "technique": ["d"]}
    out = decompose(df, "y", factors, n_boot=100, seed=3).to_dict()
    json.dumps(out)
    assert {"method", "n", "r2", "outcome", "covariates", "factors", "reference"} <= set(out)
    assert set(out["factors"]) == set(factors)
    entry = out["factors"]["relationship"]
    assert {"columns", "share", "relative", "ci_low", "ci_high"} <= set(entry)
    assert entry["columns"] == ["b", "c"]
    assert out["reference"]["key"] == "asay-lambert-1999"
    plain = decompose(SWISS, "Fertility", PREDICTORS).to_dict()
    assert "ci_low" not in plain["factors"]["Education"]
    assert "note" in plain["reference"]  # swiss columns do not name common factors


def test_table_and_plot_faces():
    d = decompose(SWISS, "Fertility", PREDICTORS, n_boot=60, seed=1, ci_method="percentile")
    t = d.table()
    assert list(t.columns) == ["factor", "quantity", "estimate", "std_error", "ci_low",
                               "ci_high", "n"]
    assert len(t) == 2 * len(PREDICTORS) + 1
    share_rows = t[t.quantity == "share"]
    np.testing.assert_allclose(share_rows.estimate, d.shares.to_numpy())
    ax = d.plot()
    assert len(ax.patches) == len(PREDICTORS)
    assert "percentile" in d.summary()


def test_a_typo_in_a_number_column_is_named_not_turned_into_categories():
    rng = np.random.default_rng(5)
    df = pd.DataFrame(rng.normal(size=(40, 2)), columns=["alliance", "hope"])
    df["end"] = df.alliance + rng.normal(size=40)
    df = df.astype({"hope": object})
    df.loc[7, "hope"] = "high"
    with pytest.raises(DataError, match=r'column "hope": \'high\' in the row with index 7'):
        decompose(df, "end", ["alliance", "hope"])
    words = df.assign(hope=np.where(df.index % 2, "low", "high"))  # real categories still work
    assert list(decompose(words, "end", ["alliance", "hope"]).shares.index) == ["alliance", "hope"]


def test_old_ci_keyword_warns_and_gives_the_same_numbers():
    new = decompose(SWISS, "Fertility", PREDICTORS, n_boot=40, seed=2, ci_method="percentile")
    with pytest.warns(FutureWarning, match="ci_method"):
        old = decompose(SWISS, "Fertility", PREDICTORS, n_boot=40, seed=2, ci="percentile")
    pd.testing.assert_frame_equal(old.ci, new.ci)
    assert old.ci_method == new.ci_method == "percentile"
    with pytest.raises(UsageError, match="ci_method"):
        decompose(SWISS, "Fertility", PREDICTORS, ci_method="normal")


def test_shared_argument_checks():
    for kwargs, words in ((dict(ci_level=95), "ci_level"), (dict(n_boot=-1), "n_boot"),
                          (dict(seed=-3), "seed"), (dict(covariates=[1]), "covariates")):
        with pytest.raises(UsageError, match=words):
            decompose(SWISS, "Fertility", PREDICTORS, **kwargs)
    assert "coverage of every interval" in decompose.__doc__


def test_displays_itself():
    import json

    from outcomes._results import Summary

    d = decompose(SWISS, "Fertility", PREDICTORS, n_boot=30, seed=1)
    line = repr(d)
    assert line.startswith("<Decomposition: R² 0.707 shared by 5 factors (lmg), n = 47")
    assert "\n" not in line and len(d.headline()) < 100
    assert isinstance(d.summary(), Summary)
    assert "<table" in d._repr_html_()
    json.dumps(d.to_dict())


def test_a_singular_replicate_gives_nan_not_an_endless_retry(monkeypatch):
    from outcomes.shares import metrics
    from outcomes.shares.design import prepare
    from outcomes.shares.metrics import share_statistic

    solve = metrics.method_shares

    def refuse_singular(P, players, method):  # what LAPACK does with an exactly singular P
        if np.any(np.abs(P[..., 0, 1]) > 1 - 1e-9):
            raise np.linalg.LinAlgError("Singular matrix")
        return solve(P, players, method)

    monkeypatch.setattr(metrics, "method_shares", refuse_singular)

    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "y"])
    design = prepare(data, "y", {"a": ["a"], "b": ["b"]}, caller="test")
    statistic = share_statistic(design, "lmg")
    good = np.cov(data[["a", "b", "y"]].to_numpy(), rowvar=False)[None] * 49
    same = data.assign(b=data["a"])  # two identical columns: a singular matrix
    singular = np.cov(same[["a", "b", "y"]].to_numpy(), rowvar=False)[None] * 49
    rows = statistic(np.concatenate([good, singular, good]))
    assert np.isfinite(rows[0]).all() and np.isnan(rows[1]).all()
    assert np.allclose(rows[0], rows[2])
