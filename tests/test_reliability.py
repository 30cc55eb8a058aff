"""Reliability against pingouin, R's psych (tests/reference/reliability/) and exact cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest

from outcomes import instruments
from outcomes._errors import DataWarning, UsageError
from outcomes._results import Summary
from outcomes.measures.reliability import (
    Reliability,
    cronbach_alpha,
    feldt_interval,
    omega_total,
    one_factor,
    reliability,
)

REFERENCE = Path(__file__).parent / "reference" / "reliability"

SIX = instruments.parse_text("""
    key = "six-items"
    name = "Six simulated items"
    citation = "Simulated by tests/reference/reliability/make_reference.R."
    licence = "Ours."
    factor = "client"
    n_items = 6
    reverse = [6]
    [response]
    min = 1
    max = 5
    [scales.total]
    items = [1, 2, 3, 4, 5, 6]
    rule = "sum"
    [scales.first_three]
    items = [1, 2, 3]
    rule = "sum"
""")


@pytest.fixture(scope="module")
def answered():
    """The items as answered (item 6 negatively keyed), one row per respondent."""
    return pd.read_csv(REFERENCE / "items.csv", comment="#").set_index("respondent")


@pytest.fixture(scope="module")
def keyed(answered):
    out = answered.copy()
    out["i6"] = 1 + 5 - out["i6"]
    return out


@pytest.fixture(scope="module")
def expected():
    table = pd.read_csv(REFERENCE / "expected.csv", comment="#", na_values=["NA"])
    table["quantity"] = table["quantity"].str.strip()
    return table


def _scalar(expected, quantity):
    return float(expected.loc[expected["quantity"] == quantity, "value"].iloc[0])


def _per_item(expected, quantity):
    rows = expected[expected["quantity"] == quantity].sort_values("item")
    return rows["value"].to_numpy(dtype=float)


def _rows(table, quantity):
    """The rows of one quantity (alpha or omega) of a reliability table, by scale."""
    return table[table["quantity"] == quantity].set_index("scale")


def _long(wide, instrument="six-items", occasion="intake", session=None):
    long = wide.reset_index().melt(id_vars="respondent", var_name="item", value_name="value")
    return pd.DataFrame({
        "engagement_id": long["respondent"], "occasion": occasion,
        "session": pd.array([session] * len(long), dtype="Int64"),
        "instrument": instrument, "item": long["item"].str[1:].astype(int),
        "value": long["value"].astype(float),
    })


def test_versions_are_recorded_in_the_reference_files():
    for name in ("expected.csv", "items.csv"):
        first = (REFERENCE / name).read_text().splitlines()[0]
        assert first.startswith("# R ") and "psych" in first


def test_alpha_and_feldt_interval_equal_pingouin(keyed):
    ours = cronbach_alpha(keyed)
    theirs, interval = pingouin.cronbach_alpha(data=keyed)
    assert ours == pytest.approx(theirs, abs=1e-10)
    low, high = feldt_interval(ours, len(keyed), keyed.shape[1], ci_level=0.95)
    np.testing.assert_array_equal(np.round([low, high], 3), interval)
    theirs, interval = pingouin.cronbach_alpha(data=keyed, ci=0.90)
    low, high = feldt_interval(ours, len(keyed), keyed.shape[1], ci_level=0.90)
    np.testing.assert_array_equal(np.round([low, high], 3), interval)


def test_alpha_equals_pingouin_on_other_data():
    rng = np.random.default_rng(7)
    data = pd.DataFrame(rng.normal(size=(40, 5)) + rng.normal(size=(40, 1)))
    assert cronbach_alpha(data) == pytest.approx(pingouin.cronbach_alpha(data)[0], abs=1e-10)
    with_gaps = data.mask(rng.random(data.shape) < 0.1)
    theirs = pingouin.cronbach_alpha(with_gaps, nan_policy="listwise")[0]
    assert cronbach_alpha(with_gaps) == pytest.approx(theirs, abs=1e-10)


def test_alpha_and_interval_equal_psych(keyed, expected):
    alpha = cronbach_alpha(keyed)
    assert alpha == pytest.approx(_scalar(expected, "alpha"), abs=1e-10)
    low, high = feldt_interval(alpha, len(keyed), 6)
    assert low == pytest.approx(_scalar(expected, "alpha_ci_low"), abs=1e-10)
    assert high == pytest.approx(_scalar(expected, "alpha_ci_high"), abs=1e-10)


def test_ml_loadings_and_omega_equal_psych(keyed, expected):
    corr = np.corrcoef(keyed.to_numpy(dtype=float), rowvar=False)
    loadings = one_factor(corr)
    # psych::fa(fm = "ml") and factanal stop at slightly different points (~1e-6 apart)
    np.testing.assert_allclose(loadings, _per_item(expected, "loading"), atol=5e-6)
    np.testing.assert_allclose(loadings, _per_item(expected, "loading_factanal"), atol=5e-6)
    assert omega_total(keyed) == pytest.approx(_scalar(expected, "omega"), abs=5e-6)


def test_omega_is_exact_for_a_one_factor_population():
    # The correlation matrix implied by loadings lambda has the ML solution lambda, so
    # omega_t = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)). For .9 .8 .7 .6 .5:
    # sum l = 3.5, sum l^2 = 2.55, omega = 12.25 / (12.25 + 2.45) = 0.8333...
    lam = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1.0)
    np.testing.assert_allclose(one_factor(corr), lam, atol=1e-6)
    fitted = one_factor(corr)
    omega = fitted.sum() ** 2 / (fitted.sum() ** 2 + np.sum(1 - fitted**2))
    assert omega == pytest.approx(12.25 / 14.7, abs=1e-6)
    # a reversed item is fitted with a negative loading of the same size
    flipped = corr * np.outer([1, 1, 1, 1, -1], [1, 1, 1, 1, -1])
    np.testing.assert_allclose(one_factor(flipped), lam * [1, 1, 1, 1, -1], atol=1e-6)


def test_reliability_from_long_responses_matches_psych(answered, expected):
    result = reliability(_long(answered), SIX, n_boot=0)
    alpha = _rows(result.table(), "alpha").loc["total"]
    omega = _rows(result.table(), "omega").loc["total"]
    assert alpha["estimate"] == pytest.approx(_scalar(expected, "alpha"), abs=1e-10)
    assert alpha["ci_low"] == pytest.approx(_scalar(expected, "alpha_ci_low"), abs=1e-10)
    assert alpha["ci_high"] == pytest.approx(_scalar(expected, "alpha_ci_high"), abs=1e-10)
    assert omega["estimate"] == pytest.approx(_scalar(expected, "omega"), abs=5e-6)
    assert alpha["n"] == omega["n"] == 250 and alpha["n_items"] == omega["n_items"] == 6
    assert np.isnan(omega["ci_low"]) and np.isnan(omega["ci_high"])
    items = result.items[result.items["scale"] == "total"].sort_values("item")
    for column, quantity in [("item_total_correlation", "item_total_correlation"),
                             ("alpha_if_deleted", "alpha_if_deleted"), ("mean", "mean"),
                             ("sd", "sd")]:
        np.testing.assert_allclose(items[column], _per_item(expected, quantity), atol=1e-10)
    loadings = result.loadings[result.loadings["scale"] == "total"]
    np.testing.assert_allclose(loadings["loading"], _per_item(expected, "loading"), atol=5e-6)


def test_table_columns_and_scales(answered):
    result = reliability(_long(answered), SIX, n_boot=0)
    table = result.table()
    assert list(table.columns) == [
        "scale", "quantity", "estimate", "ci_low", "ci_high", "n", "n_items"]
    assert table["scale"].tolist() == ["total", "total", "first_three", "first_three"]
    assert table["quantity"].tolist() == ["alpha", "omega"] * 2
    assert result.alpha.index.tolist() == result.omega.index.tolist() == ["total", "first_three"]
    assert result.ci_level == 0.95
    assert list(result.items.columns) == ["scale", "item", "mean", "sd",
                                          "item_total_correlation", "alpha_if_deleted", "n"]


def test_the_former_wide_table_warns_and_holds_the_same_numbers(answered):
    result = reliability(_long(answered), SIX, n_boot=20, seed=2)
    with pytest.warns(FutureWarning, match="table"):
        wide = result.scales
    assert list(wide.columns) == [
        "scale", "alpha", "alpha_ci_low", "alpha_ci_high", "omega", "omega_ci_low",
        "omega_ci_high", "n", "n_items"]
    for quantity in ("alpha", "omega"):
        rows = _rows(result.table(), quantity)
        np.testing.assert_array_equal(wide[quantity], rows["estimate"])
        np.testing.assert_array_equal(wide[f"{quantity}_ci_low"], rows["ci_low"])
        np.testing.assert_array_equal(wide[f"{quantity}_ci_high"], rows["ci_high"])
        np.testing.assert_array_equal(wide["n"], rows["n"])


def test_bootstrap_interval_is_seeded_and_brackets_omega(answered):
    data = _long(answered)
    first = reliability(data, SIX, n_boot=100, seed=3).table()
    again = reliability(data, SIX, n_boot=100, seed=3).table()
    other = _rows(reliability(data, SIX, n_boot=100, seed=4).table(), "omega")
    pd.testing.assert_frame_equal(first, again)
    first = _rows(first, "omega")
    assert not np.allclose(first["ci_low"], other["ci_low"])
    assert (first["ci_low"] < first["estimate"]).all()
    assert (first["estimate"] < first["ci_high"]).all()
    narrow = _rows(reliability(data, SIX, n_boot=100, seed=3, ci_level=0.5).table(), "omega")
    assert (narrow["ci_low"] > first["ci_low"]).all()


def test_listwise_deletion_per_scale(answered, keyed):
    gappy = answered.copy().astype(float)
    gappy.iloc[:10, 4] = np.nan  # item 5 missing for ten respondents
    result = _rows(reliability(_long(gappy), SIX, n_boot=0).table(), "alpha")
    assert result.loc["total", "n"] == 240
    assert result.loc["first_three", "n"] == 250  # item 5 is not in this scale
    assert result.loc["total", "estimate"] == pytest.approx(cronbach_alpha(keyed.iloc[10:]))


def test_default_occasion_is_the_earliest(answered):
    shifted = answered.copy()
    shifted["i1"] = 6 - shifted["i1"]  # destroys item 1 at the end of the engagement
    data = pd.concat([_long(shifted, occasion="end"), _long(answered, occasion="intake")])
    intake = reliability(data, SIX, n_boot=0)
    assert intake.occasion == "intake"
    end = reliability(data, SIX, occasion="end", n_boot=0)
    assert end.occasion == "end"
    assert end.alpha.iloc[0] < intake.alpha.iloc[0]
    with pytest.raises(UsageError, match="not given at occasion 'followup'"):
        reliability(data, SIX, occasion="followup")


def test_session_occasion_uses_each_engagements_first_session(answered):
    later = answered.copy()
    later["i2"] = 6 - later["i2"]
    data = pd.concat([_long(later, occasion="session", session=3),
                      _long(answered, occasion="session", session=1)])
    first = reliability(data, SIX, n_boot=0)
    alone = reliability(_long(answered), SIX, n_boot=0)
    assert first.table()["n"].iloc[0] == 250
    np.testing.assert_allclose(first.alpha, alone.alpha, atol=1e-12)


def test_ceq_is_analysed_on_standardised_items():
    rng = np.random.default_rng(5)
    n = 120
    trait = rng.normal(size=n)
    wide = pd.DataFrame({
        "respondent": [f"r{i}" for i in range(n)],
        "i1": np.clip(np.round(5 + 1.5 * trait + rng.normal(size=n)), 1, 9),
        "i2": np.clip(np.round(5 + 1.5 * trait + rng.normal(size=n)), 1, 9),
        "i3": np.clip(np.round(5 + 1.5 * trait + rng.normal(size=n)), 1, 9),
        "i4": np.clip(np.round(5 + 2 * trait + rng.normal(size=n)), 0, 10) * 10,
        "i5": np.clip(np.round(5 + 1.5 * trait + rng.normal(size=n)), 1, 9),
        "i6": np.clip(np.round(5 + 2 * trait + rng.normal(size=n)), 0, 10) * 10,
    }).set_index("respondent")
    result = reliability(_long(wide, instrument="ceq"), "ceq", n_boot=0)
    # standardised alpha = k r / (1 + (k - 1) r), r the mean inter-item correlation
    corr = np.corrcoef(wide[["i4", "i5", "i6"]].to_numpy(), rowvar=False)
    r = corr[np.triu_indices(3, 1)].mean()
    assert result.alpha["expectancy"] == pytest.approx(
        3 * r / (1 + 2 * r), abs=1e-10)


def test_goal_attainment_and_unknown_rater_are_refused(answered):
    gas = pd.DataFrame({"engagement_id": ["e1", "e1"], "occasion": "end",
                        "session": pd.array([None, None], dtype="Int64"),
                        "instrument": "gas", "item": [1, 2], "value": [1.0, 0.0]})
    with pytest.raises(UsageError, match="no item-based scale"):
        reliability(gas, "gas")
    with pytest.raises(UsageError, match="rater 'sponsor'"):
        reliability(_long(answered), SIX, rater="sponsor")
    with pytest.raises(UsageError, match="ci_level"):
        reliability(_long(answered), SIX, ci_level=95)


def test_too_few_respondents_warn_and_give_nan(answered):
    with pytest.warns(DataWarning, match="only 2 respondents"):
        result = reliability(_long(answered.iloc[:2]), SIX, n_boot=0)
    assert result.table()["estimate"].isna().all()


def test_plain_functions_refuse_too_little_data():
    with pytest.raises(UsageError):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(UsageError):
        omega_total(pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 1]}))


def test_result_faces(answered):
    import matplotlib

    matplotlib.use("Agg")
    result = reliability(_long(answered), SIX, n_boot=20, seed=1)
    assert isinstance(result, Reliability)
    text = result.summary()
    assert isinstance(text, Summary)
    assert "six-items" in text and "95%" in text and "total" in text
    assert repr(result).startswith("<Reliability: six-items, 2 scales: alpha ")
    assert "\n" not in repr(result) and "<table" in result._repr_html_()
    round_trip = json.loads(json.dumps(result.to_dict()))
    assert round_trip["ci_level"] == 0.95 and len(round_trip["estimates"]) == 4
    assert {row["quantity"] for row in round_trip["estimates"]} == {"alpha", "omega"}
    ax = result.plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["total", "first_three"]
    with pytest.raises(AttributeError):
        result.ci_level = 0.9


def test_batched_bootstrap_fit_equals_the_optimiser():
    from outcomes.measures._factor_analysis import one_factor_batch

    rng = np.random.default_rng(11)
    lam = np.array([0.8, 0.6, 0.5, 0.4, 0.3])
    latent = rng.normal(size=(80, 1)) * lam + rng.normal(size=(80, 5)) * np.sqrt(1 - lam**2)
    corrs = np.stack([np.corrcoef(latent[rng.integers(0, 80, 80)], rowvar=False)
                      for _ in range(20)])
    # a Heywood case: r12 r13 / r23 = 1.62 asks for a loading above 1
    heywood = np.array([[1, 0.9, 0.9], [0.9, 1, 0.5], [0.9, 0.5, 1]])
    batch, converged = one_factor_batch(corrs, 1 - lam**2)
    assert converged.sum() >= 10
    for fitted, corr in zip(batch[converged], corrs[converged], strict=True):
        np.testing.assert_allclose(fitted, one_factor(corr), atol=1e-6)
    # a Heywood case: r12 r13 / r23 = 1.28 asks for a loading above 1; the uniqueness
    # stays at its bound 0.005 (so the loading is at least sqrt(0.995), and below 1), and
    # the slow iteration hands it to the optimiser
    heywood = np.array([[1, 0.8, 0.8], [0.8, 1, 0.5], [0.8, 0.5, 1]])
    assert np.sqrt(0.995) - 1e-9 <= one_factor(heywood)[0] < 1
    slow, converged = one_factor_batch(heywood[None], np.full(3, 0.5), max_iter=50)
    assert not converged[0]
    settled, converged = one_factor_batch(heywood[None], np.full(3, 0.5), max_iter=10**5)
    assert converged[0]
    np.testing.assert_allclose(settled[0], one_factor(heywood), atol=1e-6)


def test_shared_arguments_are_checked_with_the_shared_messages(answered):
    data = _long(answered)
    with pytest.raises(UsageError, match="reliability: n_boot must be a whole number"):
        reliability(data, SIX, n_boot=-1)
    with pytest.raises(UsageError, match="reliability: seed must be a whole number"):
        reliability(data, SIX, seed="one")
    with pytest.raises(UsageError, match="feldt_interval: ci_level must lie between 0 and 1"):
        feldt_interval(0.8, 100, 5, ci_level=1.5)
    assert "coverage of every interval" in reliability.__doc__
