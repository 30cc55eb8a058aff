"""A study need not be complete to be reported: `outcomes report`, `norms` and `benchmark`
on a study that lacks a part write every section they can and say, in the section, what is
missing and how to add it.

Each study is five coaches of the sample with one part taken away: the end scores, the
per-session ratings, the coaches table, or all end scores but three (fewer than k = 5).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import outcomes as oc
from outcomes.io import write_table
from outcomes.report._render import visible_text

from ._outcomes_cli import run

COACHES = ["C001", "C002", "C003", "C004", "C005"]


def _study(folder: Path, lack: str) -> Path:
    tables = {kind: frame.copy() for kind, frame in oc.load_sample().tables.items()}
    tables["coaches"] = tables["coaches"][tables["coaches"]["coach_id"].isin(COACHES)]
    tables["engagements"] = tables["engagements"][
        tables["engagements"]["coach_id"].isin(COACHES)]
    ids = set(tables["engagements"]["engagement_id"])
    for kind in ("sessions", "responses"):
        tables[kind] = tables[kind][tables[kind]["engagement_id"].isin(ids)]
    responses = tables["responses"]
    if lack == "end":
        tables["responses"] = responses[responses["occasion"] != "end"]
    elif lack == "sessions":
        tables["responses"] = responses[responses["occasion"] != "session"]
    elif lack == "coaches":
        del tables["coaches"]
    elif lack == "few-end":
        ended = sorted(set(responses.loc[responses["occasion"] == "end", "engagement_id"]))
        tables["responses"] = responses[(responses["occasion"] != "end")
                                        | responses["engagement_id"].isin(ended[:3])]
    for kind, frame in tables.items():
        write_table(frame, folder / f"{kind}.csv")
    return folder


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("incomplete")
    return {lack: _study(base / lack, lack) for lack in ("end", "sessions", "coaches",
                                                          "few-end")}


def _report(study: Path, out: Path) -> tuple[dict, dict[str, str]]:
    """Run the report; its JSON and the visible text of each section by its id."""
    result = run("report", str(study), "--out", str(out), "--no-pdf", "--n-boot", "0",
                 "--seed", "1", "--salt-file", str(out.parent / "key.salt"), "--json")
    assert result.returncode == 0, result.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    parts = re.findall(r'<section id="([a-z]+)".*?>(.*?)</section>', html, re.DOTALL)
    return json.loads(result.stdout), {name: visible_text(body) for name, body in parts}


def test_report_without_end_scores_writes_every_other_section(studies, tmp_path):
    payload, sections = _report(studies["end"], tmp_path / "report")
    assert list(payload["missing"]) == ["end_scores"]
    for name in ("improvement", "drivers"):
        assert "No end scores yet" in sections[name]
        assert "the `end` occasion of the ORS" in sections[name]
        assert "Add them to responses.csv and run the report again." in sections[name]
    assert "alpha" in sections["measurement"] and "engagements" in sections["who"]
    assert "within client" in sections["alliance"]
    assert "flagged" in sections["monitoring"]


def test_norms_and_benchmark_without_end_scores(studies, tmp_path):
    norms_file = tmp_path / "norms.json"
    made = run("norms", str(studies["end"]), "--out", str(norms_file), "--n-boot", "0")
    assert made.returncode == 0, made.stderr
    assert "Not published" in made.stdout and "No end scores yet" in made.stdout
    document = json.loads(norms_file.read_text(encoding="utf-8"))
    for part in ("change", "case_mix", "coach_effects", "factor_shares"):
        assert document[part]["withheld"].startswith("No end scores yet"), part
    assert "make the norms again" in document["change"]["withheld"]
    assert document["trajectories"]["n_clients"] >= 5      # what could be made, was

    out = tmp_path / "benchmark"
    result = run("benchmark", str(studies["end"]), "--coach", "C001", "--norms",
                 str(norms_file), "--out", str(out), "--no-pdf", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload["missing"]) == {"end_scores", "norms"}
    text = visible_text((out / "benchmark.html").read_text(encoding="utf-8"))
    assert "No end scores yet: your change" in text
    assert "Fill in intake_ors and end_ors on the clients sheet" in text
    assert "norms do not hold the change expected for clients like yours and the spread" \
        in text


def test_report_and_norms_without_session_ratings(studies, tmp_path):
    payload, sections = _report(studies["sessions"], tmp_path / "report")
    assert list(payload["missing"]) == ["session_ratings"]
    for name in ("alliance", "monitoring"):
        assert "No session ratings (ORS and SRS) yet" in sections[name]
        assert "the `session` occasion with the session number" in sections[name]
    assert "session rating" in sections["drivers"]   # named as left out of the shares
    assert "reliable" in sections["improvement"] and "factor" in sections["drivers"]

    norms_file = tmp_path / "norms.json"
    made = run("norms", str(studies["sessions"]), "--out", str(norms_file), "--n-boot", "0")
    assert made.returncode == 0, made.stderr
    document = json.loads(norms_file.read_text(encoding="utf-8"))
    assert document["trajectories"]["withheld"].startswith("No session ratings")
    assert document["change"]["n"] >= 5 and "withheld" not in document["change"]


def test_report_without_a_coaches_table(studies, tmp_path):
    payload, sections = _report(studies["coaches"], tmp_path / "report")
    assert list(payload["missing"]) == ["coaches"]
    assert "No coaches table" in sections["who"] and "coaches.csv" in sections["who"]
    assert "reliable" in sections["improvement"] and "coach" in sections["drivers"]


def test_fewer_than_k_end_scores_are_named_but_never_counted(studies, tmp_path):
    payload, sections = _report(studies["few-end"], tmp_path / "report")
    assert list(payload["missing"]) == ["end_scores"]
    assert "with_both_scores" not in payload["facts"]
    for name in ("improvement", "drivers"):
        assert "Fewer than 5 clients have an end score yet" in sections[name]
        assert not re.search(r"\b[1-4] (clients|complete rows)", sections[name])

    norms_file = tmp_path / "norms.json"
    made = run("norms", str(studies["few-end"]), "--out", str(norms_file), "--n-boot", "0")
    assert made.returncode == 0, made.stderr
    document = json.loads(norms_file.read_text(encoding="utf-8"))
    assert document["sample"]["with_end_score"] is None
    assert document["change"]["n"] is None and document["change"]["counts"] == {}
    assert all("3 clients" not in str(document[part]) for part in document)
