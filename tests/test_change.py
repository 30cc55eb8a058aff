"""Reliable and clinically significant change: known answers by hand, from base R, and from
the published output of R's clinicalsignificance; effect sizes against pingouin; GAS by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest
from statsmodels.stats.proportion import proportion_confint

from outcomes._errors import DataError, UsageError
from outcomes._results import Summary
from outcomes.measures.goals import gas_scores
from outcomes.practice.change import change, wilson_interval

HERE = Path(__file__).resolve().parent
REAL = HERE / "data" / "real"
REFERENCE = HERE / "reference" / "change"


def jacobson() -> pd.DataFrame:
    raw = pd.read_csv(REAL / "jacobson1989_marital_therapy.csv")
    return raw.pivot(index="subject", columns="time", values="gds")[["pre", "post"]]


def claus(outcome: str) -> pd.DataFrame:
    raw = pd.read_csv(REAL / "claus2020_depression_inpatients.csv")
    wide = raw[raw.time.isin([1, 4])].pivot(index="id", columns="time", values=outcome)
    arms = raw.drop_duplicates("id").set_index("id")["treatment"]
    return pd.DataFrame({"pre": wide[1], "post": wide[4], "treatment": arms})


# --- Hand-computed cases -------------------------------------------------------------------
# pre 10, 14, 18: mean 14, SD 4. Reliability .75: SE = 4 * sqrt(.25) = 2, S_diff = 2 sqrt(2).
HAND = pd.DataFrame({"pre": [10.0, 14.0, 18.0], "post": [20.0, 14.0, 10.0]})


def test_jacobson_truax_by_hand():
    result = change(HAND, pre="pre", post="post", reliability=0.75)
    table = result.table()
    assert table["change"].tolist() == [10.0, 0.0, -8.0]
    np.testing.assert_allclose(table["rci"], [10 / (2 * math.sqrt(2)), 0, -8 / (2 * math.sqrt(2))],
                               rtol=1e-12)
    assert table["category"].tolist() == ["improved", "unchanged", "deteriorated"]
    assert result.reliable_change == pytest.approx(1.96 * 2 * math.sqrt(2))


def test_regression_based_indices_by_hand():
    # centre(pre) = 14 + .75 (pre - 14): 11, 14, 17.
    gln = change(HAND, pre="pre", post="post", reliability=0.75, method="gulliksen-lord-novick")
    np.testing.assert_allclose(gln.table()["rci"],
                               np.array([9.0, 0.0, -7.0]) / (4 * math.sqrt(1 - 0.75**2)))
    en = change(HAND, pre="pre", post="post", reliability=0.75, method="edwards-nunnally")
    np.testing.assert_allclose(en.table()["rci"], np.array([9.0, 0.0, -7.0]) / 2.0)
    # Hsu: centre = mean(post) + .75 (pre - 14), mean(post) = 44/3.
    hll = change(HAND, pre="pre", post="post", reliability=0.75, method="hsu-linn-lord")
    centre = 44 / 3 + 0.75 * (HAND["pre"] - 14)
    np.testing.assert_allclose(hll.table()["rci"],
                               (HAND["post"] - centre) / (4 * math.sqrt(1 - 0.75**2)))


@pytest.mark.parametrize(("kind", "higher", "expected"), [
    ("a", False, 32 - 2 * 6), ("b", False, 10 + 2 * 4), ("c", False, (6 * 10 + 4 * 32) / 10),
    ("a", True, 32 + 2 * 6), ("b", True, 10 - 2 * 4), ("c", True, (6 * 10 + 4 * 32) / 10),
])
def test_jacobson_truax_cutoffs_by_hand(kind, higher, expected):
    norms = {"dysfunctional_mean": 32, "dysfunctional_sd": 6, "functional_mean": 10,
             "functional_sd": 4}
    result = change(HAND, pre="pre", post="post", reliability=0.75, norms=norms, cutoff=kind,
                    higher_is_better=higher)
    assert result.cutoff == pytest.approx(expected)


def test_recovered_needs_reliable_improvement_and_crossing_the_cutoff():
    data = pd.DataFrame({"pre": [10.0, 10.0, 22.0, 14.0, 18.0],
                         "post": [30.0, 17.0, 30.0, 30.0, 18.0]})
    result = change(data, pre="pre", post="post", reliability=0.9, cutoff=20)
    # S_diff = SD(pre) * sqrt(.2); SD(pre) = sqrt(27.2) = 5.215 -> reliable change 4.57 points.
    assert result.table()["category"].tolist() == ["recovered", "improved", "improved",
                                                   "recovered", "unchanged"]


# --- Published and independent references --------------------------------------------------
def test_per_client_indices_equal_base_r():
    expected = pd.read_csv(REFERENCE / "rci_reference.csv", comment="#")
    datasets = {"jacobson1989_gds": jacobson(), "claus2020_bdi": claus("bdi")}
    for (name, method), rows in expected.groupby(["data", "method"]):
        result = change(datasets[name], pre="pre", post="post", reliability=0.8, method=method,
                        higher_is_better=False, cutoff="a")
        table = result.table().set_index("client").loc[rows["client"]]
        np.testing.assert_allclose(table["rci"], rows["rci"], rtol=1e-10)
        assert table["category"].tolist() == rows["category"].tolist(), (name, method)
        assert result.cutoff == pytest.approx(rows["cutoff"].iloc[0], rel=1e-12)


def test_counts_equal_clinicalsignificance_output():
    expected = pd.read_csv(REFERENCE / "clinicalsignificance_counts.csv", comment="#")
    for row in expected.itertuples():
        data = jacobson() if row.data == "jacobson1989" else claus(row.outcome)
        norms = None
        if not pd.isna(row.functional_mean):
            norms = {"functional_mean": row.functional_mean, "functional_sd": row.functional_sd}
        result = change(data, pre="pre", post="post", reliability=0.8, method=row.method,
                        higher_is_better=False, cutoff=row.cutoff, norms=norms)
        table = result.table()
        if isinstance(row.group, str):
            table = table[data["treatment"].to_numpy() == row.group]
        counts = table["category"].value_counts()
        got = [int(counts.get(c, 0)) for c in ("recovered", "improved", "unchanged",
                                               "deteriorated")]
        assert got == [row.recovered, row.improved, row.unchanged,
                       row.deteriorated + row.harmed], row


def test_claus_cutoff_a_matches_the_published_summary():
    # clinicalsignificance: "cutoff type a with a value of 19.16", M clinical 35.48, SD 8.16.
    result = change(claus("bdi"), pre="pre", post="post", reliability=0.8,
                    higher_is_better=False, cutoff="a")
    assert round(result.cutoff, 2) == 19.16
    assert int(result.counts["missing"]) == 3  # 43 patients, 40 with both scores


# --- Effect sizes --------------------------------------------------------------------------
def _effect(result, measure):
    return result.effect_sizes.set_index("measure").loc[measure]


@pytest.mark.parametrize("higher", [True, False])
def test_hedges_g_equals_pingouin(higher):
    data = jacobson().dropna() if not higher else claus("who").dropna()
    result = change(data, pre="pre", post="post", reliability=0.8, higher_is_better=higher)
    better, worse = (data["post"], data["pre"]) if higher else (data["pre"], data["post"])
    expected = pingouin.compute_effsize(better, worse, paired=True, eftype="hedges")
    assert _effect(result, "hedges_g_av")["estimate"] == pytest.approx(expected, rel=1e-12)


def test_pre_post_d_and_its_interval_by_formula():
    data = jacobson().dropna()
    result = change(data, pre="pre", post="post", reliability=0.8, higher_is_better=False)
    n, r = len(data), np.corrcoef(data["pre"], data["post"])[0, 1]
    d = (data["pre"] - data["post"]).mean() / data["pre"].std(ddof=1)
    se = math.sqrt(2 * (1 - r) / n + d**2 / (2 * n))  # Becker 1988
    row = _effect(result, "pre_post_d")
    assert row["estimate"] == pytest.approx(d, rel=1e-12)
    assert row["std_error"] == pytest.approx(se, rel=1e-12)
    assert row["ci_low"] == pytest.approx(d - 1.959963984540054 * se, rel=1e-9)


def test_severity_adjusted_on_its_own_reference_is_the_mean_change_over_sd():
    data = claus("bdi")
    result = change(data, pre="pre", post="post", reliability=0.8, higher_is_better=False)
    row = _effect(result, "severity_adjusted")
    assert row["estimate"] == pytest.approx(_effect(result, "pre_post_d")["estimate"], rel=1e-10)
    complete = data.dropna()
    delta = complete["pre"] - complete["post"]
    se = delta.std(ddof=1) / math.sqrt(len(delta)) / complete["pre"].std(ddof=1)
    assert row["std_error"] == pytest.approx(se, rel=1e-10)


def test_severity_adjusted_on_the_clinical_range_adjusts_for_intake():
    # Reference: the clients who start above 20 (lower is better, cutoff 20). The mean SAES is
    # [mean change - b (mean intake - reference mean intake) ] / reference SD of intake.
    rng = np.random.default_rng(4)
    pre = rng.uniform(10, 40, 60)
    data = pd.DataFrame({"pre": pre, "post": pre - 0.3 * pre + rng.normal(0, 3, 60)})
    result = change(data, pre="pre", post="post", reliability=0.8, higher_is_better=False,
                    cutoff=20)
    ref = data[data["pre"] > 20]
    b = np.polyfit(ref["pre"], ref["post"] - ref["pre"], 1)[0]
    mean_change = (data["pre"] - data["post"]).mean()
    expected = (mean_change + b * (data["pre"].mean() - ref["pre"].mean())) / ref["pre"].std()
    row = _effect(result, "severity_adjusted")
    assert row["estimate"] == pytest.approx(expected, rel=1e-10)
    assert row["estimate"] > _effect(result, "pre_post_d")["estimate"]


def test_severity_adjusted_with_a_given_reference_by_hand():
    data = pd.DataFrame({"pre": [10.0, 20.0, 15.0], "post": [18.0, 22.0, 20.0]})
    reference = {"intercept": 10.0, "slope": -0.4, "mean_change": 5.0, "sd": 5.0}
    result = change(data, pre="pre", post="post", reliability=0.8,
                    severity_reference=reference)
    # residuals: 8 - (10 - 4) = 2, 2 - (10 - 8) = 0, 5 - (10 - 6) = 1; SAES = (r + 5) / 5.
    assert result.table()["severity_adjusted"].tolist() == pytest.approx([1.4, 1.0, 1.2])
    # error of the mean: SD of the residuals (1) / sqrt(3) / 5
    row = _effect(result, "severity_adjusted")
    assert row["estimate"] == pytest.approx(1.2)
    assert row["std_error"] == pytest.approx(1 / math.sqrt(3) / 5)


def test_category_intervals_are_wilson():
    result = change(jacobson(), pre="pre", post="post", reliability=0.8, higher_is_better=False,
                    cutoff="a")
    for row in result.percentages.itertuples():
        low, high = proportion_confint(row.n, row.denominator, method="wilson")
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert wilson_interval(0, 0) != wilson_interval(0, 0)  # NaN when there is no one


# --- The instrument registry, missing data, usage ------------------------------------------
def test_ors_uses_published_reliable_change_cutoff_and_direction():
    data = pd.DataFrame({"pre": [12.0, 12.0, 20.0, 30.0, 26.0],
                         "post": [17.0, 17.5, 26.0, 24.5, 30.0]})
    result = change(data, pre="pre", post="post", instrument="ors")
    assert result.reliable_change == pytest.approx(5.0)
    assert result.cutoff == 25.0 and result.higher_is_better and result.reliability == 0.93
    assert result.table()["category"].tolist() == ["unchanged", "improved", "recovered",
                                                   "deteriorated", "unchanged"]


def test_missing_scores_are_reported_never_dropped():
    data = jacobson()
    result = change(data, pre="pre", post="post", reliability=0.8, higher_is_better=False)
    table = result.table()
    assert len(table) == len(data) == 30
    assert int(result.counts["missing"]) == 4 == int(data.isna().any(axis=1).sum())
    assert int(result.counts.sum()) == 30
    assert table.loc[table["category"] == "missing", "rci"].isna().all()


def test_the_callers_frame_is_not_changed():
    data = jacobson()
    before = data.copy()
    change(data, pre="pre", post="post", reliability=0.8, cutoff="a")
    pd.testing.assert_frame_equal(data, before)


def test_usage_errors_name_the_fix():
    with pytest.raises(UsageError, match="reliability="):
        change(HAND, pre="pre", post="post")
    with pytest.raises(UsageError, match="jacobson-truax"):
        change(HAND, pre="pre", post="post", reliability=0.8, method="nope")
    with pytest.raises(UsageError, match="functional_mean"):
        change(HAND, pre="pre", post="post", reliability=0.8, cutoff="c")
    with pytest.raises(DataError, match="column 'after'"):
        change(HAND, pre="pre", post="after", reliability=0.8)
    with pytest.raises(UsageError, match="unknown instrument"):
        change(HAND, pre="pre", post="post", instrument="nope")


def test_four_faces():
    result = change(jacobson(), pre="pre", post="post", reliability=0.8, higher_is_better=False,
                    cutoff="a")
    text = result.summary()
    assert "Jacobson & Truax 1991" in text and "recovered" in text
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["counts"]["recovered"] == 10 and len(payload["clients"]) == 30
    ax = result.plot()
    assert ax.get_xlabel() == "pre" and len(ax.collections) >= 3


# --- Goal Attainment Scaling ---------------------------------------------------------------
def test_gas_equal_weights_by_hand():
    goals = pd.DataFrame({"engagement_id": ["E1"] * 4, "item": [1, 2, 3, 4],
                          "value": [1, 0, -1, 2], "instrument": "gas"})
    # sum 2, divisor sqrt(.7 * 4 + .3 * 16) = sqrt(7.6)
    assert gas_scores(goals)["tscore"].iloc[0] == pytest.approx(50 + 20 / math.sqrt(7.6))


def test_gas_unequal_weights_mapping_and_column_by_hand():
    goals = pd.DataFrame({"engagement_id": ["E1"] * 3 + ["E2"] * 2, "item": [1, 2, 3, 1, 2],
                          "value": [1, 0, -1, -2, 1], "w": [2.0, 1.0, 1.0, 1.0, 3.0]})
    # E1: sum wx = 1, sum w^2 = 6, (sum w)^2 = 16 -> divisor sqrt(4.2 + 4.8) = 3.
    # E2: sum wx = 1, sum w^2 = 10, (sum w)^2 = 16 -> divisor sqrt(7 + 4.8).
    expected = [50 + 10 / 3, 50 + 10 / math.sqrt(11.8)]
    assert gas_scores(goals, weights="w")["tscore"].tolist() == pytest.approx(expected)
    by_pair = {("E1", 1): 2, ("E1", 2): 1, ("E1", 3): 1, ("E2", 1): 1, ("E2", 2): 3}
    assert gas_scores(goals, weights=by_pair)["tscore"].tolist() == pytest.approx(expected)
    by_goal = gas_scores(goals, weights={1: 2.0, 2: 1.0, 3: 1.0})
    assert by_goal["tscore"].iloc[0] == pytest.approx(expected[0])
    assert by_goal["n_goals"].tolist() == [3, 2]


def test_gas_keeps_occasions_apart_and_rejects_bad_levels():
    goals = pd.DataFrame({"engagement_id": ["E1"] * 4, "occasion": ["end"] * 2 + ["followup"] * 2,
                          "item": [1, 2, 1, 2], "value": [0, 0, 1, 1]})
    out = gas_scores(goals)
    assert out["occasion"].tolist() == ["end", "followup"]
    assert out["tscore"].tolist() == pytest.approx([50.0, 50 + 20 / math.sqrt(2.6)])
    with pytest.raises(DataError, match="not a GAS level"):
        gas_scores(goals.assign(value=[0, 3, 1, 1]))


def test_gas_on_the_sample_matches_the_scored_tscore():
    import outcomes as oc

    study = oc.load_sample()
    responses = study.valid("responses")
    ours = gas_scores(responses).set_index("engagement_id")["tscore"]
    scores = study.scores()
    scored = scores[(scores.instrument == "gas")].set_index("engagement_id")["score"]
    pd.testing.assert_series_equal(ours.loc[scored.index], scored, check_names=False)


# --- How the result shows itself; the shared argument checks --------------------------------
def test_the_result_displays_itself():
    result = change(jacobson(), pre="pre", post="post", reliability=0.8, higher_is_better=False,
                    cutoff="a")
    counts = result.counts
    assert repr(result) == (
        f"<Change: 30 clients: {counts['recovered']} recovered, {counts['improved']} improved, "
        f"{counts['unchanged']} unchanged, {counts['deteriorated']} deteriorated, 4 missing>")
    assert isinstance(result.summary(), Summary)
    assert result._repr_html_().startswith("<p><strong>Change</strong>")


def test_shared_checks_refuse_bad_arguments():
    with pytest.raises(UsageError, match="ci_level must lie between 0 and 1"):
        change(HAND, pre="pre", post="post", reliability=0.8, ci_level=95)
    with pytest.raises(UsageError, match="method must be one of"):
        change(HAND, pre="pre", post="post", reliability=0.8, method="rci")
