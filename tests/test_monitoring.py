"""Monitoring: planted deterioration found at the right session, alliance and review rules by
hand, every reason readable and free of diagnostic words, nothing dropped."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import DataError, UsageError
from outcomes._results import Summary
from outcomes.measures.scoring import score
from outcomes.practice.monitoring import FLAGS, monitor
from outcomes.practice.trajectories import expected_trajectories, session_scores
from outcomes.simulate.synthetic import simulate_study

# Words a flag must never use: it prompts a conversation, it does not judge health.
DIAGNOSTIC = re.compile(r"\b(diagnos\w*|disorder\w*|depress\w*|ill|illness\w*|sick\w*|"
                        r"patholog\w*|symptom\w*|patient\w*|clinical\w*|disease\w*|"
                        r"treatment\w*|therap\w*|psychiatr\w*|mental\w*)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def planted():
    """A simulated study with few coaches; ten engagements made to fall 3 points a session
    from session 3, so that the fall first exceeds 5 points at session 5."""
    study = simulate_study(n_coaches=5, clients_per_coach=40, sessions_mean=9, dropout=0.0,
                           missing_items=0.0, seed=7)
    table = session_scores(score(study.tables["responses"]))
    long_enough = table.groupby("engagement_id")["session"].max() >= 7
    starts = table.groupby("engagement_id")["intake"].first()
    chosen = starts[long_enough & (starts >= 18)].index[:10]
    assert len(chosen) == 10
    for eid in chosen:
        rows = table["engagement_id"] == eid
        s = table.loc[rows, "session"].to_numpy()
        start = starts[eid]
        # 1 and 2: one point above the start; then 3 points lower at every session.
        table.loc[rows, "ors"] = np.clip(start + 1 - 3 * np.clip(s - 2, 0, None), 0, 40)
    fit = expected_trajectories(table, outcome="ors", intake="intake")
    return table, list(chosen), monitor(table, fit, outcome="ors", alliance="srs")


def test_planted_deterioration_is_found_at_the_right_session(planted):
    _, chosen, result = planted
    flags = result.table()
    for eid in chosen:
        rows = flags[flags["engagement_id"] == eid].set_index("session")
        first = rows.index[rows["deterioration"]].min()
        assert first == 5, eid  # change -2 at 3, -5 at 4 (not more than 5), -8 at 5
        assert rows.loc[5, "review"] and rows.loc[5, "flag"] == "review for referral or ending"
        assert rows.loc[first:, "deterioration"].all()
        # Below the band once the fall outruns the body's spread; by the last session always.
        assert rows["not_on_track"].iloc[-1] and not rows.loc[[1, 2], "not_on_track"].any()
        assert not rows.loc[[1, 2], "deterioration"].any()
        assert "8 points below the start" in rows.loc[5, "reason"]


def test_unplanted_engagements_are_rarely_flagged(planted):
    _, chosen, result = planted
    counts = result.table().groupby("engagement_id")[["deterioration", "not_on_track"]].any()
    others = counts.drop(index=chosen)
    assert counts.loc[chosen].all().all()
    assert others["deterioration"].mean() < 0.35 and others["not_on_track"].mean() < 0.35


def test_every_reason_is_readable_and_never_diagnostic(planted):
    _, _, result = planted
    flags = result.table()
    assert set(flags["flag"]) <= set(FLAGS)
    for text in flags["reason"]:
        assert isinstance(text, str) and len(text) > 20
        assert text[0].isupper() and text.rstrip().endswith(".")
        assert not DIAGNOSTIC.search(text), text
    judged = flags[flags["flag"].isin(FLAGS[:5])]
    assert judged["reason"].str.contains(r"session \d+", regex=True).all()


def test_reason_wording_for_a_coach():
    data = pd.DataFrame({"engagement_id": ["E1"] * 2, "session": [1, 5], "ors": [16.0, 14.0],
                         "intake": [15.0, 15.0]})
    fit = _flat_trajectories()
    flags = monitor(data, fit, outcome="ors", intake="intake").table()
    assert flags["reason"].iloc[1] == ("ORS 14 at session 5 is below the expected range 17-29 "
                                       "for clients who started at 15.")


def _flat_trajectories():
    """Trajectories whose band is 17-29 around 23 at every intake and session."""
    rng = np.random.default_rng(0)
    rows = [(f"E{i}", s, 23 + rng.normal(0, 1), 15.0) for i in range(60) for s in range(1, 9)]
    data = pd.DataFrame(rows, columns=["engagement_id", "session", "ors", "intake"])
    fit = expected_trajectories(data, outcome="ors", intake="intake")
    coefficients = fit.coefficients * 0
    coefficients.loc[:, "intercept"] = [17.0, 23.0, 29.0]
    return type(fit)(**{**fit.__dict__, "coefficients": coefficients})


def test_alliance_and_review_rules_by_hand():
    data = pd.DataFrame({
        "engagement_id": ["A"] * 7 + ["B"] * 7,
        "session": list(range(1, 8)) * 2,
        "ors": [20, 21, 22, 22, 22, 22, 26.5] + [20, 21, 22, 23, 24, 25.5, 27],
        "srs": [38, 35.9, 36, 38, 38, 38, 38] + [38] * 7,
    })
    fit = _flat_trajectories()
    flags = monitor(data, fit, outcome="ors", alliance="srs", intake=None).table().set_index(
        ["engagement_id", "session"])
    assert flags.loc[("A", 2), "alliance_concern"] and not flags.loc[("A", 3), "alliance_concern"]
    assert "SRS 35.9 at session 2 is below 36" in flags.loc[("A", 2), "reason"]
    # A: +2 at session 6 (review), +6.5 at 7 (reliable: no review). B: +5.5 at 6 (no review).
    assert not flags.loc[("A", 5), "review"] and flags.loc[("A", 6), "review"]
    assert not flags.loc[("A", 7), "review"] and not flags.loc[("B", 6), "review"]
    assert "a reliable improvement needs more than 5" in flags.loc[("A", 6), "reason"]
    stricter = monitor(data, fit, outcome="ors", alliance="srs", alliance_cutoff=38,
                       review_after=7, rci=7, intake=None).table()
    stricter = stricter.set_index(["engagement_id", "session"])
    assert stricter.loc[("A", 3), "alliance_concern"] and not stricter.loc[("A", 6), "review"]
    assert stricter.loc[("A", 7), "review"]  # 6.5 is reliable at 5 points, not at 7


def test_missing_ratings_are_kept_and_said(planted):
    table, _, _ = planted
    holes = table.copy()
    holes.loc[holes.index[:5], "ors"] = np.nan
    holes.loc[holes.index[5], "intake"] = np.nan
    fit = expected_trajectories(holes, outcome="ors", intake="intake")
    flags = monitor(holes, fit, outcome="ors").table()
    assert len(flags) == len(holes)
    assert (flags.loc[:4, "flag"] == "not assessed").all()
    assert flags.loc[0, "reason"].startswith("No ORS rating at session")


def test_first_session_as_the_start():
    data = pd.DataFrame({"engagement_id": ["E1"] * 3, "session": [1, 2, 3],
                         "ors": [15.0, 9.0, 30.0]})
    flags = monitor(data, _flat_trajectories(), outcome="ors", intake=None).table()
    assert flags["flag"].tolist() == ["starting point", "review for referral or ending",
                                      "on track"]
    assert flags["reason"].iloc[0] == "ORS 15 at session 1 is the starting point."


def test_usage_errors():
    fit = _flat_trajectories()
    data = pd.DataFrame({"engagement_id": ["E1"], "session": [1], "score": [15.0],
                         "srs": [30.0]})
    with pytest.raises(UsageError, match="rci="):
        monitor(data, fit, outcome="score")
    with pytest.raises(UsageError, match="alliance_cutoff="):
        monitor(data.rename(columns={"srs": "bond"}), fit, outcome="score", rci=5,
                alliance="bond")
    with pytest.raises(UsageError, match="expected_trajectories"):
        monitor(data, None, outcome="score", rci=5)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no column 'ors'"):
        monitor(data, fit, outcome="ors")


def test_counts_and_faces(planted):
    _, _, result = planted
    counts = result.counts().set_index("flag")
    flags = result.table()
    assert counts.loc["reliable deterioration", "sessions"] == flags["deterioration"].sum()
    assert counts.loc["not on track", "engagements"] == flags.loc[
        flags["not_on_track"], "engagement_id"].nunique()
    text = result.summary()
    assert "reliable deterioration" in text and "review after 6 sessions" in text
    json.dumps(result.to_dict(), allow_nan=False)
    assert len(result.plot().patches) == 5
    eid = flags["engagement_id"].iloc[0]
    assert result.plot(engagement=eid).get_xlabel() == "session"


def test_the_result_displays_itself(planted):
    _, _, result = planted
    counts = result.counts().set_index("flag")["share_of_engagements"]
    text = repr(result)
    assert text.startswith("<Monitoring: ors: 200 engagements") and "\n" not in text
    assert f"{100 * counts['not on track']:.0f} % not on track" in text
    assert isinstance(result.summary(), Summary)
    assert "<table" in result._repr_html_()


def test_review_after_is_a_whole_number():
    with pytest.raises(UsageError, match="review_after must be a whole number of at least 1"):
        monitor(pd.DataFrame({"engagement_id": ["E1"], "session": [1], "ors": [15.0]}),
                _flat_trajectories(), outcome="ors", review_after=0)
