"""Two exports into one study folder: merging, repeats, conflicts, re-runs, the result's faces.

The hand-written REDCap session log and the Qualtrics first-session survey cover the same
engagements. They agree everywhere except one planted difference: E04's session-1 SRS line 1
is 9.6 in REDCap and 95/100 (9.5) in Qualtrics.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from outcomes._errors import UsageError
from outcomes.mapping import map_export
from outcomes.mapping.merge import read_folder

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
REDCAP = (EXPORTS / "redcap_sessions.csv", EXPORTS / "redcap_sessions.toml")
QUALTRICS = (EXPORTS / "qualtrics_first_session.csv", EXPORTS / "qualtrics_first_session.toml")


def mapped_into(folder: Path, *exports):
    results = [map_export(*export).write(folder) for export in exports]
    return results


def test_session_log_then_intake_survey_make_one_study(tmp_path):
    log, survey = mapped_into(tmp_path, REDCAP, QUALTRICS)
    assert log.validation.ok and survey.validation.ok
    assert (survey.rows_read, survey.rows_mapped, survey.rows_rejected) == (8, 4, 4)
    rejected = survey.rejected.set_index("row")
    assert rejected.loc[10, "reason"] == "study_conflict"
    assert rejected.loc[10, "message"] == (
        "the response E04, session 1, srs item 1 (client) is 9.6 in the study "
        "(from redcap_sessions), but 9.5 here")
    tables = read_folder(tmp_path)
    e = tables["engagements"].set_index("engagement_id")
    assert e.loc["E01", "export"] == "redcap_sessions;first-session"
    assert e.loc["E04", "export"] == "redcap_sessions"      # its survey record was rejected
    s = tables["sessions"]
    assert len(s) == 8 and set(s.loc[s.engagement_id == "E05", "export"]) == {"first-session"}
    r = tables["responses"]
    # REDCap 132 + survey: 4 records x 42 items, less E01's and E02's session-1 WAI-SR and
    # SRS (2 x 16) that REDCap already holds with the same values
    assert len(r) == 132 + 4 * 42 - 32
    assert not r.duplicated(["engagement_id", "occasion", "session", "instrument", "item",
                             "rater"]).any()
    assert any("32 item responses were already in the study" in n for n in survey.notes)
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        "first-session.csv", "redcap_sessions.csv"]


def test_the_other_order_rejects_the_other_record(tmp_path):
    (survey,) = mapped_into(tmp_path, QUALTRICS)
    assert survey.validation.ok   # the survey does not say the status: it is unknown
    status = read_folder(tmp_path)["engagements"].set_index("engagement_id")["status"]
    assert set(status) == {"unknown"}
    assert any(n.startswith('status is not in the export (5 engagements): written as "unknown"')
               for n in survey.notes)
    (log,) = mapped_into(tmp_path, REDCAP)
    assert log.validation.ok
    rejected = log.rejected.set_index("row")
    assert rejected.loc[12, "reason"] == "study_conflict"
    assert "is 9.5 in the study (from first-session), but 9.6 here" in rejected.loc[12, "message"]
    # an earlier run's report would be emptied, not deleted (here the survey's engagements
    # validated, their unknown status being no error, so there is none)
    for name in ("engagements", "problems"):
        stale = tmp_path / "rejected" / f"{name}.csv"
        assert not stale.exists() or pd.read_csv(stale).empty
    s = read_folder(tmp_path)["sessions"].set_index(["engagement_id", "session"])
    assert s.loc[("E04", "1"), "export"] == "first-session"  # REDCap's row 12 stayed out
    assert pd.isna(s.loc[("E04", "1"), "duration_min"])
    # the session log knows the status: it fills in the survey's "unknown", no conflict
    status = read_folder(tmp_path)["engagements"].set_index("engagement_id")["status"]
    assert "unknown" not in set(status) and status["E01"] == "completed"


def test_mapping_an_export_again_changes_nothing(tmp_path):
    mapped_into(tmp_path, REDCAP, QUALTRICS)
    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*.csv")}
    again = map_export(*QUALTRICS).write(tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*.csv")}
    assert after == before
    assert again.rows_rejected == 4


def test_an_engagement_field_that_disagrees_names_both_values(tmp_path):
    mapped_into(tmp_path, REDCAP)
    text = QUALTRICS[0].read_bytes().decode("utf-8-sig")
    changed = tmp_path / "survey.csv"
    changed.write_text(text.replace('"P02","C1"', '"P02","C9"'), encoding="utf-8")
    survey = map_export(changed, QUALTRICS[1]).write(tmp_path)
    message = survey.rejected.set_index("row").loc[7, "message"]
    assert message == ("coach_id of engagement E02 is 'C1' in the study (from redcap_sessions), "
                       "but 'C9' here")
    assert read_folder(tmp_path)["engagements"].set_index("engagement_id").loc[
        "E02", "coach_id"] == "C1"


def test_a_study_kept_in_another_format_is_not_merged(tmp_path):
    pd.DataFrame({"engagement_id": ["E1"]}).to_parquet(tmp_path / "engagements.parquet")
    with pytest.raises(UsageError, match="engagements.parquet: the study holds engagements as "
                                         ".parquet.*Convert it to engagements.csv"):
        map_export(*REDCAP).write(tmp_path)


def test_an_export_named_like_a_table_keeps_its_rejections_apart(tmp_path):
    shutil.copy(REDCAP[0], tmp_path / "responses.csv")
    shutil.copy(EXPORTS / "redcap_dictionary.csv", tmp_path / "redcap_dictionary.csv")
    shutil.copy(REDCAP[1], tmp_path / "m.toml")
    written = map_export(tmp_path / "responses.csv", tmp_path / "m.toml").write(tmp_path / "s")
    assert written.name == "responses-export"
    assert (tmp_path / "s" / "rejected" / "responses-export.csv").exists()


def test_the_four_faces(tmp_path):
    log = map_export(*REDCAP)
    table = log.table()
    assert list(table.columns) == ["what", "detail", "n"]
    counts = table.set_index(["what", "detail"])["n"]
    assert counts[("records", "read")] == counts[("records", "mapped")] + counts[
        ("records", "rejected")]
    assert counts[("rejected", "incomplete")] == 1 and counts[("table", "sessions")] == 6
    text = log.summary()
    assert "Records read 16: mapped 14, rejected 2." in text
    assert "a REDCap form marked Incomplete (0) (incomplete): 1" in text
    payload = json.loads(json.dumps(log.to_dict(), allow_nan=False))
    assert payload["rows"] == {"read": 16, "mapped": 14, "rejected": 2}
    assert payload["rejected_by_reason"] == {"incomplete": 1, "bad_value": 1}
    assert payload["columns"]["personal_data"] == ["email"]
    written = log.write(tmp_path)
    assert json.loads(json.dumps(written.to_dict()))["validation"]["ok"] is True
    import matplotlib

    matplotlib.use("Agg")
    ax = written.plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "mapped", "rejected: incomplete", "rejected: bad_value"]


def test_the_export_displays_itself_in_one_line(tmp_path):
    export = map_export(*QUALTRICS)
    assert repr(export) == ("<MappedExport: first-session (qualtrics): 8 records read, "
                            "5 mapped, 3 rejected>")
    (written,) = mapped_into(tmp_path, QUALTRICS)
    assert written.headline().endswith("; study valid")
    assert written.summary().startswith("Export first-session (qualtrics)")
