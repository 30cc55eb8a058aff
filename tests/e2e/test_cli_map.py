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
import shutil

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


def test_an_export_without_sponsor_or_status_writes_unknown_and_says_so(tmp_path):
    mapping = tmp_path / "first.toml"
    text = (EXPORTS / "qualtrics_first_session.toml").read_text(encoding="utf-8")
    text = text.replace('sponsor = "QID2"', "").replace('start_date = "RecordedDate"', "")
    mapping.write_text(text, encoding="utf-8")
    study = tmp_path / "study"
    result = run("map", str(EXPORTS / "qualtrics_first_session.csv"), "--mapping", str(mapping),
                 "--out", str(study))
    no_traceback(result)
    assert result.returncode == 1, result.stderr   # the preview and the unfinished response
    assert 'Note: sponsor is not in the export (5 engagements): written as "unknown"' in (
        result.stdout)
    assert "Note: start_date is not in the export for 5 engagements: it is taken from the " \
           "date of the first session for 5" in result.stdout
    engagements = pd.read_csv(study / "engagements.csv", dtype=str)
    assert set(engagements["sponsor"]) == set(engagements["status"]) == {"unknown"}
    assert set(engagements["start_date_from"]) == {"first session"}
    checked = run("validate", str(study), "--json")
    assert checked.returncode == 0, checked.stdout


def test_a_coach_written_nowhere_exits_2_naming_the_key_and_the_fix(tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nengagement_id = "record_id"\ncoach_id = "coach"\n'
                       '[[items]]\ninstrument = "ors"\noccasion = "end"\n'
                       'columns = ["ors_end_1", "ors_end_2", "ors_end_3", "ors_end_4"]\n',
                       encoding="utf-8")
    result = run("map", str(EXPORTS / "redcap_sessions.csv"), "--mapping", str(mapping),
                 "--out", str(tmp_path / "s"))
    no_traceback(result)
    assert result.returncode == 2
    assert f"{mapping}, [columns] coach_id: 'coach' would be written nowhere" in result.stderr
    assert "Map client_id as well" in result.stderr
    assert not (tmp_path / "s").exists()


def test_exports_sharing_no_engagement_warn_and_decompose_names_the_empty_column(tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(LINKED, exports)
    intake = exports / "intake_qualtrics.csv"
    intake.write_text(intake.read_text(encoding="utf-8").replace("ENG-", "CL-"),
                      encoding="utf-8")
    study = tmp_path / "study"
    run("map", str(intake), "--mapping", str(exports / "intake.toml"), "--out", str(study))
    log = run("map", str(exports / "sessions_redcap.csv"), "--mapping",
              str(exports / "sessions.toml"), "--out", str(study), "--json")
    no_traceback(log)
    (warning,) = json.loads(log.stdout)["warnings"]
    assert warning.startswith(f"no engagement of session-log is in the study in {study} "
                              "(from intake): its ids (column 'record_id'")
    shares = run("decompose", str(study), "--outcome", "end_score", "--covariate", "baseline",
                 "--factor", "client=optimism", "--factor", "relationship=alliance")
    no_traceback(shares)
    assert shares.returncode != 0
    assert "0 complete rows are too few" in shares.stderr
    assert "Empty in every row: optimism." in shares.stderr


def test_score_says_which_responses_feed_no_analysis_column(tmp_path):
    import numpy as np

    import outcomes as oc

    sample = oc.load_sample()
    responses = sample.tables["responses"]
    wai = responses["instrument"] == "wai-sr"
    moved = responses[wai & (pd.to_numeric(responses["session"]) == 1)].copy()
    moved["occasion"], moved["session"] = "intake", np.nan
    tables = dict(sample.tables, responses=pd.concat([responses[~wai], moved]))
    folder = oc.Study(tables=tables).write(tmp_path / "study")
    result = run("score", str(folder), "--out", str(tmp_path / "scored"))
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "wai-sr item responses at intake (client) from 1,200 engagements feed no " \
           "analysis column" in result.stdout
    assert "Note: alliance, alliance_goal, alliance_task, alliance_bond are empty for every " \
           "engagement" in result.stdout
    sources = pd.read_csv(tmp_path / "scored" / "analysis_sources.csv", keep_default_na=False)
    row = sources[(sources["instrument"] == "wai-sr") & (sources["occasion"] == "intake")]
    assert row["columns"].tolist() == [""]
