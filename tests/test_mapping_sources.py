"""Qualtrics, REDCap and SurveyMonkey exports mapped to canonical tables.

The exports in tests/fixtures/exports were written by hand from the export formats that
Qualtrics, REDCap and SurveyMonkey document. Expected lines, counts and values below were
counted and worked out by hand from those files: e.g. the first-session Qualtrics file has
its column names on line 1, question texts on lines 2-3 (one holds a line break), ImportIds
on line 4, and records from line 5 (the first record spans lines 5-6).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from outcomes._errors import UsageError
from outcomes.mapping import map_export, parse_mapping, read_mapping
from outcomes.mapping.sources import read_export

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
PERSONAL_TEXT = ("@example.org", "81.2.69.", "Okafor", "51.5072")


def reasons(mapped) -> dict[int, str]:
    return dict(zip(mapped.rejected["row"], mapped.rejected["reason"], strict=True))


def value(mapped, engagement, instrument, item, occasion=None) -> float:
    r = mapped.tables["responses"]
    hit = r[(r.engagement_id == engagement) & (r.instrument == instrument) & (r.item == item)]
    if occasion is not None:
        hit = hit[hit.occasion == occasion]
    assert len(hit) == 1, hit
    return float(hit["value"].iloc[0])


def no_personal_data(frame: pd.DataFrame) -> None:
    text = frame.to_csv()
    for marker in PERSONAL_TEXT:
        assert marker not in text, marker


# --- Qualtrics, current layout ----------------------------------------------------------

@pytest.fixture(scope="module")
def first_session():
    return map_export(EXPORTS / "qualtrics_first_session.csv",
                      EXPORTS / "qualtrics_first_session.toml")


def test_qualtrics_records_add_up_with_reasons_and_lines(first_session):
    m = first_session
    assert m.source == "qualtrics" and m.name == "first-session"
    assert (m.rows_read, m.rows_mapped, m.rows_rejected) == (8, 5, 3)
    assert reasons(m) == {8: "preview", 9: "unfinished", 12: "no_engagement"}
    messages = dict(zip(m.rejected["row"], m.rejected["message"], strict=True))
    assert messages[9] == "an unfinished response (Finished = 0, Progress 45%)"
    assert sorted(m.tables["responses"]["export_row"].unique()) == [5, 7, 10, 11, 13]


def test_qualtrics_items_by_question_id_tag_and_columns_with_recodes(first_session):
    m = first_session
    assert value(m, "E01", "ors", 1) == 4.5                 # QID12_1, slider
    assert value(m, "E01", "lot-r", 1) == 2                 # Qualtrics code 3, add = -1
    assert value(m, "E01", "srs", 1) == pytest.approx(8.8)  # 88 on a 0-100 slider, x 0.1
    assert value(m, "E06", "wai-sr", 4) == 5                # export tag Q8
    assert value(m, "E01", "ahs", 12) == 7
    r = m.tables["responses"]
    # 5 records x (4 + 12 + 10 + 12 + 4) items; E05's unanswered LOT-R item 3 stays, empty
    assert len(r) == 5 * 42
    assert pd.isna(value(m, "E05", "lot-r", 3))
    wai = r[r.instrument == "wai-sr"]
    assert set(wai.occasion) == {"session"} and set(wai.session) == {1}
    assert r.loc[r.instrument == "ors", "session"].isna().all()


def test_qualtrics_fields_recodes_and_dates(first_session):
    e = first_session.tables["engagements"].set_index("engagement_id")
    assert e.loc["E02", "sponsor"] == "organisation" and e.loc["E01", "sponsor"] == "self"
    assert e.loc["E04", "start_date"] == "2024-03-07"
    assert e.loc["E06", ["client_id", "coach_id"]].tolist() == ["P06", "C3"]
    s = first_session.tables["sessions"]
    assert s[["engagement_id", "session", "date"]].values.tolist()[0] == ["E01", 1, "2024-03-04"]


def test_qualtrics_personal_metadata_is_dropped_with_a_note(first_session):
    m = first_session
    assert set(m.columns_personal) == {"IPAddress", "LocationLatitude", "LocationLongitude",
                                       "RecipientFirstName", "RecipientLastName",
                                       "RecipientEmail"}
    assert "Dropped 6 columns that identify people" in m.notes[0]
    assert set(m.columns_used) >= {"Status", "Finished", "ExternalReference", "Q9_4"}
    assert "Q10" in m.columns_ignored
    no_personal_data(m.rejected)
    for table in m.tables.values():
        no_personal_data(table)


def test_rejected_records_keep_their_cells_including_multiline_text(first_session):
    preview = first_session.rejected.set_index("row").loc[8]
    assert preview["ResponseId"] == "R_preview0001xyz" and preview["Q10"] == "testing the survey"


def test_single_quoted_importids_and_keep_incomplete(tmp_path):
    raw = (EXPORTS / "qualtrics_first_session.csv").read_bytes().decode("utf-8-sig")
    lines = raw.split("\r\n")
    lines[2] = lines[2].replace('""', "'")  # the ImportId row: {'ImportId':'QID12_1'}
    assert "{'ImportId':'QID12_1'}" in lines[2]
    path = tmp_path / "single.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    data = read_mapping(EXPORTS / "qualtrics_first_session.toml")
    mapped = map_export(path, data)
    assert reasons(mapped) == {8: "preview", 9: "unfinished", 12: "no_engagement"}
    keep = parse_mapping({"source": {"keep_incomplete": True}, "columns": {
        "engagement_id": "ExternalReference"}, "constants": {"occasion": "intake"},
        "items": [{"instrument": "ors", "question": "QID12"}]})
    mapped = map_export(path, keep)
    assert reasons(mapped) == {8: "preview", 12: "no_engagement"}
    assert value(mapped, "E03", "ors", 3) == 2.5


def test_keep_personal_data_keeps_the_columns():
    data = parse_mapping({"source": {"keep_personal_data": True},
                          "columns": {"engagement_id": "ExternalReference"},
                          "constants": {"occasion": "intake"},
                          "items": [{"instrument": "ors", "question": "QID12"}]})
    mapped = map_export(EXPORTS / "qualtrics_first_session.csv", data)
    assert mapped.columns_personal == () and "RecipientEmail" in mapped.columns_ignored


def test_a_personal_column_cannot_be_an_id():
    data = parse_mapping({"columns": {"engagement_id": "RecipientEmail"},
                          "constants": {"occasion": "intake"},
                          "items": [{"instrument": "ors", "question": "QID12"}]},
                         file="m.toml")
    with pytest.raises(UsageError, match="'RecipientEmail' identifies people.*keep_personal_data"):
        map_export(EXPORTS / "qualtrics_first_session.csv", data)


def test_qualtrics_layout_is_detected_and_can_be_overridden():
    assert read_export(EXPORTS / "qualtrics_first_session.csv").source == "qualtrics"
    assert read_export(EXPORTS / "qualtrics_legacy_end.csv").source == "qualtrics-legacy"
    forced = read_export(EXPORTS / "qualtrics_first_session.csv", source="wide")
    # read as a plain table, the two other header rows become records: 2 + 8
    assert forced.source == "wide" and len(forced.data) == 10


# --- Qualtrics, legacy layout -----------------------------------------------------------

def test_legacy_qualtrics_two_header_rows_and_labels_as_names():
    m = map_export(EXPORTS / "qualtrics_legacy_end.csv", EXPORTS / "qualtrics_legacy_end.toml")
    assert (m.rows_read, m.rows_mapped, m.rows_rejected) == (5, 3, 2)
    assert reasons(m) == {5: "preview", 6: "unfinished"}
    assert value(m, "E05", "ors", 3) == 7 and value(m, "E01", "lot-r", 10) == 4
    e = m.tables["engagements"].set_index("engagement_id")
    assert e.loc["E02", "end_date"] == "2014-06-03" and set(e["status"]) == {"completed"}
    assert set(m.columns_personal) == {"V3", "V5", "V6", "LocationLatitude",
                                       "LocationLongitude", "LocationAccuracy"}
    no_personal_data(m.rejected)


# --- REDCap -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def redcap():
    return map_export(EXPORTS / "redcap_sessions.csv", EXPORTS / "redcap_sessions.toml")


def test_redcap_records_add_up(redcap):
    assert (redcap.rows_read, redcap.rows_mapped, redcap.rows_rejected) == (16, 14, 2)
    assert reasons(redcap) == {8: "incomplete", 17: "bad_value"}
    messages = dict(zip(redcap.rejected["row"], redcap.rejected["message"], strict=True))
    assert 'form "session_log" is marked Incomplete' in messages[8]
    assert "'training_arm_1'" in messages[17] and "[recode.occasion]" in messages[17]


def test_redcap_events_instances_and_checkboxes_become_sessions(redcap):
    s = redcap.tables["sessions"].set_index(["engagement_id", "session"])
    assert list(s.index) == [("E01", 1), ("E01", 2), ("E02", 1), ("E02", 3), ("E04", 1),
                             ("E04", 2)]
    assert s.loc[("E01", 1), "techniques"] == "grow;strengths-based"
    assert s.loc[("E02", 3), "techniques"] == "solution-focused;cognitive-behavioural"
    assert pd.isna(s.loc[("E04", 1), "techniques"])   # only "-99, Not recorded" ticked
    assert pd.isna(s.loc[("E01", 2), "duration_min"])  # UNK, a REDCap missing-data code
    assert s.loc[("E02", 1), "duration_min"] == "45"
    e = redcap.tables["engagements"].set_index("engagement_id")
    assert e.loc["E02", ["status", "end_date", "sponsor"]].tolist() == [
        "dropped", "2024-04-30", "organisation"]
    assert e.loc["E05", "status"] == "ongoing" and pd.isna(e.loc["E05", "end_date"])


def test_redcap_items_occasions_recodes_and_missing_codes(redcap):
    r = redcap.tables["responses"]
    e01 = r[(r.engagement_id == "E01") & (r.instrument == "wai-sr")]
    assert e01[e01.session == 1]["value"].tolist() == [4, 4, 5, 3, 4, 4, 5, 4, 4, 3, 4, 5]
    end = r[r.occasion == "end"]
    assert set(end.instrument) == {"ors"} and end["session"].isna().all() and len(end) == 12
    assert value(redcap, "E04", "ors", 3, occasion="end") == 7.5
    srs = r[(r.engagement_id == "E02") & (r.instrument == "srs") & (r.session == 3)]
    assert srs["value"].isna().tolist() == [False, True, False, False]  # -99 declared missing
    assert any("UNK (1), -99 (1)" in n for n in redcap.notes)
    assert redcap.columns_personal == ("email",)   # Identifier? = y in the dictionary
    no_personal_data(redcap.rejected)


def test_redcap_without_dictionary_uses_column_order_for_forms(tmp_path):
    data = read_mapping(EXPORTS / "redcap_sessions.toml")
    plan = parse_mapping({
        "source": {"missing_codes": [-99]}, "drop": {"columns": ["email"]},
        "columns": dict(data.columns),
        "recode": {k: dict(v) for k, v in data.recode.items()},
        "items": [{"instrument": "wai-sr", "pattern": "wai_{item}", "add": 1}]})
    mapped = map_export(EXPORTS / "redcap_sessions.csv", plan)
    assert reasons(mapped) == {8: "incomplete", 17: "bad_value"}
    assert mapped.columns_personal == ("email",)
    s = mapped.tables["sessions"].set_index(["engagement_id", "session"])
    # without the dictionary the checkbox codes are the exported ones: -99 is "_99"
    assert s.loc[("E04", 1), "techniques"] == "_99"
    assert any("No REDCap data dictionary" in n for n in mapped.notes)


def test_redcap_dictionary_note_when_codes_do_not_fit_the_instrument(tmp_path):
    plan = parse_mapping({"source": {"dictionary": str(EXPORTS / "redcap_dictionary.csv")},
                          "columns": {"engagement_id": "record_id",
                                      "occasion": "redcap_event_name",
                                      "session": "redcap_repeat_instance"},
                          "recode": {"occasion": {"session_arm_1": "session",
                                                  "baseline_arm_1": "intake",
                                                  "end_arm_1": "end"}},
                          "items": [{"instrument": "wai-sr", "question": "wai"}]})
    mapped = map_export(EXPORTS / "redcap_sessions.csv", plan)
    note = next(n for n in mapped.notes if "wai_1" in n)
    assert "codes wai_1 0 to 4" in note and "runs 1 to 5" in note and "add = 1" in note


def test_dictionary_with_wrong_headers_is_refused(tmp_path):
    bad = tmp_path / "dict.csv"
    bad.write_text("field,form\nrecord_id,enrolment\n", encoding="utf-8")
    plan = parse_mapping({"source": {"dictionary": str(bad)},
                          "columns": {"engagement_id": "record_id"},
                          "items": [{"instrument": "ors", "pattern": "ors_{item}"}]})
    with pytest.raises(Exception, match='"Variable / Field Name" is missing'):
        map_export(EXPORTS / "redcap_sessions.csv", plan)


# --- SurveyMonkey -----------------------------------------------------------------------

def test_surveymonkey_joined_headers_recodes_and_dates():
    m = map_export(EXPORTS / "surveymonkey_end.csv", EXPORTS / "surveymonkey_end.toml")
    assert m.source == "surveymonkey"
    assert (m.rows_read, m.rows_mapped, m.rows_rejected) == (5, 3, 2)
    assert reasons(m) == {5: "no_engagement", 7: "bad_value"}
    message = m.rejected.set_index("row").loc[7, "message"]
    assert "'Prefer not to say' is not a number" in message and "block 2 (ahs)" in message
    assert value(m, "E01", "ahs", 6) == 8 and value(m, "E04", "ahs", 3) == 1
    assert value(m, "E02", "ors", 2) == 6
    e = m.tables["engagements"].set_index("engagement_id")
    assert e.loc["E01", "end_date"] == "2024-04-15"
    assert set(m.columns_personal) == {"IP Address", "Email Address", "First Name",
                                       "Last Name"}
    assert "Which approaches do you remember your coach using? - GROW" in m.columns_ignored
    no_personal_data(m.rejected)


def test_a_column_the_file_lacks_names_mapping_key_and_export():
    plan = parse_mapping({"columns": {"engagement_id": "Custom Data 2"},
                          "items": [{"instrument": "ors", "columns": ["a", "b", "c", "d"]}]},
                         file="end.toml")
    with pytest.raises(UsageError) as caught:
        map_export(EXPORTS / "surveymonkey_end.csv", plan)
    text = str(caught.value)
    assert text.startswith("end.toml, [columns] engagement_id: the column 'Custom Data 2' is "
                           "not in ") and "surveymonkey_end.csv" in text
    assert "Close names: 'Custom Data 1'" in text


def test_redcap_events_as_sessions_coach_ratings_and_a_coaches_table(tmp_path):
    # a longitudinal project without repeating forms: one event per session; the coach
    # rates the alliance on the same form and gives their experience at enrolment
    wai = ",".join(f"cwai_{i}" for i in range(1, 13))
    lines = [f"record_id,redcap_event_name,coach,coach_years,sess_date,{wai},session_complete",
             "E1,enrolment_arm_1,K1,12.5,," + "," * 12,
             "E1,session_1_arm_1,,,2024-05-02," + ",".join(["4"] * 12) + ",2",
             "E1,session_2_arm_1,,,2024-05-16," + ",".join(["5"] * 11 + [""]) + ",2",
             "E2,enrolment_arm_1,K1,12,," + "," * 12]
    path = tmp_path / "coach_log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = parse_mapping({
        "columns": {"engagement_id": "record_id", "coach_id": "coach",
                    "session": "redcap_event_name", "years_experience": "coach_years",
                    "date": "sess_date"},
        "constants": {"occasion": "session", "rater": "coach"},
        "recode": {"session": {"session_1_arm_1": 1, "session_2_arm_1": 2,
                               "enrolment_arm_1": ""}},
        "items": [{"instrument": "wai-sr", "pattern": "cwai_{item}"}]})
    mapped = map_export(path, plan)
    assert mapped.source == "redcap"
    assert reasons(mapped) == {5: "conflict", 2: "conflict"}
    message = mapped.rejected.set_index("row").loc[2, "message"]
    assert message == ("years_experience of coach K1 differs between records: row 2 says "
                       "'12.5', row 5 says '12'")
    r = mapped.tables["responses"]
    assert set(r["rater"]) == {"coach"} and sorted(set(r["session"])) == [1, 2]
    assert r.loc[r.session == 2, "value"].isna().sum() == 1
    assert mapped.tables["sessions"]["date"].tolist() == ["2024-05-02", "2024-05-16"]
    assert mapped.tables["coaches"].empty
    path.write_text("\n".join(lines).replace("K1,12,", "K1,12.5,") + "\n", encoding="utf-8")
    agreed = map_export(path, plan)
    assert agreed.rejected.empty
    assert agreed.tables["coaches"][["coach_id", "years_experience"]].values.tolist() == [
        ["K1", "12.5"]]
