"""Reading delimited text: separators, decimal commas, encodings, line numbers, errors.

Expected line numbers were counted by hand in the fixture files (``cat -A`` shows them);
the property tests build files with Python's own ``csv`` writer and compare the cells.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes._errors import DataError, UsageError
from outcomes.io import MISSING, read_table
from outcomes.io.writing import restore_cell

FIXTURES = Path(__file__).parent / "fixtures" / "io"


def write(tmp_path: Path, content: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def cells(frame: pd.DataFrame) -> list[list[object]]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]


def test_semicolon_export_with_decimal_commas_blank_line_and_trailing_separator():
    t = read_table(FIXTURES / "sessions_semicolon.csv")
    assert list(t.columns) == [
        "engagement_id", "session", "date", "duration_min", "techniques", "adherence",
    ]
    assert t.index.name == "row"
    assert t.index.tolist() == [2, 3, 5]  # line 4 is blank
    assert t["duration_min"].tolist() == ["45.5", "60", "1234.5"]
    assert t["adherence"].tolist() == ["4", "4.5", "3"]
    assert t["techniques"].tolist() == ["grow", "grow;solution-focused", "strengths-based"]
    assert t["engagement_id"].tolist() == ["007", "007", "010"]


def test_decimal_commas_spare_ids_and_text(tmp_path):
    p = write(tmp_path, "client_id;value;note\n0,5;3,5;a,b\n1,5;-0,25;3,5 points\n")
    t = read_table(p)
    assert t["client_id"].tolist() == ["0,5", "1,5"]
    assert t["value"].tolist() == ["3.5", "-0.25"]
    assert t["note"].tolist() == ["a,b", "3,5 points"]
    assert read_table(p, decimal=".")["value"].tolist() == ["3,5", "-0,25"]


def test_comma_file_keeps_commas_unless_asked(tmp_path):
    p = write(tmp_path, 'a,b\n"3,5",x\n')
    assert read_table(p)["a"].tolist() == ["3,5"]
    assert read_table(p, decimal=",")["a"].tolist() == ["3.5"]


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_separator_is_found_from_the_header(tmp_path, sep):
    p = write(tmp_path, sep.join(["coach_id", "orientation"]) + "\n007" + sep + "narrative\n")
    t = read_table(p)
    assert cells(t) == [["007", "narrative"]]


def test_tsv_suffix_and_excel_sep_line(tmp_path):
    t = read_table(write(tmp_path, "a\tb\n1\t2,5\n", name="t.tsv"))
    assert cells(t) == [["1", "2,5"]]
    t = read_table(write(tmp_path, "sep=;\na;b\n1;2\n"))
    assert t.index.tolist() == [3]  # the sep= line is line 1, the header line 2
    assert cells(t) == [["1", "2"]]


def test_multiline_quoted_cells_push_later_rows_down():
    t = read_table(FIXTURES / "responses_multiline.csv")
    assert t.index.tolist() == [2, 5, 6, 8]
    assert t.loc[2, "note"] == "first line\nsecond line\nthird line"
    assert t.loc[6, "note"] == 'two\nlines "quoted"'
    assert t.loc[8, "value"] == "6" and pd.isna(t.loc[8, "note"])


def test_ids_with_leading_zeros_stay_text(tmp_path):
    t = read_table(write(tmp_path, "engagement_id,coach_id,item\n007,0012,1\n010,1e3,2\n"))
    assert t["engagement_id"].tolist() == ["007", "010"]
    assert t["coach_id"].tolist() == ["0012", "1e3"]
    assert all(isinstance(v, str) for v in t["item"])


def test_whitespace_is_stripped_and_empty_cells_are_missing(tmp_path):
    t = read_table(write(tmp_path, " a , b ,c\n x ,  ,NA\n y,N/A,z\n"))
    assert list(t.columns) == ["a", "b", "c"]
    assert t["a"].tolist() == ["x", "y"]
    assert t["b"].isna().all()
    assert pd.isna(t.loc[2, "c"]) and t.loc[3, "c"] == "z"
    assert "NA" in MISSING
    kept = read_table(write(tmp_path, "a,b\nNA,1\n"), na_values=[""])
    assert kept["a"].tolist() == ["NA"]


def test_bom_is_removed(tmp_path):
    t = read_table(write(tmp_path, b"\xef\xbb\xbfcoach_id,x\n007,1\n"))
    assert list(t.columns) == ["coach_id", "x"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("bom", ["\ufeff", ""])
def test_utf16_is_read(tmp_path, encoding, bom):
    text = bom + "coach_id\tname\n007\tZoë\n"
    t = read_table(write(tmp_path, text.encode(encoding)))
    assert cells(t) == [["007", "Zoë"]]


def test_undecodable_bytes_name_file_line_and_fix(tmp_path):
    p = write(tmp_path, "coach_id,name\n007,Ann\n008,Ren\xe9\n".encode("latin-1"))
    with pytest.raises(DataError) as caught:
        read_table(p)
    error = caught.value
    assert error.file == str(p) and error.row == 3
    assert "byte offset 29" in str(error) and "0xE9" in str(error)
    assert "CSV UTF-8" in str(error)
    assert read_table(p, encoding="latin-1")["name"].tolist() == ["Ann", "René"]


def test_empty_file_is_an_error_and_header_only_is_an_empty_table(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_table(write(tmp_path, ""))
    with pytest.raises(DataError, match="empty"):
        read_table(write(tmp_path, "\n\r\n"))
    t = read_table(write(tmp_path, "engagement_id,session\n"))
    assert t.empty and list(t.columns) == ["engagement_id", "session"]
    assert t.index.name == "row"


def test_duplicate_header_names_both_columns(tmp_path):
    with pytest.raises(DataError) as caught:
        read_table(write(tmp_path, "engagement_id,value,item, value\n1,2,3,4\n"))
    message = str(caught.value)
    assert str(tmp_path / "t.csv") in message
    assert "columns 2 and 4" in message and '"value"' in message


def test_ragged_row_names_file_and_physical_line(tmp_path):
    body = (FIXTURES / "responses_multiline.csv").read_text() + "011,end,x,7,extra\n"
    path = write(tmp_path, body)
    with pytest.raises(DataError) as caught:
        read_table(path)
    assert caught.value.file == str(path)
    assert caught.value.row == 9  # lines 2-8 hold four records, one spanning three lines
    assert "5 fields" in str(caught.value) and "header has 4" in str(caught.value)


def test_trailing_separators_on_data_lines_only_are_tolerated(tmp_path):
    t = read_table(write(tmp_path, "a,b\n1,2,\n3,4,,\n"))
    assert list(t.columns) == ["a", "b"] and cells(t) == [["1", "2"], ["3", "4"]]


def test_unnamed_column_with_values_is_kept(tmp_path):
    t = read_table(write(tmp_path, '"",a\n1,x\n2,y\n'))
    assert list(t.columns) == ["unnamed_1", "a"]


def test_unclosed_quote_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="never closed"):
        read_table(write(tmp_path, 'a,b\n"1,2\n3,4\n'))


def test_gzip(tmp_path):
    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress(b"engagement_id,value\n007,3\n"))
    assert cells(read_table(p)) == [["007", "3"]]
    bad = write(tmp_path, b"not gzip", name="bad.csv.gz")
    with pytest.raises(DataError, match="decompressed"):
        read_table(bad)


def test_options_are_checked(tmp_path):
    p = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(UsageError, match="sep"):
        read_table(p, sep="|")
    with pytest.raises(UsageError, match="keep_codes"):
        read_table(p, keep_codes=["a"])
    with pytest.raises(UsageError, match="not a known text encoding"):
        read_table(p, encoding="klingon")


def test_large_file_keeps_every_row_number(tmp_path):
    n = 300_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "engagement_id": np.char.add("E", rng.integers(0, 10**6, n).astype(str)),
            "occasion": "session",
            "session": rng.integers(1, 20, n),
            "instrument": "srs",
            "item": rng.integers(1, 5, n),
            "value": rng.uniform(0, 10, n).round(1),
            "rater": "client",
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    t = read_table(path)
    assert len(t) == n and t.index[0] == 2 and t.index[-1] == n + 1


# --- properties -----------------------------------------------------------------------

NAMES = st.lists(st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True), min_size=2, max_size=5,
                 unique=True)
CELL = st.text(alphabet="ab7 0.,;\t\"'-xé", max_size=6)
FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # tmp_path is only a folder to write into
LOOKS_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+")


def expected_cell(cell: str) -> str | None:
    cell = restore_cell(cell.strip())  # the quote the toolkit writes before a formula goes
    return None if cell in MISSING else cell


def write_csv(tmp_path: Path, names, rows, sep: str, terminator: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=terminator)
    writer.writerow(names)
    writer.writerows(rows)
    return write(tmp_path, buffer.getvalue())


@st.composite
def tables(draw, newlines: bool = False):
    names = draw(NAMES)
    sep = draw(st.sampled_from([",", ";", "\t"]))
    cell = CELL if not newlines else st.text(alphabet='ab 7,;"\n', max_size=8)
    if sep == ";":
        cell = cell.filter(lambda c: not LOOKS_DECIMAL.fullmatch(c.strip()))
    n = draw(st.integers(0, 6))
    rows = [[f"r{i}"] + draw(st.lists(cell, min_size=len(names) - 1,
                                      max_size=len(names) - 1)) for i in range(n)]
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    return names, rows, sep, terminator


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(table=tables())
def test_property_cells_and_row_numbers_survive_a_round_trip(tmp_path, table):
    names, rows, sep, terminator = table
    t = read_table(write_csv(tmp_path, names, rows, sep, terminator))
    assert list(t.columns) == names
    assert t.index.tolist() == list(range(2, len(rows) + 2))
    assert cells(t) == [[expected_cell(c) for c in row] for row in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(table=tables(newlines=True))
def test_property_row_numbers_count_lines_inside_quotes(tmp_path, table):
    names, rows, sep, terminator = table
    t = read_table(write_csv(tmp_path, names, rows, sep, terminator))
    expected_rows, line = [], 2
    for row in rows:
        expected_rows.append(line)
        line += 1 + sum(c.count("\n") for c in row)
    assert t.index.tolist() == expected_rows
    assert cells(t) == [[expected_cell(c) for c in row] for row in rows]
