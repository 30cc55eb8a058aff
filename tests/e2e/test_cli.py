"""The `outcomes` command end to end, as a user runs it: a real process, exit codes, output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from ._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
COMMANDS = ["validate", "score", "simulate", "instruments", "reliability", "decompose",
            "references", "map", "change", "monitor", "improvement", "multilevel", "alliance",
            "power", "report", "norms", "template", "benchmark"]


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def test_help_lists_every_command_and_each_has_help():
    result = run("--help")
    assert result.returncode == 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert command in result.stdout
        sub = run(command, "--help")
        assert sub.returncode == 0 and len(sub.stdout.splitlines()) > 4, command
        assert f"outcomes {command}" in readme, f"README does not document {command}"


def test_validate_sample_exits_zero():
    result = run("validate", str(SAMPLE))
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "227740" in result.stdout.replace(",", "")


def test_validate_messy_json_shows_every_fault(tmp_path):
    result = run("validate", str(SAMPLE / "messy"), "--json", "--out", str(tmp_path))
    no_traceback(result)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    faults = pd.read_csv(SAMPLE / "messy" / "faults.csv")
    found = set()
    for table in payload["tables"].values():
        assert table["input"] == table["valid"] + table["rejected"]
        found |= {(Path(p["file"]).name, p["row"], p["column"], p["rule"])
                  for p in table["problems"]}
    planted = set(faults[["file", "row", "column", "rule"]].itertuples(index=False, name=None))
    assert planted <= found
    rejected = pd.read_csv(tmp_path / "sessions.csv")
    assert {"row", "reasons"} <= set(rejected.columns)
    assert len(rejected) == payload["tables"]["sessions"]["rejected"]


def test_score_writes_scores_and_analysis_table(tmp_path):
    result = run("score", str(SAMPLE), "--out", str(tmp_path), "--json")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    analysis = pd.read_csv(tmp_path / "analysis.csv")
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(analysis) == payload["analysis"]["rows"] > 1000
    assert analysis["engagement_id"].is_unique
    assert {"baseline", "end_score", "change", "alliance", "optimism"} <= set(analysis.columns)
    assert len(scores) == payload["scores"]["rows"]


def test_simulate_then_validate(tmp_path):
    out = tmp_path / "sim"
    result = run("simulate", "--out", str(out), "--seed", "3", "--coaches", "6",
                 "--clients-per-coach", "5", "--shares",
                 "client=.7,relationship=.1,expectancy=.1,technique=.1", "--json")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    truth = json.loads(result.stdout)
    assert truth["shares"]["client"] == pytest.approx(0.7)
    assert run("validate", str(out)).returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["validate", "no/such/folder"], 2, "does not exist"),
        (["simulate", "--out", "x", "--shares", "client=lots"], 2, "--shares"),
        (["simulate", "--out", "x", "--shares", "client=.5,relationship=.1"], 2, "shares"),
        (["score", str(SAMPLE)], 2, "--out"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_usage_mistakes_exit_two_with_a_message(tmp_path, args, code, says):
    result = run(*args, cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == code
    assert says in result.stderr


def test_a_study_without_engagements_names_the_file_and_the_fix(tmp_path):
    shutil.copy(SAMPLE / "messy" / "sessions.csv", tmp_path / "sessions.csv")
    shutil.copy(SAMPLE / "messy" / "responses.csv", tmp_path / "responses.csv")
    result = run("validate", str(tmp_path))
    no_traceback(result)
    assert result.returncode == 1
    assert "no engagements table" in result.stderr and "engagements.csv" in result.stderr


def test_an_undecodable_file_is_named(tmp_path):
    for kind in ("coaches", "engagements", "responses"):
        shutil.copy(SAMPLE / "messy" / f"{kind}.csv", tmp_path / f"{kind}.csv")
    (tmp_path / "sessions.csv").write_bytes(b"engagement_id,session,date\nE1,1,\xff\xfe\xfa\n")
    result = run("validate", str(tmp_path))
    no_traceback(result)
    assert result.returncode == 1
    assert "sessions.csv" in result.stderr and "UTF-8" in result.stderr


def test_a_single_table_file_is_validated_on_its_own(tmp_path):
    result = run("validate", str(SAMPLE / "messy" / "sessions.csv"), "--json", "--out",
                 str(tmp_path))
    no_traceback(result)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert list(payload["tables"]) == ["sessions"]
    # without the engagements table the unknown-engagement rule cannot apply
    rules = {p["rule"] for p in payload["tables"]["sessions"]["problems"]}
    assert "unknown_reference" not in rules and "date_order" in rules
    unnamed = run("validate", str(SAMPLE / "messy" / "faults.csv"))
    assert unnamed.returncode == 2 and "--kind" in unnamed.stderr


def test_instruments_and_reliability():
    listing = json.loads(run("instruments", "--json").stdout)
    keys = {row["instrument"] for row in listing["instruments"]}
    assert {"wai-sr", "srs", "ors", "ahs", "ceq", "lot-r", "mspss", "gse", "urica", "gas"} <= keys
    result = run("reliability", str(SAMPLE), "--instrument", "mspss", "--boot", "50",
                 "--seed", "1", "--json")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    rows = pd.DataFrame(json.loads(result.stdout)["estimates"])
    assert set(rows["scale"]) == {"significant_other", "family", "friends", "total"}
    alpha = rows[rows["quantity"] == "alpha"]
    assert len(alpha) == 4 and alpha["estimate"].between(0, 1).all()
    assert (alpha["ci_low"] < alpha["estimate"]).all()
    unknown = run("reliability", str(SAMPLE), "--instrument", "bdi")
    no_traceback(unknown)
    assert unknown.returncode in (1, 2) and "bdi" in unknown.stderr
