"""Through the `outcomes` command: no input is overwritten or deleted, nothing written runs.

Each test reproduces what a user met: ``outcomes validate STUDY --out STUDY`` replaced each
table with its rejected rows and deleted the tables without any; ``outcomes template`` wrote
over a filled-in workbook; a respondent's ``=HYPERLINK(…)`` came out of ``outcomes validate``
and ``outcomes score`` as a live formula.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import openpyxl
import pandas as pd

from outcomes.io import safe_cell

from ..conftest import small_study
from ._outcomes_cli import run

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
FORMULA = '=HYPERLINK("http://evil.example","open")'


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def study(tmp_path: Path, *, hostile: bool = False) -> Path:
    """The small hand-written study; ``hostile`` puts formulas in ids and a bad cell."""
    tables = small_study()
    if hostile:
        for frame in tables.values():
            if "engagement_id" in frame.columns:
                frame["engagement_id"] = frame["engagement_id"].replace("E1", "-E1")
        tables["engagements"]["client_id"] = tables["engagements"]["client_id"].replace(
            "P2", "@P2")
        tables["sessions"].loc[4, "date"] = FORMULA  # rejected, written back as given
        tables["sessions"]["note"] = ["+" + "x" * 3, "-2.5"] + ["ok"] * 16
    folder = tmp_path / "study"
    folder.mkdir()
    for kind, frame in tables.items():
        frame.to_csv(folder / f"{kind}.csv", index=False)
    return folder


def live_cells(path: Path) -> list[str]:
    """Cells of a written CSV or workbook that a spreadsheet would run as formulas."""
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path)
        cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
        return [str(c.value) for c in cells if c.data_type == "f" or (
            isinstance(c.value, str) and safe_cell(c.value) != c.value
            and not c.value.startswith("'"))]
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    return [c for c in raw.to_numpy().ravel()
            if safe_cell(c) != c and not c.startswith("'")]


def test_validate_refuses_to_write_rejected_rows_over_the_study(tmp_path):
    folder = study(tmp_path, hostile=True)
    before = hashes(folder)
    result = run("validate", str(folder), "--out", str(folder))
    assert result.returncode == 2
    assert f"--out {folder}: this folder is where the data was read from" in result.stderr
    assert f"e.g. --out {folder / 'rejected'}" in result.stderr
    assert hashes(folder) == before


def test_validate_refuses_the_folder_of_a_single_table(tmp_path):
    folder = study(tmp_path)
    before = hashes(folder)
    result = run("validate", str(folder / "sessions.csv"), "--out", str(folder))
    assert result.returncode == 2 and "holds sessions.csv, one of the files read" in result.stderr
    assert hashes(folder) == before


def test_score_refuses_to_write_over_the_study(tmp_path):
    folder = study(tmp_path)
    before = hashes(folder)
    result = run("score", str(folder), "--out", str(folder))
    assert result.returncode == 2 and f"--out {folder}:" in result.stderr
    assert hashes(folder) == before


def test_validate_and_score_write_no_live_formula_and_change_no_input(tmp_path):
    folder = study(tmp_path, hostile=True)
    before = hashes(folder)
    checked = run("validate", str(folder), "--out", str(tmp_path / "rejected"))
    scored = run("score", str(folder), "--out", str(tmp_path / "scored"))
    assert (checked.returncode, scored.returncode) == (1, 1)
    assert hashes(folder) == before
    written = sorted((tmp_path / "rejected").glob("*.csv")) + sorted(
        (tmp_path / "scored").rglob("*.csv"))
    assert len(written) >= 5
    assert {p.name: live_cells(p) for p in written} == {p.name: [] for p in written}
    rejected = pd.read_csv(tmp_path / "rejected" / "sessions.csv", dtype=str)
    assert rejected["date"].tolist() == ["'" + FORMULA]
    assert set(rejected["note"]) == {"ok"}
    analysis = pd.read_csv(tmp_path / "scored" / "analysis.csv", dtype=str)
    assert "'-E1" in set(analysis["engagement_id"])  # the quote is in the file only


def test_validate_again_empties_an_old_report_and_keeps_other_files(tmp_path):
    folder = study(tmp_path, hostile=True)
    out = tmp_path / "rejected"
    assert run("validate", str(folder), "--out", str(out)).returncode == 1
    (out / "my notes.txt").write_text("keep me")
    sessions = pd.read_csv(folder / "sessions.csv", dtype=str, keep_default_na=False)
    sessions.loc[4, "date"] = small_study()["sessions"].loc[4, "date"]  # the fix
    sessions.to_csv(folder / "sessions.csv", index=False)
    result = run("validate", str(folder), "--out", str(out))
    assert result.returncode == 0
    assert (out / "my notes.txt").read_text() == "keep me"
    assert pd.read_csv(out / "sessions.csv").empty  # emptied, not deleted, not stale
    assert pd.read_csv(out / "problems.csv").empty


def test_template_keeps_an_existing_workbook_unless_forced(tmp_path):
    path = tmp_path / "my_practice.xlsx"
    assert run("template", "--out", str(path)).returncode == 0
    assert live_cells(path) == []
    book = openpyxl.load_workbook(path)
    book["clients"].append(["C1", "self", "completed", 20, 30, 6, 35])
    book.save(path)
    filled = path.read_bytes()
    result = run("template", "--out", str(path))
    assert result.returncode == 2
    assert f"--out {path} already exists" in result.stderr and "--force" in result.stderr
    assert path.read_bytes() == filled
    assert run("template", "--out", str(path), "--force").returncode == 0
    assert path.read_bytes() != filled


def test_map_refuses_to_write_over_its_export(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(EXPORTS / "redcap_sessions.csv", folder / "sessions.csv")
    shutil.copy(EXPORTS / "redcap_sessions.toml", folder / "m.toml")
    shutil.copy(EXPORTS / "redcap_dictionary.csv", folder / "redcap_dictionary.csv")
    before = hashes(folder)
    result = run("map", str(folder / "sessions.csv"), "--mapping", str(folder / "m.toml"),
                 "--out", str(folder))
    assert result.returncode == 2
    assert "the study's sessions.csv there is the export" in result.stderr
    assert hashes(folder) == before


def test_report_norms_benchmark_and_monitor_refuse_their_inputs(tmp_path):
    folder = study(tmp_path)
    before = hashes(folder)
    norms = run("norms", str(folder), "--out", str(folder / "engagements.csv"))
    assert norms.returncode == 2
    assert "engagements.csv is engagements.csv, one of the files read" in norms.stderr
    report = run("report", str(folder), "--out", str(folder), "--no-pdf")
    assert report.returncode == 2 and "e.g. --out report/" in report.stderr
    monitor = run("monitor", str(folder), "--out", str(folder))
    assert monitor.returncode == 2 and f"--out {folder}:" in monitor.stderr
    assert hashes(folder) == before
    workbook = tmp_path / "coach" / "my_practice.xlsx"
    assert run("template", "--out", str(workbook)).returncode == 0
    (tmp_path / "coach" / "norms.json").write_text("{}")
    kept = hashes(workbook.parent)
    bench = run("benchmark", str(workbook), "--norms", str(workbook.parent / "norms.json"),
                "--out", str(workbook))
    assert bench.returncode == 2
    assert "my_practice.xlsx is my_practice.xlsx, one of the files read" in bench.stderr
    assert hashes(workbook.parent) == kept
