"""session_table() and alliance_outcome(): known answers from lme4, lags, faces, errors.

Reference: tests/reference/multilevel/lme4_reference.R, model "alliance", fitted by lme4
1.1-31 to sessions.csv as outcome_next ~ outcome + session + alliance_within +
alliance_between + (1 | coach_id / engagement_id).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import DataError, UsageError
from outcomes.mixed.alliance import AllianceOutcome, alliance_outcome
from outcomes.mixed.sessions import session_table

HERE = Path(__file__).resolve().parent / "reference" / "multilevel"
TERMS = {"(Intercept)": "intercept", "outcome": "outcome_t", "session": "session",
         "alliance_within": "alliance_within", "alliance_between": "alliance_between"}


@pytest.fixture(scope="module")
def sessions():
    return pd.read_csv(HERE / "sessions.csv")


@pytest.fixture(scope="module")
def lme4():
    table = pd.read_csv(HERE / "lme4_reference.csv", comment="#", keep_default_na=False,
                        na_values=[""])
    return table[table.model == "alliance"]


@pytest.mark.parametrize("reml", [True, False])
def test_alliance_model_equals_lme4(sessions, lme4, reml):
    ref = lme4[lme4.method == ("REML" if reml else "ML")]
    res = alliance_outcome(sessions, alliance="alliance", outcome="outcome", reml=reml)
    for quantity in ("estimate", "std_error"):
        expected = ref[ref.quantity == quantity].set_index("term").value.rename(TERMS)
        got = res.fixed_effects[quantity][expected.index]
        np.testing.assert_allclose(got, expected, rtol=1e-4 if quantity == "std_error" else 0,
                                   atol=1e-4 if quantity == "estimate" else 0)
    variance = ref[ref.quantity == "variance"].set_index("term").value
    vc = res.variance_components
    assert vc["coach"] == pytest.approx(variance["coach_id:(Intercept)"], rel=1e-3)
    assert vc["client"] == pytest.approx(variance["engagement_id:coach_id:(Intercept)"],
                                         rel=1e-3)
    assert vc["residual"] == pytest.approx(variance["residual"], rel=1e-3)
    assert res.loglik == pytest.approx(ref[ref.quantity == "loglik"].value.iloc[0], abs=1e-4)
    assert res.converged and not res.singular
    assert res.n == len(sessions) - sessions.engagement_id.nunique()


def test_effects_are_the_split_alliance_coefficients(sessions):
    res = alliance_outcome(sessions, alliance="alliance", outcome="outcome")
    eff = res.effects
    assert list(eff.index) == ["within", "between", "between_minus_within"]
    assert eff.estimate["within"] == res.fixed_effects.estimate["alliance_within"]
    assert eff.estimate["between_minus_within"] == pytest.approx(
        eff.estimate["between"] - eff.estimate["within"], abs=1e-12)
    assert (eff.ci_low < eff.estimate).all() and (eff.estimate < eff.ci_high).all()


def test_lag_pairs_sessions_that_many_apart(sessions):
    res1 = alliance_outcome(sessions, alliance="alliance", outcome="outcome", lag=1)
    res2 = alliance_outcome(sessions, alliance="alliance", outcome="outcome", lag=2)
    per_client = sessions.groupby("engagement_id").size()
    assert res2.n == int((per_client - 2).clip(lower=0).sum())
    assert res2.n < res1.n
    pairs = res2.pairs
    merged = pairs.merge(sessions, left_on=["engagement_id", pairs.session + 2],
                         right_on=["engagement_id", "session"], suffixes=("", "_later"))
    np.testing.assert_allclose(merged.outcome_next, merged.outcome_later)


def test_within_part_has_client_mean_zero_and_coach_level_can_be_dropped(sessions):
    res = alliance_outcome(sessions, alliance="alliance", outcome="outcome", cluster=None,
                           trend=False)
    means = res.pairs.groupby("engagement_id").alliance_within.mean()
    assert np.abs(means).max() < 1e-10
    assert list(res.variance_components.index) == ["client", "residual"]
    assert "session" not in res.fixed_effects.index


def test_session_table_from_canonical_scores():
    scores = pd.DataFrame({
        "engagement_id": ["E1"] * 6 + ["E2"] * 3,
        "occasion": ["session"] * 5 + ["intake"] + ["session"] * 3,
        "session": [1, 1, 2, 2, 2, pd.NA, 1, 1, 1],
        "instrument": ["ors", "srs", "ors", "srs", "srs", "ors", "ors", "srs", "srs"],
        "scale": "total",
        "score": [20.0, 35.0, 22.0, 36.0, 30.0, 18.0, 10.0, 38.0, 20.0],
        "rater": ["client"] * 4 + ["coach"] + ["client"] * 3 + ["coach"],
    })
    engagements = pd.DataFrame({"engagement_id": ["E1", "E2", "E3"],
                                "coach_id": ["C2", "C1", "C1"],
                                "research_consent": [True, True, False]})
    table = session_table(scores, engagements)
    assert list(table.columns) == ["engagement_id", "coach_id", "session", "alliance",
                                   "outcome"]
    assert table.engagement_id.tolist() == ["E2", "E1", "E1"]  # sorted by coach
    assert table.alliance.tolist() == [38.0, 35.0, 36.0]  # the coach's ratings left out
    assert table.outcome.tolist() == [10.0, 20.0, 22.0]  # the intake ORS left out
    no_consent = engagements.assign(research_consent=[True, False, False])
    assert session_table(scores, no_consent).engagement_id.tolist() == ["E1", "E1"]
    with pytest.raises(DataError, match="wai-sr/total"):
        session_table(scores, engagements, alliance=("wai-sr", "total"))


def test_four_faces(sessions):
    res = alliance_outcome(sessions, alliance="alliance", outcome="outcome")
    assert isinstance(res, AllianceOutcome)
    assert set(res.table().kind) == {"effect", "fixed", "variance"}
    assert "within client" in res.summary() and "clients within coaches" in res.summary()
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["effects"]["within"]["estimate"] == pytest.approx(
        res.effects.estimate["within"])
    assert "E001" not in json.dumps(payload)
    ax = res.plot()
    assert len(ax.figure.axes) == 2 and len(ax.lines) == 2
    one = res.plot(ax=ax.figure.axes[0], kind="trajectories")
    assert one is ax.figure.axes[0]


def test_errors(sessions):
    with pytest.raises(UsageError, match="lag"):
        alliance_outcome(sessions, alliance="alliance", outcome="outcome", lag=0)
    with pytest.raises(DataError, match="no such column"):
        alliance_outcome(sessions, alliance="srs", outcome="outcome")
    twice = pd.concat([sessions, sessions.head(1)])
    with pytest.raises(DataError, match="two rows"):
        alliance_outcome(twice, alliance="alliance", outcome="outcome")
    with pytest.raises(DataError, match="pairs"):
        alliance_outcome(sessions.head(8), alliance="alliance", outcome="outcome")
    with pytest.raises(UsageError, match="kind"):
        alliance_outcome(sessions, alliance="alliance", outcome="outcome").plot(kind="pie")


def test_old_group_keyword_warns_and_gives_the_same_model(sessions):
    new = alliance_outcome(sessions, alliance="alliance", outcome="outcome", cluster=None)
    with pytest.warns(FutureWarning, match="cluster"):
        old = alliance_outcome(sessions, alliance="alliance", outcome="outcome", group=None)
    pd.testing.assert_frame_equal(new.table(), old.table())
    assert json.dumps(new.to_dict()) == json.dumps(old.to_dict())
    with pytest.warns(FutureWarning, match="n_clusters"):
        assert old.n_groups is old.n_clusters is None


def test_result_displays_itself_and_names_its_cluster(sessions):
    from outcomes._results import Summary

    res = alliance_outcome(sessions, alliance="alliance", outcome="outcome")
    assert res.cluster == "coach_id" and res.n_clusters == sessions.coach_id.nunique()
    line = repr(res)
    assert line.startswith("<AllianceOutcome: ") and "\n" not in line
    assert len(res.headline()) < 100
    assert f"{res.effects.estimate['within']:.3f}" in res.headline()
    assert isinstance(res.summary(), Summary)
    assert res.to_dict()["cluster"] == "coach_id"


def test_session_table_takes_the_coach_column_by_name():
    scores = pd.DataFrame({"engagement_id": ["E1"] * 2, "occasion": "session",
                           "session": [1, 1], "instrument": ["ors", "srs"], "scale": "total",
                           "score": [20.0, 35.0]})
    engagements = pd.DataFrame({"engagement_id": ["E1"], "coach": ["C1"]})
    table = session_table(scores, engagements, cluster="coach")
    assert list(table.columns) == ["engagement_id", "coach", "session", "alliance", "outcome"]
