"""Draft mappings: instruments recognised by item counts, names and values.

Each draft must read as a mapping file; the recognised blocks below were read off the
fixture exports by hand (e.g. the first-session survey's QID20 has 12 columns under the
question text "Working Alliance Inventory (WAI-SR)").
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from outcomes.mapping import map_export, read_mapping, suggest_mapping

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def blocks(text: str) -> dict[str, dict]:
    draft = tomllib.loads(text)
    return {b.get("question") or b.get("pattern"): b for b in draft.get("items", [])}


def usable(text: str, tmp_path: Path, name: str = "draft.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_mapping(path)


def test_qualtrics_blocks_are_recognised_by_count_and_name(tmp_path):
    text = suggest_mapping(EXPORTS / "qualtrics_first_session.csv")
    found = blocks(text)
    assert {k: v["instrument"] for k, v in found.items()} == {
        "QID12": "ors", "QID3": "ahs", "QID4": "lot-r", "QID20": "wai-sr", "QID21": "srs"}
    assert found["QID4"]["add"] == -1 and found["QID21"]["multiply"] == 0.1
    assert "add" not in found["QID3"] and "add" not in found["QID20"]
    plan = usable(text, tmp_path)
    assert plan.columns["engagement_id"] == "ExternalReference"
    assert plan.columns["client_id"] == "client_id" and plan.columns["coach_id"] == "coach_id"
    assert "# dropped at ingest as personal data: IPAddress" in text
    mapped = map_export(EXPORTS / "qualtrics_first_session.csv", plan)
    assert mapped.rows_mapped == 5


def test_without_names_the_values_decide_and_ties_are_said(tmp_path):
    raw = (EXPORTS / "qualtrics_first_session.csv").read_bytes().decode("utf-8-sig")
    for old in ("ORS (Outcome Rating Scale): how have you been doing this past week?",
                "Adult Hope Scale", "Life Orientation Test (LOT-R)",
                "Working Alliance Inventory (WAI-SR)", "Session Rating Scale (SRS)"):
        raw = raw.replace(old, "Block")
    path = tmp_path / "neutral.csv"
    path.write_text(raw, encoding="utf-8")
    text = suggest_mapping(path)
    found = blocks(text)
    # 12 items answered up to 8: only the Adult Hope Scale (1-8) holds them
    assert found["QID3"]["instrument"] == "ahs"
    # 10 items coded 1-5: the LOT-R (0-4) shifted by one; the GSE (1-4) cannot hold a 5
    assert found["QID4"]["instrument"] == "lot-r" and found["QID4"]["add"] == -1
    # 12 items answered 3-5 fit the WAI-SR, MSPSS and AHS alike: the draft says so
    line = next(x for x in text.splitlines() if "recognised by 12 items, values 3 to 5" in x)
    assert "could also be" in line
    # 4 lines 0-10 are the ORS or the SRS; the draft names the other
    ors_line = next(x for x in text.splitlines() if "values 2 to 7" in x)
    assert "could also be: srs" in ors_line


def test_redcap_draft_finds_the_dictionary_events_matrix_and_techniques(tmp_path):
    text = suggest_mapping(EXPORTS / "redcap_sessions.csv")
    draft = tomllib.loads(text)
    assert draft["source"]["dictionary"] == "redcap_dictionary.csv"
    assert draft["columns"]["occasion"] == "redcap_event_name"
    assert draft["columns"]["session"] == "redcap_repeat_instance"
    assert draft["recode"]["occasion"]["baseline_arm_1"] == "intake"
    assert draft["recode"]["occasion"]["end_arm_1"] == "end"
    assert draft["columns"]["techniques"] == "sess_tech"
    assert draft["recode"]["techniques"] == {"1": "grow", "2": "solution-focused",
                                             "3": "cognitive-behavioural",
                                             "4": "strengths-based"}
    found = blocks(text)
    assert found["wai"]["instrument"] == "wai-sr" and found["wai"]["add"] == 1
    assert {k: v["instrument"] for k, v in found.items() if k != "wai"} == {
        "ors_{item}": "ors", "srs_{item}": "srs", "ors_end_{item}": "ors"}
    usable(text, tmp_path)


def test_surveymonkey_labels_with_numbers_become_a_recode():
    found = blocks(suggest_mapping(EXPORTS / "surveymonkey_end.csv"))
    hope = found["Adult Hope Scale: how true is each statement of you?"]
    assert hope["instrument"] == "ahs" and hope["recode"] == {"1 = false": 1, "8 = true": 8}
    assert len(found) == 2  # the approaches checklist is not taken for an instrument


def test_wide_spss_patterns_with_sessions_and_occasions(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame = pd.DataFrame({"client_id": ["P1", "P2"]})
    for s in (1, 2, 3):
        for i in range(1, 5):
            frame[f"ORS_s{s}_{i}"] = [5.0 + i / 2, 4.0]
    for t in (1, 2):
        for i in range(1, 11):
            frame[f"T{t}_LOT_{i}"] = [float(i % 5), 2.0]
    path = tmp_path / "wide.sav"
    pyreadstat.write_sav(frame, str(path))
    text = suggest_mapping(path)
    found = blocks(text)
    assert found["ORS_s{session}_{item}"]["instrument"] == "ors"
    assert found["ORS_s{session}_{item}"]["occasion"] == "session"
    assert found["{occasion}_LOT_{item}"]["instrument"] == "lot-r"
    assert "[recode.occasion]" in text  # said in a comment: T1 and T2 must be placed
    assert tomllib.loads(text)["columns"]["engagement_id"] == "client_id"


def test_a_block_named_after_its_instrument_is_that_instrument(tmp_path):
    # 12 items answered 1-5 fit the AHS (1-8), the MSPSS and the WAI-SR alike; the block's
    # own name, WAISR (no word "WAI" in it), says which
    path = tmp_path / "wide.csv"
    head = ["client_id", "coach"] + [f"WAISR_{i}" for i in range(1, 13)]
    rows = [["P1", "C1"] + [str(1 + i % 5) for i in range(12)], ["P2", "C2"] + ["3"] * 12]
    path.write_text("\n".join(",".join(r) for r in [head, *rows]) + "\n", encoding="utf-8")
    text = suggest_mapping(path)
    assert blocks(text)["WAISR_{item}"]["instrument"] == "wai-sr"
    assert "recognised by 12 items, its name, values 1 to 5" in text
    plan = usable(text, tmp_path)   # coach_id needs client_id: the draft maps both
    assert plan.columns["client_id"] == plan.columns["engagement_id"] == "client_id"
    assert map_export(path, plan).tables["engagements"]["coach_id"].tolist() == ["C1", "C2"]


def test_the_draft_maps_the_engagement_fields_or_says_what_happens_without_them(tmp_path):
    text = suggest_mapping(EXPORTS / "redcap_sessions.csv")
    plan = usable(text, tmp_path)
    assert {k: plan.columns[k] for k in ("start_date", "end_date", "sponsor", "status")} == {
        "start_date": "start_date", "end_date": "end_date", "sponsor": "sponsor",
        "status": "status"}
    # the dictionary's choice labels ("1, Self-funded | 2, Employer") give the recodes
    assert dict(plan.recode["sponsor"]) == {"1": "self", "2": "organisation"}
    assert dict(plan.recode["status"]) == {"1": "ongoing", "2": "completed", "3": "dropped",
                                           "4": "referred"}
    survey = suggest_mapping(EXPORTS / "surveymonkey_end.csv")
    assert '# sponsor: not found; left out, it is written as "unknown"' in survey
    assert "# start_date: not found; taken from the first session's date" in survey
    qualtrics = usable(suggest_mapping(EXPORTS / "qualtrics_first_session.csv"), tmp_path,
                       "q.toml")
    assert qualtrics.columns["sponsor"] == "Q2"   # "Who pays for your coaching?"
    assert "start_date" not in qualtrics.columns   # RecordedDate is the survey's, not the
    assert "end_date" not in qualtrics.columns     # engagement's; EndDate likewise
