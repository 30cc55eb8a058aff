"""What the toolkit writes is safe to open and never lands on what it read.

Cells a spreadsheet would run as formulas are written with a leading quote (and read back
without it); an output folder that holds the input tables is refused; a file of an earlier
run is emptied, never deleted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dask.dataframe as dd
import openpyxl
import pandas as pd
import pytest

from outcomes import partitioned
from outcomes._errors import UsageError
from outcomes.benchmarking import write_template
from outcomes.io import neutralise_formulas, read_table, safe_cell, write_table
from outcomes.io.writing import check_output, restore_cell, source_files
from outcomes.mapping import map_export
from outcomes.mapping.merge import read_folder
from outcomes.study import read_study
from outcomes.validation.rules import validate_tables

from .conftest import small_study

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\tx", "\rx", "'=already quoted", "''@twice", "-", "=", "-not sure-"]
NUMBERS = ["-3.5", "+2", "-1e3", "4", "-0,5", "'-3"]


def live(cell: object) -> bool:
    """Whether a spreadsheet would run ``cell`` (as text in a file) as a formula."""
    return isinstance(cell, str) and safe_cell(cell) != cell and not cell.startswith("'")


def test_text_that_starts_a_formula_gets_a_quote_and_numbers_stay_numbers():
    assert [safe_cell(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert [safe_cell(v) for v in NUMBERS] == NUMBERS
    assert [safe_cell(v) for v in [-3.5, 2, None, "E01", "a=b"]] == [-3.5, 2, None, "E01", "a=b"]


def test_reading_back_gives_exactly_what_was_written():
    for value in HOSTILE + NUMBERS + ["'x", "''", "E01"]:
        assert restore_cell(safe_cell(value)) == value, value


def test_neutralise_formulas_leaves_the_callers_frame_and_non_text_alone():
    frame = pd.DataFrame({"=id": ["=1+1", "E2"], "score": [-3.5, 2.0],
                          "kind": pd.Categorical(["@x", "y"]),
                          "date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    before = frame.copy()
    out = neutralise_formulas(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.columns) == ["'=id", "score", "kind", "date"]
    assert out["'=id"].tolist() == ["'=1+1", "E2"] and out["kind"].tolist() == ["'@x", "y"]
    assert out["score"].tolist() == [-3.5, 2.0] and out["date"].equals(frame["date"])


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz"])
def test_a_table_written_and_read_again_keeps_every_value(tmp_path, name):
    values = HOSTILE[:4] + HOSTILE[6:] + NUMBERS
    frame = pd.DataFrame({"engagement_id": values, "=note": values})
    path = write_table(frame, tmp_path / name)
    raw = pd.read_csv(path, dtype=str, sep="\t" if ".tsv" in name else ",",
                      keep_default_na=False)
    assert not any(live(c) for c in [*raw.columns, *raw.to_numpy().ravel()])
    again = read_table(path)
    assert list(again.columns) == ["engagement_id", "=note"]
    assert again["engagement_id"].tolist() == values == again["=note"].tolist()


def test_parquet_is_written_as_it_is(tmp_path):
    frame = pd.DataFrame({"engagement_id": ["=1+1"]})
    assert pd.read_parquet(write_table(frame, tmp_path / "t.parquet")).equals(frame)


def study_folder(tmp_path: Path, tables=None) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    for kind, frame in (tables or small_study()).items():
        frame.to_csv(folder / f"{kind}.csv", index=False)
    return folder


def test_rejected_rows_are_never_written_over_the_tables_they_came_from(tmp_path):
    folder = study_folder(tmp_path)
    (folder / "sessions.csv").write_text("engagement_id,session,date\nE1,x,soon\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    report = read_study(folder).validate()
    assert not report.ok
    with pytest.raises(UsageError, match=r"study: this folder holds .*, one of the files read.*"
                                         r"e\.g\. --out .*rejected"):
        report.write_rejected(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    written = report.write_rejected(folder / "rejected")
    assert {"sessions.csv", "problems.csv"} <= {p.name for p in written}
    assert all(p.parent == folder / "rejected" for p in written)


def test_a_file_of_an_earlier_run_is_emptied_and_nothing_else_is_touched(tmp_path):
    tables = small_study()
    bad = validate_tables({**tables, "coaches": tables["coaches"].assign(years_experience="x")})
    out = tmp_path / "rejected"
    bad.write_rejected(out)
    (out / "notes.txt").write_text("mine")
    assert len(pd.read_csv(out / "coaches.csv")) == 3
    tables["sessions"].loc[0, "date"] = "soon"
    written = validate_tables(tables).write_rejected(out)
    assert {p.name for p in written} == {"coaches.csv", "sessions.csv", "problems.csv"}
    assert pd.read_csv(out / "coaches.csv").empty  # emptied: it would describe a past run
    assert len(pd.read_csv(out / "sessions.csv")) == 1
    assert (out / "notes.txt").read_text() == "mine"


def test_a_study_is_not_written_over_itself(tmp_path):
    folder = study_folder(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    study = read_study(folder)
    with pytest.raises(UsageError, match="folder .*study: this folder"):
        study.write(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    study.write(tmp_path / "copy")
    assert read_study(tmp_path / "copy").validate().ok


def test_check_output_names_files_folders_and_workbook_sheets(tmp_path):
    book = tmp_path / "book.xlsx"
    book.write_bytes(b"")
    table = pd.DataFrame()
    table.attrs["source_file"] = f"{book}:sessions"
    inputs = source_files({"sessions": table}, None, tmp_path / "absent.csv")
    assert inputs == [book]
    with pytest.raises(UsageError, match=r"--out .*book\.xlsx is book\.xlsx, one of the files "
                                         r"read; writing there would overwrite it"):
        check_output(book, inputs, folder=False)
    with pytest.raises(UsageError, match="holds book.xlsx"):
        check_output(tmp_path, inputs)
    check_output(tmp_path / "out", inputs)
    check_output(tmp_path / "norms.json", inputs, folder=False)


def test_the_template_is_values_only_and_is_not_written_over_a_workbook(tmp_path):
    path = write_template(tmp_path / "my_practice.xlsx")
    book = openpyxl.load_workbook(path)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    assert all(not live(c.value) for c in cells)
    filled = path.read_bytes()
    with pytest.raises(UsageError, match="my_practice.xlsx already exists"):
        write_template(path)
    assert path.read_bytes() == filled
    assert write_template(path, overwrite=True) == path


def test_partitioned_validation_quotes_formulas_and_keeps_an_earlier_run(tmp_path):
    tables = small_study()
    tables["sessions"].loc[0, "date"] = "=HYPERLINK(\"http://x\")"
    frames = {k: dd.from_pandas(v, npartitions=1) for k, v in tables.items()}
    out = tmp_path / "v"
    report = partitioned.validate_tables(frames, out=out)
    raw = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in out.rglob("*.csv")]
    assert raw and not any(live(c) for f in raw for c in f.to_numpy().ravel())
    assert report.rejected("sessions")["date"].tolist() == ["=HYPERLINK(\"http://x\")"]
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(UsageError, match=r"already holds valid/, rejected/, problems/ from an "
                                         r"earlier run"):
        partitioned.validate_tables(frames, out=out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def hostile_export(tmp_path: Path) -> tuple[Path, Path]:
    """The REDCap session log with an id and a coach that a spreadsheet would run."""
    folder = tmp_path / "exports"
    folder.mkdir()
    text = (EXPORTS / "redcap_sessions.csv").read_text(encoding="utf-8")
    text = text.replace("E01,", "-E01,").replace(",C1,", ',"=HYPERLINK(""x"")",')
    (folder / "log.csv").write_text(text, encoding="utf-8")
    shutil.copy(EXPORTS / "redcap_sessions.toml", folder / "log.toml")
    shutil.copy(EXPORTS / "redcap_dictionary.csv", folder / "redcap_dictionary.csv")
    return folder / "log.csv", folder / "log.toml"


def test_a_mapped_study_keeps_its_ids_through_the_quotes(tmp_path):
    export, mapping = hostile_export(tmp_path)
    study = tmp_path / "study"
    map_export(export, mapping).write(study)
    raw = pd.read_csv(study / "engagements.csv", dtype=str)
    assert "'-E01" in set(raw["engagement_id"]) and not any(
        live(c) for c in raw.to_numpy().ravel())
    engagements = read_folder(study)["engagements"].set_index("engagement_id")
    assert engagements.loc["-E01", "coach_id"] == "=HYPERLINK(\"x\")"
    assert "-E01" in set(read_study(study).valid("engagements")["engagement_id"])
    before = {p.name: p.read_bytes() for p in study.rglob("*.csv")}
    map_export(export, mapping).write(study)  # mapping again changes nothing
    assert {p.name: p.read_bytes() for p in study.rglob("*.csv")} == before


def test_mapping_refuses_to_write_over_the_export(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(EXPORTS / "redcap_sessions.csv", folder / "responses.csv")
    shutil.copy(EXPORTS / "redcap_sessions.toml", folder / "m.toml")
    shutil.copy(EXPORTS / "redcap_dictionary.csv", folder / "redcap_dictionary.csv")
    before = (folder / "responses.csv").read_bytes()
    mapped = map_export(folder / "responses.csv", folder / "m.toml")
    with pytest.raises(UsageError, match="the study's responses.csv there is the export"):
        mapped.write(folder)
    assert (folder / "responses.csv").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["m.toml", "redcap_dictionary.csv",
                                                        "responses.csv"]


def test_every_table_the_toolkit_writes_goes_through_the_formula_guard():
    src = Path(__file__).resolve().parents[1] / "src" / "outcomes"
    unguarded = []
    # a Word table (python-docx's grid.cell) is not a spreadsheet: Word never evaluates a
    # cell's text, so its writer needs no formula guard
    not_spreadsheets = {src / "apa" / "word.py"}
    for path in sorted(src.rglob("*.py")):
        if path.name == "writing.py" or path in not_spreadsheets:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            code = line.split("#")[0]
            if code.lstrip().startswith((">>>", "...")):
                continue
            if ".to_csv(" in code or ".to_excel(" in code or ".cell(" in code:
                near = " ".join(lines[max(0, number - 1): number + 1])
                if "neutralise_formulas(" not in near and "safe_cell(" not in near:
                    unguarded.append(f"{path.relative_to(src)}:{number + 1}: {line.strip()}")
    assert unguarded == []
