"""SPSS .sav files via pyreadstat: user-missing codes, value labels, variable labels.

* Codes the file declares as user-missing (up to three values, or a range and a value)
  become missing, and ``attrs["user_missing"]`` counts them per column ({column: count},
  columns with at least one). A code that was never declared, such as an undeclared
  ``-99``, stays an ordinary number for the validator to reject.
* A column with value labels becomes a Categorical of its labels (a code without a label
  keeps its code as the category, so nothing is lost), except the canonical numeric columns
  :data:`CODED` and any column named in ``keep_codes``, which keep their codes. The labels
  of every labelled column are kept in ``attrs["value_labels"]`` ({column: {code: label}}).
* Variable labels are kept in ``attrs["variable_labels"]`` ({column: label}).
* Id columns (``id``, ``*_id``) become text: ``7.0`` -> ``"7"``.

A .sav file has no lines, so the index, named ``row``, holds the case number + 1: the first
case is row 2, as it would be in a spreadsheet with a header row.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError
from outcomes.io._common import (
    clean_header,
    id_to_text,
    is_id_column,
    number_rows,
    number_text,
    rename,
    tidy_text,
)
from outcomes.io._limits import check_shape
from outcomes.schema import NUMERIC

__all__ = ["read_spss", "CODED"]

#: Canonical numeric columns that keep their codes even when the file labels them.
CODED: tuple[str, ...] = NUMERIC


def read_spss(
    path: str | PathLike[str],
    *,
    file: str,
    columns: Mapping[str, str] | None = None,
    keep_codes: Iterable[str] = (),
) -> pd.DataFrame:
    """Read an SPSS .sav file with its missing-value declarations and labels.

    Parameters
    ----------
    path : str or path-like
        The file.
    file : str
        The name used in messages.
    columns : mapping, optional
        Rename {name in the file: new name}, applied straight after reading, so that
        :data:`CODED`, ``keep_codes`` and the ``attrs`` use the new names.
    keep_codes : iterable of str, optional
        Further columns whose codes are kept rather than replaced by their labels.

    Returns
    -------
    pandas.DataFrame
        Index ``row`` = case number + 1; ``attrs`` as described in the module docstring.

    Examples
    --------
    >>> import tempfile, pathlib, pyreadstat
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "intake.sav"
    >>> raw = pd.DataFrame({"client_id": [1.0, 2.0], "sex": [1.0, 2.0], "value": [4.0, -9.0]})
    >>> pyreadstat.write_sav(raw, str(p), missing_ranges={"value": [-9.0]},
    ...                      variable_value_labels={"sex": {1.0: "female", 2.0: "male"}})
    >>> t = read_spss(p, file="intake.sav")
    >>> t
        client_id     sex  value
    row
    2           1  female    4.0
    3           2    male    NaN
    >>> t.attrs["user_missing"]
    {'value': 1}
    """
    import pyreadstat

    try:
        _, head = pyreadstat.read_sav(str(path), metadataonly=True)
        check_shape(head.number_rows or 0, head.number_columns or 0, file=file,
                    size=os.path.getsize(path))
        frame, meta = pyreadstat.read_sav(
            str(path), user_missing=True, dates_as_pandas_datetime=True
        )
    except (pyreadstat.PyreadstatError, pyreadstat.ReadstatError) as error:
        raise DataError(
            f"the file cannot be read as SPSS data ({error})",
            file=file,
            fix="Save it from SPSS as .sav (File > Save As > SPSS Statistics).",
        ) from None
    old = list(frame.columns)
    frame.columns = clean_header(old, file=file, row=1)
    frame = rename(frame, columns, file=file)
    new = dict(zip(old, frame.columns, strict=True))
    missing = {new[k]: v for k, v in (meta.missing_ranges or {}).items() if k in new}
    labels = {new[k]: v for k, v in (meta.variable_value_labels or {}).items() if k in new}
    variable_labels = {
        new[k]: v for k, v in (meta.column_names_to_labels or {}).items() if k in new and v
    }
    frame, counts = _user_missing(frame, missing)
    frame = tidy_text(frame)
    keep = set(CODED) | set(keep_codes)
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        if is_id_column(name):
            frame.isetitem(position, id_to_text(column).array)
        elif name in labels and name not in keep:
            frame.isetitem(position, _labelled(column, labels[name]).array)
    frame = number_rows(frame, np.arange(2, len(frame) + 2))
    frame.attrs["user_missing"] = counts
    frame.attrs["value_labels"] = labels
    frame.attrs["variable_labels"] = variable_labels
    return frame


def _user_missing(
    frame: pd.DataFrame, declared: Mapping[str, list[Any]]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Blank the declared user-missing codes; count them per column."""
    frame = frame.copy(deep=False)
    counts: dict[str, int] = {}
    for name, ranges in declared.items():
        column = frame[name]
        text = pd.api.types.is_string_dtype(column.dtype) or column.dtype == object
        hit = pd.Series(False, index=column.index)
        for bounds in ranges:
            low, high = bounds["lo"], bounds["hi"]
            if text:
                stripped = column.astype(object).map(
                    lambda v: v.strip() if isinstance(v, str) else v
                )
                hit |= stripped.isin({str(low).strip(), str(high).strip()})
            else:
                hit |= (column >= low) & (column <= high)
        count = int(hit.sum())
        if count:
            frame[name] = column.mask(hit)
            counts[name] = count
    return frame, counts


def _labelled(column: pd.Series, labels: Mapping[Any, str]) -> pd.Series:
    """Codes -> a Categorical of labels in code order; unlabelled codes keep their code."""
    by_code = {_key(code): str(label) for code, label in labels.items()}
    values = [
        None if pd.isna(v) else by_code.get(_key(v), str(number_text(v))) for v in column.tolist()
    ]
    ordered = sorted(labels, key=lambda c: (isinstance(c, str), c))
    categories = list(dict.fromkeys([by_code[_key(c)] for c in ordered]))
    extra = sorted({v for v in values if v is not None} - set(categories))
    return pd.Series(
        pd.Categorical(values, categories=categories + extra), index=column.index, name=column.name
    )


def _key(code: Any) -> Any:
    """Match 1, 1.0 and " 1" alike."""
    if isinstance(code, str):
        return code.strip()
    return float(code)
