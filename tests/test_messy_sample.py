"""The messy sample: every planted fault is found at its file, row and column, and no other."""

from pathlib import Path

import pandas as pd
import pytest

from outcomes.study import read_study
from outcomes.validation.rules import RULES

MESSY = Path(__file__).resolve().parents[1] / "data" / "sample" / "messy"


@pytest.fixture(scope="module")
def report():
    return read_study(MESSY).validate()


@pytest.fixture(scope="module")
def faults():
    return pd.read_csv(MESSY / "faults.csv")


def test_every_planted_fault_is_found_where_it_was_planted(report, faults):
    found = report.problems.assign(file=report.problems["file"].map(lambda f: Path(f).name))
    keys = ["file", "row", "column", "rule"]
    merged = faults.merge(found[keys], on=keys, how="outer", indicator=True)
    assert merged["_merge"].eq("both").all(), merged[merged["_merge"] != "both"].to_string()


def test_a_fault_of_every_kind_is_planted(faults):
    # a missing column rejects a whole table; it has its own unit test
    assert set(RULES) - {"missing_column"} == set(faults["rule"])


def test_nothing_is_lost(report):
    counts = report.table()
    assert (counts["input"] == counts["valid"] + counts["rejected"]).all()
    for kind, rejected in report.rejected.items():
        assert rejected["row"].is_unique
        total = counts.set_index("table").loc[kind, "input"]
        assert len(report.valid[kind]) + len(rejected) == total


def test_semicolon_file_with_decimal_commas_is_read(report):
    sessions = report.valid["sessions"]
    assert sessions["duration_min"].dtype == float
    assert sessions["duration_min"].between(30, 120).all()
