"""Wide tables (SPSS .sav, Excel, CSV) pivoted to long responses by the mapping's patterns.

The files are written in each test from values typed below, so every expected value can be
read off the table: e.g. client P2's ORS line 3 in session 2 is the 7th cell of its row.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outcomes._errors import UsageError
from outcomes.mapping import map_export, parse_mapping

ORS = [f"ORS_s{s}_{i}" for s in (1, 2) for i in range(1, 5)]
LOT = [f"T{t}_LOT_{i}" for t in (1, 2) for i in range(1, 11)]
MAPPING = {
    "columns": {"client_id": "client", "coach_id": "coach", "date": "S{session}_date",
                "start_date": "S1_date"},
    "constants": {"sponsor": "organisation", "status": "completed"},
    "recode": {"occasion": {"T1": "intake", "T2": "end"}},
    "items": [{"instrument": "ors", "pattern": "ORS_s{session}_{item}", "occasion": "session"},
              {"instrument": "lot-r", "pattern": "{occasion}_LOT_{item}"}],
}


def table() -> pd.DataFrame:
    rows = {
        "client": ["P1", "P2", "P3"],
        "coach": ["K1", "K1", "K2"],
        "S1_date": [dt.datetime(2024, 1, 8), dt.datetime(2024, 1, 9), dt.datetime(2024, 1, 10)],
        "S2_date": [dt.datetime(2024, 1, 22), dt.datetime(2024, 1, 23), pd.NaT],
    }
    ors = [[5, 6, 5.5, 7, 6, 6.5, 6, 7.5],
           [4, 4, np.nan, 3, 4.5, 5, 7, 4],
           [2, 3, 2.5, 2, np.nan, np.nan, np.nan, np.nan]]
    lot = [[2, 3, 1, 4, 2, 2, 1, 3, 1, 4] + [3, 3, 1, 4, 2, 2, 0, 3, 1, 4],
           [1, 2, 3, 1, 2, 2, 3, 2, 3, 1] + [-9, 2, 2, 2, 2, 2, 2, 2, 2, 2],
           [4, 4, 0, 4, 4, 4, 0, 4, 0, 4] + [np.nan] * 10]
    for position, name in enumerate(ORS):
        rows[name] = [r[position] for r in ors]
    for position, name in enumerate(LOT):
        rows[name] = [r[position] for r in lot]
    return pd.DataFrame(rows)


def write_sav(path) -> None:
    import pyreadstat

    labels = {0: "strongly disagree", 1: "disagree", 2: "neutral", 3: "agree",
              4: "strongly agree"}
    pyreadstat.write_sav(table(), str(path), missing_ranges={c: [-9] for c in LOT},
                         variable_value_labels={c: labels for c in LOT},
                         column_labels={"client": "Client pseudonym"})


def check_mapped(mapped) -> None:
    assert (mapped.rows_read, mapped.rows_mapped, mapped.rows_rejected) == (3, 3, 0)
    r = mapped.tables["responses"].set_index(["engagement_id", "occasion", "session",
                                              "instrument", "item"])["value"]
    assert r[("P2", "session", 2, "ors", 3)] == 7
    assert pd.isna(r[("P2", "session", 1, "ors", 3)])         # unanswered, kept empty
    assert ("P3", "session", 2, "ors", 1) not in r.index       # session 2 not given at all
    assert r[("P1", "intake", pd.NA, "lot-r", 3)] == 1         # a code, not its label
    assert r[("P1", "end", pd.NA, "lot-r", 7)] == 0
    assert ("P3", "end", pd.NA, "lot-r", 1) not in r.index
    assert len(r) == 8 + 8 + 4 + 20 + 20 + 10
    s = mapped.tables["sessions"].set_index(["engagement_id", "session"])["date"]
    assert s.to_dict() == {("P1", 1): "2024-01-08", ("P1", 2): "2024-01-22",
                           ("P2", 1): "2024-01-09", ("P2", 2): "2024-01-23",
                           ("P3", 1): "2024-01-10"}
    e = mapped.tables["engagements"].set_index("engagement_id")
    assert e.loc["P3", ["coach_id", "sponsor", "status"]].tolist() == [
        "K2", "organisation", "completed"]


def test_spss_wide_table_pivots_keeps_codes_and_counts_user_missing(tmp_path):
    path = tmp_path / "clients.sav"
    write_sav(path)
    mapped = map_export(path, MAPPING)
    assert mapped.source == "wide"
    check_mapped(mapped)
    r = mapped.tables["responses"]
    hit = r[(r.engagement_id == "P2") & (r.occasion == "end") & (r.item == 1)]
    assert hit["value"].isna().all()                           # -9 declared user-missing
    assert any("T2_LOT_1 (1)" in n for n in mapped.notes)
    assert set(mapped.tables["responses"]["export_row"]) == {2, 3, 4}
    assert mapped.validation is None


def test_excel_wide_table_on_a_named_sheet(tmp_path):
    path = tmp_path / "clients.xlsx"
    frame = table().replace(-9, np.nan)
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="About", index=False)
        frame.to_excel(writer, sheet_name="Clients", index=False)
    mapped = map_export(path, {**MAPPING, "source": {"sheet": "Clients"}})
    check_mapped(mapped)
    assert mapped.rejected.empty


def test_csv_wide_study_validates_after_writing(tmp_path):
    path = tmp_path / "clients.csv"
    table().replace(-9, np.nan).to_csv(path, index=False)
    written = map_export(path, MAPPING).write(tmp_path / "study")
    assert written.ok, written.summary()
    assert written.validation.counts.set_index("table").loc["responses", "valid"] == 70


def test_a_mapped_column_the_file_lacks_is_named_with_the_file(tmp_path):
    path = tmp_path / "clients.csv"
    table().to_csv(path, index=False)
    plan = parse_mapping({**MAPPING, "items": [
        {"instrument": "ors", "columns": ["ORS_s1_1", "ORS_s1_2", "ORS_s1_3", "ORS_s3_4"],
         "occasion": "intake"}]}, file="wide.toml")
    with pytest.raises(UsageError) as caught:
        map_export(path, plan)
    text = str(caught.value)
    assert "wide.toml, [[items]] block 1 (ors), columns: the column 'ORS_s3_4' is not in" in text
    assert str(path) in text and "Close names: " in text and "'ORS_s1_4'" in text


def test_a_pattern_that_matches_nothing_names_the_file(tmp_path):
    path = tmp_path / "clients.csv"
    table().to_csv(path, index=False)
    plan = parse_mapping({**MAPPING, "items": [{"instrument": "ors",
                                                "pattern": "ORS_t{session}_{item}"}]})
    with pytest.raises(UsageError, match="'ORS_t{session}_{item}' matches no column of .*"
                                         "clients.csv"):
        map_export(path, plan)


def test_two_columns_for_one_cell_is_an_error_naming_both(tmp_path):
    frame = table()
    frame["ORS_s01_1"] = 5
    path = tmp_path / "clients.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(UsageError) as caught:
        map_export(path, MAPPING)
    text = str(caught.value)
    assert "columns 'ORS_s1_1' and 'ORS_s01_1'" in text and "ors item 1 (session 1" in text


def test_an_occasion_the_pattern_cannot_place_says_how_to_recode(tmp_path):
    frame = table()
    frame["T3_LOT_1"] = 2
    path = tmp_path / "clients.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(UsageError, match=r"gives occasion 'T3'.*\[recode.occasion\].*T3 = "):
        map_export(path, MAPPING)


def test_a_value_twice_in_one_cell_from_two_rows_rejects_both_naming_each_other(tmp_path):
    frame = pd.concat([table(), table().iloc[[1]]], ignore_index=True)
    frame.loc[3, "coach"] = "K9"
    path = tmp_path / "clients.csv"
    frame.to_csv(path, index=False)
    mapped = map_export(path, MAPPING)
    assert (mapped.rows_read, mapped.rows_mapped, mapped.rows_rejected) == (4, 2, 2)
    rejected = mapped.rejected.set_index("row")
    assert set(rejected.index) == {3, 5}
    assert rejected.loc[3, "reason"] == "duplicate"
    assert "also given by row 5" in rejected.loc[3, "message"]
    assert "also given by row 3" in rejected.loc[5, "message"]
    assert "coach_id of engagement P2 differs between records: row 3 says 'K1', row 5 says 'K9'" \
        in rejected.loc[3, "message"]
    assert set(mapped.tables["engagements"]["engagement_id"]) == {"P1", "P3"}


@st.composite
def wide_files(draw):
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.sampled_from(["A", "B", "C", "D", "E", "F", ""]), min_size=n,
                        max_size=n))
    cell = st.one_of(st.none(), st.integers(0, 10).map(str), st.sampled_from(["x", "-99"]))
    cells = draw(st.lists(st.lists(cell, min_size=8, max_size=8), min_size=n, max_size=n))
    return ids, cells


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wide_files())
@example(drawn=(["A"], [[None] * 7 + ["0"]]))  # nothing rejected: the empty frame keeps its types
def test_every_record_is_mapped_or_rejected_and_every_answer_lands_once(tmp_path_factory,
                                                                        drawn):
    ids, cells = drawn
    frame = pd.DataFrame(cells, columns=ORS, dtype=object)
    frame.insert(0, "client", ids)
    path = tmp_path_factory.mktemp("wide") / "w.csv"
    frame.to_csv(path, index=False)
    plan = {"source": {"missing_codes": [-99]}, "columns": {"engagement_id": "client"},
            "items": [{"instrument": "ors", "pattern": "ORS_s{session}_{item}",
                       "occasion": "session"}]}
    mapped = map_export(path, plan)
    # a line with every cell empty is no record (the reader skips it, counting the line)
    rows = {position + 2 for position, (name, row) in enumerate(zip(ids, cells, strict=True))
            if name or any(v is not None for v in row)}
    assert mapped.rows_read == len(rows)
    assert mapped.rows_mapped + mapped.rows_rejected == mapped.rows_read
    assert mapped.rejected["reason"].notna().all()
    assert (mapped.rejected["message"].str.len() > 0).all()
    responses = mapped.tables["responses"]
    kept = set(responses["export_row"])
    assert kept.isdisjoint(set(mapped.rejected["row"]))
    assert kept | set(mapped.rejected["row"]) == rows
    for row in kept:  # every answer of a mapped record is in the table exactly once
        given_cells = cells[row - 2]
        answered = [float(v) for v in given_cells if v not in (None, "-99")]
        mine = responses.loc[responses["export_row"] == row, "value"].dropna().tolist()
        assert sorted(mine) == sorted(answered)
    assert not responses.duplicated(["engagement_id", "session", "item"]).any()
