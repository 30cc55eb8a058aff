"""Parse raw table cells (usually text) into the canonical column types, a column at a time.

Parsing never raises on a bad cell: it returns the parsed column and a mask of the cells that
could not be parsed, so that validation can name every bad cell with its row and column.

A column of text is parsed once per distinct value: a study's million answers hold a few
dozen distinct values, and dates a few hundred, so the cost follows the number of distinct
spellings, not the number of rows. Identifiers and free text are stripped with Arrow's
kernels when the column is held by Arrow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from outcomes.io import _arrow
from outcomes.schema import ColumnSpec

__all__ = ["parse_column", "parse_coded", "FIXES", "Codes"]

#: The codes of a parsed column: each cell's code and the value of each code.
Codes = tuple[np.ndarray, pd.Index]

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}

#: How to fix a cell that does not parse, by column kind.
FIXES = {
    "id": "Give an identifier (any text).",
    "text": "Give a text value.",
    "int": "Use a whole number such as 3.",
    "float": "Use a number with a dot for decimals, such as 3.5.",
    "date": "Use an ISO date, YYYY-MM-DD.",
    "bool": "Use true or false.",
}

#: What a cell should have been, by column kind, for the message.
EXPECTED = {
    "id": "an identifier",
    "text": "text",
    "int": "a whole number",
    "float": "a number",
    "date": "a date",
    "bool": "true or false",
}

# Whole numbers from this on do not fit the Int64 type.
_LARGEST_WHOLE = 2.0**63
# The dates the datetime64[ns] type holds.
_FIRST_DATE, _LAST_DATE = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
# Columns shorter than this are parsed cell by cell: factorising would not pay.
_FEW = 1_000


def _as_text(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


def parse_column(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    """Parse one raw column; return the typed column and the mask of unparsable cells.

    Missing cells stay missing and are not failures (whether a column may be missing is a
    schema rule, checked later).

    Examples
    --------
    >>> values, bad = parse_column(pd.Series(["3", "x", None, "4.0"]), ColumnSpec("int"))
    >>> values.tolist(), bad.tolist()
    ([3, <NA>, <NA>, 4], [False, True, False, False])
    >>> parse_column(pd.Series(["2024-02-30"]), ColumnSpec("date"))[1].tolist()
    [True]
    """
    values, bad, _ = parse_coded(raw, spec)
    return values, bad


def parse_coded(raw: pd.Series,
                spec: ColumnSpec) -> tuple[pd.Series, np.ndarray, Codes | None]:
    """:func:`parse_column`, and the codes of the parsed cells when the column was parsed
    once per distinct value (else None): a code per cell, equal for equal values, missing
    values sharing one, and the value of each code, as ``pd.factorize(values,
    use_na_sentinel=False)`` gives them (in another order, perhaps).

    Examples
    --------
    >>> raw = pd.Series(["3", "x", None, "03"] * 300)
    >>> values, bad, (codes, distinct) = parse_coded(raw, ColumnSpec("int"))
    >>> codes[:4].tolist(), distinct.tolist()
    ([0, 1, 1, 0], [3, <NA>])
    """
    kind = spec.kind
    if kind in ("id", "text"):
        return _identifiers(raw, kind), np.zeros(len(raw), bool), None
    if len(raw) >= _FEW and _is_text(raw):
        return _by_distinct_value(raw, spec)
    return (*_parse_cells(raw, kind), None)


def _is_text(raw: pd.Series) -> bool:
    if isinstance(raw.dtype, pd.StringDtype):
        return True
    return raw.dtype == object and pd.api.types.infer_dtype(raw, skipna=True) == "string"


def _by_distinct_value(raw: pd.Series,
                       spec: ColumnSpec) -> tuple[pd.Series, np.ndarray, Codes]:
    """Parse each distinct cell once and give every cell its value: the same result as
    parsing cell by cell, since each cell is parsed on its own."""
    codes, distinct = pd.factorize(raw, use_na_sentinel=True)
    values, bad = _parse_cells(pd.Series(distinct, dtype=object), spec.kind)
    given = codes >= 0
    out = pd.Series(take(values.array, codes, allow_fill=True), index=raw.index,
                    name=raw.name)
    flags = np.zeros(len(raw), bool)
    flags[given] = bad[codes[given]]
    return out, flags, _parsed_codes(codes, values)


def _parsed_codes(codes: np.ndarray, values: pd.Series) -> Codes:
    """The codes of the parsed cells, from the code of each raw cell (-1 where missing) and
    the parsed value of each raw code: no pass over the cells but one lookup."""
    number, parsed = pd.factorize(values, use_na_sentinel=False)
    parsed = pd.Index(parsed)
    blank = np.flatnonzero(parsed.isna())
    if len(blank):
        missing = int(blank[0])
    else:
        missing = len(parsed)
        if (codes < 0).any():
            parsed = parsed.append(pd.Index([None], dtype=parsed.dtype))
    lookup = np.append(number, missing).astype(np.min_scalar_type(-len(parsed) - 1))
    return lookup[codes], parsed


def _identifiers(raw: pd.Series, kind: str) -> pd.Series:
    """Identifiers and free text: stripped, empty cells missing; ``7.0`` read as ``"7"``."""
    if _arrow.is_arrow_text(raw):
        import pyarrow as pa
        import pyarrow.compute as pc

        given = cells = raw.array.__arrow_array__()
        low, high = _arrow.byte_range(raw) or (33, 0)
        if low <= 32 or high >= 128:  # a cell may hold whitespace to strip
            cells = pc.utf8_trim_whitespace(given)
            if pc.all(pc.equal(pc.binary_length(cells),
                               pc.binary_length(given))).as_py() is not False:
                cells = given  # nothing was stripped: keep the column as read, and its memory
        if pc.min(pc.binary_length(cells)).as_py() == 0:
            cells = pc.if_else(pc.equal(cells, ""), pa.scalar(None, cells.type), cells)
        array = pd.arrays.ArrowStringArray(cells, dtype=pd.StringDtype("pyarrow", np.nan))
        return pd.Series(array, index=raw.index, name=raw.name, copy=False)
    if pd.api.types.is_float_dtype(raw) and kind == "id":
        # an id column read as numbers: 7.0 -> "7"
        whole = raw.dropna() == np.floor(raw.dropna())
        if bool(whole.all()):
            raw = raw.astype("Int64")
    text = _as_text(raw)
    return text.astype(object).where(text.notna(), None).astype("str")


def _parse_cells(raw: pd.Series, kind: str) -> tuple[pd.Series, np.ndarray]:
    """Parse cell by cell (numbers, dates, true/false)."""
    if kind == "date":
        return _dates(raw)
    if kind == "bool":
        text = _as_text(raw).str.lower()
        out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy(bool)] = True
        out[text.isin(_FALSE).fillna(False).to_numpy(bool)] = False
        bad = (text.notna() & out.isna()).to_numpy()
        return out, bad
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        numbers = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = np.zeros(len(raw), bool)
    else:
        text = _as_text(raw)
        numbers = pd.to_numeric(text, errors="coerce").astype(float)
        bad = (text.notna() & numbers.isna()).to_numpy()
    if kind == "int":
        # a fraction, an infinity or a number too large to be whole is not a whole number
        frac = numbers.notna() & ((numbers != np.floor(numbers)) | ~np.isfinite(numbers)
                                  | (numbers.abs() >= _LARGEST_WHOLE))
        bad = bad | frac.to_numpy()
        numbers = numbers.mask(frac)
        return numbers.round().astype("Int64"), bad
    return numbers, bad


def _dates(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ISO dates; a date outside the years 1677-2262 (the range of the type) is not read."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw).dt.tz_localize(None).dt.normalize()
        return parsed.astype("datetime64[ns]"), np.zeros(len(raw), bool)
    text = _as_text(raw)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    if isinstance(parsed.dtype, np.dtype):  # time-zone-naive dates
        outside = (parsed < _FIRST_DATE) | (parsed > _LAST_DATE)
        if outside.any():
            parsed = parsed.mask(outside)
    bad = (text.notna() & parsed.isna()).to_numpy()
    return parsed.astype("datetime64[ns]"), bad
