"""Reading SPSS .sav files: user-missing codes, value labels, variable labels, ids.

Each fixture is written with ``pyreadstat.write_sav`` in the test, so the declarations the
reader must honour are the ones written here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from outcomes._errors import DataError
from outcomes.io import read_table


@pytest.fixture
def intake(tmp_path):
    raw = pd.DataFrame(
        {
            "engagement_id": [7.0, 8.0, 10.0, 11.0, 12.0],
            "item": [1.0, 2.0, 1.0, 2.0, 1.0],
            "value": [4.0, -99.0, 95.0, 3.0, -99.0],
            "baseline": [2.0, -99.0, 1.0, 1.0, 2.0],  # -99 never declared here
            "sex": [1.0, 2.0, 2.0, 3.0, np.nan],
            "group": [1.0, 2.0, 1.0, 1.0, 2.0],
            "comment": ["fine", "skip", "  padded ", "", "skip"],
        }
    )
    path = tmp_path / "intake.sav"
    pyreadstat.write_sav(
        raw,
        str(path),
        column_labels={"value": "Item response", "sex": "Sex of client"},
        missing_ranges={"value": [-99.0, {"lo": 90.0, "hi": 99.0}], "comment": ["skip"]},
        variable_value_labels={
            "sex": {1.0: "female", 2.0: "male"},
            "value": {1.0: "never", 5.0: "always"},
            "group": {1.0: "waitlist", 2.0: "coaching"},
        },
    )
    return path


def test_user_missing_codes_become_missing_and_are_counted(intake):
    t = read_table(intake)
    assert t["value"].isna().tolist() == [False, True, True, False, True]
    assert t.attrs["user_missing"] == {"value": 3, "comment": 2}
    assert t["baseline"].tolist() == [2.0, -99.0, 1.0, 1.0, 2.0]
    assert t["comment"].isna().tolist() == [False, True, False, True, True]
    assert t.loc[4, "comment"] == "padded"


def test_value_labels_become_categories_except_canonical_numbers(intake):
    t = read_table(intake)
    assert isinstance(t["sex"].dtype, pd.CategoricalDtype)
    assert list(t["sex"].cat.categories) == ["female", "male", "3"]
    assert t["sex"].tolist()[:4] == ["female", "male", "male", "3"]
    assert pd.isna(t["sex"].iloc[4])
    assert t["value"].dtype == np.float64
    assert t.attrs["value_labels"]["value"] == {1.0: "never", 5.0: "always"}
    assert t.attrs["variable_labels"] == {"value": "Item response", "sex": "Sex of client"}


def test_keep_codes_and_rename(intake):
    t = read_table(intake, keep_codes=["group"], columns={"sex": "gender"})
    assert t["group"].tolist() == [1.0, 2.0, 1.0, 1.0, 2.0]
    assert isinstance(t["gender"].dtype, pd.CategoricalDtype)
    assert t.attrs["value_labels"]["gender"] == {1.0: "female", 2.0: "male"}
    assert t.attrs["variable_labels"]["gender"] == "Sex of client"


def test_ids_become_text_and_rows_count_from_two(intake):
    t = read_table(intake)
    assert t["engagement_id"].tolist() == ["7", "8", "10", "11", "12"]
    assert t.index.name == "row" and t.index.tolist() == [2, 3, 4, 5, 6]
    assert t.attrs["source_file"] == str(intake)


def test_not_a_sav_file(tmp_path):
    path = tmp_path / "fake.sav"
    path.write_bytes(b"engagement_id,value\n1,2\n")
    with pytest.raises(DataError, match="SPSS"):
        read_table(path)
