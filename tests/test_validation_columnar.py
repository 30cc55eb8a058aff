"""Columnar validation: keys found by codes as pandas finds them, and cells that used to stop
validation (an infinite or huge whole number, a date outside the type's years) are problems
of their row."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.validation import validate
from outcomes.validation._columns import key_codes, repeated


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.sampled_from([1, 2, None]),
                          st.sampled_from(["x", "y"])), min_size=1, max_size=40))
def test_repeated_keys_are_the_rows_pandas_calls_duplicated(rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"]).astype({"b": "Int64"})
    parts = []
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        parts.append((codes, len(uniques)))
    key, size = key_codes(parts)
    assert (key < size).all()
    expected = frame.duplicated(keep=False).to_numpy()
    assert repeated(key).tolist() == expected.tolist()


def test_an_infinite_or_huge_whole_number_is_a_type_problem():
    sessions = pd.DataFrame({"engagement_id": ["E1", "E1", "E1", "E1"],
                             "session": ["1", "inf", "1e20", "-Infinity"],
                             "date": ["2024-01-08"] * 4})
    report = validate(sessions, "sessions")
    typed = report.problems[report.problems["rule"] == "type"]
    assert typed[["row", "column"]].values.tolist() == [[2, "session"], [3, "session"],
                                                        [4, "session"]]
    assert len(report.valid["sessions"]) == 1


def test_a_date_outside_the_supported_years_is_a_type_problem():
    sessions = pd.DataFrame({"engagement_id": ["E1", "E1", "E1"], "session": ["1", "2", "3"],
                             "date": ["2024-01-08", "0000-05-01", "2400-01-01"]})
    report = validate(sessions, "sessions")
    found = report.problems[["row", "column", "rule"]].values.tolist()
    assert found == [[2, "date", "type"], [3, "date", "type"]]  # rows count from 1
    assert report.valid["sessions"]["date"].tolist() == [pd.Timestamp("2024-01-08")]


def test_a_long_column_is_parsed_as_cell_by_cell():
    # above the size where each distinct value is parsed once
    values = ["3", " 4 ", "x", None, "2.5", "5"] * 400
    sessions = pd.DataFrame({"engagement_id": [f"E{i}" for i in range(len(values))],
                             "session": "1", "date": "2024-01-08", "adherence": values})
    report = validate(sessions, "sessions")
    bad = report.problems.loc[report.problems["column"] == "adherence", "value"]
    assert bad.tolist() == ["x"] * 400
    adherence = report.valid["sessions"]["adherence"].to_numpy()
    assert np.isnan(adherence).sum() == 400
    assert set(adherence[~np.isnan(adherence)]) == {3.0, 4.0, 2.5, 5.0}
