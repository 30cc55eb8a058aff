"""Names written the way people write them: one spelling rule for instruments, vocabularies and
headers, in a study's tables and in the coach's workbook, and every tolerance said as a note."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest
from openpyxl import load_workbook

import outcomes as oc
from outcomes._errors import DataError
from outcomes.benchmarking import read_practice, write_template
from outcomes.schema import ALLOWED, SPONSORS, STATUSES, UNKNOWN, spelling_key
from outcomes.study import Study, read_study
from outcomes.validation import validate, validate_tables

from .conftest import small_study


def _notes(report, table, column):
    notes = report.notes
    return notes[(notes["table"] == table) & (notes["column"] == column)]


def test_the_spelling_rule_ignores_case_spaces_hyphens_and_underscores():
    assert {spelling_key(s) for s in ("WAI-SR", "wai_sr", " Wai SR ", "waisr", "WAI - SR")} \
        == {"waisr"}
    assert spelling_key("lot-r") != spelling_key("lot")


@pytest.mark.parametrize("written", ["SRS", "Srs", " srs ", "S-R-S", "s_r_s",
                                     "Session Rating Scale", "session-rating-scale"])
def test_an_instrument_is_found_whatever_its_spelling(written):
    tables = small_study()
    tables["responses"].loc[tables["responses"]["instrument"] == "srs", "instrument"] = written
    report = validate_tables(tables)
    assert report.ok, report.summary()   # before: every SRS row was an unknown instrument
    valid = report.valid["responses"]
    assert set(valid["instrument"]) == {"ors", "srs"}
    note = _notes(report, "responses", "instrument")
    assert len(note) == 1 and note["cells"].item() == 72
    shown = f'"{written}"' if written != written.strip() else written
    assert note["example"].item() == f"{shown} -> srs"


def test_wai_sr_spellings_and_their_scores_are_the_canonical_ones():
    tables = small_study()
    rows = [("E1", "session", "1", spelling, str(item), "4")
            for item, spelling in zip(range(1, 13), ["WAI-SR", "WAISR", "Wai_SR"] * 4,
                                      strict=True)]
    extra = pd.DataFrame(rows, columns=tables["responses"].columns)
    tables["responses"] = pd.concat([tables["responses"], extra], ignore_index=True)
    study = Study(tables=tables)
    assert study.validate().ok, study.validate().summary()
    scores = study.scores()
    wai = scores[scores["instrument"] == "wai-sr"]
    assert set(wai["scale"]) == {"total", "goal", "task", "bond"} and wai["score"].eq(4).all()
    note = _notes(study.validate(), "responses", "instrument")
    assert note["example"].item() == "WAI-SR -> wai-sr; WAISR -> wai-sr; Wai_SR -> wai-sr"


def test_vocabulary_values_are_read_in_their_canonical_spelling_and_noted_once_per_column():
    tables = small_study()
    engagements = tables["engagements"]
    engagements["status"] = ["Completed", "COMPLETED", " completed", "completed", "Completed",
                             "On-going"]
    engagements["sponsor"] = ["Self", "Organisation", "self", "ORGANISATION", "Self ",
                              "organisation"]
    responses = tables["responses"]
    responses["occasion"] = responses["occasion"].str.title()
    responses["rater"] = "Client"
    report = validate_tables(tables)
    assert report.ok, report.summary()
    valid = report.valid["engagements"]
    assert valid["status"].tolist() == ["completed"] * 5 + ["ongoing"]
    assert valid["sponsor"].tolist() == ["self", "organisation"] * 3
    assert set(report.valid["responses"]["occasion"]) == {"intake", "end", "session"}
    assert set(report.valid["responses"]["rater"]) == {"client"}
    counts = report.notes.set_index(["table", "column"])["cells"].to_dict()
    assert counts == {("engagements", "status"): 5, ("engagements", "sponsor"): 4,
                      ("responses", "occasion"): len(responses),
                      ("responses", "rater"): len(responses)}


def test_sponsor_and_status_may_be_unknown_but_other_vocabularies_may_not():
    assert UNKNOWN in SPONSORS and UNKNOWN in STATUSES
    assert UNKNOWN not in ALLOWED["occasion"] and UNKNOWN not in ALLOWED["rater"]
    tables = small_study()
    tables["engagements"].loc[0, ["sponsor", "status"]] = ["Unknown", "unknown"]
    report = validate_tables(tables)
    assert report.ok and report.valid["engagements"]["sponsor"].iloc[0] == "unknown"
    tables["responses"].loc[0, "occasion"] = "unknown"
    assert validate_tables(tables).problems["rule"].tolist() == ["allowed_values"]


def test_an_unknown_spelling_is_rejected_as_given_and_nothing_is_lost():
    tables = small_study()
    responses = tables["responses"]
    responses.loc[0, "instrument"] = "ORS-X"
    responses.loc[1, "instrument"] = "ORS"
    responses.loc[2, "occasion"] = "In take"           # spaces are ignored: intake
    responses.loc[3, "occasion"] = "Intakes"
    report = validate(responses, "responses")
    problems = report.problems
    assert problems[["row", "column", "rule"]].values.tolist() == [
        [1, "instrument", "unknown_instrument"], [4, "occasion", "allowed_values"]]
    rejected = report.rejected["responses"]
    assert rejected["instrument"].tolist() == ["ORS-X", "ors"]   # as given
    assert rejected["occasion"].tolist() == ["intake", "Intakes"]
    assert len(report.valid["responses"]) + len(rejected) == len(responses)


def test_two_spellings_of_one_key_are_one_key():
    tables = small_study()
    responses = tables["responses"]
    copy = responses.iloc[[0]].assign(instrument="ORS")
    report = validate(pd.concat([responses, copy], ignore_index=True), "responses")
    assert report.problems["rule"].unique().tolist() == ["unique"]
    assert report.problems["row"].tolist() == [1, len(responses) + 1]


def test_a_header_differing_by_case_or_spaces_is_the_canonical_column():
    tables = small_study()
    tables["engagements"] = tables["engagements"].rename(
        columns={"engagement_id": "Engagement_ID", "coach_id": " coach_id ", "status": "STATUS"})
    tables["engagements"]["Room"] = "blue"
    report = validate_tables(tables)
    assert report.ok, report.summary()
    valid = report.valid["engagements"]
    assert {"engagement_id", "coach_id", "status", "Room"} <= set(valid.columns)
    assert valid["Room"].eq("blue").all()                       # extra columns pass through
    notes = _notes(report, "engagements", "engagement_id")
    assert notes["example"].item() == "Engagement_ID -> engagement_id"
    assert _notes(report, "engagements", "coach_id")["example"].item() == '" coach_id " -> coach_id'


def test_a_header_already_canonical_wins_over_another_spelling():
    tables = small_study()
    tables["coaches"]["Coach_ID"] = "someone else"
    report = validate_tables(tables)
    assert report.ok and report.notes.empty
    assert report.valid["coaches"]["coach_id"].tolist() == ["C1", "C2", "C3"]
    assert report.valid["coaches"]["Coach_ID"].eq("someone else").all()


@pytest.mark.parametrize("kind, column, written", [
    ("engagements", "engagement_id", "engagment_id"),
    ("engagements", "engagement_id", "engagementid"),
    ("engagements", "engagement_id", "Engagement ID"),
    ("sessions", "techniques", "technique"),             # optional, but its data would be lost
    ("engagements", "research_consent", "Research-Consent"),
])
def test_any_other_near_miss_is_refused_with_the_suggestion_and_the_rename(
        tmp_path, kind, column, written):
    tables = small_study()
    if column == "research_consent":
        tables[kind][column] = "true"
    tables[kind] = tables[kind].rename(columns={column: written})
    folder = Study(tables=tables).write(tmp_path)
    report = read_study(folder).validate()
    problems = report.problems[report.problems["rule"] == "missing_column"]
    assert problems["column"].unique().tolist() == [column]
    assert len(report.valid[kind]) == 0          # the whole table is refused, row by row
    message = report.messages()[0]
    assert f'has a column "{written}" (did you mean {column}?)' in message
    fix = problems["fix"].iloc[0]
    toml = fix.split("beside the data:\n", 1)[1].replace("\n    ", "\n").strip()
    assert tomllib.loads(toml) == {"tables": {kind: {"file": f"{kind}.csv",
                                                     "rename": {written: column}}}}
    # the rename it shows, written into study.toml, fixes the study
    entries = [f'[tables.{k}]\nfile = "{k}.csv"' for k in tables if k != kind]
    (folder / "study.toml").write_text("\n".join(entries) + "\n" + toml + "\n")
    fixed = read_study(folder).validate()
    assert fixed.ok, fixed.summary()


def test_a_far_name_is_not_a_near_miss():
    tables = small_study()
    tables["sessions"] = tables["sessions"].rename(columns={"duration_min": "duration"})
    report = validate_tables(tables)
    assert report.ok and "duration" in report.valid["sessions"].columns


def test_notes_are_in_the_summary_and_in_to_dict():
    tables = small_study()
    tables["responses"]["instrument"] = tables["responses"]["instrument"].str.upper()
    report = validate_tables(tables)
    text = str(report.summary())
    assert 'column "instrument"' in text and "e.g. ORS -> ors; SRS -> srs" in text
    notes = report.to_dict()["tables"]["responses"]["notes"]
    assert notes == [{"file": "<responses table>", "column": "instrument",
                      "change": notes[0]["change"], "cells": len(tables["responses"]),
                      "example": "ORS -> ors; SRS -> srs"}]
    assert report.to_dict()["tables"]["sessions"]["notes"] == []


def test_the_sample_in_upper_case_validates_and_gives_the_same_analysis_table():
    sample = oc.load_sample()
    tables = {kind: frame.copy() for kind, frame in sample.tables.items()}
    tables["responses"]["instrument"] = tables["responses"]["instrument"].str.upper()
    shouting = Study(tables=tables, source=sample.source)
    report = shouting.validate()
    assert report.ok and int(report.counts["rejected"].sum()) == 0   # before: 227,740 rejected
    assert _notes(report, "responses", "instrument")["cells"].item() == len(tables["responses"])
    pd.testing.assert_frame_equal(shouting.analysis_table(), sample.analysis_table())


def test_study_toml_renames_tolerate_spaces_and_refuse_a_name_not_in_the_file(tmp_path):
    tables = small_study()
    tables["coaches"] = tables["coaches"].rename(columns={"coach_id": " Coach "})
    folder = Study(tables=tables).write(tmp_path)
    entries = [f'[tables.{k}]\nfile = "{k}.csv"' for k in tables]
    entries[0] += '\nrename = { "Coach" = "coach_id" }'
    (folder / "study.toml").write_text("\n".join(entries) + "\n")
    assert read_study(folder).validate().ok
    entries[0] = entries[0].replace('"Coach"', '"Trainer"')
    (folder / "study.toml").write_text("\n".join(entries) + "\n")
    with pytest.raises(DataError, match='rename: the file has no column "Trainer"'):
        read_study(folder)


# The coach's workbook uses the same rule as a study's tables.
SPELLINGS = ["Completed", " ONGOING ", "On-going", "on_going", "Dropped", "referred",
             "Finished", "complete", "Self", "organisation", "Organisation ", "self-paid"]


def _workbook_reads(tmp_path, status: str, sponsor: str) -> tuple[str | None, str | None]:
    path = write_template(tmp_path / "p.xlsx")
    book = load_workbook(path)
    sheet = book["clients"]
    sheet.delete_rows(2)
    sheet.append(["anna", sponsor, status, 14.0, 26.5, 8, 38.0])
    book.save(path)
    try:
        clients = read_practice(path).clients
    except DataError:
        return None, None
    return clients["status"].item(), clients["sponsor"].item()


@pytest.mark.parametrize("written", SPELLINGS)
def test_the_workbook_and_a_study_accept_the_same_spellings(tmp_path, written):
    column = "sponsor" if "self" in written.lower() or "organ" in written.lower() else "status"
    tables = small_study()
    tables["engagements"].loc[0, column] = written
    report = validate_tables(tables)
    in_study = report.valid["engagements"][column].iloc[0] if report.ok else None
    status, sponsor = _workbook_reads(tmp_path, written if column == "status" else "completed",
                                      written if column == "sponsor" else "self")
    in_book = status if column == "status" else sponsor
    assert in_book == in_study
