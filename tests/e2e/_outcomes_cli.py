"""Run the installed `outcomes` command as a user would: a real process, its output and code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``outcomes ARGS...``; a traceback in its output fails the calling test."""
    exe = Path(sys.executable).with_name("outcomes")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "outcomes.cli"]
    result = subprocess.run(command + list(args), capture_output=True, text=True,
                            timeout=timeout, cwd=cwd)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result
