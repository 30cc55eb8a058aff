"""`outcomes validate` and `outcomes score` on tables written the way people write them: known
names in any case are read and said, a misspelt header is refused with the rename that fixes it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from outcomes.study import Study

from ..conftest import small_study
from ._outcomes_cli import run

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _shouting_sample(folder: Path) -> Path:
    folder.mkdir()
    for kind in ("coaches", "engagements", "sessions", "responses"):
        table = pd.read_csv(SAMPLE / f"{kind}.csv", dtype=str, keep_default_na=False)
        if kind == "responses":
            table["instrument"] = table["instrument"].str.upper()
        if kind == "engagements":
            table["status"] = table["status"].str.title()
            table = table.rename(columns={"engagement_id": "Engagement_ID"})
        table.to_csv(folder / f"{kind}.csv", index=False)
    return folder


def test_the_sample_in_upper_case_validates_scores_the_same_and_says_what_it_read(tmp_path):
    study = _shouting_sample(tmp_path / "shouting")
    result = run("validate", str(study))
    assert result.returncode == 0, result.stdout   # before: 227,740 responses rejected, exit 1
    notes = [line for line in result.stdout.splitlines() if line.startswith("Note: ")]
    assert len(notes) == 3, result.stdout
    assert 'column "instrument"' in notes[2] and "in 227,740 cells, e.g. ORS -> ors" in notes[2]
    assert "Engagement_ID -> engagement_id" in notes[0]
    assert "Completed -> completed" in notes[1] or "Dropped -> dropped" in notes[1]
    payload = json.loads(run("validate", str(study), "--json").stdout)
    assert payload["ok"] is True
    said = payload["tables"]["responses"]["notes"]
    assert [(n["column"], n["cells"]) for n in said] == [("instrument", 227740)]
    assert payload["tables"]["engagements"]["notes"][0]["example"] == \
        "Engagement_ID -> engagement_id"
    for name, folder in (("shouting", study), ("sample", SAMPLE)):
        scored = run("score", str(folder), "--out", str(tmp_path / f"scored-{name}"))
        assert scored.returncode == 0, scored.stdout + scored.stderr
    for file in ("analysis.csv", "scores.csv"):
        assert (tmp_path / "scored-shouting" / file).read_text() == \
            (tmp_path / "scored-sample" / file).read_text(), file


def test_a_workbook_spelling_is_accepted_in_a_study_csv_too(tmp_path):
    tables = small_study()
    tables["engagements"]["status"] = "Completed"
    tables["engagements"]["sponsor"] = ["Organisation", "Self"] * 3
    folder = Study(tables=tables).write(tmp_path / "study")
    result = run("validate", str(folder))
    assert result.returncode == 0, result.stdout   # before: every engagement was rejected
    assert 'column "sponsor"' in result.stdout and "Organisation -> organisation" in result.stdout


def test_a_misspelt_header_is_refused_with_the_suggestion_and_the_rename_that_fixes_it(tmp_path):
    tables = small_study()
    tables["engagements"] = tables["engagements"].rename(columns={"engagement_id":
                                                                  "engagment_id"})
    folder = Study(tables=tables).write(tmp_path / "study")
    result = run("validate", str(folder), "--out", str(tmp_path / "rejected"))
    assert result.returncode == 1
    assert 'column "engagement_id": is missing from the file, which has a column ' \
           '"engagment_id" (did you mean engagement_id?)' in result.stdout
    assert 'rename = { "engagment_id" = "engagement_id" }' in result.stdout
    payload = json.loads(run("validate", str(folder), "--json", "--out",
                             str(tmp_path / "rejected")).stdout)
    fix = payload["tables"]["engagements"]["problems"][0]["fix"]
    block = fix.split("beside the data:\n", 1)[1].replace("\n    ", "\n").strip()
    others = [f'[tables.{kind}]\nfile = "{kind}.csv"' for kind in tables if kind != "engagements"]
    (folder / "study.toml").write_text("\n".join([*others, block]) + "\n", encoding="utf-8")
    fixed = run("validate", str(folder), "--out", str(tmp_path / "rejected"))
    assert fixed.returncode == 0, fixed.stdout
