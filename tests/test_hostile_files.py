"""Files that are damaged or built to hurt: each is read within bounded work or refused.

Every hostile file is built in ``tmp_path`` by the helpers at the top (the e2e tests in
``tests/e2e/test_cli_hostile.py`` use them too). Each test's docstring says what the code
did before the readers had limits.
"""

from __future__ import annotations

import gzip
import re
import time
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import outcomes as oc
from outcomes._errors import DataError, UsageError
from outcomes.io import LimitError, limits, parse_toml, read_table, read_toml, shorten
from outcomes.io import excel as excel_reader
from outcomes.io._limits import DEFAULTS

# ---------------------------------------------------------------- builders (shared with e2e)


def coaches_workbook(path: Path, rows: int = 2, title: str = "coaches") -> Path:
    """A valid coaches workbook with ``rows`` coaches, on a sheet called ``title``."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(["coach_id", "years_experience"])
    for number in range(rows):
        sheet.append([f"C{number}", 3])
    book.save(path)
    return path


def rewrite_sheet(path: Path, out: Path, change) -> Path:  # noqa: ANN001
    """Copy a workbook, passing the first sheet's XML through ``change``; ``change`` may
    return bytes, or a function that streams the new part into an open handle."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as to:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
                if callable(data):
                    with to.open(info.filename, "w") as handle:
                        data(handle)
                    continue
            to.writestr(info.filename, data)
    return out


def huge_dimension_workbook(folder: Path, rows: int = 100) -> Path:
    """A coaches sheet whose ``<dimension>`` claims A1:XFD1048576 (the whole grid)."""
    base = coaches_workbook(folder / "base.xlsx", rows)
    return rewrite_sheet(base, folder / "coaches.xlsx", lambda xml: re.sub(
        rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', xml))


def zip_bomb_workbook(folder: Path, cells: int = 5_000_000, title: str = "coaches") -> Path:
    """A coaches sheet of ``cells`` more one-cell rows, stored in ~0.3 MB (a zip bomb)."""
    base = coaches_workbook(folder / "base.xlsx", title=title)

    def bomb(xml: bytes):  # noqa: ANN202
        head, tail = xml.split(b"</sheetData>")

        def stream(handle) -> None:  # noqa: ANN001
            handle.write(head)
            chunk = b"<row><c><v>1</v></c></row>" * 50_000
            for _ in range(cells // 50_000):
                handle.write(chunk)
            handle.write(b"</sheetData>" + tail)
        return stream

    return rewrite_sheet(base, folder / "coaches.xlsx", bomb)


def deep_toml(kind: str = "arrays", depth: int = 100_000) -> str:
    """TOML text nested ``depth`` levels by arrays, inline tables or a dotted table header."""
    if kind == "arrays":
        return "a = " + "[" * depth + "]" * depth + "\n"
    if kind == "inline":
        return "a = " + "{b = " * depth + "1" + "}" * depth + "\n"
    return "[" + ".".join(["a"] * depth) + "]\nx = 1\n"


# ---------------------------------------------------------------- encodings and NUL bytes


def test_one_nul_byte_stays_in_its_cell_and_rejects_only_that_row(tmp_path):
    """Before: any NUL in the first 4 KB made the reader guess UTF-16, so the table was
    unreadable or came out empty; now the file is read as UTF-8 and the row is rejected."""
    path = tmp_path / "coaches.csv"
    path.write_bytes(b"coach_id,years_experience\nC1,3\nC\x002,4\nC3,5\n")
    table = read_table(path, kind="coaches")
    assert table["coach_id"].tolist() == ["C1", "C\x002", "C3"]
    report = oc.validate(table, "coaches")
    counts = report.counts.iloc[0]
    assert (counts["input"], counts["valid"], counts["rejected"]) == (3, 2, 1)
    problem = report.problems.iloc[0]
    assert (problem["row"], problem["column"], problem["rule"]) == (3, "coach_id", "nul_byte")
    assert problem["value"] == "C\\x002" and str(path) == problem["file"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_still_recognised_from_its_nul_pattern(tmp_path, codec):
    """The regular NUL pattern of UTF-16 (every other byte) still selects UTF-16."""
    path = tmp_path / "coaches.csv"
    path.write_bytes("coach_id,note\nC1,café\nC2,Zoë\n".encode(codec))
    assert read_table(path)["note"].tolist() == ["café", "Zoë"]


def test_zero_row_table_without_its_required_columns_fails_validation():
    """Before: a table that read as empty passed (``ok`` True, exit 0) whatever its columns."""
    report = oc.validate(pd.DataFrame({"garbage": pd.Series(dtype=str)}), "engagements")
    assert not report.ok
    assert set(report.problems["rule"]) == {"missing_column"}
    assert "engagement_id" in set(report.problems["column"])
    assert report.problems["row"].isna().all()
    assert "a table failed" in str(report.summary())


def test_unterminated_quote_names_the_line_where_it_opens(tmp_path):
    """Before: the message carried the parser's "EOF inside string starting at row 2" for a
    quote opened on line 3 (the parser counts records from 0) and named no line itself."""
    path = tmp_path / "coaches.csv"
    path.write_text('coach_id,note\nC1,"fine, ""quoted"""\nC2,"never closed\nC3,x\n',
                    encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_table(path)
    assert caught.value.row == 3
    assert "row 3" in str(caught.value) and "never closed" in str(caught.value)


# ---------------------------------------------------------------- workbooks


def test_declared_sheet_size_is_ignored(tmp_path, monkeypatch):
    """Before: openpyxl padded every row to the declared 16,384 columns, so a 100-row sheet
    cost 1.6 million cell conversions (a 1,000-row sheet took over a minute)."""
    path = huge_dimension_workbook(tmp_path, rows=100)
    calls = []
    text = excel_reader._text
    monkeypatch.setattr(excel_reader, "_text", lambda cell: calls.append(1) or text(cell))
    table = read_table(path)
    assert table.shape == (100, 2) and table.index[-1] == 101
    assert len(calls) <= 2 * 101


def test_zip_bomb_workbook_is_refused_from_its_zip_directory(tmp_path):
    """Before: openpyxl parsed all 5,000,000 rows (minutes of CPU, gigabytes of memory)."""
    path = zip_bomb_workbook(tmp_path)
    assert path.stat().st_size < 1_000_000
    start = time.perf_counter()
    with pytest.raises(LimitError, match="OUTCOMES_MAX_ZIP_RATIO") as caught:
        read_table(path)
    assert time.perf_counter() - start < 5
    assert caught.value.limit == "zip_ratio" and str(path) in str(caught.value)


def test_coach_workbook_is_opened_within_the_limits(tmp_path):
    """Before: the coach's workbook was opened by openpyxl directly, so a zip bomb on its
    clients sheet was parsed row by row for minutes."""
    from outcomes.benchmarking.practice import read_practice

    with pytest.raises(LimitError, match="zip_ratio"):
        read_practice(zip_bomb_workbook(tmp_path, title="clients"))


def test_workbook_larger_than_the_limit_once_decompressed(tmp_path, monkeypatch):
    """The sizes declared in the zip directory are summed and checked before parsing."""
    path = coaches_workbook(tmp_path / "coaches.xlsx")
    monkeypatch.setenv("OUTCOMES_MAX_WORKBOOK_BYTES", "5000")
    with pytest.raises(LimitError, match="workbook_bytes"):
        read_table(path)


def test_rows_columns_and_cells_of_a_sheet_are_bounded(tmp_path, monkeypatch):
    """Before: nothing bounded a sheet's rows or width but memory."""
    path = coaches_workbook(tmp_path / "coaches.xlsx", rows=30)
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "10")
    with pytest.raises(LimitError, match="rows"):
        read_table(path)
    monkeypatch.delenv("OUTCOMES_MAX_ROWS")
    monkeypatch.setenv("OUTCOMES_MAX_COLUMNS", "1")
    with pytest.raises(LimitError, match="columns") as caught:
        read_table(path)
    assert caught.value.row == 1


def test_xml_entities_are_refused(tmp_path):
    """An entity expansion ("billion laughs") in a sheet is refused by defusedxml."""
    base = coaches_workbook(tmp_path / "base.xlsx")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]>')
    path = rewrite_sheet(base, tmp_path / "coaches.xlsx",
                         lambda xml: laughs + xml.replace(b"C0", b"&b;"))
    with pytest.raises(DataError, match="declares entities"):
        read_table(path)


def test_workbooks_are_not_parsed_without_defusedxml(tmp_path, monkeypatch):
    """``defusedxml`` is declared, and a reader that would parse without it refuses."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert any(d.startswith("defusedxml") for d in project["project"]["dependencies"])
    assert openpyxl.DEFUSEDXML
    from xml.etree.ElementTree import iterparse

    from openpyxl.worksheet import _reader
    monkeypatch.setattr(_reader, "iterparse", iterparse)
    with pytest.raises(UsageError, match="defusedxml"):
        read_table(coaches_workbook(tmp_path / "coaches.xlsx"))


# ---------------------------------------------------------------- delimited text limits


def test_long_cell_rejects_its_row_and_is_echoed_short(tmp_path):
    """Before: a 1 MB cell was read, validated as an id and echoed whole in any message."""
    path = tmp_path / "coaches.csv"
    path.write_text("coach_id,note\nC1,ok\nC2," + "x" * 1_000_000 + "\nC3,ok\n", encoding="utf-8")
    report = oc.validate(read_table(path, kind="coaches"), "coaches")
    assert report.counts[["valid", "rejected"]].values.tolist() == [[2, 1]]
    problem = report.problems.iloc[0]
    assert (problem["row"], problem["column"], problem["rule"]) == (3, "note", "cell_size")
    assert problem["value"] == "x" * 40 + "…"
    assert all(len(line) < 400 for line in report.messages())


def test_gzip_that_decompresses_beyond_the_limit(tmp_path, monkeypatch):
    """Before: a .csv.gz was decompressed whole, however large."""
    path = tmp_path / "coaches.csv.gz"
    path.write_bytes(gzip.compress(b"coach_id\n" + b"C1\n" * 100_000))
    monkeypatch.setenv("OUTCOMES_MAX_FILE_BYTES", "10000")
    with pytest.raises(LimitError, match="decompresses"):
        read_table(path)


def test_csv_lines_columns_and_bytes_are_bounded(tmp_path, monkeypatch):
    """Before: a header of 100,000 separators made a table of 100,000 columns."""
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n1\n", encoding="utf-8")
    with pytest.raises(LimitError, match="100,000 columns"):
        read_table(wide)
    long = tmp_path / "long.csv"
    long.write_text("coach_id\n" + "C\n" * 50, encoding="utf-8")
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "49")
    with pytest.raises(LimitError, match="50 lines"):
        read_table(long)
    monkeypatch.setenv("OUTCOMES_MAX_FILE_BYTES", "20")
    with pytest.raises(LimitError, match="file_bytes"):
        read_table(long)


def test_stored_tables_are_bounded_from_their_headers(tmp_path, monkeypatch):
    """Parquet and SPSS files are checked from their metadata before their data is read."""
    import pyreadstat

    frame = pd.DataFrame({"coach_id": [f"C{i}" for i in range(20)], "years": 3.0})
    frame.to_parquet(tmp_path / "coaches.parquet")
    pyreadstat.write_sav(frame, str(tmp_path / "coaches.sav"))
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "10")
    for name in ("coaches.parquet", "coaches.sav"):
        with pytest.raises(LimitError, match="20 records"):
            read_table(tmp_path / name)


def test_a_limit_is_raised_and_checked_by_its_environment_variable(monkeypatch):
    assert limits().cell_chars == DEFAULTS["cell_chars"]
    monkeypatch.setenv("OUTCOMES_MAX_CELL_CHARS", "1_000_000")
    assert limits().cell_chars == 1_000_000
    monkeypatch.setenv("OUTCOMES_MAX_CELL_CHARS", "lots")
    with pytest.raises(UsageError, match="OUTCOMES_MAX_CELL_CHARS='lots' is not a limit"):
        limits()


def test_echoed_values_are_cut_and_their_control_characters_shown():
    assert shorten("a\nb\x00") == "a\\nb\\x00"
    assert shorten("é" * 41) == "é" * 40 + "…"


# ---------------------------------------------------------------- TOML configuration


@pytest.mark.parametrize("kind", ["arrays", "inline", "dotted"])
def test_deep_toml_is_refused_quickly(kind):
    """Before: tomllib raised RecursionError (a traceback) on deep arrays and inline tables,
    and spent about 11 seconds on a 100,000-part dotted table header."""
    start = time.perf_counter()
    with pytest.raises(LimitError, match="depth"):
        parse_toml(deep_toml(kind), file="study.toml")
    assert time.perf_counter() - start < 3


def test_toml_depth_ignores_brackets_in_strings_and_comments():
    text = 'a = "[[[[[[" # [[[[[[\nb = \'\'\'{{{{\n{{{{\'\'\'\n[t."x.y.z"]\nc = [[1], {d.e = 2}]\n'
    assert parse_toml(text, file="x.toml") == tomllib.loads(text)


def test_deep_norms_file_is_refused(tmp_path):
    """Before: ``json.loads`` raised RecursionError, a traceback from `outcomes benchmark`."""
    from outcomes.norms.document import read_norms

    path = tmp_path / "norms.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(LimitError, match="100,000 levels deep"):
        read_norms(path)


def test_every_toml_reader_applies_the_limits(tmp_path):
    """Mapping, instrument, study and report configuration files go through read_toml."""
    from outcomes.instruments._parse import parse_file
    from outcomes.mapping.config import read_mapping

    path = tmp_path / "deep.toml"
    path.write_text(deep_toml("arrays", 2_000), encoding="utf-8")
    for reader in (read_toml, read_mapping, parse_file, oc.read_study):
        with pytest.raises(LimitError, match="OUTCOMES_MAX_DEPTH"):
            reader(path)
    path.write_text("x = 1\n" * (limits().toml_bytes // 6 + 1), encoding="utf-8")
    with pytest.raises(LimitError, match="toml_bytes"):
        read_toml(path)
