"""Validation: every rule finds its fault at the right row and column, and loses nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import UsageError
from outcomes._results import Summary
from outcomes.schema import COLUMNS, KEYS, MODELS, TABLES
from outcomes.validation import ValidationReport, validate, validate_tables
from outcomes.validation.report import NOTE_COLUMNS


def _problems(report, table):
    p = report.problems
    return p[p["table"] == table]


def test_small_study_is_valid(study_tables):
    report = validate_tables(study_tables)
    assert report.ok, report.summary()
    assert report.counts.set_index("table")["valid"].to_dict() == {
        k: len(v) for k, v in study_tables.items()
    }


def test_valid_rows_get_canonical_types(study_tables):
    valid = validate_tables(study_tables).valid
    assert str(valid["sessions"]["session"].dtype) == "Int64"
    assert valid["sessions"]["date"].dtype.kind == "M"
    assert valid["responses"]["value"].dtype == float
    assert (valid["responses"]["rater"] == "client").all()  # the default rater
    assert valid["coaches"]["coach_id"].tolist() == ["C1", "C2", "C3"]


@pytest.mark.parametrize(
    ("table", "column", "bad", "rule"),
    [
        ("sessions", "date", "2024-02-30", "type"),
        ("sessions", "session", "two", "type"),
        ("sessions", "session", "0", "range"),
        ("sessions", "adherence", "7", "range"),
        ("sessions", "techniques", "grow;astrology", "unknown_code"),
        ("engagements", "sponsor", "boss", "allowed_values"),
        ("engagements", "status", "done", "allowed_values"),
        ("engagements", "start_date", None, "required"),
        ("engagements", "end_date", "2023-01-01", "dates"),
        ("engagements", "coach_id", "C99", "unknown_reference"),
        ("engagements", "research_consent", "maybe", "type"),
        ("coaches", "years_experience", "-1", "range"),
        ("responses", "value", "11", "item_range"),
        ("responses", "value", "3.5", "item_range"),  # SRS at row 3 is whole-number? no: decimals
        ("responses", "item", "9", "unknown_item"),
        ("responses", "instrument", "bdi", "unknown_instrument"),
        ("responses", "occasion", "midway", "allowed_values"),
        ("responses", "engagement_id", "E404", "unknown_reference"),
    ],
)
def test_each_fault_is_found_where_it_was_planted(study_tables, table, column, bad, rule):
    frame = study_tables[table]
    position = 2
    if table == "responses" and bad == "3.5":
        # a whole-number instrument: plant a WAI-SR item with a half point
        frame.loc[position, ["instrument", "occasion", "session"]] = ["wai-sr", "session", "1"]
        frame.loc[position, "item"] = "1"
    if table == "engagements" and column == "research_consent":
        frame["research_consent"] = "true"
    frame.loc[position, column] = bad
    report = validate_tables(study_tables)
    found = _problems(report, table)
    hit = found[(found["row"] == position + 1) & (found["column"] == column)]
    assert list(hit["rule"]) == [rule], found.to_string()
    rejected = report.rejected[table]
    assert position + 1 in set(rejected["row"])
    assert len(report.valid[table]) + len(rejected) == len(frame)


def test_decreasing_dates_reject_the_later_numbered_session(study_tables):
    sessions = study_tables["sessions"]
    sessions.loc[2, "date"] = "2024-01-01"  # E1 session 3 before session 1
    found = _problems(validate_tables(study_tables), "sessions")
    assert found[["row", "column", "rule"]].values.tolist() == [[3, "date", "date_order"]]


def test_duplicate_keys_reject_every_copy(study_tables):
    sessions = study_tables["sessions"]
    study_tables["sessions"] = pd.concat([sessions, sessions.iloc[[4]]], ignore_index=True)
    report = validate_tables(study_tables)
    rows = sorted(_problems(report, "sessions")["row"])
    assert rows == [5, len(sessions) + 1]
    # the responses of that session still refer to a recorded session, just not a valid one
    assert len(report.rejected["sessions"]) == 2


def test_a_missing_column_rejects_every_row_with_one_message(study_tables):
    study_tables["engagements"] = study_tables["engagements"].drop(columns="status")
    report = validate_tables(study_tables)
    assert len(report.rejected["engagements"]) == 6
    messages = [m for m in report.messages() if '"status"' in m]
    assert len(messages) == 1 and "is missing from the file" in messages[0]


def test_per_session_response_needs_a_recorded_session(study_tables):
    responses = study_tables["responses"]
    srs = responses.index[responses["instrument"] == "srs"][0]
    responses.loc[srs, "session"] = "9"
    found = _problems(validate_tables(study_tables), "responses")
    where = found[["row", "column", "rule"]].values.tolist()
    assert where == [[srs + 1, "session", "unknown_session"]]


def test_source_file_and_line_are_named(study_tables):
    sessions = study_tables["sessions"].copy()
    sessions.index = pd.RangeIndex(2, len(sessions) + 2, name="row")
    sessions.attrs["source_file"] = "sessions.csv"
    sessions.loc[14, "date"] = "2024-02-30"
    report = validate(sessions, "sessions")
    assert report.messages() == [
        'sessions.csv, row 14, column "date": 2024-02-30 is not a date. '
        "Use an ISO date, YYYY-MM-DD."
    ]


def test_rejected_rows_keep_the_input_and_list_every_reason(study_tables):
    sessions = study_tables["sessions"]
    sessions.loc[0, ["date", "adherence"]] = ["soon", "9"]
    report = validate(sessions, "sessions")
    rejected = report.rejected["sessions"]
    assert rejected.loc[0, "date"] == "soon" and rejected.loc[0, "adherence"] == "9"
    assert rejected.loc[0, "reasons"] == "date is not a date; adherence is above the maximum"


def test_report_faces(study_tables, tmp_path):
    study_tables["sessions"].loc[0, "date"] = "soon"
    report = validate_tables(study_tables)
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["ok"] is False
    assert payload["tables"]["sessions"]["rejected"] == 1
    assert payload["tables"]["sessions"]["problems"][0]["row"] == 1
    assert "sessions" in report.summary()
    written = report.write_rejected(tmp_path)
    assert (tmp_path / "sessions.csv").exists() and tmp_path / "problems.csv" in written
    assert report.plot() is not None


def test_unknown_table_kind_is_a_usage_error(study_tables):
    with pytest.raises(UsageError, match="unknown table kind 'visits'"):
        validate(study_tables["sessions"], "visits")


def test_typed_input_validates_too(study_tables):
    valid = validate_tables(study_tables).valid
    again = validate_tables({k: v.reset_index(drop=True) for k, v in valid.items()})
    assert again.ok


def test_caller_frame_is_not_changed(study_tables):
    before = study_tables["sessions"].copy()
    validate(study_tables["sessions"], "sessions")
    pd.testing.assert_frame_equal(before, study_tables["sessions"])
    assert np.all(before.columns == study_tables["sessions"].columns)


def test_the_schema_views_are_read_from_the_models():
    assert TABLES == tuple(MODELS)
    for kind, model in MODELS.items():
        assert list(COLUMNS[kind]) == list(model.to_schema().columns)
    assert KEYS["coaches"] == ("coach_id",)
    assert KEYS["responses"][-2:] == ("item", "rater")
    assert COLUMNS["responses"]["rater"].default == "client"
    assert not COLUMNS["responses"]["rater"].required


@pytest.mark.parametrize(("table", "column"), [("sessions", "session"),
                                               ("responses", "item")])
def test_a_repeated_key_of_several_columns_names_the_column_to_change(study_tables, table,
                                                                       column):
    frame = study_tables[table]
    study_tables[table] = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    found = _problems(validate_tables(study_tables), table)
    assert found[["row", "column", "rule"]].values.tolist() == [
        [2, column, "unique"], [len(frame) + 1, column, "unique"]]
    assert found["message"].iloc[0].startswith("repeats a row with the same engagement_id")


def test_report_displays_itself_in_one_line(study_tables):
    report = validate_tables(study_tables)
    rows = sum(len(v) for v in study_tables.values())
    assert isinstance(report, ValidationReport)
    assert report.headline() == f"{len(study_tables)} tables, {rows:,} rows in, 0 rejected"
    assert repr(report) == f"<ValidationReport: {report.headline()}>"
    assert isinstance(report.summary(), Summary)
    assert list(report.table().columns) == ["table", "input", "valid", "rejected"]
    assert report.plot().patches  # every row valid: the valid rows per table


def test_a_canonical_study_has_no_notes_and_says_none(study_tables):
    report = validate_tables(study_tables)
    assert list(report.notes.columns) == NOTE_COLUMNS and report.notes.empty
    assert all(table["notes"] == [] for table in report.to_dict()["tables"].values())
    assert "another spelling" not in str(report.summary())


def test_a_note_is_said_once_per_column_however_many_cells(study_tables):
    study_tables["responses"]["occasion"] = study_tables["responses"]["occasion"].str.upper()
    report = validate_tables(study_tables)
    assert report.ok
    assert report.notes[["table", "column", "cells"]].values.tolist() == [
        ["responses", "occasion", len(study_tables["responses"])]]
    assert len(report.note_messages()) == 1
