"""Satterthwaite degrees of freedom, t intervals and p-values of the fixed effects, vs lmerTest.

Reference numbers: tests/reference/multilevel/satterthwaite_reference.R (lmerTest 3.1-3,
lme4 1.1-31) on clients.csv (30 coaches), the bundled sample's rows in sample_rows.csv
(60 coaches) and lme4's sleepstudy (18 subjects), written to satterthwaite_reference.csv.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from outcomes._errors import UsageError
from outcomes.mixed.fit import multilevel
from outcomes.mixed.small_sample import VarianceParameters, satterthwaite_df

HERE = Path(__file__).resolve().parent / "reference" / "multilevel"
CLIENTS = {"client": ["baseline"], "relationship": ["alliance"], "expectancy": ["hope"]}
SAMPLE = {"client": ["baseline"], "relationship": ["alliance"], "expectancy": ["hope_agency"]}
MODELS = {  # model in the R script -> data file, outcome, factors, slopes, centring, REML, cluster
    "clients_ri": ("clients", "end_score", CLIENTS, (), "none", True, "coach_id"),
    "clients_between": ("clients", "end_score", CLIENTS, (), "within", True, "coach_id"),
    "clients_between_ml": ("clients", "end_score", CLIENTS, (), "within", False, "coach_id"),
    "clients_slope": ("clients", "end_score", CLIENTS, ("alliance",), "within", True,
                      "coach_id"),
    "clients_singular": ("clients", "end_score", ["baseline", "alliance"], (), "none", True,
                         "team"),
    "sample_between": ("sample_rows", "end_score", SAMPLE, (), "within", True, "coach_id"),
    "sample_slope": ("sample_rows", "end_score", SAMPLE, ("alliance",), "within", True,
                     "coach_id"),
    "sleep_ri": ("sleepstudy", "Reaction", ["Days"], (), "none", True, "Subject"),
    "sleep_slope": ("sleepstudy", "Reaction", ["Days"], ("Days",), "none", True, "Subject"),
}


@pytest.fixture(scope="module")
def lmertest():
    return pd.read_csv(HERE / "satterthwaite_reference.csv", comment="#")


def _data(name: str) -> pd.DataFrame:
    data = pd.read_csv(HERE / f"{name}.csv")
    if name == "clients":  # the R script's grouping without effect (a singular fit)
        data["team"] = [f"T{i % 7}" for i in range(len(data))]
    return data


def _fit(model: str, **options):
    name, outcome, factors, slopes, centring, reml, cluster = MODELS[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return multilevel(_data(name), outcome, factors, random_slopes=slopes,
                          centring=centring, reml=reml, cluster=cluster, **options)


@pytest.mark.parametrize("model", list(MODELS))
def test_df_p_values_and_intervals_equal_lmertest(lmertest, model):
    fit = _fit(model)
    rows = lmertest[(lmertest.model == model) & lmertest.term.notna()]
    ref = rows.pivot(index="term", columns="quantity", values="value")
    ours = fit.fixed_effects
    assert len(ref) == len(ours)
    ours = ours.loc[[t.replace("(Intercept)", "intercept") for t in ref.index]]
    np.testing.assert_allclose(ours.df, ref.df, rtol=1e-4)
    np.testing.assert_allclose(ours.p_value, ref.p_value, rtol=1e-4)
    np.testing.assert_allclose(ours.std_error, ref.std_error, rtol=1e-4)
    scale = np.abs(ref.estimate).max()
    for column in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(ours[column], ref[column], rtol=0, atol=1e-5 * scale)
    singular = lmertest[(lmertest.model == model) & (lmertest.quantity == "singular")]
    assert fit.singular == bool(singular.value.iloc[0])


def test_between_coach_effect_has_fewer_df_than_clients(lmertest):
    fit = _fit("clients_between")
    df = fit.fixed_effects.df
    assert df["hope_between"] < 40 < 400 < df["hope_within"]
    wald = _fit("clients_between", df_method="wald").fixed_effects
    assert fit.fixed_effects.p_value["hope_between"] > wald.p_value["hope_between"]
    assert (fit.fixed_effects.ci_high - fit.fixed_effects.ci_low
            > wald.ci_high - wald.ci_low).all()


def test_sample_rows_are_the_bundled_sample():
    import outcomes as oc

    stored = pd.read_csv(HERE / "sample_rows.csv")
    table = oc.load_sample().analysis_table()[list(stored.columns)].dropna()
    assert len(table) == len(stored)
    assert (table.coach_id.to_numpy() == stored.coach_id.to_numpy()).all()
    np.testing.assert_allclose(table.drop(columns="coach_id").to_numpy(dtype=float),
                               stored.drop(columns="coach_id").to_numpy(), rtol=1e-9)


def test_wald_option_keeps_normal_intervals():
    fit = _fit("sleep_slope", df_method="wald")
    fe = fit.fixed_effects
    assert np.isinf(fe.df).all()
    z = fe.estimate / fe.std_error
    np.testing.assert_allclose(fe.p_value, 2 * ndtr(-np.abs(z)), rtol=1e-10)
    np.testing.assert_allclose(fe.ci_high - fe.estimate, 1.959963984540054 * fe.std_error,
                               rtol=1e-12)
    assert "Wald (normal)" in fit.summary() and fit.to_dict()["df_method"] == "wald"
    assert fit.to_dict()["fixed_effects"]["Days"]["df"] is None  # infinite: JSON null


def test_df_shown_in_summary_table_and_json():
    fit = _fit("sleep_slope")
    assert "Satterthwaite t intervals" in fit.summary()
    fixed = fit.table().query("kind == 'fixed'")
    np.testing.assert_array_equal(fixed.df.to_numpy(), fit.fixed_effects.df.to_numpy())
    assert fit.to_dict()["fixed_effects"]["Days"]["df"] == pytest.approx(17, rel=1e-4)


def test_unknown_df_method_is_refused():
    with pytest.raises(UsageError, match="df_method"):
        _fit("sleep_ri", df_method="kenward")


def test_df_do_not_depend_on_the_units():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(15), rng.integers(3, 12, size=15))
    n = len(g)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=15)[g]])
    y = 2 + x @ [0.5, 1.0] + rng.normal(size=15)[g] * 0.8 + rng.normal(size=n)
    X = np.column_stack([np.ones(n), x])
    Z = np.column_stack([np.ones(n), x[:, 0]])
    T = np.array([[0.6, 0.1], [0.1, 0.2]])
    base = satterthwaite_df(X, Z, g, y, T, 1.3)
    scale = np.diag([1.0, 3.0, 0.5])  # predictors rescaled; T and sigma² follow the outcome
    Zs = Z @ np.diag([1.0, 3.0])
    Ts = 100 * np.diag([1.0, 1 / 3]) @ T @ np.diag([1.0, 1 / 3])
    again = satterthwaite_df(X @ scale, Zs, g, 10 * y, Ts, 130.0)
    np.testing.assert_allclose(again, base, rtol=1e-8)
    assert np.all((base > 0) & np.isfinite(base))


def test_variance_parameters_jacobian_matches_finite_differences():
    T, sigma2 = np.array([[0.6, 0.1], [0.1, 0.2]]), 1.3
    params = VarianceParameters.at(T, sigma2)

    def phi(psi):
        lam = np.zeros((2, 2))
        for value, (i, j) in zip(psi[:-1], params.pairs, strict=True):
            lam[i, j] = value
        full = psi[-1] ** 2 * lam @ lam.T
        return np.r_[[full[i, j] for i, j in params.pairs], psi[-1] ** 2]

    np.testing.assert_allclose(phi(params.psi), [0.6, 0.1, 0.2, 1.3], rtol=1e-12)
    h = 1e-6
    for a in range(len(params.psi)):
        step = np.eye(len(params.psi))[a] * h
        numeric = (phi(params.psi + step) - phi(params.psi - step)) / (2 * h)
        np.testing.assert_allclose(params.jacobian[:, a], numeric, rtol=1e-7, atol=1e-9)
        second = (phi(params.psi + step) - 2 * phi(params.psi) + phi(params.psi - step)) / h**2
        np.testing.assert_allclose(params.hessians[:, a, a], second, rtol=1e-4, atol=1e-4)


def test_cli_reports_satterthwaite_df_and_keeps_wald_on_request(lmertest, tmp_path):
    from tests.e2e._outcomes_cli import run

    path = tmp_path / "sleep.csv"
    _data("sleepstudy").to_csv(path, index=False)
    args = ["multilevel", str(path), "--outcome", "Reaction", "--factor", "technique=Days",
            "--cluster", "Subject", "--random-slope", "Days", "--centring", "none"]
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    days = json.loads(result.stdout)["fit"]["fixed_effects"]["Days"]
    ref = lmertest[(lmertest.model == "sleep_slope") & (lmertest.term == "Days")]
    ref = ref.set_index("quantity").value
    assert days["df"] == pytest.approx(ref["df"], rel=1e-4)
    assert days["p_value"] == pytest.approx(ref["p_value"], rel=1e-4)
    wald = run(*args, "--df-method", "wald", "--json")
    assert wald.returncode == 0, wald.stderr
    assert json.loads(wald.stdout)["fit"]["fixed_effects"]["Days"]["df"] is None
    text = run(*args)
    assert text.returncode == 0 and "Satterthwaite" in text.stdout and " df" in text.stdout
