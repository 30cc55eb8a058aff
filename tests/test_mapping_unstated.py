"""What an export does not say: no invented sponsor or status, derived start dates said so,
sessions kept without a session field, recodes to "" counted, fields that would be written
nowhere refused, and exports that share no engagement named.

The fixtures are the hand-written exports of tests/fixtures/exports (a Qualtrics
first-session survey and a REDCap session log for the same engagements) and the linked pair
of tests/fixtures/exports/linked (sixty engagements).
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from outcomes._errors import UsageError
from outcomes.mapping import map_export, parse_mapping
from outcomes.mapping.merge import read_folder

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
LINKED = EXPORTS / "linked"


def mapping(name: str, *, drop: tuple[str, ...] = (), **recode: dict[str, str]):
    """A fixture's mapping, with some [columns] left out and [recode] tables extended."""
    data = tomllib.loads((EXPORTS / name).read_text(encoding="utf-8"))
    for key in drop:
        del data["columns"][key]
    for field, table in recode.items():
        data.setdefault("recode", {}).setdefault(field, {}).update(table)
    return parse_mapping(data, file=name, base=EXPORTS)


def test_sponsor_and_status_the_export_lacks_are_unknown_never_invented(tmp_path):
    plan = mapping("qualtrics_first_session.toml", drop=("sponsor",))
    mapped = map_export(EXPORTS / "qualtrics_first_session.csv", plan)
    engagements = mapped.tables["engagements"]
    assert set(engagements["sponsor"]) == {"unknown"}
    assert set(engagements["status"]) == {"unknown"}
    said = [n for n in mapped.notes if 'written as "unknown"' in n]
    assert [n.split(":")[0] for n in said] == ["sponsor is not in the export (5 engagements)",
                                              "status is not in the export (5 engagements)"]
    written = mapped.write(tmp_path)
    assert written.validation.ok, written.validation.summary()
    assert set(read_folder(tmp_path)["engagements"]["sponsor"]) == {"unknown"}


def test_start_date_comes_from_the_first_session_else_the_intake_response():
    plan = mapping("qualtrics_first_session.toml", drop=("start_date",))
    mapped = map_export(EXPORTS / "qualtrics_first_session.csv", plan)
    engagements = mapped.tables["engagements"].set_index("engagement_id")
    sessions = mapped.tables["sessions"].set_index("engagement_id")
    assert (engagements["start_date"] == sessions["date"]).all()
    assert set(engagements["start_date_from"]) == {"first session"}
    assert any(n.startswith("start_date is not in the export for 5 engagements: it is taken "
                            "from the date of the first session for 5") for n in mapped.notes)

    no_sessions = mapping("qualtrics_first_session.toml", drop=("start_date", "date"))
    mapped = map_export(EXPORTS / "qualtrics_first_session.csv", no_sessions)
    engagements = mapped.tables["engagements"].set_index("engagement_id")
    assert engagements.loc["E01", "start_date"] == "2024-03-04"
    assert set(engagements["start_date_from"]) == {"intake response (RecordedDate)"}
    assert "sessions" not in mapped.tables


def test_a_derived_start_date_gives_way_to_one_an_export_gives(tmp_path):
    # enrolment three days before the first session, as the REDCap project records it
    for name in ("redcap_sessions.toml", "redcap_dictionary.csv"):
        shutil.copy(EXPORTS / name, tmp_path / name)
    log = tmp_path / "redcap_sessions.csv"
    log.write_text((EXPORTS / "redcap_sessions.csv").read_text(encoding="utf-8").replace(
        "E01,baseline_arm_1,,,P01,C1,ada.okafor@example.org,2024-03-04",
        "E01,baseline_arm_1,,,P01,C1,ada.okafor@example.org,2024-03-01"), encoding="utf-8")
    plan = mapping("qualtrics_first_session.toml", drop=("start_date",))
    for order in ("log first", "survey first"):
        study = tmp_path / order
        first, second = ((log, tmp_path / "redcap_sessions.toml"),
                         (EXPORTS / "qualtrics_first_session.csv", plan))[::(
                             1 if order == "log first" else -1)]
        map_export(*first).write(study)
        later = map_export(*second).write(study)
        assert not any("start_date" in m for m in later.rejected["message"]), order
        engagements = read_folder(study)["engagements"].set_index("engagement_id")
        assert engagements.loc["E01", "start_date"] == "2024-03-01", order  # REDCap's own
        assert engagements["start_date_from"].isna().all(), order


def test_a_repeating_session_without_a_ticked_technique_is_still_a_session():
    plan = mapping("redcap_sessions.toml", drop=("date", "duration_min", "adherence"))
    mapped = map_export(EXPORTS / "redcap_sessions.csv", plan)
    raw = pd.read_csv(EXPORTS / "redcap_sessions.csv", dtype=str)
    raw.index = raw.index + 2   # line in the file
    logs = raw[(raw["redcap_repeat_instrument"] == "session_log")
               & ~raw.index.isin(mapped.rejected["row"])]
    # E04's first session has only "not recorded" (-99, recoded to "") ticked: no technique
    boxes = [f"sess_tech___{code}" for code in range(1, 5)]
    unticked = logs[(logs[boxes].fillna("0") == "0").all(axis=1)]
    assert unticked[["record_id", "redcap_repeat_instance"]].values.tolist() == [["E04", "1"]]
    sessions = mapped.tables["sessions"]
    got = set(zip(sessions["engagement_id"], sessions["session"].astype(int), strict=True))
    want = set(zip(logs["record_id"], logs["redcap_repeat_instance"].astype(int), strict=True))
    assert got == want and len(sessions) == len(logs) == 6
    assert mapped.rows_read == mapped.rows_mapped + mapped.rows_rejected


def test_the_linked_session_log_keeps_every_session_without_its_date_column():
    data = tomllib.loads((LINKED / "sessions.toml").read_text(encoding="utf-8"))
    for key in ("date", "duration_min", "adherence"):
        del data["columns"][key]
    mapped = map_export(LINKED / "sessions_redcap.csv", parse_mapping(data, base=LINKED))
    raw = pd.read_csv(LINKED / "sessions_redcap.csv", dtype=str)
    assert len(mapped.tables["sessions"]) == int((raw["redcap_repeat_instrument"]
                                                  == "session_log").sum())


def test_values_recoded_to_empty_are_counted():
    plan = mapping("redcap_sessions.toml", techniques={"2": ""}, sponsor={"2": ""})
    mapped = map_export(EXPORTS / "redcap_sessions.csv", plan)
    raw = pd.read_csv(EXPORTS / "redcap_sessions.csv", dtype=str)
    ticked = int((raw["sess_tech___2"] == "1").sum()) + int((raw["sess_tech____99"] == "1").sum())
    notes = " ".join(mapped.notes)
    assert (f'{ticked} technique codes were left out of techniques: [recode.techniques] turns '
            'them into "": "2" (') in notes
    assert "values of sponsor are missing: [recode.sponsor]" in notes
    survey = tomllib.loads((EXPORTS / "surveymonkey_end.toml").read_text(encoding="utf-8"))
    survey["items"][1]["recode"]["Prefer not to say"] = ""
    mapped = map_export(EXPORTS / "surveymonkey_end.csv", parse_mapping(survey))
    said = [n for n in mapped.notes if "kept as unanswered items" in n]
    assert said and '"Prefer not to say" (' in said[0]


@pytest.mark.parametrize(("columns", "constants", "key", "fix"), [
    ({"engagement_id": "record_id", "coach_id": "coach"}, {"occasion": "intake"},
     "[columns] coach_id", "Map client_id as well"),
    ({"engagement_id": "record_id", "client_id": "client_code", "occasion": "redcap_event_name"},
     {}, "[columns] occasion", "Add the item blocks, or remove occasion"),
    ({"engagement_id": "record_id", "client_id": "client_code"}, {"session": 1},
     "[constants] session", "Map a session field"),
])
def test_a_field_written_nowhere_is_refused(columns, constants, key, fix):
    data = {"columns": columns, "constants": constants}
    if "occasion" in constants:
        data["items"] = [{"instrument": "ors", "columns": ["ors_1", "ors_2", "ors_3", "ors_4"]}]
    with pytest.raises(UsageError) as error:
        parse_mapping(data, file="m.toml")
    message = str(error.value)
    assert message.startswith(f"m.toml, {key}: ") and "would be written nowhere" in message
    assert fix in message


def test_exports_that_share_no_engagement_are_a_warning_naming_both(tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(LINKED, exports)
    intake = exports / "intake_qualtrics.csv"
    intake.write_text(intake.read_text(encoding="utf-8").replace("ENG-", "CL-"),
                      encoding="utf-8")
    study = tmp_path / "study"
    first = map_export(intake, exports / "intake.toml").write(study)
    assert first.warnings == ()
    log = map_export(exports / "sessions_redcap.csv", exports / "sessions.toml").write(study)
    (warning,) = log.warnings
    assert warning.startswith(f"no engagement of session-log is in the study in {study} "
                              "(from intake): its ids (column 'record_id': ENG-001")
    assert "CL-001" in warning and "map the column that does as engagement_id" in warning
    assert f"Warning: {warning}" in str(log.summary())
    assert log.to_dict()["warnings"] == [warning]
    again = map_export(LINKED / "sessions_redcap.csv", LINKED / "sessions.toml")
    assert again.write(tmp_path / "fresh").warnings == ()
