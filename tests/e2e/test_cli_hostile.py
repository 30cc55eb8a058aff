"""`outcomes validate` on hostile and damaged study folders, as a user (or an attacker) meets it.

Each test's docstring says what the command did before; each checks the exit code, that the
message names the place and the fix, that no traceback is printed, and that no input file
changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import small_study
from tests.test_hostile_files import deep_toml, huge_dimension_workbook, zip_bomb_workbook

from ._outcomes_cli import run


def write_study(folder: Path) -> Path:
    """The small valid study as CSV files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, frame in small_study().items():
        frame.to_csv(folder / f"{kind}.csv", index=False)
    return folder


def study_toml(folder: Path, coaches: str, extra: str = "") -> Path:
    """A study.toml naming the small study's files, with ``coaches`` as the coaches file."""
    lines = [f'[tables.coaches]\nfile = "{coaches}"\n{extra}']
    lines += [f'[tables.{kind}]\nfile = "{kind}.csv"\n'
              for kind in ("engagements", "sessions", "responses")]
    path = folder / "study.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def snapshot(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file()}


def refused_outside(result, entry: str) -> None:  # noqa: ANN001
    assert result.returncode == 2, result.stdout + result.stderr
    assert entry in result.stderr and "outside the study folder" in result.stderr
    assert "allow_outside = true" in result.stderr


# ---------------------------------------------------------------- paths stay inside the study


def test_relative_path_out_of_the_study_is_refused(tmp_path):
    """Before: ``file = "../../secret/coaches.csv"`` was read and its rows were copied into
    the study's rejected/ folder."""
    study = write_study(tmp_path / "a" / "b" / "study")
    secret = tmp_path / "a" / "secret"
    secret.mkdir()
    (secret / "coaches.csv").write_text("coach_id,years_experience\nC1,x\n", encoding="utf-8")
    study_toml(study, "../../secret/coaches.csv")
    before = snapshot(study, secret)
    result = run("validate", str(study))
    refused_outside(result, '[tables.coaches] file = "../../secret/coaches.csv"')
    assert not (study / "rejected").exists()
    assert snapshot(study, secret) == before


def test_absolute_path_is_refused_unless_allowed(tmp_path):
    """Before: an absolute path anywhere on the machine was read."""
    study = write_study(tmp_path / "study")
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("coach_id,years_experience\nC1,3\nC2,4\nC3,5\n", encoding="utf-8")
    study_toml(study, str(elsewhere))
    refused_outside(run("validate", str(study)), "[tables.coaches] file")
    assert not (study / "rejected").exists()
    study_toml(study, str(elsewhere), extra="allow_outside = true\n")
    allowed = run("validate", str(study))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_symlinked_table_is_refused(tmp_path):
    """Before: a link named coaches.csv was followed to a file outside the study folder and
    its rows were copied into rejected/."""
    study = write_study(tmp_path / "study")
    target = tmp_path / "private.csv"
    target.write_text("coach_id,years_experience\nC1,x\n", encoding="utf-8")
    (study / "coaches.csv").unlink()
    os.symlink(target, study / "coaches.csv")
    result = run("validate", str(study))
    refused_outside(result, "coaches.csv")
    assert not (study / "rejected").exists()
    assert target.read_text(encoding="utf-8") == "coach_id,years_experience\nC1,x\n"


def test_link_inside_the_study_is_read(tmp_path):
    """A link that stays inside the study folder is an ordinary file."""
    study = write_study(tmp_path / "study")
    (study / "coaches.csv").rename(study / "coaches-2025.csv")
    os.symlink(study / "coaches-2025.csv", study / "coaches.csv")
    result = run("validate", str(study))
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- damaged text files


def test_stray_nul_byte_rejects_one_row(tmp_path):
    """Before: one NUL byte made the reader guess UTF-16; the table came out empty (exit 0
    with 0 rows) or unreadable ("not valid UTF-16-LE text")."""
    study = write_study(tmp_path / "study")
    path = study / "engagements.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"P3", b"P\x003")
    path.write_bytes(b"\n".join(lines))
    result = run("validate", str(study), "--json")
    assert result.returncode == 1, result.stderr
    table = json.loads(result.stdout)["tables"]["engagements"]
    assert (table["input"], table["valid"], table["rejected"]) == (6, 5, 1)
    problem = table["problems"][0]
    assert (problem["row"], problem["column"], problem["rule"]) == (4, "client_id", "nul_byte")


def test_table_missing_its_columns_fails_even_without_rows(tmp_path):
    """Before: an engagements file with a wrong header and no rows passed with exit 0."""
    study = write_study(tmp_path / "study")
    (study / "engagements.csv").write_text("id;client\n", encoding="utf-8")
    result = run("validate", str(study))
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'column "engagement_id"' in result.stdout
    assert (study / "rejected" / "problems.csv").exists()


def test_unterminated_quote_names_its_line(tmp_path):
    """Before: "the file cannot be read as a table (... EOF inside string starting at row
    2)" for a quote opened on line 3."""
    path = tmp_path / "coaches.csv"
    path.write_text('coach_id,note\nC1,ok\nC2,"never closed\nC3,x\n', encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode in (1, 2)
    assert "coaches.csv, row 3" in result.stderr and "never closed" in result.stderr
    assert "row 2" not in result.stderr


def test_huge_cell_rejects_its_row_and_is_echoed_short(tmp_path):
    """Before: a 2 MB cell was accepted as a coach's note and any message quoting it
    echoed it whole."""
    study = write_study(tmp_path / "study")
    (study / "coaches.csv").write_text(
        "coach_id,years_experience,note\nC1,3,ok\nC2,10," + "x" * 2_000_000 + "\nC3,0.5,ok\n",
        encoding="utf-8")
    result = run("validate", str(study))
    assert result.returncode == 1
    assert 'row 3, column "note": ' + "x" * 40 + "…" in result.stdout
    assert "OUTCOMES_MAX_CELL_CHARS" in result.stdout
    assert len(result.stdout) < 10_000


# ---------------------------------------------------------------- work bounded for any input


def test_workbook_zip_bomb_ends_quickly_with_exit_2(tmp_path):
    """Before: openpyxl parsed the 5,000,000 rows of a 0.3 MB workbook for minutes."""
    path = zip_bomb_workbook(tmp_path)
    result = run("validate", str(path), "--kind", "coaches", timeout=120)
    assert result.returncode == 2
    assert "coaches.xlsx" in result.stderr and "OUTCOMES_MAX_ZIP_RATIO" in result.stderr


def test_sheet_declaring_the_whole_grid_is_read_as_its_cells(tmp_path):
    """Before: each of the 1,000 rows was padded to the declared 16,384 columns, which took
    over a minute; now the sheet is read as the 1,000 rows it holds."""
    path = huge_dimension_workbook(tmp_path, rows=1_000)
    result = run("validate", str(path), "--kind", "coaches", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"]["coaches"]["valid"] == 1_000


@pytest.mark.parametrize("kind", ["arrays", "dotted"])
def test_deep_study_toml_ends_quickly_with_exit_2(tmp_path, kind):
    """Before: a RecursionError traceback (arrays), or eleven seconds of parsing (a dotted
    table header of 100,000 parts)."""
    study = write_study(tmp_path / "study")
    (study / "study.toml").write_text(deep_toml(kind), encoding="utf-8")
    result = run("validate", str(study), timeout=60)
    assert result.returncode == 2
    assert "study.toml" in result.stderr and "OUTCOMES_MAX_DEPTH" in result.stderr


def test_deep_norms_file_ends_with_exit_2(tmp_path):
    """Before: `outcomes benchmark` printed a RecursionError traceback."""
    norms = tmp_path / "norms.json"
    norms.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    workbook = tmp_path / "practice.xlsx"
    workbook.write_bytes(b"never read")
    result = run("benchmark", str(workbook), "--norms", str(norms), "--out",
                 str(tmp_path / "out"), timeout=60)
    assert result.returncode == 2
    assert "norms.json" in result.stderr and "OUTCOMES_MAX_DEPTH" in result.stderr
