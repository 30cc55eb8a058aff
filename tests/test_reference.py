"""Reference splits and the comparison of an estimate with one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import UsageError
from outcomes.reference import REFERENCES, ReferenceSplit, aitchison_distance, compare
from outcomes.shares.decomposition import decompose

FOUR = {"client": 0.2, "relationship": 0.15, "expectancy": 0.075, "technique": 0.075}


def test_presets_from_the_science_notes():
    expected = {
        "asay-lambert-1999": {"client": 40, "relationship": 30, "expectancy": 15, "technique": 15},
        "mckenna-davis-2009": {"client": 40, "relationship": 30, "expectancy": 15, "technique": 15},
        "norcross-lambert-2011": {"client": 30, "relationship": 12, "technique": 8,
                                  "therapist": 7, "other": 3, "unexplained": 40},
        "wampold-2001": {"client": 87, "treatment": 13},
        "duncan-2014": {"client": 86, "treatment": 14},
    }
    for key, parts in expected.items():
        ref = REFERENCES[key]
        assert ref.key == key
        assert {k: round(100 * v, 6) for k, v in ref.shares.items()} == parts
    for ref in REFERENCES.values():
        assert isinstance(ref, ReferenceSplit) and ref.citation and ref.share_of
        if ref.additive:
            assert sum(ref.shares.values()) == pytest.approx(1.0)
    assert REFERENCES["laska-2014"].additive is False
    assert REFERENCES["norcross-lambert-2011"].from_memory
    with pytest.raises(TypeError):
        REFERENCES["asay-lambert-1999"].shares["client"] = 0.5  # read-only


def test_aitchison_distance_by_hand():
    x, y = np.array([0.4, 0.3, 0.1, 0.2]), np.array([0.4, 0.3, 0.15, 0.15])
    clr = lambda v: np.log(v) - np.log(v).mean()  # noqa: E731
    assert aitchison_distance(x, y) == pytest.approx(np.linalg.norm(clr(x) - clr(y)), abs=1e-15)
    assert aitchison_distance(x, 10 * x) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(aitchison_distance([0.5, 0.0, 0.5], [1, 1, 1]))


def test_identical_composition_is_at_distance_zero():
    c = compare({k: v / 2 for k, v in REFERENCES["asay-lambert-1999"].shares.items()})
    assert c.distance == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(c.parts.estimate, c.parts.reference)
    assert "judgement" in c.summary()


def test_total_variance_reference_uses_absolute_shares_and_residual():
    c = compare({"client": 0.2, "relationship": 0.1, "technique": 0.05}, "norcross-lambert-2011",
                r2=0.4)
    assert c.scale == "total"
    got = dict(zip(c.parts.part, c.parts.estimate, strict=True))
    assert got == pytest.approx({"client": 0.2, "relationship": 0.1, "technique": 0.05,
                                 "unexplained": 0.6})
    assert "1 - R²" in c.summary()
    w = compare({"client": 0.1, "a": 0.05, "b": 0.05}, "wampold-2001", r2=0.2,
                mapping={"treatment": ["a", "b"]})
    got = dict(zip(w.parts.part, w.parts.estimate, strict=True))
    assert got == pytest.approx({"client": 0.9, "treatment": 0.1})


def test_separate_r2_has_no_distance():
    c = compare({"alliance": 0.08, "empathy": 0.05}, "laska-2014")
    assert c.scale == "separate" and np.isnan(c.distance)
    assert "not add up" in c.summary()


def test_unmatched_factors_are_refused_or_noted():
    with pytest.raises(UsageError, match="mapping"):
        compare({"Education": 0.3, "Catholic": 0.1}, "asay-lambert-1999")
    with pytest.raises(UsageError, match="unknown reference"):
        compare(FOUR, "lambert-2099")
    c = compare({"client": 0.2, "relationship": 0.1, "extra": 0.1})
    assert list(c.parts.part) == ["client", "relationship"]
    assert c.parts.estimate.sum() == pytest.approx(1.0)
    assert "left out" in c.summary()


def test_bootstrap_intervals_and_inside_flag():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=list(FOUR))
    df["y"] = df @ np.sqrt([0.4, 0.3, 0.15, 0.15]) + rng.normal(size=n)
    d = decompose(df, "y", list(FOUR), n_boot=300, seed=2)
    c = d.compare("asay-lambert-1999")
    assert c.ci_method == "bca"
    assert (c.parts.ci_low <= c.parts.estimate).all()
    assert (c.parts.estimate <= c.parts.ci_high).all()
    expect_inside = (c.parts.ci_low <= c.parts.reference) & (c.parts.reference <= c.parts.ci_high)
    assert list(c.parts.inside) == list(expect_inside)
    assert c.distance_ci_low <= c.distance_ci_high
    text = json.dumps(c.to_dict())
    assert "asay-lambert-1999" in text
    assert c.plot().get_ylabel()


def test_relative_comparison_matches_decomposition_interval():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(200, 4)), columns=list(FOUR))
    df["y"] = df.sum(axis=1) + rng.normal(size=200)
    d = decompose(df, "y", list(FOUR), n_boot=200, seed=4)
    c = d.compare()
    rel = d.ci[d.ci.quantity == "relative"].set_index("factor")
    parts = c.parts.set_index("part")
    np.testing.assert_allclose(parts.ci_low, rel.ci_low.loc[parts.index], atol=1e-12)
    np.testing.assert_allclose(parts.ci_high, rel.ci_high.loc[parts.index], atol=1e-12)


def test_reference_split_has_the_four_faces():
    from outcomes._results import Summary

    ref = REFERENCES["asay-lambert-1999"]
    assert repr(ref) == "<ReferenceSplit: Asay & Lambert (1999): 40/30/15/15 (4 parts)>"
    assert list(ref.table().columns) == ["part", "estimate"]
    assert ref.table().estimate.sum() == pytest.approx(1.0)
    text = ref.summary()
    assert isinstance(text, Summary) and "Source:" in text and "40.0" in text
    assert json.loads(json.dumps(ref.to_dict()))["shares"]["client"] == 0.4
    assert len(ref.plot().patches) == 4
    for split in REFERENCES.values():
        assert "\n" not in split.headline() and len(split.headline()) < 100


def test_comparison_displays_itself():
    from outcomes._results import Summary

    c = compare({"client": 0.2, "relationship": 0.15, "expectancy": 0.05, "technique": 0.1})
    assert repr(c) == ("<Comparison: 4 parts vs asay-lambert-1999 (relative), "
                       "Aitchison distance 0.494>")
    assert isinstance(c.summary(), Summary)
    assert {"part", "estimate", "ci_low", "ci_high", "reference"} <= set(c.table().columns)
