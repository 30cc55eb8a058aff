"""`outcomes map` end to end: two exports for the same clients become one study that
validates and decomposes; drafts; mistakes give exit 2 and a message, never a traceback.

The linked exports (tests/fixtures/exports/linked) hold sixty engagements: a Qualtrics
intake survey (ORS, Adult Hope Scale, LOT-R, plus one survey preview) and a REDCap session
log (enrolment, sessions with ORS, SRS and WAI-SR, closing ORS). make_linked.py beside them
writes them; a test below checks the files are what it writes.
"""

from __future__ import annotations

import importlib.util
import json

import pandas as pd

from .test_cli import ROOT, no_traceback, run

EXPORTS = ROOT / "tests" / "fixtures" / "exports"
LINKED = EXPORTS / "linked"


def test_intake_survey_and_session_log_become_one_study_that_decomposes(tmp_path):
    study = tmp_path / "study"
    intake = run("map", str(LINKED / "intake_qualtrics.csv"), "--mapping",
                 str(LINKED / "intake.toml"), "--out", str(study), "--json")
    no_traceback(intake)
    assert intake.returncode == 1, intake.stderr   # the survey preview was rejected
    first = json.loads(intake.stdout)
    assert first["rows"] == {"read": 61, "mapped": 60, "rejected": 1}
    assert first["rejected_by_reason"] == {"preview": 1}
    assert first["tables"] == {"responses": 60 * (4 + 12 + 10)}
    assert first["validation"]["ok"] is True
    assert len(first["columns"]["personal_data"]) == 6
    rejected = pd.read_csv(study / "rejected" / "intake.csv")
    # line 1 names, 2 question texts, 3 ImportIds: the preview is the first record
    assert rejected[["row", "reason"]].values.tolist() == [[4, "preview"]]
    assert "RecipientEmail" not in rejected.columns and "IPAddress" not in rejected.columns

    log = run("map", str(LINKED / "sessions_redcap.csv"), "--mapping",
              str(LINKED / "sessions.toml"), "--out", str(study), "--json")
    no_traceback(log)
    assert log.returncode == 0, log.stderr
    second = json.loads(log.stdout)
    assert second["rows"]["read"] == second["rows"]["mapped"] > 60 * 5
    assert second["tables"]["engagements"] == 60
    assert second["validation"]["ok"] is True

    checked = run("validate", str(study), "--json")
    no_traceback(checked)
    assert checked.returncode == 0, checked.stdout
    tables = json.loads(checked.stdout)["tables"]
    assert tables["engagements"]["valid"] == 60
    assert tables["responses"]["input"] == tables["responses"]["valid"]

    shares = run("decompose", str(study), "--outcome", "end_score", "--covariate", "baseline",
                 "--factor", "client=optimism", "--factor",
                 "relationship=alliance,session_rating", "--factor",
                 "expectancy=hope_agency,hope_pathways", "--factor",
                 "technique=n_techniques,sessions_attended", "--json")
    no_traceback(shares)
    assert shares.returncode == 0, shares.stderr
    payload = json.loads(shares.stdout)
    assert payload["n"] >= 40
    assert set(payload["factors"]) == {"client", "relationship", "expectancy", "technique"}
    total = sum(f["share"] for f in payload["factors"].values())
    assert 0 < total <= payload["r2"] + 1e-9


def test_suggest_prints_a_draft_or_writes_it_once(tmp_path):
    printed = run("map", str(EXPORTS / "qualtrics_first_session.csv"), "--suggest")
    no_traceback(printed)
    assert printed.returncode == 0
    for key in ('"ors"', '"srs"', '"wai-sr"', '"ahs"', '"lot-r"'):
        assert f"instrument = {key}" in printed.stdout
    target = tmp_path / "mapping.toml"
    wrote = run("map", str(EXPORTS / "redcap_sessions.csv"), "--suggest", "--mapping",
                str(target))
    assert wrote.returncode == 0 and target.exists() and "check" in wrote.stdout
    again = run("map", str(EXPORTS / "redcap_sessions.csv"), "--suggest", "--mapping",
                str(target))
    no_traceback(again)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_mistakes_exit_2_with_the_file_key_and_fix(tmp_path):
    bare = run("map", str(EXPORTS / "redcap_sessions.csv"))
    assert bare.returncode == 2 and "--mapping FILE and --out FOLDER" in bare.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\nformat = "spss"\n[columns]\nengagement_id = "record_id"\n',
                   encoding="utf-8")
    wrong = run("map", str(EXPORTS / "redcap_sessions.csv"), "--mapping", str(bad), "--out",
                str(tmp_path / "s"))
    no_traceback(wrong)
    assert wrong.returncode == 2
    assert f'{bad}, [source] format: "spss" is not allowed. Use one of:' in wrong.stderr
    lacking = tmp_path / "lacking.toml"
    lacking.write_text('[columns]\nengagement_id = "record_id"\n[[items]]\n'
                       'instrument = "ors"\ncolumns = ["ors_1", "ors_2", "ors_3", "ors_9"]\n',
                       encoding="utf-8")
    missing = run("map", str(EXPORTS / "redcap_sessions.csv"), "--mapping", str(lacking),
                  "--out", str(tmp_path / "s"))
    no_traceback(missing)
    assert missing.returncode == 2
    assert "columns: the column 'ors_9' is not in" in missing.stderr
    assert not (tmp_path / "s").exists()


def test_the_linked_exports_are_what_the_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_linked", EXPORTS / "make_linked.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("intake_qualtrics.csv", "sessions_redcap.csv", "redcap_dictionary.csv"):
        assert (tmp_path / name).read_bytes() == (LINKED / name).read_bytes(), name


def test_help_names_the_exit_codes():
    result = run("map", "--help")
    assert result.returncode == 0
    assert "Exits 1 when any record" in result.stdout and "--suggest" in result.stdout
