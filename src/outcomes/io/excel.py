"""Excel workbooks (.xlsx, .xlsm), read cell by cell as text with openpyxl.

Cells become text as a spreadsheet shows them: whole numbers without ``.0`` (``3``, not
``3.0``), a number formatted ``000`` with its leading zeros (``007``), dates as ISO dates
(``2024-03-01``; with the time when it is not midnight), and TRUE/FALSE as ``true``/``false``.
The header is the first row that is not blank; rows above it and blank rows are skipped,
and the index, named ``row``, holds each record's row number on the sheet.

A workbook is a zip of XML parts. Before anything is parsed, the sizes the zip directory
declares are checked against the limits (``workbook_bytes``, ``zip_ratio``), so that a small
file that decompresses to gigabytes is refused; the XML is parsed with ``defusedxml``, which
refuses entity tricks; and the size a sheet declares for itself (its ``dimension``) is
ignored, so that a sheet claiming ``A1:XFD1048576`` costs only the cells it holds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any

import pandas as pd

from outcomes._errors import DataError, UsageError
from outcomes.io._common import (
    MISSING,
    TEXT,
    clean_header,
    drop_blank_rows,
    number_rows,
    number_text,
    rename,
    tidy_text,
)
from outcomes.io._limits import LimitError, limits, shorten

__all__ = ["read_sheet", "read_sheets", "open_workbook", "rows_of"]

_ZEROS = re.compile(r"^0+$")

# Parts smaller than this are never zip bombs, whatever their compression ratio.
_SMALL_PART = 1_000_000

_OPEN_FIX = "Save it from Excel as .xlsx (File > Save As > Excel Workbook)."


def read_sheet(
    path: str | PathLike[str],
    *,
    file: str,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    na_values: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read one sheet of a workbook as text cells indexed by sheet row.

    Parameters
    ----------
    path : str or path-like
        The workbook.
    file : str
        The name used in messages.
    sheet : str or int, optional
        The sheet's name (case and surrounding spaces ignored) or 0-based position;
        the first sheet by default.
    columns : mapping, optional
        Rename {name in the file: new name}, applied after reading.
    na_values : iterable of str, optional
        Cell texts that mean missing, after stripping; default ``MISSING``.

    Returns
    -------
    pandas.DataFrame
        Text columns; index ``row`` = the sheet row; ``attrs["sheet"]`` = the sheet's name.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "study.xlsx"
    >>> book = openpyxl.Workbook()
    >>> book.active.append(["coach_id", "years_experience"])
    >>> book.active.append([7, 3.0])
    >>> book.save(p)
    >>> read_sheet(p, file="study.xlsx")
        coach_id years_experience
    row
    2          7                3
    """
    book = open_workbook(path, file=file)
    try:
        names = book.sheetnames
        title = names[_pick(names, sheet, file=file)]
        return _sheet_frame(book[title], file=file, columns=columns, na_values=na_values)
    finally:
        book.close()


def read_sheets(
    path: str | PathLike[str], *, file: str, na_values: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Read every sheet, keyed by its name lower-cased and stripped.

    Each table's ``attrs["source_file"]`` reads ``<file>:<key>``; an empty sheet gives an
    empty frame.

    Raises
    ------
    DataError
        When two sheet names differ only in case or surrounding spaces.
    """
    book = open_workbook(path, file=file)
    try:
        tables: dict[str, pd.DataFrame] = {}
        for title in book.sheetnames:
            key = title.strip().lower()
            if key in tables:
                raise DataError(
                    f'two sheets are both called "{key}" once case and spaces are ignored',
                    file=file,
                    fix="Rename one of the sheets.",
                )
            where = f"{file}:{key}"
            try:
                table = _sheet_frame(book[title], file=where, columns=None, na_values=na_values)
            except _EmptySheet:
                table = number_rows(pd.DataFrame(), [])
                table.attrs["sheet"] = title
            table.attrs["source_file"] = where
            tables[key] = table
        return tables
    finally:
        book.close()


class _EmptySheet(DataError):
    pass


def open_workbook(path: str | PathLike[str], *, file: str | None = None) -> Any:
    """Open a workbook read-only for its values, within the reading limits.

    The file's size, the decompressed sizes its zip directory declares and their ratio to
    the stored sizes are checked first; the XML is parsed with ``defusedxml``. Read each
    sheet with :func:`rows_of`, which ignores the size a sheet declares for itself.

    Raises
    ------
    DataError
        When the file is not a workbook.
    LimitError
        When it is beyond a limit (``file_bytes``, ``workbook_bytes``, ``zip_ratio``).
    UsageError
        When ``defusedxml`` is not in use (it is a dependency of `outcomes`).
    """
    import openpyxl

    file = file or os.fspath(path)
    _check_defused()
    bound = limits()
    size = os.path.getsize(path)
    if size > bound.file_bytes:
        raise LimitError(f"the file holds {size:,} bytes", limit="file_bytes", file=file)
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DataError(f"the file cannot be opened as an Excel workbook ({shorten(error, 80)})",
                        file=file, fix=_OPEN_FIX) from None
    total = sum(part.file_size for part in parts)
    if total > bound.workbook_bytes:
        raise LimitError(f"the workbook decompresses to {total:,} bytes",
                         limit="workbook_bytes", file=file)
    for part in parts:
        stored = max(part.compress_size, 1)
        if part.file_size > _SMALL_PART and part.file_size > bound.zip_ratio * stored:
            raise LimitError(
                f"the part {shorten(part.filename)} decompresses from {stored:,} to "
                f"{part.file_size:,} bytes, {part.file_size // stored:,} times larger",
                limit="zip_ratio", file=file,
                fix="A workbook saved by a spreadsheet program does not compress like this",
            )
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DataError(f"the file cannot be opened as an Excel workbook ({_reason(error)})",
                        file=file, fix=_OPEN_FIX) from None


def _reason(error: BaseException) -> str:
    """Why a workbook could not be parsed, in a short phrase."""
    cause: BaseException | None = error
    while cause is not None:
        if type(cause).__module__.startswith("defusedxml"):
            return ("its XML declares entities or a DTD, a way to make a small file expand "
                    "that spreadsheet programs never use")
        cause = cause.__cause__ or cause.__context__
    return shorten(error, 80)


def _check_defused() -> None:
    """Refuse to parse workbooks when openpyxl would not use defusedxml."""
    from openpyxl.reader import strings
    from openpyxl.worksheet import _reader

    parsers = (_reader.iterparse, strings.iterparse)
    if not all(getattr(p, "__module__", "").startswith("defusedxml") for p in parsers):
        raise UsageError(
            "reading workbooks safely needs the package defusedxml, which openpyxl is not "
            "using. Install it (pip install defusedxml) and leave OPENPYXL_DEFUSEDXML unset."
        )


def rows_of(worksheet: Any, *, file: str) -> Any:
    """The rows of a read-only sheet as ``(row number, cells)``, within the limits.

    The sheet's declared size is ignored (openpyxl would otherwise pad every row to it);
    more rows, columns or cells than the limits allow end the reading with a LimitError,
    and XML that cannot be parsed with a DataError.
    """
    if hasattr(worksheet, "reset_dimensions"):
        worksheet.reset_dimensions()
    bound = limits()
    cells_read = 0
    number = 0
    try:
        for number, cells in enumerate(worksheet.iter_rows(min_row=1), start=1):
            if number > bound.rows:
                raise LimitError(f"the sheet has more than {bound.rows:,} rows", limit="rows",
                                 file=file)
            if len(cells) > bound.columns:
                raise LimitError(f"this row has {len(cells):,} columns", limit="columns",
                                 file=file, row=number)
            cells_read += len(cells)
            if cells_read > bound.cells:
                raise LimitError(f"the sheet holds more than {bound.cells:,} cells",
                                 limit="cells", file=file, row=number)
            yield number, cells
    except (ValueError, SyntaxError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(
            f"the sheet cannot be read after row {number} ({_reason(error)})",
            file=file,
            fix=_OPEN_FIX,
        ) from None


def _pick(names: list[str], sheet: str | int | None, *, file: str) -> int:
    if sheet is None:
        return 0
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return sheet
    elif isinstance(sheet, str):
        wanted = sheet.strip().lower()
        for position, name in enumerate(names):
            if name.strip().lower() == wanted:
                return position
    offer = ", ".join(f'"{shorten(n)}"' for n in names[:20]) + (", …" if len(names) > 20 else "")
    raise UsageError(f"{file} has no sheet {shorten(repr(sheet))}. Its sheets are {offer}.")


def _sheet_frame(
    worksheet: Any,
    *,
    file: str,
    columns: Mapping[str, str] | None,
    na_values: Iterable[str] | None,
) -> pd.DataFrame:
    header: list[Any] | None = None
    header_row = 0
    records: list[list[Any]] = []
    rows: list[int] = []
    for number, cells in rows_of(worksheet, file=file):
        values = [_text(cell) for cell in cells]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if header is None:
            header, header_row = values, number
        else:
            records.append(values)
            rows.append(number)
    if header is None:
        raise _EmptySheet(
            "the sheet is empty",
            file=file,
            fix="Put the column names in the first row and one record per row.",
        )
    width = max([len(header), *map(len, records)])
    header = header + [None] * (width - len(header))
    names = clean_header(header, file=file, row=header_row)
    data = {
        position: pd.Series(
            [r[position] if position < len(r) else None for r in records], dtype=object
        ).astype(TEXT)
        for position in range(width)
    }
    frame = pd.DataFrame(data)
    frame.columns = names
    frame = tidy_text(number_rows(frame, rows), MISSING if na_values is None else na_values)
    empty = [
        n for n, h in zip(names, header, strict=True)
        if (h is None or not str(h).strip()) and frame[n].isna().all()
    ]
    frame = drop_blank_rows(frame.drop(columns=empty))
    frame = rename(frame, columns, file=file)
    frame.attrs["sheet"] = worksheet.title
    return frame


def _text(cell: Any) -> Any:
    """A cell's value as the text a spreadsheet shows (None when the cell is empty)."""
    value = cell.value
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    text = number_text(value)
    if not isinstance(text, str):
        return None if isinstance(text, float) else str(text)
    style = getattr(cell, "number_format", None) or ""
    if text.isdigit() and _ZEROS.match(style):
        return text.zfill(len(style))
    return text
