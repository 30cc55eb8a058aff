"""Expected trajectories: a known course and spread recovered, the band's coverage on fresh
data, intake bands, the intake taken from the first session, and the scores-table helper."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outcomes._errors import DataError, UsageError
from outcomes._results import Summary
from outcomes.practice.trajectories import Trajectories, expected_trajectories, session_scores

SIGMA = 3.0


def course(x, s):
    """The true mean course: a third of the way to 30 per unit of log(session)."""
    return x + (30 - x) * 0.3 * np.log(s)


def simulate(seed, clients=400, sessions=8):
    rng = np.random.default_rng(seed)
    start = rng.uniform(6, 32, clients)
    i, s = np.meshgrid(np.arange(clients), np.arange(1, sessions + 1), indexing="ij")
    i, s = i.ravel(), s.ravel()
    y = course(start[i], s) + rng.normal(0, SIGMA, i.size)
    return pd.DataFrame({"engagement_id": [f"E{k}" for k in i], "session": s, "ors": y,
                         "intake": start[i]})


def test_recovers_a_known_course_and_spread():
    fit = expected_trajectories(simulate(1), outcome="ors", intake="intake")
    x = np.array([10.0, 18.0, 26.0, 10.0, 18.0, 26.0])
    s = np.array([2, 4, 8, 8, 2, 4])
    got = fit.expected(x, s)
    truth = course(x, s)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(got["expected"], truth, atol=0.6)
    np.testing.assert_allclose(got["low"], truth - z * SIGMA, atol=0.8)
    np.testing.assert_allclose(got["high"], truth + z * SIGMA, atol=0.8)


def test_the_band_holds_its_share_of_fresh_clients():
    fit = expected_trajectories(simulate(2), outcome="ors", intake="intake", coverage=0.8)
    fresh = simulate(3)
    band = fit.expected(fresh["intake"], fresh["session"])
    below = (fresh["ors"].to_numpy() < band["low"].to_numpy()).mean()
    above = (fresh["ors"].to_numpy() > band["high"].to_numpy()).mean()
    assert below == pytest.approx(0.10, abs=0.02) and above == pytest.approx(0.10, abs=0.02)


def test_intake_bands_give_a_curve_per_band():
    fit = expected_trajectories(simulate(4), outcome="ors", intake="intake", by_intake="bands",
                                bands=4)
    assert len(fit.edges) == 5 and fit.coefficients.shape == (3, 8)
    assert fit.describe_intake(20.0).startswith("who started between ")
    # Within a band the curve is that of the band's clients: near the true course at its middle.
    middle = np.quantile(simulate(4).groupby("engagement_id")["intake"].first(), 0.375)
    got = fit.expected(middle, 6)["expected"].iloc[0]
    assert got == pytest.approx(course(middle, 6), abs=1.5)


def test_first_session_is_the_intake_when_none_is_given():
    data = simulate(5, clients=100).drop(columns="intake")
    fit = expected_trajectories(data, outcome="ors")
    assert fit.n_observations == len(data) - 100
    assert fit.sessions == (2, 8)


def test_quantile_lines_never_cross():
    fit = expected_trajectories(simulate(6, clients=60), outcome="ors", intake="intake")
    grid = fit.expected(np.linspace(-20, 80, 50), np.tile([1, 30], 25))
    assert (grid["low"] <= grid["expected"]).all() and (grid["expected"] <= grid["high"]).all()


def test_session_scores_from_a_scores_table_keeps_every_administration():
    from outcomes.measures.scoring import score
    from outcomes.simulate.synthetic import simulate_study

    scores = score(simulate_study(n_coaches=3, clients_per_coach=10, seed=3).tables["responses"])
    per = scores[(scores.occasion == "session") & scores.instrument.isin(["ors", "srs"])
                 & (scores.scale == "total")].copy()
    first = per.index[per.instrument == "ors"][0]
    scores.loc[first, "score"] = np.nan  # an administration without a score is still a row
    table = session_scores(scores)
    assert len(table) == len(per.drop_duplicates(["engagement_id", "session"]))
    for row in table.sample(10, random_state=1).itertuples():
        here = per[(per.engagement_id == row.engagement_id) & (per.session == row.session)]
        for key in ("ors", "srs"):
            found = here.loc[here.instrument == key, "score"]
            expected = found.iloc[0] if len(found) else np.nan
            assert getattr(row, key) == pytest.approx(expected, nan_ok=True)
        intake = scores[(scores.occasion == "intake") & (scores.instrument == "ors")
                        & (scores.engagement_id == row.engagement_id)]["score"]
        assert row.intake == pytest.approx(intake.iloc[0] if len(intake) else np.nan, nan_ok=True)
    blank = table[(table.engagement_id == scores.loc[first, "engagement_id"])
                  & (table.session == scores.loc[first, "session"])]
    assert len(blank) == 1 and np.isnan(blank["ors"].iloc[0])


def test_errors_name_the_fix():
    data = simulate(7, clients=10)
    with pytest.raises(DataError, match="at least 20"):
        expected_trajectories(data, outcome="ors", intake="intake")
    with pytest.raises(UsageError, match="'linear' or 'bands'"):
        expected_trajectories(data, outcome="ors", by_intake="spline")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no column 'score'"):
        expected_trajectories(data, outcome="score")
    with pytest.raises(DataError, match="scores table"):
        session_scores(data)


def test_four_faces():
    fit = expected_trajectories(simulate(8, clients=80), outcome="ors", intake="intake")
    assert isinstance(fit, Trajectories)
    assert "Finch, Lambert & Schaalje 2001" in fit.summary()
    table = fit.table()
    assert set(table.columns) == {"intake", "session", "expected", "low", "high"}
    assert len(table) == 3 * 8
    json.dumps(fit.to_dict(), allow_nan=False)
    assert len(fit.plot().lines) == 3


def test_the_result_displays_itself():
    fit = expected_trajectories(simulate(8, clients=80), outcome="ors", intake="intake")
    assert repr(fit) == ("<Trajectories: Expected ors by intake x log(session): 80 clients, "
                         "640 ratings, band of the middle 90 %>")
    assert isinstance(fit.summary(), Summary)
    assert "<table" in fit._repr_html_()


def test_whole_numbers_are_checked():
    data = simulate(9, clients=30)
    with pytest.raises(UsageError, match="bands must be a whole number"):
        expected_trajectories(data, outcome="ors", intake="intake", by_intake="bands",
                              bands=2.5)
    with pytest.raises(UsageError, match="min_clients must be a whole number"):
        expected_trajectories(data, outcome="ors", intake="intake", min_clients=0)
