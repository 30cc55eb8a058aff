"""`outcomes report` starts Chromium before it imports the report, and never leaves it behind.

Chromium runs in a session of its own (so that the terminal's signals do not reach it), with
a throw-away profile in memory: whatever ends the command (the end of the report, a config
file that turns the PDF off, a SIGTERM) must end Chromium and remove its profile. (A SIGTERM
that the command's parent set to be ignored stays ignored: the report then runs to its end.)
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from outcomes._chromium import chromium, memory_folder

from ._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
pytestmark = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")


def _profiles() -> set[str]:
    """The Chromium profiles of the reports now running (one per Chromium)."""
    return set(glob.glob(os.path.join(memory_folder() or tempfile.gettempdir(),
                                      "outcomes-pdf-*")))


def test_a_report_ends_its_chromium(tmp_path):
    before = _profiles()
    result = run("report", str(SAMPLE), "--out", str(tmp_path / "out"), "--boot", "0",
                 "--salt-file", str(tmp_path / "key.salt"), "--json")
    assert result.returncode == 0, result.stderr
    assert '"pdf_engine": "chromium"' in result.stdout
    assert _profiles() <= before


def test_a_config_that_turns_the_pdf_off_ends_the_chromium_started_ahead(tmp_path):
    config = tmp_path / "report.toml"
    config.write_text("pdf = false\n", encoding="utf-8")
    before = _profiles()
    result = run("report", str(SAMPLE), "--out", str(tmp_path / "out"), "--boot", "0",
                 "--config", str(config), "--salt-file", str(tmp_path / "key.salt"))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out" / "report.pdf").exists()
    assert (tmp_path / "out" / "report.html").exists()
    assert _profiles() <= before


def test_a_report_stopped_by_sigterm_leaves_no_chromium(tmp_path):
    exe = Path(sys.executable).with_name("outcomes")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "outcomes.cli"]
    before = _profiles()
    process = subprocess.Popen(  # SIGTERM as a shell leaves it, whatever this process has
        command + ["report", str(SAMPLE), "--out", str(tmp_path / "out"),
                   "--salt-file", str(tmp_path / "key.salt")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not _profiles() - before and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _profiles() - before, "Chromium was not started ahead of the report"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err
    assert _profiles() <= before  # Chromium ended, its profile removed
