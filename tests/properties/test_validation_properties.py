"""Validation never loses a row: valid + rejected = input, whatever is wrong with the input."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.validation.rules import validate_tables

from ..conftest import small_study

# Corruptions that always make a row invalid, by table: (column, bad cell).
ALWAYS_BAD = {
    "engagements": [("start_date", "not a date"), ("start_date", None), ("sponsor", "boss"),
                    ("status", "?"), ("coach_id", "C404"), ("end_date", "1999-01-01")],
    "sessions": [("session", "x"), ("session", "-2"), ("date", "2024-13-45"),
                 ("adherence", "6"), ("duration_min", "0"), ("techniques", "voodoo"),
                 ("engagement_id", "E404")],
    "responses": [("value", "99"), ("value", "abc"), ("item", "0"), ("item", "77"),
                  ("instrument", "xyz"), ("occasion", "later"), ("engagement_id", None)],
    "coaches": [("coach_id", None), ("years_experience", "-5")],
}

corruption = st.sampled_from(sorted(ALWAYS_BAD)).flatmap(
    lambda table: st.tuples(
        st.just(table),
        st.sampled_from(ALWAYS_BAD[table]),
        st.integers(min_value=0, max_value=10_000),
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions=st.lists(corruption, min_size=0, max_size=8),
       duplicates=st.lists(st.tuples(st.sampled_from(["sessions", "responses"]),
                                     st.integers(0, 10_000)), max_size=2))
def test_nothing_is_lost_and_every_corrupted_row_is_rejected(corruptions, duplicates):
    tables = small_study()
    planted: dict[str, set[int]] = {k: set() for k in tables}
    for table, (column, bad), where in corruptions:
        position = where % len(tables[table])
        tables[table].loc[position, column] = bad
        planted[table].add(position + 1)  # rows are 1-based for a frame without a source
    for table, where in duplicates:
        frame = tables[table]
        position = where % len(frame)
        tables[table] = pd.concat([frame, frame.iloc[[position]]], ignore_index=True)
        planted[table].update({position + 1, len(frame) + 1})
    report = validate_tables(tables)
    for kind, frame in tables.items():
        valid, rejected = report.valid[kind], report.rejected[kind]
        assert len(valid) + len(rejected) == len(frame)
        assert rejected["row"].is_unique
        assert set(valid.index).isdisjoint(rejected["row"])
        assert planted[kind] <= set(rejected["row"]), (kind, planted[kind], report.summary())
        assert rejected["reasons"].str.len().gt(0).all()
    assert report.ok == (not any(planted.values()))
