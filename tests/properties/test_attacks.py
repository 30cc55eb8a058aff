"""An attacker in the test suite: random studies, random one-client neighbours, every attack.

For each random study and a neighbour without one client, the attacker sees the two norms
releases (bands, distributions, counts) and tries: all minus the bands, the difference of
every published mean and count, the withheld counts from the published ones, and counts from
percentages. No number may rest on fewer than k clients, and no client's score may come back
narrower than the measure's range (the rounding grid's guarantee).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.norms._release import measures
from outcomes.norms.build import release_tables
from outcomes.privacy import Disclosure, release_step

SPECS = measures()
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)


@st.composite
def studies(draw):
    n = draw(st.integers(6, 40))
    tenth = st.integers(0, 400).map(lambda v: v / 10)
    intake = draw(st.lists(st.one_of(st.none(), tenth), min_size=n, max_size=n))
    end = draw(st.lists(st.one_of(st.none(), tenth), min_size=n, max_size=n))
    rating = draw(st.lists(st.one_of(st.none(), tenth), min_size=n, max_size=n))
    table = pd.DataFrame({
        "engagement_id": [f"E{i}" for i in range(n)], "coach_id": [f"C{i % 4}" for i in range(n)],
        "baseline": pd.array(intake, dtype="Float64").astype(float),
        "end_score": pd.array(end, dtype="Float64").astype(float),
        "session_rating": pd.array(rating, dtype="Float64").astype(float),
        "alliance": draw(st.lists(st.integers(12, 60), min_size=n, max_size=n)),
        "sessions_attended": draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))})
    table["alliance"] = table["alliance"] / 12
    table["change"] = table["end_score"] - table["baseline"]
    return table, draw(st.integers(0, n - 1)), draw(st.sampled_from([None, 5]))


def _release(table, k, base):
    gate = Disclosure(k=k, base=base)
    return release_tables(table, gate, bands=4, with_change=False), gate


def _sum(entry, measure):
    if entry["n"] is None or entry["mean"] is None:
        return None
    low, high = SPECS[measure].bounds
    step = release_step(entry["n"], span=high - low, precision=SPECS[measure].precision)
    return entry["n"] * (entry["mean"] - step / 2), entry["n"] * (entry["mean"] + step / 2)


def _no_small_statistic(table, doc, gate, k):
    for record in gate.records:
        if not record.withheld and record.rule not in ("count", "rounded count"):
            assert record.n is None or record.n >= k, record
        if not record.withheld and record.rule in ("count", "rounded count"):
            assert record.n == 0 or record.n >= k, record
    assert doc["sample"]["engagements"] >= 0


def _all_minus_bands(doc, k):
    for measure, spec in SPECS.items():
        rows = [d for d in doc["distributions"] if d["measure"] == measure]
        whole = next(d for d in rows if d["band"] == "all")
        sums = [_sum(d, measure) for d in rows]
        if any(s is None for s in sums) or whole["n"] is None:
            continue
        left = whole["n"] - sum(d["n"] for d in rows if d["band"] != "all")
        assert left == 0 or left >= k or doc["privacy_base"], (measure, left)
        if left:
            width = sum(s[1] - s[0] for s in sums)
            assert width >= spec.bounds[1] - spec.bounds[0]


def _differencing(one, two, removed, base):
    for measure, spec in SPECS.items():
        a = next(d for d in one["distributions"] if d["measure"] == measure and d["band"] == "all")
        b = next(d for d in two["distributions"] if d["measure"] == measure and d["band"] == "all")
        x, y = _sum(a, measure), _sum(b, measure)
        if x is None or y is None or pd.isna(removed[spec.column]):
            continue
        low, high = x[0] - y[1], x[1] - y[0]
        assert low <= removed[spec.column] + 1e-9 and removed[spec.column] <= high + 1e-9
        assert high - low >= spec.bounds[1] - spec.bounds[0] - 1e-9, (measure, low, high)


def _attack(table, drop, base, k):
    one, gate = _release(table, k, base)
    two, gate_two = _release(table.drop(index=drop).reset_index(drop=True), k, base)
    one["privacy_base"] = two["privacy_base"] = base
    _no_small_statistic(table, one, gate, k)
    _no_small_statistic(table, two, gate_two, k)
    _all_minus_bands(one, k)
    if base is None:  # exact counts: the attacker knows every n (rounded ones widen the range)
        _differencing(one, two, table.loc[drop], base)
    for edge in one["bands"]["edges"]:
        intake = table["baseline"].dropna()
        assert (intake < edge).sum() >= k and (intake >= edge).sum() >= k


@SETTINGS
@given(studies())
def test_attacks_fail_with_k_3(case):
    table, drop, base = case
    _attack(table, drop, base, 3)


@SETTINGS
@given(studies())
def test_attacks_fail_with_k_5(case):
    table, drop, base = case
    _attack(table, drop, base, 5)


@SETTINGS
@given(studies())
def test_attacks_fail_with_k_10(case):
    table, drop, base = case
    _attack(table, drop, base, 10)


def test_the_attacker_catches_an_unprotected_release():
    # the same differencing on exact means gives the client back: the check has teeth
    table = pd.DataFrame({"x": np.arange(20, dtype=float)})
    one, two = table["x"].mean() * 20, table["x"].iloc[1:].mean() * 19
    assert abs((one - two) - table["x"].iloc[0]) < 1e-9
