"""`outcomes change`, `outcomes monitor` and `outcomes improvement` as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from ._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REAL = ROOT / "tests" / "data" / "real"
DIAGNOSTIC = re.compile(r"\b(?:diagnos\w*|disorder\w*|depress\w*|ill|illness\w*|symptom\w*|"
                        r"patient\w*|clinical\w*|treatment\w*)\b", re.IGNORECASE)




@pytest.mark.parametrize("command", ["change", "monitor", "improvement"])
def test_each_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and len(result.stdout.splitlines()) > 6


def test_change_on_the_sample_study():
    result = run("change", str(SAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["instrument"] == "ors" and payload["cutoff"] == 25
    assert payload["reliable_change"] == pytest.approx(5.0)
    assert sum(payload["counts"].values()) == payload["n"] == len(payload["clients"])
    assert payload["counts"]["missing"] > 0


def test_change_on_a_table_and_its_errors(tmp_path):
    raw = pd.read_csv(REAL / "jacobson1989_marital_therapy.csv")
    wide = raw.pivot(index="subject", columns="time", values="gds").reset_index()
    wide.to_csv(tmp_path / "gds.csv", index=False)
    ok = run("change", str(tmp_path / "gds.csv"), "--pre", "pre", "--post", "post",
             "--reliability", "0.8", "--lower-is-better", "--cutoff", "a", "--id", "subject",
             "--json")
    assert ok.returncode == 0, ok.stderr
    counts = json.loads(ok.stdout)["counts"]
    # As R's clinicalsignificance reports for these data (tests/reference/change/).
    assert [counts[c] for c in ("recovered", "improved", "unchanged", "deteriorated",
                                "missing")] == [10, 4, 12, 0, 4]
    usage = run("change", str(tmp_path / "gds.csv"), "--pre", "pre", "--post", "post")
    assert usage.returncode == 2 and "--reliability" in usage.stderr
    data = run("change", str(tmp_path / "gds.csv"), "--pre", "pre", "--post", "after",
               "--reliability", "0.8")
    assert data.returncode == 1 and 'column "after"' in data.stderr


def test_monitor_on_the_sample_flags_a_minority(tmp_path):
    result = run("monitor", str(SAMPLE), "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    share = {row["flag"]: row["share_of_engagements"] for row in payload["counts"]}
    assert 0.02 < share["not on track"] < 0.35
    assert 0.02 < share["reliable deterioration"] < 0.35
    flags = pd.read_csv(tmp_path / "flags.csv")
    assert len(flags) == payload["sessions"] and flags["engagement_id"].nunique() == 1200
    assert flags["reason"].notna().all()
    assert not flags["reason"].str.contains(DIAGNOSTIC).any()
    assert (tmp_path / "summary.txt").read_text(encoding="utf-8").startswith("Monitoring ors")


def test_monitor_on_a_table_needs_an_outcome(tmp_path):
    table = pd.DataFrame({"engagement_id": ["E1"], "session": [1], "score": [10.0]})
    table.to_csv(tmp_path / "sessions.csv", index=False)
    result = run("monitor", str(tmp_path / "sessions.csv"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "--outcome" in result.stderr


def test_improvement_from_arm_summaries_and_client_data(tmp_path):
    summaries = pd.DataFrame({"arm": ["wait", "attention", "support", "coaching"],
                              "mean_change": [4.0, 5.5, 8.5, 10.0], "sd": [6, 6, 6.5, 7],
                              "n": [40] * 4})
    summaries.to_csv(tmp_path / "arms.csv", index=False)
    result = run("improvement", str(tmp_path / "arms.csv"), "--role", "none=wait",
                 "--role", "placebo=attention", "--role", "common=support",
                 "--role", "full=coaching", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["shares"] == pytest.approx({"client": 0.4, "expectancy": 0.15,
                                               "relationship": 0.3, "technique": 0.15})
    assert payload["reference"]["distance"] == pytest.approx(0.0, abs=1e-9)
    raw = pd.read_csv(REAL / "woodworth2018_positive_psychology.csv")
    wide = raw[raw.occasion.isin([0, 1])].pivot_table(
        index=["id", "intervention"], columns="occasion", values="ahiTotal").reset_index()
    wide.columns = ["id", "arm", "pre", "post"]
    wide.to_csv(tmp_path / "clients.csv", index=False)
    clients = run("improvement", str(tmp_path / "clients.csv"), "--pre", "pre", "--post",
                  "post", "--role", "placebo=4", "--role", "full=1,2,3", "--boot", "200",
                  "--seed", "1")
    assert clients.returncode == 0, clients.stderr
    assert "client + expectancy" in clients.stdout
    bad = run("improvement", str(tmp_path / "arms.csv"), "--role", "none")
    assert bad.returncode == 2 and "ROLE=LABEL" in bad.stderr
