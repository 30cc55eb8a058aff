"""`outcomes report`, `norms`, `template` and `benchmark` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from outcomes.privacy import find_identifiers, pseudonym
from outcomes.report._render import visible_text
from outcomes.simulate.synthetic import simulate_study

from ._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"




@pytest.fixture(scope="module")
def norms_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("norms") / "norms.json"
    result = run("norms", str(SAMPLE), "--out", str(path), "--boot", "0", "--seed", "3",
                 "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["format"] == "outcomes-norms" and payload["version"] == 2
    assert payload["file"] == str(path) and payload["k"] == 5 and payload["withheld"] == []
    return path


@pytest.mark.parametrize("command", ["report", "norms", "template", "benchmark"])
def test_each_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and len(result.stdout.splitlines()) > 8
    assert "--json" in result.stdout


def test_report_of_a_study_with_a_coach_of_three(tmp_path):
    sim = simulate_study(n_coaches=8, clients_per_coach=10, seed=21)
    tables = {kind: frame.copy() for kind, frame in sim.tables.items()}
    small = tables["engagements"]["coach_id"].iloc[0]
    gone = set(tables["engagements"].query("coach_id == @small")["engagement_id"].iloc[3:])
    for kind in ("engagements", "sessions", "responses"):
        tables[kind] = tables[kind][~tables[kind]["engagement_id"].isin(gone)]
    folder = tmp_path / "study"
    folder.mkdir()
    for kind, frame in tables.items():
        frame.to_csv(folder / f"{kind}.csv", index=False)
    salt_file = tmp_path / "keys" / "coaches.salt"
    out = tmp_path / "out"
    result = run("report", str(folder), "--out", str(out), "--boot", "0", "--seed", "4",
                 "--salt-file", str(salt_file), "--title", "Body <Report>", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["html"] == str(out / "report.html") and payload["pdf_engine"]
    assert payload["facts"]["coaches_withheld"] == 2 and payload["k"] == 5  # small + one more
    assert sorted(p.name for p in out.iterdir()) == ["coach-effects.csv", "report.html",
                                                     "report.pdf"]
    assert salt_file.exists()
    name = pseudonym(small, bytes.fromhex(salt_file.read_text().strip()))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"<td>{name}</td><td class=\"number suppressed\">withheld</td>" in html
    assert f"{name},withheld,withheld" in (out / "coach-effects.csv").read_text(encoding="utf-8")
    assert "Body &lt;Report&gt;" in html


def test_report_refuses_bad_options(tmp_path):
    low = run("report", str(SAMPLE), "--out", str(tmp_path), "--k", "2")
    assert low.returncode == 2 and "k = 2 is below the smallest threshold allowed, 3" in \
        low.stderr
    unknown = run("report", str(SAMPLE), "--out", str(tmp_path), "--reference", "nope")
    assert unknown.returncode == 2 and "asay-lambert-1999" in unknown.stderr
    config = tmp_path / "report.toml"
    config.write_text('title = "x"\ncolour = "red"\n')
    bad = run("report", str(SAMPLE), "--out", str(tmp_path), "--config", str(config))
    assert bad.returncode == 2 and "unknown setting 'colour'" in bad.stderr
    inside = run("report", str(SAMPLE), "--out", str(tmp_path / "o"), "--salt-file",
                 str(tmp_path / "o" / "s.salt"))
    assert inside.returncode == 2 and "inside the output folder" in inside.stderr


def test_template_then_benchmark_end_to_end(tmp_path, norms_file):
    workbook = tmp_path / "my_practice.xlsx"
    made = run("template", "--out", str(workbook), "--json")
    assert made.returncode == 0 and json.loads(made.stdout)["file"] == str(workbook)
    book = load_workbook(workbook)
    sheet = book["clients"]
    sheet.delete_rows(2)
    rows = [("k-01", "self", "completed", 12.0, 24.0, 8, 38.0),
            ("k-02", "organisation", "completed", 20.5, 22.0, 6, 33.0),
            ("k-03", "organisation", "completed", 26.0, 17.0, 9, 39.0),
            ("k-04", "self", "completed", 15.0, 29.5, 10, 37.0),
            ("k-05", "organisation", "completed", 8.5, 19.0, 7, 36.5),
            ("k-06", "organisation", "ongoing", 18.0, None, 3, 38.0)]
    for row in rows:
        sheet.append(list(row))
    book.save(workbook)
    out = tmp_path / "benchmark"
    result = run("benchmark", str(workbook), "--norms", str(norms_file), "--out", str(out),
                 "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["n_clients"] == 6 and payload["n_complete"] == 5
    standing = payload["standing"]
    assert standing["ci_low"] <= standing["estimate"] <= standing["ci_high"]
    assert {f["row"] for f in payload["flags"]} >= {4}  # k-03 fell 9 points
    assert (out / "benchmark.html").exists() and (out / "benchmark.pdf").exists()
    html = (out / "benchmark.html").read_text(encoding="utf-8")
    assert "k-01" not in html and "k-03" not in html


def test_benchmark_of_a_study_coach(tmp_path, norms_file):
    result = run("benchmark", str(SAMPLE), "--coach", "C003", "--norms", str(norms_file),
                 "--out", str(tmp_path), "--no-pdf")
    assert result.returncode == 0, result.stderr
    assert "Flagged clients (session by session)" in result.stdout
    assert "What the numbers can and cannot say" in result.stdout
    assert not (tmp_path / "benchmark.pdf").exists()
    html = visible_text((tmp_path / "benchmark.html").read_text(encoding="utf-8"))
    engagements = pd.read_csv(SAMPLE / "engagements.csv", dtype=str)
    assert find_identifiers(html, engagements["engagement_id"]) == []


def test_benchmark_rejects_another_norms_version(tmp_path, norms_file):
    document = json.loads(norms_file.read_text())
    document["version"] = 3
    future = tmp_path / "norms-v3.json"
    future.write_text(json.dumps(document))
    workbook = tmp_path / "p.xlsx"
    run("template", "--out", str(workbook))
    result = run("benchmark", str(workbook), "--norms", str(future), "--out", str(tmp_path))
    assert result.returncode == 1
    assert "format version 3; this version of outcomes reads version 2" in result.stderr
    assert str(future) in result.stderr


def test_benchmark_and_template_usage_errors(tmp_path, norms_file):
    workbook = tmp_path / "p.xlsx"
    run("template", "--out", str(workbook))
    empty = run("benchmark", str(workbook), "--norms", str(norms_file), "--out", str(tmp_path))
    assert empty.returncode == 1 and "no client rows" in empty.stderr
    folder = run("benchmark", str(SAMPLE), "--norms", str(norms_file), "--out", str(tmp_path))
    assert folder.returncode == 2 and "--coach ID" in folder.stderr
    csv = run("template", "--out", str(tmp_path / "p.csv"))
    assert csv.returncode == 2 and ".xlsx" in csv.stderr
