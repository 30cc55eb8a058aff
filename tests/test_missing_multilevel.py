"""Multilevel shares with every client kept: multiple imputation with the coach in the model."""

import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest

import outcomes as oc
import outcomes.mixed.shares as mixed_shares
from outcomes._errors import UsageError
from outcomes.mixed.imputed import ImputedCoaches
from outcomes.shares.mice import impute

FACTORS = {"relationship": ["bond"], "expectancy": ["hope"]}
TOLERANCE = 1e-10


def _study(seed=0, n_coaches=40, per_coach=25):
    """Clients within coaches; the end score goes missing more often with a high bond (MAR)."""
    rng = np.random.default_rng(seed)
    coach = np.repeat(np.arange(n_coaches), per_coach)
    n = len(coach)
    bond = 0.5 * rng.normal(size=n_coaches)[coach] + rng.normal(size=n)
    hope = 0.4 * bond + rng.normal(size=n)
    end = 0.7 * bond + 0.4 * hope + 0.8 * rng.normal(size=n_coaches)[coach] + rng.normal(size=n)
    full = pd.DataFrame({"coach_id": coach, "bond": bond, "hope": hope, "end": end})
    gone = full.copy()
    gone.loc[rng.random(n) < 1 / (1 + np.exp(0.7 - 2.0 * full.bond)), "end"] = np.nan
    gone.loc[rng.random(n) < 0.05, "hope"] = np.nan
    return full, gone


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def study():
    return _study()


def test_complete_data_give_the_listwise_shares(study):
    full, _ = study
    listwise = oc.multilevel_shares(full, "end", FACTORS)
    pooled = oc.multilevel_shares(full, "end", FACTORS, missing="mi", n_imputations=3, seed=1)
    np.testing.assert_allclose(pooled.shares, listwise.shares, rtol=0, atol=TOLERANCE)
    assert pooled.r2_marginal == pytest.approx(listwise.r2_marginal, abs=TOLERANCE)
    assert pooled.n == listwise.n == len(full)


def test_mi_recovers_the_shares_that_listwise_deletion_biases(study):
    full, gone = study
    truth = oc.multilevel_shares(full, "end", FACTORS).shares
    listwise = _quiet(oc.multilevel_shares, gone, "end", FACTORS).shares
    mi = oc.multilevel_shares(gone, "end", FACTORS, missing="mi", n_imputations=5,
                              seed=1).shares
    assert abs(listwise["relationship"] - truth["relationship"]) > 0.03
    assert abs(mi["relationship"] - truth["relationship"]) < 0.02
    assert (mi - truth).abs().sum() < 0.5 * (listwise - truth).abs().sum()
    assert abs(mi["coach"] - truth["coach"]) < 0.01


def test_the_coach_in_the_imputation_model_keeps_the_coach_variance(study):
    """Imputing without the coach pulls dropouts to the grand mean and shrinks the coach
    share; with the coach indicators it stays where the full data put it."""
    full, gone = study
    truth = oc.multilevel_shares(full, "end", FACTORS).shares["coach"]
    with_coach = oc.multilevel_shares(gone, "end", FACTORS, missing="mi", n_imputations=5,
                                      seed=2).shares["coach"]
    columns = ["bond", "hope", "end"]
    blind = []
    for s in range(5):
        done = gone.copy()
        done[columns] = impute(gone[columns].to_numpy(), [(0,), (1,), (2,)],
                               rng=np.random.default_rng(s))
        blind.append(oc.multilevel_shares(done, "end", FACTORS).shares["coach"])
    assert np.mean(blind) < truth - 0.02
    assert abs(with_coach - truth) < abs(np.mean(blind) - truth) / 3


def test_a_replicate_drawing_every_coach_once_reproduces_the_estimate(study):
    _, gone = study
    estimate = oc.multilevel_shares(gone, "end", FACTORS, covariates=(), missing="mi",
                                    n_imputations=1, seed=5)
    state = ImputedCoaches.of(gone, "end", FACTORS, covariates=(), cluster="coach_id",
                              centring="within", n_imputations=1, seed=5)
    row = partial(mixed_shares._design_rows, reml=True)
    again = state.replicate(row, np.ones((1, len(state.labels))), state.seeds[:1])
    expected = np.r_[estimate.shares.to_numpy(), estimate.r2_marginal]
    np.testing.assert_allclose(again[0], expected, rtol=0, atol=TOLERANCE)


def test_boot_mi_intervals_are_finite_and_repeat_with_the_seed(study):
    _, gone = study
    kwargs = dict(missing="mi", n_imputations=3, n_boot=6, seed=7, n_jobs=1)
    s = oc.multilevel_shares(gone, "end", FACTORS, **kwargs)
    assert s.draws.replicates.shape == (6, 5) and np.isfinite(s.draws.replicates).all()
    assert s.draws.jackknife.shape == (40, 5)
    assert (s.ci.ci_low < s.ci.ci_high).all() and (s.ci.std_error > 0).all()
    assert "each imputed once" in str(s.summary())
    again = oc.multilevel_shares(gone, "end", FACTORS, **kwargs)
    np.testing.assert_array_equal(again.draws.replicates, s.draws.replicates)


def test_result_reports_what_was_missing_and_how_it_was_handled(study):
    _, gone = study
    s = oc.multilevel_shares(gone, "end", FACTORS, missing="mi", n_imputations=4, seed=1)
    assert s.n == len(gone) and s.n_dropped == 0 and s.n_clusters == 40
    report = s.missingness
    assert report.method == "mi" and report.n_imputations == 4
    counts = report.columns.set_index("column").n_missing
    assert counts["end"] == gone.end.isna().sum() and counts["hope"] == gone.hope.isna().sum()
    text = str(s.summary())
    assert "multiple imputation" in text and "4 imputations pooled" in text
    assert s.to_dict()["missing"]["method"] == "mi"
    assert s.shares.sum() == pytest.approx(1.0, abs=TOLERANCE)
    listwise = _quiet(oc.multilevel_shares, gone, "end", FACTORS)
    assert listwise.missingness.method == "listwise"


def test_a_coach_attribute_stays_constant_within_coaches():
    _, gone = _study(seed=3, n_coaches=12, per_coach=10)
    rng = np.random.default_rng(4)
    gone["years"] = rng.integers(1, 20, size=12)[gone.coach_id].astype(float)
    gone.loc[rng.random(len(gone)) < 0.2, "years"] = np.nan
    gone.loc[gone.coach_id == 5, "years"] = np.nan  # never observed for one coach
    factors = {"relationship": ["bond"], "technique": ["years"]}
    state = ImputedCoaches.of(gone, "end", factors, covariates=(), cluster="coach_id",
                              centring="within", n_imputations=2, seed=1)
    done = state.completed(np.arange(state.n), state.groups, state.seeds[0])
    years = pd.Series(done[:, state.columns.index("years")]).groupby(state.groups)
    assert (years.max() - years.min()).max() < 1e-9
    terms = state.design(done, state.groups, state.labels).terms
    assert "years" in terms and "years_within" not in terms
    s = oc.multilevel_shares(gone, "end", factors, missing="mi", n_imputations=2, seed=1)
    assert np.isfinite(s.shares).all()


def test_wrong_missing_options_say_what_to_do(study):
    _, gone = study
    with pytest.raises(UsageError, match="not the likelihood of clients nested in coaches"):
        oc.multilevel_shares(gone, "end", FACTORS, missing="em")
    with pytest.raises(UsageError, match="n_imputations serves"):
        oc.multilevel_shares(gone, "end", FACTORS, n_imputations=5)
    with pytest.raises(UsageError, match="missing must be one of"):
        oc.multilevel_shares(gone, "end", FACTORS, missing="drop")
    with pytest.raises(UsageError, match="statsmodels"):
        oc.multilevel_shares(gone, "end", FACTORS, missing="mi", solver="statsmodels")


def test_replicates_do_not_depend_on_the_number_of_workers():
    _, gone = _study(seed=6, n_coaches=12, per_coach=10)
    kwargs = dict(missing="mi", n_imputations=2, n_boot=50, seed=3, ci_method="percentile")
    one = _quiet(oc.multilevel_shares, gone, "end", FACTORS, n_jobs=1, **kwargs)
    two = _quiet(oc.multilevel_shares, gone, "end", FACTORS, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.draws.replicates, two.draws.replicates)
