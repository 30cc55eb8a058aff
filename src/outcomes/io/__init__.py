"""Read raw files into tables that remember where each row came from.

One reader per format turns a file into a pandas DataFrame with the file's own column names
(renamed by ``columns=`` when given) and two pieces of provenance:

* the index, named ``row``, holds each record's **line in the source file**, so that a
  message can say ``sessions.csv, row 14`` and the user finds the record on line 14:

  ========================  ===========================================================
  CSV, TSV, TXT             the physical line: the header is line 1, the first record
                            line 2; a quoted cell that spans lines pushes later records
                            down; blank lines are skipped but counted.
  Excel (.xlsx, .xlsm)      the row number on the sheet (the header row is counted).
  Parquet, SPSS (.sav)      the record number + 1 (first record = 2), so that ``row``
                            reads as it would in a spreadsheet with a header row.
  ========================  ===========================================================

* ``frame.attrs["source_file"]`` holds the path as given (``"book.xlsx:sheet"`` for the
  tables of :func:`read_workbook`).

CSV and Excel cells are read as text (``"007"`` stays ``"007"``); the validator turns text
into numbers and dates and reports each value it cannot read. Parquet and SPSS columns keep
their stored types, except id columns (``id``, ``*_id``), which become text. Everywhere,
whitespace around cells and column names is stripped, empty cells are missing, and a
column name that appears twice is a :class:`~outcomes._errors.DataError`. In CSV and Excel
the markers in :data:`MISSING` (``NA``, ``N/A``, ``#N/A``, ``NaN``, ``NULL``) are missing
too, and records whose cells are all empty (blank lines, rows of bare separators) are
dropped. A text cell that starts with a quote before a formula character (``'=x``, as
:func:`write_table` writes it so that no spreadsheet runs it) loses that one quote, so a
table written and read again keeps its values (:mod:`outcomes.io.writing`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import pandas as pd

from outcomes._errors import UsageError
from outcomes.io._common import MISSING, check_options
from outcomes.io._limits import LimitError, limit_variable, limits, shorten
from outcomes.io._nested import parse_json, parse_toml, read_toml
from outcomes.io.delimited import read_delimited
from outcomes.io.excel import open_workbook, read_sheet, read_sheets, rows_of
from outcomes.io.parquet import read_parquet
from outcomes.io.spss import CODED, read_spss
from outcomes.io.writing import neutralise_formulas, safe_cell, write_table

__all__ = ["FORMATS", "MISSING", "CODED", "read_table", "read_workbook", "write_table",
           "safe_cell", "neutralise_formulas", "limits", "limit_variable", "LimitError",
           "shorten", "read_toml", "parse_toml", "parse_json", "open_workbook", "rows_of"]

_SUFFIXES: dict[str, str] = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "csv",
    ".csv.gz": "csv", ".tsv.gz": "tsv", ".txt.gz": "csv",
    ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".sav": "spss",
}

#: The file suffixes :func:`read_table` reads (case is ignored).
FORMATS: tuple[str, ...] = tuple(_SUFFIXES)

_FORMAT_NAMES: dict[str, str] = {
    "csv": "csv", "txt": "csv", "tsv": "tsv", "excel": "excel", "xlsx": "excel",
    "xlsm": "excel", "parquet": "parquet", "spss": "spss", "sav": "spss",
}

_OPTIONS: dict[str, tuple[str, ...]] = {
    "csv": ("sep", "decimal", "encoding", "na_values"),
    "excel": ("na_values",),
    "parquet": (),
    "spss": ("keep_codes",),
}


def read_table(
    path: str | PathLike[str],
    *,
    kind: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    format: str | None = None,
    **options: object,
) -> pd.DataFrame:
    """Read one table from a CSV/TSV/TXT (optionally .gz), Excel, Parquet or SPSS file.

    Parameters
    ----------
    path : str or path-like
        The file. Its suffix (one of :data:`FORMATS`) says how to read it.
    kind : str, optional
        The canonical table the file holds (``"sessions"``, ``"responses"``, ...); recorded
        in ``attrs["kind"]`` for the validator and messages. It does not change the reading.
    sheet : str or int, optional
        Excel only: the sheet's name (case ignored) or 0-based position; default the first.
    columns : mapping, optional
        Rename {name in the file: new name}, applied after reading. Naming a column the
        file lacks is a DataError.
    format : {"csv", "tsv", "excel", "parquet", "spss"}, optional
        The file format, for a file whose suffix does not say it.
    **options
        CSV: ``sep`` (``","``, ``";"`` or ``"\\t"``; found from the header by default),
        ``decimal`` (``","`` or ``"."``; decimal commas are converted by default when the
        separator is ``";"``), ``encoding`` (default UTF-8 with or without BOM, or UTF-16
        with BOM), ``na_values`` (default :data:`MISSING`). Excel: ``na_values``.
        SPSS: ``keep_codes`` (columns that keep codes instead of value labels).

    Returns
    -------
    pandas.DataFrame
        Index ``row`` (the line in the source, see the module docstring);
        ``attrs["source_file"]`` = ``path`` as given; ``attrs["kind"]`` = ``kind`` when
        given. Excel adds ``attrs["sheet"]``; SPSS
        adds ``attrs["user_missing"]``, ``attrs["value_labels"]``, ``attrs["variable_labels"]``.

    Raises
    ------
    UsageError
        For an unsupported suffix or format, a missing file, an option the format does not
        take, or a sheet the workbook does not have.
    DataError
        For a file that cannot be read as a table (the message names the file, the line
        and the fix).
    LimitError
        For a file beyond a reading limit (bytes, rows, columns, cells, decompressed size;
        see :func:`limits` and ``docs/data.md``). It is a UsageError: the command line
        exits 2.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "coaches.csv"
    >>> _ = p.write_text("coach_id,years_experience\\n007,3.5\\n008,\\n", encoding="utf-8")
    >>> t = read_table(p, columns={"years_experience": "years"})
    >>> t
        coach_id years
    row
    2        007   3.5
    3        008   NaN
    >>> t.attrs["source_file"] == str(p)
    True
    """
    file = os.fspath(path)
    form = _format(file, format)
    if sheet is not None and form != "excel":
        raise UsageError(f"{file}: sheet= applies to Excel workbooks only.")
    check_options(options, _OPTIONS["csv" if form == "tsv" else form], reader=form)
    _exists(file)
    if form in ("csv", "tsv"):
        if form == "tsv":
            options.setdefault("sep", "\t")
        frame = read_delimited(path, file=file, columns=columns, **options)  # type: ignore[arg-type]
    elif form == "excel":
        frame = read_sheet(path, file=file, sheet=sheet, columns=columns, **options)  # type: ignore[arg-type]
    elif form == "parquet":
        frame = read_parquet(path, file=file, columns=columns)
    else:
        frame = read_spss(path, file=file, columns=columns, **options)  # type: ignore[arg-type]
    frame.attrs["source_file"] = file
    if kind is not None:
        frame.attrs["kind"] = kind
    return frame


def read_workbook(path: str | PathLike[str], **options: object) -> dict[str, pd.DataFrame]:
    """Read every sheet of an Excel workbook, keyed by sheet name (lower-cased, stripped).

    Each table is read as :func:`read_table` reads a sheet, with index ``row`` = the row
    on the sheet and ``attrs["source_file"]`` = ``"<path>:<sheet key>"``. An empty sheet
    gives an empty table.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "study.xlsx"
    >>> book = openpyxl.Workbook()
    >>> book.active.title = "Coaches"
    >>> book.active.append(["coach_id"]); book.active.append([7])
    >>> book.create_sheet("Notes").append(["note"])
    >>> book.save(p)
    >>> tables = read_workbook(p)
    >>> sorted(tables), tables["coaches"].attrs["source_file"] == f"{p}:coaches"
    (['coaches', 'notes'], True)
    """
    file = os.fspath(path)
    if _format(file, None) != "excel":
        raise UsageError(f"{file}: read_workbook reads Excel workbooks (.xlsx, .xlsm) only.")
    check_options(options, _OPTIONS["excel"], reader="excel")
    _exists(file)
    return read_sheets(path, file=file, **options)  # type: ignore[arg-type]


def _format(file: str, form: str | None) -> str:
    if form is not None:
        if form.lower() not in _FORMAT_NAMES:
            raise UsageError(
                f"format={form!r} is not a format read here. Use one of: "
                f"{', '.join(sorted(set(_FORMAT_NAMES)))}."
            )
        return _FORMAT_NAMES[form.lower()]
    name = Path(file).name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    suffix = shorten(Path(file).suffix or "(none)")
    raise UsageError(
        f'{file}: the suffix "{suffix}" is not a format read here. '
        f"Supported: {', '.join(FORMATS)}; or pass format=."
    )


def _exists(file: str) -> None:
    if not os.path.isfile(file):
        what = "is a folder, not a file" if os.path.isdir(file) else "does not exist"
        raise UsageError(f"{file} {what}. Check the path.")
