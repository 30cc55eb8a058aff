"""The improvement split: the docs' worked example by hand, recovery of a known split from
simulated four-arm trials, fewer arms, negative steps, and real trial data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import DataError, UsageError
from outcomes._results import Summary
from outcomes.practice.improvement import improvement_split

REAL = Path(__file__).resolve().parent / "data" / "real"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "change.md"
ROLES = {"none": "wait-list", "placebo": "attention", "common": "supportive",
         "full": "coaching"}
# The arm-summary example worked through in docs/change.md.
DOCS_EXAMPLE = pd.DataFrame({
    "arm": ["wait-list", "attention", "supportive", "coaching"],
    "mean_change": [4.0, 5.5, 8.5, 10.0], "sd": [6.0, 6.0, 6.5, 7.0], "n": [40, 40, 40, 40],
})


def docs_table() -> pd.DataFrame:
    """The example table as written in docs/change.md, after its marker comment."""
    text = DOCS.read_text(encoding="utf-8").split("tests/test_improvement.py reads this table")[1]
    block = text.split("\n\n")[0].splitlines()
    lines = [line for line in block if line.startswith("| ")][1:]  # without the header
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return pd.DataFrame({"arm": [c[0] for c in cells], "role": [c[1] for c in cells],
                         "mean_change": [float(c[2]) for c in cells],
                         "sd": [float(c[3]) for c in cells], "n": [int(c[4]) for c in cells]})


def test_the_docs_show_the_example_tested_here():
    table = docs_table()
    pd.testing.assert_frame_equal(table.drop(columns="role"), DOCS_EXAMPLE, check_dtype=False)
    assert dict(zip(table["role"], table["arm"], strict=True)) == ROLES
    text = DOCS.read_text(encoding="utf-8")
    for number in ("0.105", "0.135", "0.144", "0.139", "0.195 to 0.605", "0.018 to 0.582"):
        assert number in text


def rows(split, quantity):
    return split.table().query("quantity == @quantity").set_index("part")


def test_docs_example_arithmetic_by_hand():
    split = improvement_split(summaries=DOCS_EXAMPLE, arms=ROLES)
    inc, share = rows(split, "increment"), rows(split, "share")
    assert inc["estimate"].tolist() == pytest.approx([4.0, 1.5, 3.0, 1.5])
    assert share["estimate"].tolist() == pytest.approx([0.40, 0.15, 0.30, 0.15])
    # Variances of the arm means: 36/40 = .9, .9, 42.25/40 = 1.05625, 49/40 = 1.225.
    v = {"N": 0.9, "P": 0.9, "C": 1.05625, "F": 1.225}
    assert inc.loc["expectancy", "std_error"] == pytest.approx(math.sqrt(v["P"] + v["N"]))
    # share client = N/F: var = vN/F^2 + N^2 vF / F^4 = .009 + .00196
    assert share.loc["client", "std_error"] == pytest.approx(math.sqrt(0.009 + 0.00196))
    # share technique = (F - C)/F = 1 - C/F: var = vC/F^2 + C^2 vF / F^4
    expected = math.sqrt(v["C"] / 100 + 8.5**2 * v["F"] / 10**4)
    assert share.loc["technique", "std_error"] == pytest.approx(expected)
    assert share.loc["client", "ci_low"] == pytest.approx(0.4 - 1.959963984540054 * math.sqrt(
        0.01096))
    # expectancy (P - N)/F and relationship (C - P)/F
    assert share.loc["expectancy", "std_error"] == pytest.approx(
        math.sqrt((v["P"] + v["N"]) / 100 + 1.5**2 * v["F"] / 10**4))
    assert share.loc["relationship", "std_error"] == pytest.approx(
        math.sqrt((v["C"] + v["P"]) / 100 + 3.0**2 * v["F"] / 10**4))
    assert [round(x, 3) for x in share["std_error"]] == [0.105, 0.135, 0.144, 0.139]


def test_docs_example_compares_exactly_with_asay_lambert():
    comparison = improvement_split(summaries=DOCS_EXAMPLE, arms=ROLES).compare()
    assert comparison.distance == pytest.approx(0.0, abs=1e-12)
    assert comparison.parts["inside"].all()
    assert not any("explained variance" in note for note in comparison.notes)


def simulate_trial(rng, means, n=300, sd=6.0):
    frames = []
    for label, mean in means.items():
        pre = rng.normal(18, 6, n)
        frames.append(pd.DataFrame({"arm": label, "pre": pre,
                                    "post": pre + rng.normal(mean, sd, n)}))
    return pd.concat(frames, ignore_index=True)


TRUE_MEANS = {"wait-list": 4.0, "attention": 5.5, "supportive": 8.5, "coaching": 10.0}
TRUE_SHARES = [0.40, 0.15, 0.30, 0.15]


def test_recovers_a_known_split_from_a_simulated_trial():
    data = simulate_trial(np.random.default_rng(11), TRUE_MEANS)
    split = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, seed=3,
                              n_boot=1000)
    share = rows(split, "share")
    z = (share["estimate"] - TRUE_SHARES) / share["std_error"]
    assert (z.abs() < 3).all()
    assert ((share["ci_low"] <= TRUE_SHARES) & (np.array(TRUE_SHARES) <= share["ci_high"])).all()
    # The bootstrap and delta-method errors agree on the same data.
    stats = data.assign(change=data.post - data.pre).groupby("arm")["change"].agg(
        mean_change="mean", sd="std", n="size").reset_index()
    delta = rows(improvement_split(summaries=stats, arms=ROLES), "share")
    np.testing.assert_allclose(delta["estimate"], share["estimate"], rtol=1e-12)
    np.testing.assert_allclose(delta["std_error"], share["std_error"], rtol=0.15)


def test_delta_intervals_cover_the_true_shares_at_their_level():
    rng = np.random.default_rng(2024)
    hits = np.zeros(4)
    runs = 200
    for _ in range(runs):
        stats = pd.DataFrame([{"arm": label, "mean_change": rng.normal(mean, 6 / math.sqrt(120)),
                               "sd": 6 * math.sqrt(rng.chisquare(119) / 119), "n": 120}
                              for label, mean in TRUE_MEANS.items()])
        share = rows(improvement_split(summaries=stats, arms=ROLES), "share")
        hits += (share["ci_low"] <= TRUE_SHARES) & (np.array(TRUE_SHARES) <= share["ci_high"])
    coverage = hits / runs
    assert (coverage > 0.90).all() and (coverage < 0.99).all(), coverage


def test_fewer_roles_merge_the_missing_rungs():
    three = improvement_split(summaries=DOCS_EXAMPLE, arms={
        "none": "wait-list", "placebo": "attention", "full": "coaching"})
    assert three.shares.to_dict() == pytest.approx(
        {"client": 0.4, "expectancy": 0.15, "relationship + technique": 0.45})
    two = improvement_split(summaries=DOCS_EXAMPLE, arms={"placebo": "attention",
                                                         "full": "coaching"})
    assert two.shares.to_dict() == pytest.approx(
        {"client + expectancy": 0.55, "relationship + technique": 0.45})
    comparison = two.compare()
    assert comparison.parts["reference"].tolist() == pytest.approx([0.55, 0.45])


def test_negative_increment_is_reported_not_hidden():
    data = DOCS_EXAMPLE.assign(mean_change=[4.0, 3.0, 8.5, 10.0])
    split = improvement_split(summaries=data, arms=ROLES)
    assert split.shares["expectancy"] == pytest.approx(-0.1)
    assert split.shares.sum() == pytest.approx(1.0)
    assert any("expectancy increment" in note and "negative" in note for note in split.notes)
    assert math.isnan(split.compare().distance)


def test_full_arm_without_improvement_leaves_shares_undefined():
    data = DOCS_EXAMPLE.assign(mean_change=[1.0, 0.5, 0.0, -1.0])
    split = improvement_split(summaries=data, arms=ROLES)
    assert split.shares.isna().all()
    assert any("did not improve" in note for note in split.notes)


def test_lower_is_better_turns_falls_into_improvement():
    data = DOCS_EXAMPLE.assign(mean_change=-DOCS_EXAMPLE["mean_change"])
    split = improvement_split(summaries=data, arms=ROLES, higher_is_better=False)
    assert split.shares.tolist() == pytest.approx(TRUE_SHARES)


def test_pooled_labels_by_hand():
    data = pd.DataFrame({"arm": ["w", "a", "b"], "mean_change": [2.0, 6.0, 10.0],
                         "sd": [4.0, 4.0, 6.0], "n": [20, 10, 30]})
    split = improvement_split(summaries=data, arms={"none": "w", "full": ["a", "b"]})
    full = split.arms.set_index("role").loc["full"]
    assert full["mean"] == pytest.approx((10 * 6 + 30 * 10) / 40)  # 9
    # pooled SD: (9*16 + 29*36 + 10*9 + 30*1) / 39
    assert full["sd"] == pytest.approx(math.sqrt((9 * 16 + 29 * 36 + 10 * 9 + 30 * 1) / 39))
    assert split.shares["client"] == pytest.approx(2 / 9)


def test_real_trial_placebo_and_pooled_interventions():
    raw = pd.read_csv(REAL / "woodworth2018_positive_psychology.csv")
    wide = raw[raw.occasion.isin([0, 1])].pivot_table(
        index=["id", "intervention"], columns="occasion", values="ahiTotal").reset_index()
    wide.columns = ["id", "intervention", "pre", "post"]
    split = improvement_split(wide, arm="intervention", pre="pre", post="post",
                              arms={"placebo": 4, "full": [1, 2, 3]}, seed=5, n_boot=500)
    complete = wide.dropna()
    by_hand = (complete.post - complete.pre).groupby(complete.intervention == 4).mean()
    means = split.arms.set_index("role")["mean"]
    assert means["placebo"] == pytest.approx(by_hand[True])
    assert means["full"] == pytest.approx(by_hand[False])
    assert split.shares["client + expectancy"] == pytest.approx(by_hand[True] / by_hand[False])
    assert any("lack a pre or post score" in note for note in split.notes)


def test_seed_reproduces_and_faces_work():
    data = simulate_trial(np.random.default_rng(1), TRUE_MEANS, n=40)
    a = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, seed=9,
                          n_boot=200)
    b = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, seed=9,
                          n_boot=200)
    pd.testing.assert_frame_equal(a.table(), b.table())
    assert "additive" in a.summary()
    json.dumps(a.to_dict(), allow_nan=False)
    assert len(a.plot().patches) == 8


def test_usage_and_data_errors():
    with pytest.raises(UsageError, match="always 'full'"):
        improvement_split(summaries=DOCS_EXAMPLE, arms={"none": "wait-list"})
    with pytest.raises(UsageError, match="always 'full'"):
        improvement_split(summaries=DOCS_EXAMPLE, arms={"full": "coaching", "sham": "x"})
    with pytest.raises(UsageError, match="either data="):
        improvement_split(arms=ROLES)
    with pytest.raises(DataError, match="no summary for arm 'x'"):
        improvement_split(summaries=DOCS_EXAMPLE, arms={"none": "x", "full": "coaching"})
    data = simulate_trial(np.random.default_rng(1), TRUE_MEANS, n=5)
    with pytest.raises(DataError, match="no client is in arm"):
        improvement_split(data, arm="arm", pre="pre", post="post",
                          arms={"none": "nobody", "full": "coaching"})
    with pytest.raises(UsageError, match="not a split of improvement"):
        improvement_split(summaries=DOCS_EXAMPLE, arms=ROLES).compare("norcross-lambert-2011")


def test_interval_method_is_ci_method_and_the_old_attribute_still_reads():
    delta = improvement_split(summaries=DOCS_EXAMPLE, arms=ROLES)
    assert delta.ci_method == "delta" and delta.to_dict()["ci_method"] == "delta"
    data = simulate_trial(np.random.default_rng(1), TRUE_MEANS, n=40)
    boot = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, seed=9,
                             n_boot=200)
    assert boot.ci_method == "percentile"
    with pytest.warns(FutureWarning, match="ci_method"):
        assert boot.interval == "bootstrap"
    with pytest.warns(FutureWarning, match="ci_method"):
        assert delta.interval == "delta"


def test_no_bootstrap_gives_estimates_without_intervals():
    data = simulate_trial(np.random.default_rng(1), TRUE_MEANS, n=40)
    plain = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, n_boot=0)
    boot = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, seed=9,
                             n_boot=200)
    pd.testing.assert_series_equal(plain.shares, boot.shares)
    assert plain.ci_method is None and plain.replicates is None
    assert plain.table()[["std_error", "ci_low", "ci_high"]].isna().all().all()
    assert "no intervals" in plain.summary()
    json.dumps(plain.to_dict(), allow_nan=False)
    assert len(plain.plot().patches) == 8


def test_shared_checks_and_a_generator_as_seed():
    data = simulate_trial(np.random.default_rng(1), TRUE_MEANS, n=40)
    with pytest.raises(UsageError, match="n_boot must be 0"):
        improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, n_boot=50)
    with pytest.raises(UsageError, match="ci_level must lie between 0 and 1"):
        improvement_split(summaries=DOCS_EXAMPLE, arms=ROLES, ci_level=95)
    with pytest.raises(UsageError, match="seed must be"):
        improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, seed="x")
    a = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, n_boot=200,
                          seed=np.random.default_rng(4))
    b = improvement_split(data, arm="arm", pre="pre", post="post", arms=ROLES, n_boot=200,
                          seed=4)
    pd.testing.assert_frame_equal(a.table(), b.table())
    assert json.loads(json.dumps(a.to_dict(), allow_nan=False))["seed"] is None


def test_the_result_displays_itself():
    split = improvement_split(summaries=DOCS_EXAMPLE, arms=ROLES)
    assert repr(split) == ("<ImprovementSplit: 10.00 points of improvement split: client 40 %, "
                           "expectancy 15 %, relationship 30 %, technique 15 %>")
    assert isinstance(split.summary(), Summary)
    assert "<table" in split._repr_html_()
