"""Coach effects: funnel limits with over-dispersion, shrinkage, rank intervals, privacy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes._errors import DataError, ModelError, UsageError
from outcomes._results import Summary
from outcomes.practice.coach_effects import WITHHELD_REASON, CoachEffects, coach_effects
from outcomes.practice.funnel import funnel_limits, position_of, shrink


def four_coaches() -> pd.DataFrame:
    """Four coaches of four clients; every client 1 point from the coach mean."""
    means = {"A": 10.0, "B": 15.0, "C": 5.0, "D": 10.0}
    rows = [(coach, mean + d) for coach, mean in means.items() for d in (-1, 1, -1, 1)]
    return pd.DataFrame(rows, columns=["coach_id", "change"])


def test_spiegelhalter_additive_overdispersion_by_hand():
    # By hand: grand mean 10, raw = 0, 5, -5, 0; within SS = 16 on 16 - 4 = 12 df, so
    # sigma² = 4/3 and s² = sigma²/4 = 1/3; z = 0, ±5/sqrt(1/3) = ±8.660; w = 3 for each.
    # Untrimmed: phi = (75 + 75)/4 = 37.5; tau² = (4 * 37.5 - 3) / (12 - 36/12) = 147/9.
    fx = coach_effects(four_coaches(), outcome="change", winsor=0, k=3)
    assert fx.sigma == pytest.approx(np.sqrt(4 / 3))
    assert fx.phi == pytest.approx(37.5)
    assert fx.tau2 == pytest.approx(147 / 9)
    table = fx.table().set_index("cluster")
    assert table["raw"].tolist() == pytest.approx([0, 5, -5, 0])
    weight = (147 / 9) / (147 / 9 + 1 / 3)
    assert table.loc["B", "estimate"] == pytest.approx(5 * weight)
    assert table.loc["B", "std_error"] == pytest.approx(np.sqrt(weight / 3))
    # Winsorised at 10 %: numpy's linear quantiles of (-8.66, 0, 0, 8.66) are ±6.062, so
    # phi = 2 * 6.062² / 4 and tau² = (4 phi - 3) / 9.
    trimmed = coach_effects(four_coaches(), outcome="change", k=3)
    edge = 0.7 * 5 * np.sqrt(3)
    assert trimmed.phi == pytest.approx(2 * edge ** 2 / 4)
    assert trimmed.tau2 == pytest.approx((2 * edge ** 2 - 3) / 9)


def test_funnel_limits_known_values():
    # sigma 5 at 25 clients: s = 1; 95 % limits ±1.960, 99.8 % limits ±3.090
    low, high = funnel_limits([25], sigma=5, ci_level=0.95)
    assert high[0] == pytest.approx(1.959964, abs=1e-6) and low[0] == -high[0]
    assert funnel_limits([25], sigma=5, ci_level=0.998)[1][0] == pytest.approx(3.090232,
                                                                                abs=1e-6)
    # additive over-dispersion: sqrt(1 + tau²) with tau² = 3 doubles the width
    assert funnel_limits([25], sigma=5, tau2=3.0, theta0=2.0)[1][0] == pytest.approx(
        2 + 2 * 1.959964, abs=1e-6)
    assert position_of([2.0, 3.5, -3.5], [25] * 3, sigma=5, tau2=0).tolist() == [
        "above 95 % limit", "above 99.8 % limit", "below 99.8 % limit"]


def test_shrinkage_without_spread_is_total():
    out = shrink([3.0, -2.0], [10, 40], sigma=4.0, tau2=0.0)
    assert out["estimate"].tolist() == [0.0, 0.0] and out["weight"].tolist() == [0.0, 0.0]
    # no spread between coaches: nothing tells them apart, so every rank is possible
    rng = np.random.default_rng(0)
    flat = pd.DataFrame({"coach_id": np.repeat(list("ABCDEF"), 10),
                         "change": rng.normal(0, 5, 60)})
    flat["change"] -= flat.groupby("coach_id")["change"].transform("mean")
    fx = coach_effects(flat, outcome="change", winsor=0)
    assert fx.tau2 == 0 and "cannot tell coaches apart" in fx.summary()
    assert fx.table()["rank_low"].eq(1).all() and fx.table()["rank_high"].eq(6).all()


def simulate(seed: int, *, coaches: int = 40, clients: int = 15, tau: float = 2.0,
             sigma: float = 5.0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    names = [f"C{j:03d}" for j in range(coaches)]
    effect = pd.Series(rng.normal(0, tau, coaches), index=names)
    sizes = rng.integers(max(5, clients // 2), clients * 2, coaches)
    coach = np.repeat(names, sizes)
    intake = rng.normal(18, 6, coach.size)
    sponsor = rng.choice(["self", "organisation"], coach.size)
    change = (14 - 0.6 * intake + 1.5 * (sponsor == "self") + effect[coach].to_numpy()
              + rng.normal(0, sigma, coach.size))
    return pd.DataFrame({"coach_id": coach, "baseline": intake, "sponsor": sponsor,
                         "change": change}), effect


def test_case_mix_and_spread_are_recovered():
    data, _ = simulate(3, coaches=200, clients=20)
    fx = coach_effects(data, outcome="change", covariates=["baseline", "sponsor"], winsor=0)
    assert fx.coefficients["baseline"] == pytest.approx(-0.6, abs=0.05)
    assert fx.coefficients["sponsor[self]"] == pytest.approx(1.5, abs=0.4)
    assert fx.sigma == pytest.approx(5.0, abs=0.2)
    assert fx.tau == pytest.approx(2.0, abs=0.35)
    assert fx.icc == pytest.approx(4 / 29, abs=0.04)


def test_intervals_cover_the_true_coach_effects():
    hits = total = 0
    for seed in range(25):
        data, effect = simulate(seed)
        fx = coach_effects(data, outcome="change", covariates=["baseline", "sponsor"],
                           winsor=0, seed=seed, n_draws=200)
        table = fx.table().set_index("cluster")
        truth = effect[table.index] - effect[table.index].mean()
        hits += int(((table.ci_low <= truth) & (truth <= table.ci_high)).sum())
        total += len(table)
    assert 0.90 <= hits / total <= 0.985


def test_coach_with_fewer_than_k_clients_is_withheld_everywhere():
    data, _ = simulate(1, coaches=12)
    small = pd.DataFrame({"coach_id": ["SMALL"] * 3, "baseline": [10.0, 20.0, 30.0],
                          "sponsor": "self", "change": [9.0, -4.0, 2.0]})
    fx = coach_effects(pd.concat([data, small]), outcome="change",
                       covariates=["baseline", "sponsor"], seed=2)
    row = fx.table().set_index("cluster").loc["SMALL"]
    assert row["suppressed"] and row["reason"] == WITHHELD_REASON
    numbers = ["n", "observed", "expected", "raw", "z", "estimate", "ci_low", "rank_low"]
    assert row[numbers].isna().all() and pd.isna(row["position"])
    assert "SMALL" not in fx.summary().split("within limits", 1)[-1]
    # one more coach is withheld so that the total cannot give the small count away
    assert fx.n_suppressed == 2 and fx.n_clusters == 13
    payload = json.loads(json.dumps(fx.to_dict(), allow_nan=False))
    entry = next(c for c in payload["coaches"] if c["cluster"] == "SMALL")
    assert entry["raw"] is None and entry["n"] is None
    ax = fx.plot()
    assert len(ax.collections[0].get_offsets()) == 11  # neither withheld coach is drawn


def test_faces_and_ranks():
    data, _ = simulate(5, coaches=20)
    fx = coach_effects(data, outcome="change", covariates=["baseline"], seed=7)
    table = fx.table()
    assert table["cluster"].tolist() == sorted(table["cluster"])  # never ordered by rank
    assert {"estimate", "std_error", "ci_low", "ci_high", "n", "rank_low", "rank_high",
            "position"} <= set(table.columns)
    assert (table.rank_low <= table.rank_high).all() and table.rank_low.min() >= 1
    assert (table.ci_low <= table.estimate).all() and (table.estimate <= table.ci_high).all()
    assert "ranks are intervals, not places" in fx.summary()
    limits = fx.limits([10, 40])
    assert (limits.high >= limits.high_unadjusted).all() and len(limits) == 4
    ax = fx.plot(label=True)
    assert len(ax.get_lines()) >= 5 and ax.get_xlabel() == "clients"
    again = coach_effects(data, outcome="change", covariates=["baseline"], seed=7)
    assert again.table().equals(table)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(-50, 50), st.floats(0.2, 20))
def test_shift_scale_and_shrinkage_invariants(seed, shift, scale):
    data, _ = simulate(seed, coaches=8, clients=8)
    base = coach_effects(data, outcome="change", covariates=["baseline"], seed=1)
    moved = coach_effects(data.assign(change=data.change * scale + shift), outcome="change",
                          covariates=["baseline"], seed=1)
    a, b = base.table(), moved.table()
    assert np.allclose(b.raw, a.raw * scale) and np.allclose(b.estimate, a.estimate * scale)
    assert moved.sigma == pytest.approx(base.sigma * scale)
    assert moved.tau == pytest.approx(base.tau * scale, abs=1e-9)
    assert (a.estimate.abs() <= a.raw.abs() + 1e-12).all()
    assert (np.sign(a.estimate) * np.sign(a.raw) >= 0).all()
    before = data.copy()
    coach_effects(data, outcome="change", covariates=["baseline"])
    assert data.equals(before)


def test_errors_name_the_fix():
    data = four_coaches()
    with pytest.raises(DataError, match="no column 'end'"):
        coach_effects(data, outcome="end")
    with pytest.raises(ModelError, match="at least 3 coaches"):
        coach_effects(data[data.coach_id.isin(["A", "B"])], outcome="change")
    with pytest.raises(UsageError):
        coach_effects(data, outcome="change", winsor=0.5)
    with pytest.raises(UsageError):
        coach_effects(data, outcome="change", k=2)


def test_a_withheld_count_cannot_be_worked_out_from_the_total():
    rng = np.random.default_rng(11)
    sizes = [3, 20, 15, 12, 30, 9]
    coach = np.repeat(np.arange(len(sizes)), sizes)
    data = pd.DataFrame({"coach_id": coach.astype(str), "change": rng.normal(size=coach.size)})
    table = coach_effects(data, outcome="change").table()
    shown = table.loc[~table["suppressed"], "n"]
    # the total is published, so what is shown must leave at least two coaches' counts unknown
    assert table["suppressed"].sum() >= 2
    assert table.loc[table["suppressed"], "n"].isna().all()
    assert coach.size - shown.sum() >= 3 + min(s for s in sizes if s >= 5)


def test_a_complementary_withheld_coach_reads_like_the_small_one():
    # The case found in a published report: a coach of 3 clients is withheld, and so is the
    # coach of 11 clients (the smallest other count), so that the total cannot give the 3
    # away. Neither may be labelled "fewer than 5", and no column may tell which was small.
    rng = np.random.default_rng(3)
    sizes = {"SMALL": 3, "ELEVEN": 11, "C1": 20, "C2": 15, "C3": 30, "C4": 18}
    coach = np.repeat(list(sizes), list(sizes.values()))
    data = pd.DataFrame({"coach_id": coach, "change": rng.normal(size=coach.size)})
    fx = coach_effects(data, outcome="change", seed=1)
    table = fx.table().set_index("cluster")
    withheld = table[table["suppressed"]]
    assert sorted(withheld.index) == ["ELEVEN", "SMALL"]
    assert withheld.nunique(dropna=False).le(1).all()  # the two rows read alike
    assert set(withheld["reason"]) == {WITHHELD_REASON} and "fewer than" not in WITHHELD_REASON
    assert table.loc[~table["suppressed"], "reason"].eq("").all()
    for face in (str(fx.summary()), json.dumps(fx.to_dict(), allow_nan=False)):
        assert "fewer than 5" not in face and "smaller coach" not in face
    entries = [c for c in fx.to_dict()["coaches"] if c["suppressed"]]
    assert entries[0] | {"cluster": None} == entries[1] | {"cluster": None}


def test_the_old_keyword_group_warns_and_gives_the_same_numbers():
    data, _ = simulate(2, coaches=10)
    new = coach_effects(data.rename(columns={"coach_id": "coach"}), outcome="change",
                        cluster="coach", covariates=["baseline"], seed=4)
    with pytest.warns(FutureWarning, match="cluster"):
        old = coach_effects(data.rename(columns={"coach_id": "coach"}), outcome="change",
                            group="coach", covariates=["baseline"], seed=4)
    pd.testing.assert_frame_equal(old.table(), new.table())
    assert old.cluster == new.cluster == "coach"
    with pytest.warns(FutureWarning, match="cluster"):
        assert new.group == "coach"
    with pytest.warns(FutureWarning, match="n_clusters"):
        assert new.n_groups == new.n_clusters == 10
    with pytest.raises(UsageError, match="cluster= only"):
        coach_effects(data, outcome="change", group="coach_id", cluster="coach_id")


def test_the_old_keyword_level_of_funnel_limits_warns_and_gives_the_same_limits():
    new = funnel_limits([4, 25, 100], sigma=5.0, tau2=0.5, ci_level=0.998)
    with pytest.warns(FutureWarning, match="ci_level"):
        old = funnel_limits([4, 25, 100], sigma=5.0, tau2=0.5, level=0.998)
    np.testing.assert_array_equal(old[0], new[0])
    np.testing.assert_array_equal(old[1], new[1])


def test_shared_checks_refuse_bad_arguments():
    data = four_coaches()
    with pytest.raises(UsageError, match="ci_level must lie between 0 and 1"):
        coach_effects(data, outcome="change", k=3, ci_level=95)
    with pytest.raises(UsageError, match="seed must be"):
        coach_effects(data, outcome="change", k=3, seed=-1)
    with pytest.raises(UsageError, match="n_draws must be"):
        coach_effects(data, outcome="change", k=3, n_draws=0)
    with pytest.raises(UsageError, match="covariates must be"):
        coach_effects(data, outcome="change", k=3, covariates=[1])


def test_the_result_displays_itself():
    data, _ = simulate(5, coaches=20)
    fx = coach_effects(data, outcome="change", covariates=["baseline"], seed=7)
    assert isinstance(fx, CoachEffects)
    text = repr(fx)
    assert text.startswith("<CoachEffects: 20 coaches") and "\n" not in text
    assert len(fx.headline()) < 110
    assert isinstance(fx.summary(), Summary)
    assert fx._repr_html_().startswith("<p><strong>CoachEffects</strong>")
    assert fx.limits([10])["ci_level"].tolist() == [0.95, 0.998]
