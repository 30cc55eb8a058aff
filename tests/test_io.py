"""read_table across formats: one canonical table, four file formats, the same rows back.

The row numbers asserted follow the convention of :mod:`outcomes.io`: the line in a CSV,
the row on a sheet, the record number + 1 in Parquet and SPSS.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from outcomes._errors import DataError, UsageError
from outcomes.io import FORMATS, read_table, write_table

# A small responses table as a coach's export would hold it.
RESPONSES = pd.DataFrame(
    {
        "engagement_id": ["007", "007", "010"],
        "occasion": ["intake", "session", "end"],
        "session": [None, "1", None],
        "instrument": ["ors", "srs", "ors"],
        "item": ["1", "2", "4"],
        "value": ["3.5", "9", "10"],
    }
)
ROWS = [2, 3, 4]


def as_text(frame: pd.DataFrame) -> list[list[object]]:
    return [[None if pd.isna(v) else v for v in r] for r in frame.itertuples(index=False)]


def test_formats_list_the_suffixes():
    for suffix in (".csv", ".tsv", ".txt", ".csv.gz", ".xlsx", ".xlsm", ".parquet", ".sav"):
        assert suffix in FORMATS


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz", "t.TXT"])
def test_text_round_trip(tmp_path, name):
    if name.endswith(".TXT"):  # write_table writes .csv; read_table also takes .txt
        path = write_table(RESPONSES, tmp_path / "t.csv").rename(tmp_path / name)
    else:
        path = write_table(RESPONSES, tmp_path / name)
    t = read_table(path, kind="responses")
    assert t.index.name == "row" and t.index.tolist() == ROWS
    assert as_text(t) == as_text(RESPONSES)
    assert t.attrs == {"source_file": str(path), "kind": "responses"}


def test_excel_round_trip(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(list(RESPONSES.columns))
    for record in as_text(RESPONSES):
        book.active.append([record[0]] + [_number(v) for v in record[1:]])
    book.save(tmp_path / "t.xlsx")
    t = read_table(str(tmp_path / "t.xlsx"))
    assert t.index.tolist() == ROWS
    assert as_text(t) == as_text(RESPONSES)
    assert t.attrs["source_file"] == str(tmp_path / "t.xlsx")


def _number(text):
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def typed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "engagement_id": [7.0, 7.0, 10.0],
            "session": pd.array([pd.NA, 1, pd.NA], dtype="Int64"),
            "item": [1, 2, 4],
            "value": [3.5, 9.0, 10.0],
            "instrument": ["ors", " srs ", ""],
        }
    )


def test_parquet_keeps_types_and_makes_ids_text(tmp_path):
    path = write_table(typed(), tmp_path / "responses.parquet")
    t = read_table(path)
    assert t.index.tolist() == ROWS
    assert t["engagement_id"].tolist() == ["7", "7", "10"]
    assert t["session"].dtype == "Int64" and t["item"].dtype == "int64"
    assert t["value"].tolist() == [3.5, 9.0, 10.0]
    assert t["instrument"].tolist()[:2] == ["ors", "srs"] and pd.isna(t["instrument"].iloc[2])


def test_spss_round_trip(tmp_path):
    frame = typed().drop(columns="session").assign(instrument=["ors", "srs", "ors"])
    pyreadstat.write_sav(frame, str(tmp_path / "t.sav"))
    t = read_table(tmp_path / "t.sav")
    assert t.index.tolist() == ROWS
    assert t["engagement_id"].tolist() == ["7", "7", "10"]
    assert t["value"].tolist() == [3.5, 9.0, 10.0]
    assert t.attrs["user_missing"] == {}


def test_parquet_with_repeated_column_names(tmp_path):
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["value", "value"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(DataError, match="columns 1 and 2"):
        read_table(tmp_path / "dup.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="Parquet"):
        read_table(tmp_path / "bad.parquet")


def test_unsupported_suffix_names_it_and_the_supported_ones(tmp_path):
    path = tmp_path / "study.json"
    path.write_text("{}")
    with pytest.raises(UsageError) as caught:
        read_table(path)
    assert '".json"' in str(caught.value) and ".csv" in str(caught.value)
    assert ".sav" in str(caught.value)


def test_format_overrides_the_suffix(tmp_path):
    path = tmp_path / "export.dat"
    path.write_text("coach_id;x\n007;1,5\n")
    assert as_text(read_table(path, format="csv")) == [["007", "1.5"]]
    with pytest.raises(UsageError, match="format="):
        read_table(path, format="json")


def test_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(UsageError, match="folder"):
        read_table(tmp_path, format="csv")
    path = write_table(RESPONSES, tmp_path / "t.csv")
    with pytest.raises(UsageError, match="Excel"):
        read_table(path, sheet="responses")
    with pytest.raises(UsageError, match="sep"):
        read_table(write_table(RESPONSES, tmp_path / "t.parquet"), sep=";")


def test_column_mapping(tmp_path):
    path = write_table(RESPONSES, tmp_path / "t.csv")
    t = read_table(path, columns={"value": "score", "item": "question"})
    assert list(t.columns) == [
        "engagement_id", "occasion", "session", "instrument", "question", "score",
    ]
    with pytest.raises(DataError, match='"Value"'):
        read_table(path, columns={"Value": "score"})
    with pytest.raises(UsageError, match="same"):
        read_table(path, columns={"value": "item"})


def test_write_table_leaves_the_frame_alone(tmp_path):
    frame = RESPONSES.copy()
    frame.attrs["source_file"] = "x.csv"
    write_table(frame, tmp_path / "out" / "nested" / "rejected.csv")
    pd.testing.assert_frame_equal(frame, RESPONSES)
    assert frame.attrs == {"source_file": "x.csv"}
    text = (tmp_path / "out" / "nested" / "rejected.csv").read_bytes()
    assert text.startswith(b"engagement_id,occasion") and b"\r" not in text
    with pytest.raises(UsageError, match=".xlsx"):
        write_table(frame, tmp_path / "out.xlsx")
