"""Parse raw table cells (usually text) into the canonical column types, cell by cell.

Parsing never raises on a bad cell: it returns the parsed column and a mask of the cells that
could not be parsed, so that validation can name every bad cell with its row and column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes.schema import ColumnSpec

__all__ = ["parse_column", "FIXES"]

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
    kind = spec.kind
    if kind in ("id", "text"):
        if pd.api.types.is_float_dtype(raw) and kind == "id":
            # an id column read as numbers: 7.0 -> "7"
            whole = raw.dropna() == np.floor(raw.dropna())
            if bool(whole.all()):
                raw = raw.astype("Int64")
        text = _as_text(raw)
        return text.astype(object).where(text.notna(), None).astype("str"), np.zeros(len(raw), bool)
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw):
            parsed = pd.to_datetime(raw).dt.tz_localize(None).dt.normalize()
            return parsed.astype("datetime64[ns]"), np.zeros(len(raw), bool)
        text = _as_text(raw)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        bad = (text.notna() & parsed.isna()).to_numpy()
        return parsed.astype("datetime64[ns]"), bad
    if kind == "bool":
        text = _as_text(raw).str.lower()
        out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy(bool)] = True
        out[text.isin(_FALSE).fillna(False).to_numpy(bool)] = False
        bad = (text.notna() & out.isna()).to_numpy()
        return out, bad
    # numbers
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        numbers = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = np.zeros(len(raw), bool)
    else:
        text = _as_text(raw)
        numbers = pd.to_numeric(text, errors="coerce").astype(float)
        bad = (text.notna() & numbers.isna()).to_numpy()
    if kind == "int":
        # a fraction, or a number too large to be a whole one ("1e999" reads as infinity)
        frac = numbers.notna() & ((numbers != np.floor(numbers)) | ~np.isfinite(numbers)
                                  | (numbers.abs() > 2.0 ** 53))
        bad = bad | frac.to_numpy()
        numbers = numbers.mask(frac)
        return numbers.round().astype("Int64"), bad
    return numbers, bad
