"""Every command keeps the README's promise about exit codes, as a user meets it.

0 success; 1 the data failed validation (the output is written from the valid rows); 2 a
usage error, with a message on stderr and never a traceback. Each command listed by
`outcomes --help` is run with good input, with input that has rejected rows (where it reads
data) and with a usage mistake.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import outcomes as oc
from outcomes.io import write_table

from ._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[2]
LINKED = ROOT / "tests" / "fixtures" / "exports" / "linked"
COACHES = ["C001", "C002", "C003", "C004", "C005", "C006"]


def _small_study(folder: Path, *, broken: bool) -> Path:
    """Six coaches of the sample; ``broken`` adds a response and a session that fail."""
    tables = {kind: frame.copy() for kind, frame in oc.load_sample().tables.items()}
    tables["coaches"] = tables["coaches"][tables["coaches"]["coach_id"].isin(COACHES)]
    keep = tables["engagements"]["coach_id"].isin(COACHES)
    tables["engagements"] = tables["engagements"][keep]
    ids = set(tables["engagements"]["engagement_id"])
    for kind in ("sessions", "responses"):
        tables[kind] = tables[kind][tables[kind]["engagement_id"].isin(ids)]
    if broken:
        responses, sessions = tables["responses"], tables["sessions"]
        bad = responses.iloc[[0]].assign(value="not a number")
        late = sessions.iloc[[0]].assign(session=99, date="2024-02-30")
        tables["responses"] = pd.concat([responses, bad], ignore_index=True)
        tables["sessions"] = pd.concat([sessions, late], ignore_index=True)
    for kind, frame in tables.items():
        write_table(frame, folder / f"{kind}.csv")
    return folder


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("exit-codes")
    good = _small_study(base / "good", broken=False)
    bad = _small_study(base / "bad", broken=True)
    norms = base / "norms.json"
    made = run("norms", str(good), "--out", str(norms), "--n-boot", "0", "--seed", "1")
    assert made.returncode == 0, made.stderr
    arms = base / "arms.csv"
    pd.DataFrame({"arm": ["wait", "coaching"], "mean_change": [4.0, 10.0], "sd": [6.0, 7.0],
                  "n": [40, 40]}).to_csv(arms, index=False)
    return {"good": good, "bad": bad, "norms": norms, "arms": arms}


def _args(command: str, data: Path | None, out: Path, paths: dict[str, Path]) -> list[str]:
    """The arguments of a quick, ordinary run of ``command`` on ``data``."""
    study = str(data)
    return {
        "validate": [study, "--out", str(out)],
        "score": [study, "--out", str(out)],
        "decompose": [study, "--json"],
        "multilevel": [study, "--centring", "none", "--json"],
        "alliance": [study, "--json"],
        "change": [study, "--json"],
        "monitor": [study, "--out", str(out)],
        "reliability": [study, "--instrument", "srs", "--n-boot", "0", "--json"],
        "report": [study, "--out", str(out), "--no-pdf", "--n-boot", "0", "--seed", "1",
                   "--salt-file", str(out.parent / f"{out.name}.salt")],
        "norms": [study, "--out", str(out / "norms.json"), "--n-boot", "0"],
        "benchmark": [study, "--coach", "C001", "--norms", str(paths["norms"]), "--out",
                      str(out), "--no-pdf"],
        "improvement": [str(paths["arms"]), "--role", "none=wait", "--role", "full=coaching"],
        "power": ["--n-coaches", "6", "--clients-per-coach", "8", "--n-sim", "2", "--n-boot",
                  "10", "--seed", "1", "--n-jobs", "1"],
        "simulate": ["--out", str(out), "--n-coaches", "4", "--clients-per-coach", "5",
                     "--seed", "1"],
        "template": ["--out", str(out / "practice.xlsx")],
        "instruments": [],
        "references": [],
        "serve": ["--check", "--norms", str(paths["norms"])],
        "map": [str(LINKED / "sessions_redcap.csv"), "--mapping",
                str(LINKED / "sessions.toml"), "--out", str(out)],
    }[command]


#: A file each command writes into its output folder (the others print to stdout);
#: `validate` writes only rejected rows, and the rejected export of `map` only responses.
WRITES = {"validate": "*.csv", "score": "scores.csv", "monitor": "flags.csv",
          "report": "report.html", "norms": "norms.json", "benchmark": "benchmark.html",
          "map": "responses.csv", "simulate": "engagements.csv", "template": "practice.xlsx"}

#: A usage mistake for each command, and a word the message must hold.
MISTAKES = {
    "validate": (["{missing}"], "does not exist"),
    "score": (["{good}"], "--out"),
    "decompose": (["{good}", "--method", "nope"], "nope"),
    "multilevel": (["{good}", "--n-boot", "many"], "many"),
    "alliance": (["{good}", "--lag", "x"], "--lag"),
    "change": (["{good}", "--reliability", "high"], "high"),
    "monitor": (["{good}", "--out", "{out}", "--by-intake", "curved"], "curved"),
    "reliability": (["{good}", "--instrument", "nope"], "nope"),
    "report": (["{good}", "--out", "{out}", "--k", "x"], "--k"),
    "norms": (["{missing}", "--out", "{out}/n.json"], "does not exist"),
    "benchmark": (["{good}", "--norms", "{missing}", "--out", "{out}"], "does not exist"),
    "improvement": (["{arms}", "--role", "none"], "ROLE=LABEL"),
    "power": (["--n-coaches", "many"], "many"),
    "simulate": (["--out", "{out}", "--shares", "client"], "NAME=NUMBER"),
    "template": (["--out", "{out}/practice.txt"], ".xlsx"),
    "instruments": (["--colour"], "--colour"),
    "references": (["--colour"], "--colour"),
    "map": (["{sessions}"], "--mapping"),
    "serve": (["--port", "many"], "many"),
}


def _commands() -> list[str]:
    listing = run("--help").stdout
    names = re.findall(r"^  ([a-z][a-z-]*)  ", listing.split("Commands:")[1], re.MULTILINE)
    return names


def test_every_listed_command_is_walked():
    assert sorted(_commands()) == sorted(MISTAKES)


@pytest.mark.parametrize("command", sorted(MISTAKES))
def test_good_input_exits_zero(command, studies, tmp_path):
    result = run(command, *_args(command, studies["good"], tmp_path / "out", studies))
    assert result.returncode == 0, result.stderr
    if command in WRITES and command != "validate":
        assert list((tmp_path / "out").rglob(WRITES[command])), command


READS_DATA = ["validate", "score", "decompose", "multilevel", "alliance", "change", "monitor",
              "reliability", "report", "norms", "benchmark", "map"]


@pytest.mark.parametrize("command", READS_DATA)
def test_rejected_rows_exit_one_with_the_output_written(command, studies, tmp_path):
    out = tmp_path / "out"
    if command == "map":   # the survey preview of this export is rejected
        args = [str(LINKED / "intake_qualtrics.csv"), "--mapping", str(LINKED / "intake.toml"),
                "--out", str(out)]
    else:
        args = _args(command, studies["bad"], out, studies)
    result = run(command, *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "reject" in (result.stdout + result.stderr).lower() or \
        "failed validation" in result.stderr
    if command in WRITES:
        assert list(out.rglob(WRITES[command])), command
    elif "--json" in args:
        assert json.loads(result.stdout)


@pytest.mark.parametrize("command", sorted(MISTAKES))
def test_usage_mistakes_exit_two_with_a_message(command, studies, tmp_path):
    template, word = MISTAKES[command]
    values = {"good": studies["good"], "missing": tmp_path / "no-such-study",
              "out": tmp_path / "out", "arms": studies["arms"],
              "sessions": LINKED / "sessions_redcap.csv"}
    args = [part.format(**{k: str(v) for k, v in values.items()}) for part in template]
    result = run(command, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert word in result.stderr and "Traceback" not in result.stderr


#: Hostile or mistyped report settings, and what the message must name.
HOSTILE = {
    'seed = "x"': "setting seed = 'x' must be a whole number from 0",
    "n_boot = 1e9": "setting n_boot = 1000000000.0 must be a whole number from 0 to 100,000",
    "boot = 1e9": "setting n_boot = 1000000000.0 must be a whole number from 0 to 100,000",
    "n_boot = 1000000000": "n_boot = 1000000000 must be a whole number from 0 to 100,000",
    "k = -3": "setting k = -3 must be a whole number from 3",
    'coach_names = "no"': "setting coach_names = 'no' must be true or false",
    "covariates = 7": "setting covariates = '7' must be a list of column names",
    "factors = 3": "setting factors = '3' must be a table of factor names",
    "title = 5": "setting title = '5' must be text",
    "colour = 1": "unknown setting 'colour'",
    "[report\n": "is not valid TOML",
}


@pytest.mark.parametrize("setting", list(HOSTILE))
def test_hostile_report_settings_end_at_once_with_exit_two(setting, studies, tmp_path):
    config = tmp_path / "report.toml"
    config.write_text(setting + "\n", encoding="utf-8")
    result = run("report", str(studies["good"]), "--out", str(tmp_path / "out"), "--config",
                 str(config), "--no-pdf", timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert HOSTILE[setting] in result.stderr and str(config) in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", [["--n-boot", "1000000000"], ["--k", "-3"],
                                    ["--seed", "-1"], ["--n-boot", "1e9"]])
def test_hostile_report_options_end_at_once_with_exit_two(option, studies, tmp_path):
    result = run("report", str(studies["good"]), "--out", str(tmp_path / "out"), "--no-pdf",
                 *option, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert option[0].lstrip("-").replace("-", "_") in result.stderr.replace("-", "_")
    assert not (tmp_path / "out").exists()


def test_a_salt_file_others_can_write_is_refused(studies, tmp_path):
    salt = tmp_path / "key.salt"
    salt.write_text("ab" * 32 + "\n", encoding="ascii")
    salt.chmod(0o666)
    result = run("report", str(studies["good"]), "--out", str(tmp_path / "out"), "--no-pdf",
                 "--salt-file", str(salt), timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"chmod 600 {salt}" in result.stderr and "-rw-rw-rw-" in result.stderr
    assert not (tmp_path / "out").exists()
