"""What every reader does to a raw table: clean the header, tidy the cells, number the rows.

A table read by :mod:`outcomes.io` has an index named ``row`` that holds each record's line
in the source file, so that a message about it can say ``sessions.csv, row 14``. The
functions here are shared by the readers; none of them changes the frame it is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from outcomes._errors import DataError, UsageError
from outcomes.io import _arrow
from outcomes.io._limits import shorten
from outcomes.io.writing import restore_cell, restore_formulas

__all__ = [
    "MISSING",
    "TEXT",
    "is_id_column",
    "column_letter",
    "clean_header",
    "rename",
    "tidy_text",
    "drop_blank_rows",
    "id_to_text",
    "number_text",
    "number_rows",
    "count_newlines",
    "check_options",
]

#: Cell texts that mean "no value" in CSV and Excel files (after stripping whitespace):
#: the empty cell, and the markers R, Excel and databases write for missing values.
MISSING: tuple[str, ...] = ("", "NA", "N/A", "#N/A", "NaN", "NULL")

#: The dtype of text columns: pandas' ``str`` (pandas 3) or ``object`` (pandas 2).
TEXT = pd.Series(["a"], dtype=str).dtype


def is_id_column(name: object) -> bool:
    """Whether a column holds identifiers: ``id`` or a name ending in ``_id``.

    Examples
    --------
    >>> [is_id_column(c) for c in ["coach_id", "id", "idea", "value"]]
    [True, True, False, False]
    """
    text = str(name).lower()
    return text == "id" or text.endswith("_id")


def column_letter(position: int) -> str:
    """The spreadsheet letter of a 1-based column position.

    Examples
    --------
    >>> column_letter(1), column_letter(26), column_letter(28)
    ('A', 'Z', 'AB')
    """
    letters = ""
    while position > 0:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def clean_header(names: Sequence[object], *, file: str, row: int) -> list[str]:
    """Strip the column names and refuse a name that appears twice.

    An empty name becomes ``unnamed_<position>`` (1-based), so that R's row-name column
    and a trailing empty column can be recognised and dropped by the caller.

    Raises
    ------
    DataError
        When two columns carry the same name; the message names both positions.

    Examples
    --------
    >>> clean_header([" engagement_id", "value ", None], file="a.csv", row=1)
    ['engagement_id', 'value', 'unnamed_3']
    """
    cleaned: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        text = str(restore_cell(text.strip())) or f"unnamed_{position}"
        if text in seen:
            first = seen[text]
            raise DataError(
                f"columns {first} and {position} ({column_letter(first)} and "
                f'{column_letter(position)}) are both named "{shorten(text)}"',
                file=file,
                row=row,
                fix="Rename one of them or delete the copy.",
            )
        seen[text] = position
        cleaned.append(text)
    return cleaned


def rename(frame: pd.DataFrame, columns: Mapping[str, str] | None, *, file: str) -> pd.DataFrame:
    """Rename columns by a mapping {name in the file: new name}; return a new frame.

    Raises
    ------
    DataError
        When the mapping names a column the file does not have.
    UsageError
        When the mapping gives two columns the same new name.

    Examples
    --------
    >>> rename(pd.DataFrame({"ID": ["1"]}), {"ID": "client_id"}, file="a.csv").columns.tolist()
    ['client_id']
    """
    if not columns:
        return frame
    absent = [name for name in columns if name not in frame.columns]
    if absent:
        have = ", ".join(f'"{shorten(c)}"' for c in frame.columns[:20])
        have += ", …" if frame.shape[1] > 20 else ""
        raise DataError(
            f'column "{shorten(absent[0])}" named in the column mapping is not in the file',
            file=file,
            fix=f"The file's columns are {have}; correct the mapping.",
        )
    new = [columns.get(c, c) for c in frame.columns]
    repeated = sorted({n for n in new if new.count(n) > 1})
    if repeated:
        sources = [c for c in frame.columns if columns.get(c, c) == repeated[0]]
        raise UsageError(
            f"{file}: the column mapping gives {' and '.join(map(repr, sources))} the same "
            f'name "{repeated[0]}". Map each column to a different name.'
        )
    out = frame.copy(deep=False)
    out.columns = new
    return out


def tidy_text(frame: pd.DataFrame, missing: Iterable[str] = ("",)) -> pd.DataFrame:
    """Strip whitespace around text cells and turn missing markers into NaN; a new frame.

    A cell the toolkit wrote with a quote before a formula (``'=x``, see
    :func:`outcomes.io.safe_cell`) loses that quote. Only columns that hold text are
    touched; numbers and dates pass through.

    Examples
    --------
    >>> tidy_text(pd.DataFrame({"a": [" x ", "", "NA"]}), MISSING)["a"].tolist()
    ['x', nan, nan]
    """
    markers = list(missing)
    out = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if not _holds_text(column):
            continue
        if _arrow.is_arrow_text(column):  # the same steps, in Arrow's kernels
            out.isetitem(position, _arrow.tidy(column, markers).array)
            continue
        stripped = restore_formulas(column.str.strip())
        out.isetitem(position, stripped.mask(stripped.isin(markers)).array)
    return out


def _holds_text(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:
        return True
    return column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string"


def drop_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the records in which every cell is missing (blank lines, rows of bare commas).

    Examples
    --------
    >>> drop_blank_rows(pd.DataFrame({"a": ["1", None], "b": [None, None]})).shape
    (1, 2)
    """
    if frame.shape[1] == 0:
        return frame
    for position in range(frame.shape[1]):  # a column without a missing cell keeps every row
        if not frame.iloc[:, position].hasnans:
            return frame
    return frame.loc[frame.notna().any(axis=1)]


def number_text(value: object) -> object:
    """Write a number as a spreadsheet shows it: whole numbers without ``.0``.

    Missing values stay missing; text is returned unchanged.

    Examples
    --------
    >>> number_text(7.0), number_text(2.5), number_text("007"), number_text(float("nan"))
    ('7', '2.5', '007', nan)
    """
    if value is None or value is pd.NA:
        return np.nan
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if np.isnan(number):
            return np.nan
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    return value


def id_to_text(column: pd.Series) -> pd.Series:
    """Turn an identifier column into text (7.0 -> "7"), keeping missing values missing.

    Examples
    --------
    >>> id_to_text(pd.Series([7.0, None, 12.0])).tolist()
    ['7', nan, '12']
    """
    if _holds_text(column):
        return column.str.strip()
    values = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
    text = [number_text(v) for v in values.tolist()]
    text = [v.strip() if isinstance(v, str) else (np.nan if _is_nan(v) else str(v)) for v in text]
    return pd.Series(text, index=column.index, dtype=object, name=column.name).astype(TEXT)


def _is_nan(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def count_newlines(raw: bytes, block: int = 1 << 23) -> int:
    """The number of line feeds in ``raw``, counted a block at a time by numpy (three
    times as fast as ``bytes.count``).

    Examples
    --------
    >>> count_newlines(b"a\\nb\\n\\n", block=2)
    3
    """
    view = np.frombuffer(raw, dtype=np.uint8)
    return sum(int(np.count_nonzero(view[start:start + block] == 10))
               for start in range(0, len(view), block))


def number_rows(frame: pd.DataFrame, rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """Put the source line numbers in the index, named ``row``; a new frame.

    Examples
    --------
    >>> number_rows(pd.DataFrame({"a": ["x", "y"]}), [2, 3]).index.tolist()
    [2, 3]
    """
    out = frame.copy(deep=False)
    out.index = pd.Index(np.asarray(rows, dtype=np.int64), name="row")
    return out


def check_options(options: Mapping[str, object], allowed: Iterable[str], *, reader: str) -> None:
    """Refuse an option the reader does not understand, naming the ones it does.

    Examples
    --------
    >>> check_options({"sep": ";"}, ["sep"], reader="CSV")
    """
    allowed = sorted(allowed)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        offer = ", ".join(allowed) if allowed else "none"
        raise UsageError(
            f"the {reader} reader does not take the option {unknown[0]!r}. "
            f"Options it takes: {offer}."
        )
