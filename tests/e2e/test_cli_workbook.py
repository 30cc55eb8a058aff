"""A coach's filled-in workbook with several mistakes: every one is reported in one run.

The coach meets these through `outcomes template` and `outcomes benchmark`: each problem names
the sheet, the row and the column as the coach sees them, and says how to fix it; the clients
whose rows are correct are still benchmarked, and the command exits 1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

import outcomes as oc
from outcomes.norms import build_norms

from ._outcomes_cli import run

CLIENTS = [  # client, sponsor, status, intake, end, sessions, early SRS; row 2 onwards
    ("anna", "self", "completed", 14.0, 26.5, 8, 38.0),              # row 2
    ("ben", "organisation", "completed", 21.0, 24.0, 6, 35.0),       # row 3
    ("cleo", "organisation", "completed", "2O", 18.0, 10, 37.5),     # row 4: letter O
    ("dev", "employer", "completed", 9.0, 21.0, 7, 39.0),            # row 5: not a sponsor
    ("eli", "organisation", "completed", 17.5, 30.0, 9, 32.0),       # row 6
    ("fay", "organisation", "ongoing", 19.0, None, 4, 38.5),         # row 7
    ("gus", "self", "completed", 30.0, 43.0, 5, 39.5),               # row 8: above 40
    ("hal", "self", "completed", 12.0, 25.0, 7, 37.0),               # row 9
]
SESSIONS = [  # client, session, ORS, SRS; row 2 onwards
    ("anna", 1, 14.0, 37.0),                                         # row 2
    ("anna", 2, 17.0, 38.0),                                         # row 3
    ("anan", 3, 20.0, 38.5),                                         # row 4: unknown client
    ("ben", 1, 21.0, "3 8"),                                         # row 5: not a number
    ("ben", 2, 22.0, 36.0),                                          # row 6
]
#: The five mistakes: (sheet, row, column, words of the message).
MISTAKES = [
    ("clients", 4, "intake_ors", "is not a number"),
    ("clients", 5, "sponsor", "is not allowed"),
    ("clients", 8, "end_ors", "outside 0-40"),
    ("sessions", 4, "client", "is not on the clients sheet"),
    ("sessions", 5, "srs", "is not a number"),
]


@pytest.fixture(scope="module")
def norms_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("norms") / "norms.json"
    build_norms(oc.load_sample(), n_boot=0, seed=3).write(path)
    return path


def fill(workbook: Path, clients=CLIENTS, sessions=SESSIONS) -> Path:  # noqa: ANN001
    """Fill the template as a coach would: delete the grey example rows, type the rows."""
    book = load_workbook(workbook)
    for name, rows in (("clients", clients), ("sessions", sessions)):
        book[name].delete_rows(2)
        for row in rows:
            book[name].append(list(row))
    book.save(workbook)
    return workbook


def problem_lines(text: str) -> list[str]:
    """The problems listed in the command's message, one a line."""
    return [line for line in text.splitlines() if line.lstrip().startswith("- sheet ")]


def test_five_mistakes_are_reported_in_one_run(tmp_path, norms_file):
    workbook = tmp_path / "my_practice.xlsx"
    assert run("template", "--out", str(workbook)).returncode == 0
    fill(workbook)
    before = workbook.read_bytes()
    out = tmp_path / "my_benchmark"
    result = run("benchmark", str(workbook), "--norms", str(norms_file), "--out", str(out),
                 "--no-pdf")
    assert result.returncode == 1, result.stderr
    lines = problem_lines(result.stderr)
    assert len(lines) == len(MISTAKES), result.stderr
    for line, (sheet, row, column, words) in zip(lines, MISTAKES, strict=True):
        assert f"sheet {sheet}, row {row}, column \"{column}\"" in line, line
        assert words in line and re.search(r"\. \S.*\.$", line), line  # then the fix
    assert "'2O' is not a number" in result.stderr and "cell D4" in result.stderr
    assert "Write one of self, organisation" in result.stderr
    # the clients whose rows are right are benchmarked; the others are named, not dropped
    assert "2 session rows" in result.stderr and "3 client rows" in result.stderr
    assert (out / "benchmark.html").exists()
    assert "Wrote" in result.stdout and "5 clients" in result.stdout
    html = (out / "benchmark.html").read_text(encoding="utf-8")
    assert "rows 4, 5 and 8 of the clients sheet" in html
    assert "cleo" not in html and "anan" not in html
    assert workbook.read_bytes() == before


def test_the_json_lists_the_problems(tmp_path, norms_file):
    workbook = tmp_path / "p.xlsx"
    run("template", "--out", str(workbook))
    fill(workbook)
    result = run("benchmark", str(workbook), "--norms", str(norms_file), "--out",
                 str(tmp_path / "b"), "--no-pdf", "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["n_clients"] == 5
    found = [(p["sheet"], p["row"], p["column"]) for p in payload["problems"]]
    assert found == [m[:3] for m in MISTAKES]


def test_when_no_client_row_can_be_used_nothing_is_benchmarked(tmp_path, norms_file):
    workbook = tmp_path / "p.xlsx"
    run("template", "--out", str(workbook))
    fill(workbook, clients=[("anna", "self", "completed", "fourteen", 26.5, 8, 38.0),
                            ("ben", "organisation", "completed", 21.0, 24.0, 6.5, 35.0)],
         sessions=[("anna", 1, 14.0, 37.0)])
    out = tmp_path / "b"
    result = run("benchmark", str(workbook), "--norms", str(norms_file), "--out", str(out))
    assert result.returncode == 1
    assert "nothing can be benchmarked" in result.stderr and "no report" in result.stderr
    lines = problem_lines(result.stderr)
    assert "row 2, column \"intake_ors\"" in lines[0] and "row 3, column \"sessions\"" in lines[1]
    assert "sheet sessions, row 2" in result.stderr  # left out with its client's row
    assert not (out / "benchmark.html").exists()


def test_a_long_value_is_cut_in_the_message(tmp_path, norms_file):
    workbook = tmp_path / "p.xlsx"
    run("template", "--out", str(workbook))
    long = "x" * 5000
    fill(workbook, clients=[*CLIENTS[:2], ("cleo", "self", long, 20.0, 25.0, 6, 37.0)],
         sessions=[])
    result = run("benchmark", str(workbook), "--norms", str(norms_file), "--out",
                 str(tmp_path / "b"), "--no-pdf")
    assert result.returncode == 1
    assert "row 4, column \"status\"" in result.stderr
    assert long not in result.stderr and len(result.stderr) < 2000
