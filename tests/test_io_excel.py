"""Reading Excel workbooks: text cells, true sheet row numbers, every sheet of a book.

Workbooks are built with openpyxl in each test; the row numbers asserted are the rows the
test wrote the cells to.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from outcomes._errors import DataError, UsageError
from outcomes.io import read_table, read_workbook


def book_with(path, sheets):
    """Write {title: {cell: value}} to an .xlsx file; a value may be (value, number format)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, content in sheets.items():
        sheet = book.create_sheet(title)
        for ref, value in content.items():
            if isinstance(value, tuple):
                sheet[ref], sheet[ref].number_format = value
            else:
                sheet[ref] = value
    book.save(path)
    return path


SESSIONS = {
    "A3": "engagement_id", "B3": " session ", "C3": "date", "D3": "duration_min",
    "A4": "007", "B4": 1, "C4": dt.datetime(2024, 1, 8), "D4": 45.5,
    "A5": (7, "000"), "B5": 2.0, "C5": dt.date(2024, 1, 15), "D5": 60,
    # row 6 blank, row 7 holds data, rows 8-9 blank but formatted
    "A7": 12, "B7": 3, "C7": dt.datetime(2024, 1, 22, 9, 30), "D7": "  ",
    "A9": ("", "General"),
}


def test_cells_become_text_with_true_sheet_rows(tmp_path):
    path = book_with(tmp_path / "study.xlsx", {"Sessions": SESSIONS})
    t = read_table(path)
    assert t.index.name == "row" and t.index.tolist() == [4, 5, 7]
    assert list(t.columns) == ["engagement_id", "session", "date", "duration_min"]
    assert t["engagement_id"].tolist() == ["007", "007", "12"]
    assert t["session"].tolist() == ["1", "2", "3"]
    assert t["date"].tolist() == ["2024-01-08", "2024-01-15", "2024-01-22 09:30:00"]
    assert t.loc[4, "duration_min"] == "45.5" and t.loc[5, "duration_min"] == "60"
    assert pd.isna(t.loc[7, "duration_min"])
    assert t.attrs["source_file"] == str(path) and t.attrs["sheet"] == "Sessions"


def test_booleans_errors_and_missing_markers(tmp_path):
    path = book_with(tmp_path / "b.xlsx", {"S": {
        "A1": "engagement_id", "B1": "research_consent", "C1": "value",
        "A2": "E1", "B2": True, "C2": "#N/A",
        "A3": "E2", "B3": False, "C3": "#DIV/0!",
    }})
    t = read_table(path)
    assert t["research_consent"].tolist() == ["true", "false"]
    assert pd.isna(t.loc[2, "value"]) and t.loc[3, "value"] == "#DIV/0!"


def test_sheet_is_chosen_by_name_or_position(tmp_path):
    path = book_with(tmp_path / "b.xlsx", {
        "Coaches": {"A1": "coach_id", "A2": "C1"},
        " Sessions ": {"A1": "engagement_id", "A2": "E1", "A5": "E2"},
    })
    assert read_table(path, sheet="sessions").index.tolist() == [2, 5]
    assert read_table(path, sheet=1)["engagement_id"].tolist() == ["E1", "E2"]
    assert read_table(path)["coach_id"].tolist() == ["C1"]
    with pytest.raises(UsageError, match='"Coaches"'):
        read_table(path, sheet="responses")


def test_read_workbook_keys_every_sheet(tmp_path):
    path = book_with(tmp_path / "study.xlsx", {
        "Coaches": {"A1": "coach_id", "B1": "years_experience", "A2": 7, "B2": 3.0},
        "SESSIONS ": SESSIONS,
        "Empty": {},
    })
    tables = read_workbook(path)
    assert sorted(tables) == ["coaches", "empty", "sessions"]
    assert tables["coaches"]["coach_id"].tolist() == ["7"]
    assert tables["coaches"]["years_experience"].tolist() == ["3"]
    assert tables["sessions"].index.tolist() == [4, 5, 7]
    assert tables["sessions"].attrs["source_file"] == f"{path}:sessions"
    assert tables["empty"].empty and tables["empty"].index.name == "row"


def test_sheet_names_that_collide_are_an_error(tmp_path):
    path = book_with(tmp_path / "b.xlsx", {"Sessions": {"A1": "x"}, "sessions ": {"A1": "y"}})
    with pytest.raises(DataError, match='both called "sessions"'):
        read_workbook(path)


def test_duplicate_header_and_empty_sheet(tmp_path):
    path = book_with(tmp_path / "b.xlsx", {
        "Dup": {"B2": "value", "C2": "item", "D2": "Value", "E2": "value ", "B3": 1},
        "Empty": {},
    })
    with pytest.raises(DataError) as caught:
        read_table(path)
    assert caught.value.row == 2 and "columns 2 and 5 (B and E)" in str(caught.value)
    with pytest.raises(DataError, match="empty"):
        read_table(path, sheet="empty")


def test_trailing_empty_columns_are_dropped_and_unnamed_data_kept(tmp_path):
    path = book_with(tmp_path / "b.xlsx", {"S": {
        "A1": "a", "B1": "b", "A2": 1, "B2": 2, "D2": ("", "General"), "D3": "note",
    }})
    t = read_table(path)
    assert list(t.columns) == ["a", "b", "unnamed_4"]
    assert t.index.tolist() == [2, 3]


def test_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="Excel workbook"):
        read_table(path)
    with pytest.raises(UsageError, match="Excel"):
        read_workbook(tmp_path / "x.csv")
