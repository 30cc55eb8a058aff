"""The codes that reading, validation, scoring and the analysis table share give the same
answers as pandas works out afresh: one factorisation per column may serve every step only
if it is the factorisation each step would have made."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.io import _arrow
from outcomes.measures._codes import KeyCodes, sorted_codes
from outcomes.schema import ColumnSpec
from outcomes.validation._parsing import parse_coded

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)
WORDS = st.sampled_from(["intake", "session", "end", "Intake", " end", "", "wai-sr", "ß", "x y"])
CELLS = st.lists(st.one_of(st.none(), WORDS, st.text(max_size=4)), min_size=0, max_size=60)
NUMBERS = st.lists(st.one_of(st.none(), st.sampled_from(
    ["1", "01", "2", "2.0", "2.5", "x", "", "-3", "1e2", "nan", "inf", "2024-01-31"])),
    min_size=0, max_size=60)


@pytest.fixture(autouse=True)
def _keep_small_columns(monkeypatch):
    """Keep the codes of short columns too, so that the examples take the path of big ones."""
    monkeypatch.setattr(_arrow, "_KEEP_FROM", 0)


def _text(cells: list) -> pd.Series:
    """Cells as Arrow reads them: several chunks, as a file of many blocks gives."""
    import pyarrow as pa

    half = len(cells) // 2
    chunks = pa.chunked_array([cells[:half], cells[half:]], type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(chunks, dtype=_arrow.ARROW_TEXT))


@SETTINGS
@given(CELLS, st.integers(0, 5))
def test_kept_codes_are_pandas_codes(cells, start):
    column = _text(cells).iloc[start:]  # a slice: its chunks start inside Arrow's buffers
    codes, distinct = _arrow.factorize(column)
    expected, values = pd.factorize(column)
    assert codes.tolist() == expected.tolist()
    assert distinct.tolist() == values.tolist()
    again = _arrow.factorize(column)
    assert again[0] is codes and not codes.flags.writeable  # kept, and kept safe


def test_kept_codes_go_with_their_column():
    column = _text(["a", "b", None, "a"])
    key = id(column.array.__arrow_array__())
    _arrow.factorize(column)
    assert key in _arrow._CODES
    del column
    gc.collect()
    assert key not in _arrow._CODES


@SETTINGS
@given(st.lists(st.one_of(st.none(), WORDS), min_size=1, max_size=8), st.data())
def test_text_from_codes_keeps_the_codes_pandas_finds(values, data):
    codes = np.array(data.draw(st.lists(st.integers(0, len(values) - 1), max_size=80)),
                     dtype=np.int64)
    column = _arrow.text_from_codes(values, codes)
    assert column.tolist() == [np.nan if values[c] is None else values[c] for c in codes]
    kept, distinct = _arrow.factorize(column)
    expected, found = pd.factorize(column)
    assert kept.tolist() == expected.tolist() and distinct.tolist() == found.tolist()


@SETTINGS
@given(CELLS, st.integers(0, 5))
def test_byte_range_bounds_every_byte_of_the_text(cells, start):
    column = _text(cells).iloc[start:]
    text = b"".join(c.encode() for c in column.dropna())
    found = _arrow.byte_range(column)
    if not text:
        assert found is None or found[0] <= found[1]
        return
    assert found is not None
    assert found[0] <= min(text) and found[1] >= max(text)


@SETTINGS
@given(CELLS)
def test_sorted_codes_of_arrow_text_sort_as_pandas_does(cells):
    column = _text(cells)
    codes, values = sorted_codes(column)
    expected, found = pd.factorize(column.astype(object), sort=True)
    found = list(found) + ([None] if (expected < 0).any() else [])
    expected = np.where(expected < 0, len(found) - 1, expected)
    assert codes.tolist() == expected.tolist() and values.tolist() == found


@SETTINGS
@given(NUMBERS, st.sampled_from(["int", "float", "date", "bool"]))
def test_codes_found_while_parsing_number_the_parsed_cells(cells, kind):
    raw = pd.Series(cells * 40, dtype=object)  # long enough to be parsed by distinct value
    values, _, coded = parse_coded(raw, ColumnSpec(kind))
    if coded is None:
        assert len(raw) < 1000
        return
    codes, distinct = coded
    expected, _ = pd.factorize(values, use_na_sentinel=False)
    # the same cells share a code (the codes may be numbered in another order) ...
    pairs = set(zip(codes.tolist(), expected.tolist(), strict=True))
    assert len(pairs) == len(set(codes.tolist())) == len(set(expected.tolist()))
    # ... and each code stands for the value of its cells
    shown = pd.Series(distinct.take(codes))
    assert shown.isna().tolist() == values.isna().tolist()
    assert shown[values.notna().to_numpy()].tolist() == values.dropna().tolist()


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["e1", "e2", "e3", None]), st.integers(0, 3),
                          st.sampled_from(["client", "coach"])), min_size=1, max_size=60),
       st.data())
def test_groups_of_some_rows_number_them_as_on_their_own(rows, data):
    frame = pd.DataFrame(rows, columns=["engagement_id", "session", "rater"])
    keys = KeyCodes({"engagement_id": frame["engagement_id"].astype(object),
                     "session": frame["session"].astype("Int64"), "rater": frame["rater"]})
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1))))
    number, first = keys.groups(chosen)
    alone, first_alone = keys._number(chosen)  # the rows numbered by themselves
    assert number.tolist() == alone.tolist()
    assert {k: v.tolist() for k, v in first.items()} == {
        k: v.tolist() for k, v in first_alone.items()}


def test_a_study_factorises_each_text_column_of_its_responses_once(monkeypatch):
    import outcomes as oc

    study = oc.read_study(SAMPLE)  # read afresh: no codes kept from another test
    arrays = {id(study.tables["responses"][c].array.__arrow_array__()): c
              for c in ("engagement_id", "occasion", "instrument", "rater")}
    calls: dict[str, int] = {}
    factorize = pd.factorize

    def counted(values, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if _arrow.is_arrow_text(pd.Series(values)):
            name = arrays.get(id(pd.Series(values).array.__arrow_array__()))
            if name is not None:
                calls[name] = calls.get(name, 0) + 1
        return factorize(values, *args, **kwargs)

    monkeypatch.setattr(pd, "factorize", counted)
    assert study.validate().ok
    study.scores()
    study.analysis_table()
    assert calls == dict.fromkeys(["occasion", "instrument", "rater", "engagement_id"], 1)
