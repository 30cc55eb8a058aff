"""Tests of the study simulator: its truth, its tables and its arguments."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes import instruments
from outcomes._errors import UsageError
from outcomes.simulate.generative import (
    FACTORS,
    draw_latent,
    generative_model,
    shapley_r2,
)
from outcomes.simulate.synthetic import SimulatedStudy, simulate_study

SEED = 20261129

COLUMNS = {
    "coaches": ["coach_id", "years_experience", "accreditation", "orientation"],
    "engagements": ["engagement_id", "client_id", "coach_id", "start_date", "end_date",
                    "sponsor", "status", "research_consent"],
    "sessions": ["engagement_id", "session", "date", "duration_min", "techniques", "adherence"],
    "responses": ["engagement_id", "occasion", "session", "instrument", "item", "value",
                  "rater"],
}


@pytest.fixture(scope="module")
def study() -> SimulatedStudy:
    return simulate_study(seed=SEED)


# ------------------------------------------------------------------ the truth


def _r2(sigma: np.ndarray, b: np.ndarray, var_y: float, members: tuple[int, ...]) -> float:
    """Population R² of y = Xb + error on the columns ``members`` (normal equations)."""
    if not members:
        return 0.0
    idx = list(members)
    cov = sigma[:, idx].T @ b
    return float(cov @ np.linalg.inv(sigma[np.ix_(idx, idx)]) @ cov) / var_y


def _shapley_by_orderings(sigma: np.ndarray, b: np.ndarray, var_y: float) -> np.ndarray:
    """LMG as the mean increment over all p! orderings (a second route to the same value)."""
    p = len(b)
    total = np.zeros(p)
    orderings = list(itertools.permutations(range(p)))
    for order in orderings:
        for position, k in enumerate(order):
            before = tuple(sorted(order[:position]))
            total[k] += _r2(sigma, b, var_y, tuple(sorted(before + (k,)))) - _r2(
                sigma, b, var_y, before)
    return total / len(orderings)


@pytest.mark.parametrize("shares, rho", [
    ((0.40, 0.30, 0.15, 0.15), 0.3),
    ((0.70, 0.10, 0.10, 0.10), 0.3),
    ((0.25, 0.25, 0.25, 0.25), 0.6),
    ((0.10, 0.20, 0.30, 0.40), -0.2),
])
def test_population_shapley_shares_hit_the_targets(shares, rho):
    model = generative_model(shares=dict(zip(FACTORS, shares, strict=True)), r2=0.35,
                             icc=0.05, factor_correlation=rho)
    phi = _shapley_by_orderings(model.correlation, model.coefficients, model.total_variance)
    assert phi.sum() == pytest.approx(0.35, abs=1e-10)
    np.testing.assert_allclose(phi / phi.sum(), shares, atol=1e-8, rtol=0)
    assert model.population_r2() == pytest.approx(0.35, abs=1e-12)
    assert model.coach_variance / model.total_variance == pytest.approx(0.05, abs=1e-12)


def test_uncorrelated_factors_share_by_squared_coefficients():
    # Known answer: with R = I the LMG share of a factor is b_k² / Σ b² (Grömping 2007).
    model = generative_model(shares={"client": 0.4, "relationship": 0.3, "expectancy": 0.2,
                                     "technique": 0.1}, r2=0.5, icc=0.1, factor_correlation=0)
    b = model.coefficients
    np.testing.assert_allclose(b**2 / (b**2).sum(), [0.4, 0.3, 0.2, 0.1], atol=1e-10)
    assert (b**2).sum() == pytest.approx(0.5 * 36, rel=1e-10)


def test_shapley_two_predictors_by_hand():
    # y = x1 + e, var y = 2, corr(x1, x2) = .5: R²{1} = .5, R²{2} = .125, R²{1,2} = .5,
    # so LMG = (.5 + (.5 − .125)) / 2 = .4375 and (.125 + 0) / 2 = .0625.
    sigma = np.array([[1.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(shapley_r2(sigma, sigma @ [1.0, 0.0], 2.0), [0.4375, 0.0625])


def test_large_latent_sample_has_target_r2_and_icc():
    model = generative_model(shares=dict(zip(FACTORS, (0.4, 0.3, 0.15, 0.15), strict=True)),
                             r2=0.35, icc=0.10, factor_correlation=0.3)
    n_coaches, per = 2000, 40
    draw = draw_latent(model, n_coaches, per, np.random.default_rng(7))
    x = np.column_stack([np.ones(len(draw.change)), draw.factors])
    fitted = x @ np.linalg.lstsq(x, draw.change, rcond=None)[0]
    r2 = 1 - np.var(draw.change - fitted) / np.var(draw.change)
    assert r2 == pytest.approx(0.35, abs=0.03)
    # one-way ANOVA estimator of the ICC of change across coaches
    groups = draw.change.reshape(n_coaches, per)
    within = groups.var(axis=1, ddof=1).mean()
    between = per * groups.mean(axis=1).var(ddof=1)
    icc = (between - within) / (between + (per - 1) * within)
    assert icc == pytest.approx(0.10, abs=0.03)


def test_truth_of_a_study(study):
    truth = study.truth
    assert truth["shares"] == pytest.approx(dict(zip(FACTORS, (0.4, 0.3, 0.15, 0.15),
                                                     strict=True)))
    assert (truth["r2"], truth["icc"], truth["seed"]) == (0.35, 0.05, SEED)
    corr = np.array([[truth["latent_correlation"][f][g] for g in FACTORS] for f in FACTORS])
    np.testing.assert_allclose(corr, 0.7 * np.eye(4) + 0.3)
    variance = truth["variance"]
    assert variance["explained"] + variance["coach"] + variance["residual"] == pytest.approx(
        variance["total"])
    reliability = truth["reliability"]
    assert set(reliability) == {"lot-r", "mspss", "gse", "urica", "ahs", "ceq", "wai-sr",
                                "wai-sr:coach", "srs", "ors", "ors-change", "adherence"}
    for entry in reliability.values():
        figures = [entry[k] for k in ("reliability", "factor_validity") if k in entry]
        assert figures and all(0 < v < 1 for v in figures)
    # a scale cannot share more with its factor than with its own true score
    assert all(e["factor_validity"] < e.get("reliability", 1) for e in reliability.values()
               if "factor_validity" in e)
    frame = study.table()
    assert list(frame.columns) == ["factor", "share"]
    assert frame["share"].sum() == pytest.approx(1.0)
    assert json.loads(json.dumps(study.to_dict()))["parameters"]["n_coaches"] == 60
    assert "seed 20261129" in study.summary()
    assert repr(study).startswith("<SimulatedStudy: 60 coaches, ") and "(seed 20261129)>" in \
        repr(study)


def test_custom_shares_are_kept():
    shares = {"client": 0.7, "relationship": 0.1, "expectancy": 0.1, "technique": 0.1}
    small = simulate_study(n_coaches=3, clients_per_coach=4, shares=shares, seed=1)
    assert small.truth["shares"] == pytest.approx(shares)
    model = generative_model(shares=shares, r2=0.35, icc=0.05, factor_correlation=0.3)
    assert model.population_shares() == pytest.approx(shares, abs=1e-8)
    assert small.truth["coefficients"] == pytest.approx(
        dict(zip(FACTORS, model.coefficients, strict=True)))


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.floats(0.05, 1.0), min_size=4, max_size=4),
       rho=st.floats(-0.3, 0.7), r2=st.floats(0.05, 0.8))
def test_any_reachable_split_is_hit_exactly(weights, rho, r2):
    shares = dict(zip(FACTORS, np.array(weights) / sum(weights), strict=True))
    try:
        model = generative_model(shares=shares, r2=r2, icc=0.05, factor_correlation=rho)
    except UsageError as error:  # a split the correlation puts out of reach is refused
        assert "factor_correlation" in str(error)
        return
    assert model.population_shares() == pytest.approx(shares, abs=1e-8)
    assert model.population_r2() == pytest.approx(r2, abs=1e-10)


# ------------------------------------------------------------------ the tables


def test_same_seed_same_tables_other_seed_other_tables():
    first = simulate_study(n_coaches=5, clients_per_coach=6, seed=3)
    again = simulate_study(n_coaches=5, clients_per_coach=6, seed=3)
    other = simulate_study(n_coaches=5, clients_per_coach=6, seed=4)
    for name in COLUMNS:
        pd.testing.assert_frame_equal(first.tables[name], again.tables[name])
    assert not first.tables["responses"].equals(other.tables["responses"])


def test_canonical_columns_and_types(study):
    for name, columns in COLUMNS.items():
        assert list(study.tables[name].columns) == columns
    e, s, r = (study.tables[k] for k in ("engagements", "sessions", "responses"))
    for frame, column in [(e, "engagement_id"), (e, "client_id"), (e, "coach_id"),
                          (s, "engagement_id"), (s, "techniques"), (r, "instrument")]:
        assert pd.api.types.is_string_dtype(frame[column]), column
    for frame, column in [(e, "start_date"), (e, "end_date"), (s, "date")]:
        assert pd.api.types.is_datetime64_dtype(frame[column]), column
    assert str(s["session"].dtype) == str(r["session"].dtype) == str(r["item"].dtype) == "Int64"
    assert str(e["research_consent"].dtype) == "boolean"
    assert r["value"].dtype == float and s["adherence"].between(1, 5).all()
    assert set(e["sponsor"]) == {"self", "organisation"}
    assert set(e["status"]) <= {"completed", "ongoing", "dropped", "referred"}
    assert r.loc[r["occasion"] == "session", "session"].notna().all()
    assert r.loc[r["occasion"] != "session", "session"].isna().all()


def test_the_study_passes_the_project_validation(study):
    from outcomes.validation.rules import validate_tables

    assert validate_tables(study.tables).ok


def test_default_study_has_realistic_sizes(study):
    counts = study.truth["counts"]
    assert counts["engagements"] == 1200 and counts["coaches"] == 60
    assert 8000 < counts["sessions"] < 10500
    assert len(study.tables["responses"]) == counts["responses"] < 350_000
    share_dropped = counts["dropped"] / counts["engagements"]
    assert share_dropped == pytest.approx(0.12, abs=0.04)


def test_sessions_are_numbered_and_dated_in_order(study):
    s, e = study.tables["sessions"], study.tables["engagements"]
    assert not s.duplicated(["engagement_id", "session"]).any()
    numbers = s.groupby("engagement_id")["session"]
    assert (numbers.min() == 1).all() and (numbers.max() == numbers.count()).all()
    assert (s.groupby("engagement_id")["date"].diff().dropna() >= pd.Timedelta(0)).all()
    assert s["session"].between(1, 20).all()
    first = s[s["session"] == 1].set_index("engagement_id")["date"]
    starts = e.set_index("engagement_id")["start_date"]
    assert (first == starts.loc[first.index]).all()
    ends = e.dropna(subset=["end_date"]).set_index("engagement_id")["end_date"]
    assert (ends == s.groupby("engagement_id")["date"].max().loc[ends.index]).all()
    assert e.loc[e["status"] == "ongoing", "end_date"].isna().all()
    codes = instruments.technique_codes()
    used = {c for row in s["techniques"] for c in row.split(";")}
    assert used <= codes
    assert s["techniques"].str.count(";").between(0, 2).all()


def test_every_item_value_is_on_its_instrument_scale(study):
    r = study.tables["responses"]
    for key, group in r.groupby("instrument"):
        form = instruments.get(key)
        ranges = {i: form.range_of(i) for i in form.items}
        low = group["item"].map({i: r.min for i, r in ranges.items()})
        high = group["item"].map({i: r.max for i, r in ranges.items()})
        assert group["value"].between(low, high).all(), key
        steps = {i: r.step or (0.1 if r.decimals else 1.0) for i, r in ranges.items()}
        step = group["item"].map(steps)
        units = group["value"] / step
        assert np.allclose(units, units.round(), atol=1e-9), key
    ceq = r[(r["instrument"] == "ceq") & r["item"].isin([4, 6])]
    assert ceq["value"].max() > 9  # the 0–100 items use their own range


def test_reverse_keyed_and_negative_items_run_against_the_others():
    big = simulate_study(n_coaches=20, clients_per_coach=20, missing_items=0, seed=5)
    r = big.tables["responses"]
    lot = r[r["instrument"] == "lot-r"].pivot(index="engagement_id", columns="item",
                                               values="value")
    assert lot[1].corr(lot[4]) > 0.2  # positively worded items agree
    assert lot[1].corr(lot[3]) < -0.2  # item 3 is stored reversed
    urica = r[r["instrument"] == "urica"].pivot(index="engagement_id", columns="item",
                                                 values="value")
    assert urica[2].corr(urica[1]) < -0.1  # precontemplation falls as readiness rises


def test_occasions_follow_the_design(study):
    r, e = study.tables["responses"], study.tables["engagements"]
    status = e.set_index("engagement_id")["status"]
    ended = r.loc[r["occasion"] == "end", "engagement_id"].unique()
    assert set(status.loc[ended]) == {"completed"}
    dropped = status.index[status == "dropped"]
    assert not r.loc[r["occasion"] == "end", "engagement_id"].isin(dropped).any()
    intake = set(r.loc[r["occasion"] == "intake", "instrument"])
    assert intake == {"ors", "lot-r", "mspss", "gse", "urica", "ahs", "ceq"}
    coach = r[r["rater"] == "coach"]
    assert set(coach["instrument"]) == {"wai-sr"} and set(coach["session"]) == {3}
    wai = r[(r["instrument"] == "wai-sr") & (r["rater"] == "client")]
    assert set(wai["session"]) == {1, 3}
    goals = r[r["instrument"] == "gas"].groupby("engagement_id")["item"].max()
    assert goals.between(1, 3).all() and goals.max() == 3


def test_missing_items_drop_rows():
    full = simulate_study(n_coaches=4, clients_per_coach=10, missing_items=0, seed=2)
    holes = simulate_study(n_coaches=4, clients_per_coach=10, missing_items=0.2, seed=2)
    intake = full.tables["responses"].query("occasion == 'intake'")
    assert (intake.groupby("engagement_id").size() == 4 + 10 + 12 + 10 + 32 + 12 + 6).all()
    ratio = len(holes.tables["responses"]) / len(full.tables["responses"])
    assert ratio == pytest.approx(0.8, abs=0.03)


def test_write_produces_readable_files(study, tmp_path):
    folder = study.write(tmp_path / "out")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["coaches.csv", "engagements.csv", "responses.csv", "sessions.csv",
                     "truth.json"]
    engagements = pd.read_csv(folder / "engagements.csv", dtype=str)
    assert engagements["start_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert list(engagements.columns) == COLUMNS["engagements"]
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    assert truth == study.to_dict()


# ------------------------------------------------------------------ the arguments


@pytest.mark.parametrize("shares, words", [
    ({"client": 0.5, "relationship": 0.3, "expectancy": 0.15, "technique": 0.15}, "1.1"),
    ({"client": 0.5, "relationship": 0.5}, "missing"),
    ({"client": 0.4, "relationship": 0.3, "expectancy": 0.15, "method": 0.15}, "method"),
    ({"client": 1.2, "relationship": -0.2, "expectancy": 0.0, "technique": 0.0}, "1.2"),
    ([0.4, 0.3, 0.15, 0.15], "mapping"),
    ({"client": 0.97, "relationship": 0.01, "expectancy": 0.01, "technique": 0.01},
     "factor_correlation"),
])
def test_bad_shares_are_refused_with_a_fix(shares, words):
    with pytest.raises(UsageError, match=words):
        simulate_study(n_coaches=2, clients_per_coach=2, shares=shares, seed=1)


@pytest.mark.parametrize("options, words", [
    ({"r2": 0.0}, "r2"),
    ({"r2": 0.7, "icc": 0.3}, "residual"),
    ({"factor_correlation": -0.5}, "positive definite"),
    ({"n_coaches": 2.5}, "whole number"),
    ({"dropout": 1.0}, "dropout"),
    ({"start": "2024-02-30"}, "YYYY-MM-DD"),
    ({"seed": "x"}, "seed"),
])
def test_bad_options_are_refused(options, words):
    with pytest.raises(UsageError, match=words):
        simulate_study(**{"n_coaches": 2, "clients_per_coach": 2, **options})


def test_seed_none_records_a_seed_that_reproduces():
    drawn = simulate_study(n_coaches=2, clients_per_coach=3)
    again = simulate_study(n_coaches=2, clients_per_coach=3, seed=drawn.truth["seed"])
    pd.testing.assert_frame_equal(drawn.tables["responses"], again.tables["responses"])
    assert isinstance(drawn.truth["seed"], int)
