"""Models fitted ahead in the report's second process give what the section would compute.

The report starts its two slowest models in a forked worker and collects them when a
section needs them; an error in the worker is raised again where the section computes the
model itself, with its own message, and a worker that cannot start leaves the work to the
report's own process. (The committed sample report, built through the worker, is compared
number for number in tests/test_report_sample.py.)
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from outcomes._errors import DataError
from outcomes.report import ReportOptions
from outcomes.report._body import Run, quiet


def _run() -> Run:
    return Run(study=None, table=pd.DataFrame(), options=ReportOptions(), names={})


def _mean_and_pid(values: np.ndarray) -> tuple[float, int]:
    return float(np.mean(values)), os.getpid()


def _fails(column: str) -> None:
    raise DataError("too few pairs of sessions", column=column,
                    fix="The model needs several clients with repeated ratings.")


def test_a_model_started_ahead_is_the_one_the_section_gets():
    run = _run()
    values = np.arange(10.0)
    run.ahead("mean", _mean_and_pid, values)
    try:
        (mean, pid), notes = run.cached("mean", lambda: quiet(_mean_and_pid, values))
    finally:
        run.close()
    assert mean == 4.5 and notes == []
    if run.worker:  # forked where the platform allows it: computed in the other process
        assert pid != os.getpid()
    assert "mean" in run.results and not run.pending


def test_an_error_in_the_worker_is_raised_again_by_the_section():
    run = _run()
    run.ahead("model", _fails, "outcome")
    try:
        with pytest.raises(DataError, match="too few pairs") as caught:
            run.cached("model", lambda: quiet(_fails, "outcome"))
    finally:
        run.close()
    assert caught.value.column == "outcome"


def test_without_a_worker_the_report_computes_in_its_own_process():
    run = _run()
    run.worker = False  # as on a platform that cannot fork, or a broken pool
    run.ahead("mean", _mean_and_pid, np.ones(3))
    assert not run.pending
    (mean, pid), _ = run.cached("mean", lambda: quiet(_mean_and_pid, np.ones(3)))
    assert mean == 1.0 and pid == os.getpid()
