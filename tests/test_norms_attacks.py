"""The attacks on a norms file, each replayed on the sample with nothing but the published files.

Each attack recovered a client's scores or a small count from the norms of an earlier
version; here each is run against the norms of this one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import outcomes as oc
from outcomes.norms import build_norms
from outcomes.norms._release import measures
from outcomes.privacy import release_step
from outcomes.study import Study

SPECS = measures()


def _without(sample, ids) -> Study:
    tables = {kind: frame for kind, frame in sample.tables.items()}
    for kind, frame in tables.items():
        if "engagement_id" in frame:
            tables[kind] = frame[~frame["engagement_id"].isin(ids)]
    return Study(tables=tables, source=sample.source)


@pytest.fixture(scope="module")
def sample():
    return oc.load_sample()


def _entry(doc, band, measure):
    return next((d for d in doc["distributions"]
                 if d["band"] == band and d["measure"] == measure), None)


def _sum_interval(doc, entry, measure) -> tuple[float, float] | None:
    """What a reader knows of a group's sum of scores from its published n and mean."""
    if entry is None or entry["n"] is None or entry["mean"] is None:
        return None
    n, mean = entry["n"], entry["mean"]
    low, high = SPECS[measure].bounds
    step = release_step(n, span=high - low, precision=SPECS[measure].precision) \
        if "privacy" in doc else 0.0
    return n * (mean - step / 2), n * (mean + step / 2)


def _leftover(doc, measure):
    """All minus the bands: the leftover clients and the interval of their sum of scores."""
    whole = _entry(doc, "all", measure)
    bands = [d for d in doc["distributions"] if d["measure"] == measure and d["band"] != "all"]
    parts = [_sum_interval(doc, d, measure) for d in bands]
    total = _sum_interval(doc, whole, measure)
    if total is None or any(p is None for p in parts):
        return None
    count = whole["n"] - sum(d["n"] for d in bands)
    return count, total[0] - sum(p[1] for p in parts), total[1] - sum(p[0] for p in parts)


def test_all_minus_the_bands_leaves_no_one(sample):
    # six of the seven clients without an intake score removed: E0212 is the only one left
    table = sample.analysis_table()
    others = table.loc[table["baseline"].isna() & (table["engagement_id"] != "E0212"),
                       "engagement_id"]
    doc = build_norms(_without(sample, set(others)), n_boot=0, seed=1, base=None).document
    for measure in ("end", "session_rating", "alliance", "sessions"):
        left = _leftover(doc, measure)
        if left is None:
            continue  # a band is withheld: nothing to subtract
        count, low, high = left
        span = SPECS[measure].bounds[1] - SPECS[measure].bounds[0]
        assert count == 0 or count >= doc["k"], (measure, count)
        assert count == 0 or high - low >= span, (measure, low, high)


def test_two_releases_do_not_give_back_the_client_between_them(sample):
    doc1 = build_norms(sample, n_boot=0, seed=1, base=None).document
    doc2 = build_norms(_without(sample, {"E0003"}), n_boot=0, seed=1, base=None).document
    for measure in ("intake", "session_rating", "alliance", "sessions"):
        one = _sum_interval(doc1, _entry(doc1, "all", measure), measure)
        two = _sum_interval(doc2, _entry(doc2, "all", measure), measure)
        if one is None or two is None:
            continue  # withheld in one of them: nothing to subtract
        low, high = one[0] - two[1], one[1] - two[0]  # E0003's score lies in [low, high]
        span = SPECS[measure].bounds[1] - SPECS[measure].bounds[0]
        assert high - low >= span, (measure, low, high)


def _nine(sample) -> Study:
    table = sample.analysis_table().dropna(subset=["baseline", "end_score"])
    keep = set(table["engagement_id"].iloc[:9])
    return _without(sample, set(sample.tables["engagements"]["engagement_id"]) - keep)


@pytest.mark.parametrize("k", [3, 5])
def test_band_edges_of_a_nine_client_study_are_not_clients_scores(sample, k):
    study = _nine(sample)
    intake = np.sort(study.analysis_table()["baseline"].to_numpy(dtype=float))
    doc = build_norms(study, k=k, n_boot=0, seed=1).document
    for edge in doc["bands"]["edges"]:
        below = int((intake < edge).sum())
        assert below >= k and len(intake) - below >= k, (edge, intake)
        assert edge == round(edge), edge  # rounded to whole points
    counts = np.diff([0, *[(intake < e).sum() for e in doc["bands"]["edges"]], len(intake)])
    assert (counts >= k).all()


def test_change_n_does_not_give_away_a_small_cell(sample):
    # three clients without an intake score have an end score: with_end_score - change.n
    table = sample.analysis_table()
    lacking = table.loc[table["baseline"].isna() & table["end_score"].notna(), "engagement_id"]
    doc = build_norms(_without(sample, set(lacking.iloc[:3])), n_boot=0, seed=1,
                      base=None).document
    ended, both = doc["sample"]["with_end_score"], doc["change"]["n"]
    if ended is not None and both is not None:
        assert not 0 < ended - both < doc["k"], (ended, both)
    left = _leftover(doc, "end")
    assert left is None or left[0] == 0 or left[0] >= doc["k"]


def test_missing_values_of_one_to_four_clients_cannot_be_told_apart(sample):
    # three clients lack a session rating: 1,140 - 1,137 in the old norms
    doc = build_norms(sample, n_boot=0, seed=1).document
    base = doc["privacy"]["base"]
    engagements = doc["sample"]["engagements"]
    rated = _entry(doc, "all", "session_rating")["n"]
    half = base / 2
    possible = {e - n for e in range(math.ceil(engagements - half), int(engagements + half))
                for n in range(math.ceil(rated - half), int(rated + half))} if rated else set()
    assert rated is None or max(possible) >= doc["k"], possible


def test_rounded_counts_come_with_rounded_totals_and_percentages(sample):
    doc = build_norms(sample, n_boot=0, seed=1, base=5).document
    counts = [*doc["sample"].values(), *(d["n"] for d in doc["distributions"]),
              doc["change"]["n"], *doc["change"]["counts"].values()]
    assert all(c is None or c % 5 == 0 for c in counts), counts
    n = doc["change"]["n"]
    for category, share in doc["change"]["percentages"].items():
        count = doc["change"]["counts"][category]
        if share is not None:  # 23.8 % of 875 gives back a rounded count, not an exact one
            assert abs(share * n - count) <= 0.0005 * n + 1e-9, (category, share, count)
    exact = build_norms(sample, n_boot=0, seed=1, base=None).document
    assert exact["privacy"]["base"] is None
    assert any(c % 5 for c in (d["n"] for d in exact["distributions"]) if c)


def test_every_number_of_the_norms_file_is_in_the_log(sample):
    norms = build_norms(sample, n_boot=0, seed=1)
    released = pd.to_numeric(norms.log["value"], errors="coerce").dropna().to_numpy()
    settings = {"version", "k", "base", "reliable_change", "clinical_cutoff", "reliability",
                "alliance_cutoff", "early_sessions", "winsor", "limits", "coverage",
                "ci_level", "n_boot", "sessions"}

    def walk(part, key=""):
        if isinstance(part, dict):
            for name, value in part.items():
                yield from walk(value, name)
        elif isinstance(part, list):
            for value in part:
                yield from walk(value, key)
        elif isinstance(part, int | float) and not isinstance(part, bool):
            yield key, float(part)

    missing = [(key, value) for key, value in walk(norms.document)
               if key not in settings and not np.isclose(released, value, atol=1e-9).any()]
    assert missing == []
