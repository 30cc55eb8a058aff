"""Hostile studies through `outcomes validate` and `outcomes score`: nothing lost, nothing
changed, nothing written that a spreadsheet would run.

Each example writes the small hand-built study as CSV with random damage: cells of the wrong
type, out of range, empty or junk; instrument names and status, sponsor and occasion values
in another case; formulas in text cells and in an engagement's id everywhere it appears.
Then both commands run in-process, and whatever they accept or reject:

* every table's rows are accounted for, ``input == valid + rejected``, and ``input`` is the
  rows of the file; the rejected rows written to disk are the rows counted as rejected;
* no input file changes (hashes before and after), even when ``--out`` is the study itself;
* no cell of any file written starts a live formula;
* no command ends in a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tempfile
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outcomes.cli import main
from outcomes.io import MISSING

from ..conftest import small_study

FORMULAS = ["=1+1", '=HYPERLINK("http://evil.example","x")', "+A1", "-cmd|' /C calc'!A0",
            "@SUM(A1:A2)", "\t=1", "=", "-", "+-", "'=x"]
NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
TEXT_COLUMNS = {"coaches": ["coach_id"], "engagements": ["client_id", "coach_id", "sponsor",
                                                         "status"],
                "sessions": ["techniques"], "responses": ["instrument", "occasion"]}
CASED = {"engagements": ["sponsor", "status"], "responses": ["instrument", "occasion"]}
NUMBER_COLUMNS = {"coaches": ["years_experience"], "sessions": ["session", "duration_min",
                                                                 "adherence"],
                  "responses": ["session", "item", "value"]}

junk = st.one_of(
    st.sampled_from(["", " ", "abc", "3.5.1", "1e999", "-999", "1000000", "NaN", "2024-02-30",
                     "yes", "0x1F", "½", "∞", "12:00"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
)
formula = st.sampled_from(FORMULAS).flatmap(
    lambda f: st.sampled_from([f, f + " more", f + "1"]))
table = st.sampled_from(["coaches", "engagements", "sessions", "responses"])
where = st.integers(min_value=0, max_value=10_000)
damage = st.one_of(
    st.tuples(st.just("junk"), table, where, junk),
    st.tuples(st.just("formula"), table, where, formula),
    st.tuples(st.just("case"), st.sampled_from(sorted(CASED)), where,
              st.sampled_from(["upper", "title", "swapcase"])),
)


def apply(tables: dict, kind: str, table_name: str, position: int, value: str) -> None:
    frame = tables[table_name]
    row = position % len(frame)
    if kind == "junk":
        columns = TEXT_COLUMNS[table_name] + NUMBER_COLUMNS.get(table_name, [])
    elif kind == "formula":
        columns = TEXT_COLUMNS[table_name]
    else:
        columns = CASED[table_name]
    column = columns[position % len(columns)]
    cell = frame.loc[row, column]
    if kind == "case":
        value = getattr(str(cell), value)() if isinstance(cell, str) else cell
    frame.loc[row, column] = value


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def live(cell: str) -> bool:
    """Whether a spreadsheet would run this cell text as a formula."""
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.fullmatch(cell)


def written_cells(folder: Path) -> list[str]:
    cells: list[str] = []
    for path in folder.rglob("*"):
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                cells += [c for row in csv.reader(handle) for c in row]
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            for sheet in book:
                for row in sheet.iter_rows():
                    cells += ["=" if c.data_type == "f" else str(c.value) for c in row
                              if c.value is not None]
    return cells


def rows_in_file(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))[1:]
    return sum(any(c.strip() not in MISSING for c in record) for record in records)


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception, result.output)
    assert "Traceback" not in result.output
    return result


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(damages=st.lists(damage, max_size=8),
       renamed=st.tuples(st.integers(1, 6), st.sampled_from(FORMULAS[:5])),
       onto_study=st.booleans())
# found by a random run: a whole-number column holding "1e999" (infinity) once crashed
@example(damages=[("junk", "responses", 3442, "1e999")], renamed=(1, "=1+1"), onto_study=False)
@example(damages=[("junk", "sessions", 7, "-1e400")], renamed=(2, "+A1"), onto_study=False)
def test_hostile_studies_lose_nothing_change_nothing_and_write_no_formula(damages, renamed,
                                                                        onto_study):
    tables = small_study()
    engagement, prefix = renamed  # one engagement's id is a formula, in every table
    for frame in tables.values():
        if "engagement_id" in frame.columns:
            frame["engagement_id"] = frame["engagement_id"].replace(
                f"E{engagement}", f"{prefix}E{engagement}")
    for kind, table_name, position, value in damages:
        apply(tables, kind, table_name, position, value)
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study"
        study.mkdir()
        for name, frame in tables.items():
            frame.to_csv(study / f"{name}.csv", index=False)
        before = hashes(study)
        rejected, scored = Path(tmp) / "rejected", Path(tmp) / "scored"
        checked = invoke("validate", str(study), "--json", "--out",
                         str(study if onto_study else rejected))
        scoring = invoke("score", str(study), "--out", str(study if onto_study else scored))
        assert hashes(study) == before
        if onto_study:
            assert (checked.exit_code, scoring.exit_code) == (2, 2)
            return
        assert checked.exit_code in (0, 1) and scoring.exit_code in (0, 1)
        payload = json.loads(checked.stdout)
        for name, counts in payload["tables"].items():
            assert counts["input"] == counts["valid"] + counts["rejected"], name
            assert counts["input"] == rows_in_file(study / f"{name}.csv"), name
            on_disk = rejected / f"{name}.csv"
            assert (rows_in_file(on_disk) if on_disk.exists() else 0) == counts["rejected"]
        assert (checked.exit_code == 0) == payload["ok"]
        cells = written_cells(rejected) + written_cells(scored)
        assert cells, "nothing was written"
        assert [c for c in cells if live(c)] == []
