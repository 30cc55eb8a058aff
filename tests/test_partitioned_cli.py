"""``outcomes decompose --engine dask`` end to end: the real executable, a local cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

EXE = Path(sys.executable).with_name("outcomes")


def _run(*args: str) -> subprocess.CompletedProcess:
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "outcomes.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_glob_of_parquet_parts_gives_the_pandas_answer(tmp_path):
    rng = np.random.default_rng(6)
    frame = pd.DataFrame(rng.normal(size=(400, 3)), columns=["bond", "hope", "optimism"])
    frame["end_score"] = frame.sum(axis=1) + rng.normal(size=400)
    frame["coach_id"] = [f"C{i % 20}" for i in range(400)]
    for i in range(4):
        frame.iloc[i * 100 : (i + 1) * 100].to_parquet(tmp_path / f"part-{i}.parquet")
    frame.to_parquet(tmp_path / "whole.parquet")
    common = ["--outcome", "end_score", "--factor", "relationship=bond", "--factor",
              "expectancy=hope", "--factor", "client=optimism", "--boot", "100",
              "--cluster", "coach_id", "--seed", "3", "--json"]
    dask_run = _run("decompose", str(tmp_path / "part-*.parquet"), "--engine", "dask", *common)
    pandas_run = _run("decompose", str(tmp_path / "whole.parquet"), *common)
    assert dask_run.returncode == 0, dask_run.stderr
    assert pandas_run.returncode == 0, pandas_run.stderr
    ours, theirs = json.loads(dask_run.stdout), json.loads(pandas_run.stdout)
    assert ours["n"] == theirs["n"] == 400
    for name, entry in theirs["factors"].items():
        for key in ("share", "ci_low", "ci_high"):
            assert ours["factors"][name][key] == pytest.approx(entry[key], abs=1e-10)
    assert "Traceback" not in dask_run.stderr


def test_scheduler_needs_the_dask_engine(tmp_path):
    (tmp_path / "t.csv").write_text("y,x\n1,2\n2,3\n3,5\n")
    result = _run("decompose", str(tmp_path / "t.csv"), "--outcome", "y", "--factor", "a=x",
                  "--scheduler", "tcp://127.0.0.1:8786")
    assert result.returncode == 2
    assert "--engine dask" in result.stderr and "Traceback" not in result.stderr
    missing = _run("decompose", str(tmp_path / "none-*.parquet"), "--engine", "dask")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
