"""Norms: aggregates only, k applied, consent respected, versioned and schema-checked."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import outcomes as oc
from outcomes._errors import DataError, UsageError
from outcomes._results import Summary
from outcomes.norms import FORMAT, VERSION, Norms, build_norms, check_norms, read_norms
from outcomes.privacy import round_to_base
from outcomes.study import Study
from tests.conftest import small_study


@pytest.fixture(scope="module")
def sample():
    return oc.load_sample()


@pytest.fixture(scope="module")
def norms(sample):
    return build_norms(sample, n_boot=50, seed=3)


def test_format_version_and_schema(norms, tmp_path):
    doc = norms.to_dict()
    assert doc["format"] == FORMAT == "outcomes-norms" and doc["version"] == VERSION == 2
    check_norms(doc)
    path = norms.write(tmp_path / "norms.json")
    again = read_norms(path)
    assert again.to_dict() == doc
    doc["k"] = 99
    assert norms.k == 5  # to_dict gives a copy


def test_no_identifier_of_the_input_is_in_the_file(sample, norms, tmp_path):
    text = norms.write(tmp_path / "norms.json").read_text()
    engagements = sample.valid("engagements")
    ids = set(engagements["client_id"]) | set(engagements["engagement_id"])
    ids |= set(engagements["coach_id"])
    found = [i for i in ids if i in text]
    assert found == []


def test_every_number_rests_on_k_clients(norms):
    k = norms.k
    for entry in norms.document["distributions"]:
        if entry["n"] is None:
            assert entry["mean"] is None and entry["quantiles"] == {}
            continue
        assert entry["n"] >= k
        for q, value in entry["quantiles"].items():
            q = float(q)
            if value is not None:  # at least k clients on each side of a published quantile
                assert entry["n"] * min(q, 1 - q) >= k
            else:
                assert entry["n"] * min(q, 1 - q) < k
    counts = norms.document["change"]["counts"]
    assert all(c is None or c >= k for c in counts.values())
    effects = norms.section("coach_effects")
    assert effects["n_coaches"] >= k and effects["tau"] >= 0


def test_consent_is_respected(sample):
    tables = {kind: frame.copy() for kind, frame in sample.tables.items()}
    engagements = tables["engagements"]
    consenting = engagements["research_consent"].astype(str).str.lower().isin(["true", "1"])
    first_coach = engagements.loc[consenting, "coach_id"].iloc[0]
    mine = engagements["coach_id"] == first_coach
    engagements.loc[mine, "research_consent"] = "False"
    study = Study(tables=tables, source=sample.source)
    doc = build_norms(study, n_boot=0, seed=1, base=None).document
    base = build_norms(sample, n_boot=0, seed=1, base=None).document
    assert doc["sample"]["engagements"] == base["sample"]["engagements"] - int(
        (mine & consenting).sum())
    assert doc["sample"]["coaches"] == base["sample"]["coaches"] - 1
    assert doc["sample"]["excluded_no_consent"] == int((~consenting | mine).sum())


def test_case_mix_and_bands_by_hand(sample, norms):
    table = sample.analysis_table()
    both = table.dropna(subset=["baseline", "change"])
    design = np.column_stack([np.ones(len(both)), both.baseline,
                              (both.sponsor == "self").astype(float)])
    beta, *_ = np.linalg.lstsq(design, both.change.to_numpy(dtype=float), rcond=None)
    terms = norms.document["case_mix"]["terms"]
    # published at three decimals
    assert [terms["intercept"], terms["baseline"], terms["sponsor[self]"]] == \
        pytest.approx(beta, abs=5e-4)
    assert norms.expected_change([10.0, 10.0], sponsor=["self", "organisation"]) == \
        pytest.approx([beta[0] + 10 * beta[1] + beta[2], beta[0] + 10 * beta[1]], abs=0.01)
    edges = norms.document["bands"]["edges"]
    assert edges == sorted(edges) and len(norms.document["bands"]["labels"]) == len(edges) + 1
    assert norms.band_of([edges[0] - 0.1, edges[0]]).tolist() == \
        norms.document["bands"]["labels"][:2]
    intake = norms.table().query("band == 'all' and measure == 'intake'").iloc[0]
    assert intake["n"] == round_to_base(table["baseline"].notna().sum())  # rounded to 5
    assert intake["q50"] == pytest.approx(table["baseline"].median(), abs=0.05)


def test_a_small_study_withholds_what_rests_on_too_few(tmp_path):
    study = Study(tables=small_study(), source=str(tmp_path))
    doc = build_norms(study, k=5, n_boot=0).document
    check_norms(doc)
    assert "withheld" in doc["coach_effects"]
    assert "withheld" in doc["factor_shares"] or doc["factor_shares"]["n"] >= 5
    assert doc["bands"]["edges"] == [] and doc["bands"]["labels"] == ["all intakes"]
    with pytest.raises(UsageError):
        build_norms(study, k=2)


def test_other_versions_and_broken_files_are_refused(norms, tmp_path):
    doc = norms.to_dict()
    doc["version"] = 3
    path = tmp_path / "future.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="format version 3; this version of outcomes reads "
                                        "version 2"):
        read_norms(path)
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(DataError, match="not an outcomes norms file"):
        read_norms(tmp_path / "other.json")
    broken = norms.to_dict()
    broken["k"] = 2
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(DataError, match="breaks its schema at k"):
        read_norms(tmp_path / "broken.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not JSON"):
        read_norms(tmp_path / "bad.json")
    with pytest.raises(UsageError, match="does not exist"):
        read_norms(tmp_path / "missing.json")


def test_faces(norms):
    table = norms.table()
    assert {"band", "measure", "n", "mean", "sd", "q50"} <= set(table.columns)
    assert "format outcomes-norms version 2" in norms.summary()
    assert isinstance(norms.summary(), Summary)
    assert re.fullmatch(r"<Norms: \S+: [\d,]+ engagements of \d+ coaches, k = 5, made "
                        r"\d{4}-\d\d-\d\d \(format version 2\)>", repr(norms)), repr(norms)
    ax = norms.plot()
    assert len(ax.patches) >= 3
    assert isinstance(norms, Norms) and isinstance(norms.to_dict(), dict)
    shares = norms.section("factor_shares")["shares"]
    assert sum(s["relative"] for s in shares.values()) == pytest.approx(1.0)
    assert all(s["ci_low"] <= s["relative"] <= s["ci_high"] for s in shares.values())
    assert norms.section("missing") is None


def test_the_session_range_stops_where_fewer_than_k_clients_remain(sample, norms):
    from outcomes.practice.trajectories import session_scores

    first, last = norms.to_dict()["trajectories"]["sessions"]
    sessions = session_scores(sample.scores())
    reached = sessions.groupby("session")["engagement_id"].nunique()
    assert reached[last] >= 5
    assert (reached[reached.index > last] < 5).all()
    assert first == 1


def test_the_schema_ships_inside_the_norms_package():
    from importlib import resources

    from outcomes.norms import schema

    assert resources.files("outcomes.norms").joinpath("norms.schema.json").is_file()
    assert schema()["$schema"].startswith("https://json-schema.org/")


def test_seed_and_n_boot_are_checked(sample):
    with pytest.raises(UsageError, match="build_norms: n_boot must be a whole number"):
        build_norms(sample, n_boot=-5)
    with pytest.raises(UsageError, match="build_norms: seed must be a whole number"):
        build_norms(sample, seed=1.5)


def test_a_study_without_end_scores_publishes_what_it_can_and_says_why(sample):
    responses = sample.tables["responses"]
    study = Study(tables={**sample.tables, "responses": responses[responses["occasion"] != "end"]},
                  source="sample")
    norms = build_norms(study, n_boot=0, seed=1)
    doc = norms.document
    check_norms(doc)
    for part in ("change", "case_mix", "coach_effects", "severity_reference", "factor_shares"):
        assert doc[part]["withheld"].startswith("No end scores yet: "), part
        assert doc[part]["withheld"].endswith("and make the norms again."), part
    assert doc["change"]["n"] is None and doc["sample"]["with_end_score"] == 0
    assert doc["trajectories"]["n_clients"] > 100
    assert set(norms.withheld()) == {"change", "case_mix", "coach_effects",
                                     "severity_reference", "factor_shares"}
    assert "Not published" in str(norms.summary())


def test_norms_refuse_more_replicates_than_any_study_needs(sample):
    with pytest.raises(UsageError, match="n_boot = 1,000,000 is more than 100,000"):
        build_norms(sample, n_boot=1_000_000)
