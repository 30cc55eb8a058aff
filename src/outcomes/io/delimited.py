"""Delimited text files: CSV, TSV and TXT, optionally gzip-compressed.

Every cell is read as text, so ``"007"`` stays ``"007"``; types are the validator's job.
The separator (comma, semicolon or tab) is found from the header line, and a semicolon
file's decimal commas (``3,5``) become decimal points in cells that look like numbers.
The index, named ``row``, holds each record's line in the file: the header is line 1, so
the first record is line 2, and a quoted cell that spans lines pushes later records down.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError, UsageError
from outcomes.io import _arrow
from outcomes.io._common import (
    MISSING,
    clean_header,
    count_newlines,
    drop_blank_rows,
    is_id_column,
    number_rows,
    rename,
    tidy_text,
)
from outcomes.io._limits import LimitError, limits, shorten
from outcomes.io.writing import restore_formulas

__all__ = ["read_delimited", "SEPARATORS"]

#: The separators recognised in a header line, in order of preference on a tie.
SEPARATORS: tuple[str, ...] = (",", ";", "\t")

ENCODING_FIX = "Save it as UTF-8 (Excel: File > Save As > CSV UTF-8)."

# A number written with a decimal comma, optionally with "." grouping thousands: 3,5  -0,25  1.234,5
_DECIMAL_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+"


def read_delimited(
    path: str | PathLike[str],
    *,
    file: str,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    na_values: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read a delimited text file into a frame of text cells indexed by source line.

    Parameters
    ----------
    path : str or path-like
        The file; a name ending in ``.gz`` is decompressed.
    file : str
        The name used in messages (the path as the caller gave it).
    columns : mapping, optional
        Rename {name in the file: new name}, applied after reading.
    sep : {",", ";", "\\t"}, optional
        The separator; found from the header line when not given. A first line ``sep=;``
        (written by Excel) also sets it and is skipped.
    decimal : {",", "."}, optional
        ``","`` turns decimal commas into points, ``"."`` leaves cells alone. By default
        decimal commas are converted when the separator is ``;``. Id columns are never touched.
    encoding : str, optional
        The text encoding. By default UTF-8 (with or without BOM), or UTF-16 when the file
        starts with its BOM or when every other byte of its first kilobyte is zero (UTF-16
        text without a BOM). A stray NUL byte elsewhere stays in its cell, where validation
        reports it as a problem of that row.
    na_values : iterable of str, optional
        Cell texts that mean missing, after stripping; default :data:`MISSING`.

    Returns
    -------
    pandas.DataFrame
        Text columns; index ``row`` = line of each record in the file. A file with only a
        header gives an empty frame with those columns.

    Raises
    ------
    DataError
        For an empty file, undecodable bytes (with the byte offset and line), a repeated
        column name, a line with more fields than the header, or a quote that is never
        closed (with the line where it opens).
    LimitError
        For a file beyond a reading limit (bytes, rows, columns or cells; see
        :mod:`outcomes.io._limits`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("engagement_id;value\\n007;3,5\\n008;4\\n", encoding="utf-8")
    >>> t = read_delimited(p, file="s.csv")
    >>> t
        engagement_id value
    row
    2             007   3.5
    3             008     4
    """
    if sep is not None and sep not in SEPARATORS:
        raise UsageError(f"sep must be one of {SEPARATORS!r}, not {sep!r}.")
    if decimal not in (None, ",", "."):
        raise UsageError(f'decimal must be "," or ".", not {decimal!r}.')
    bound = limits()
    text, raw = _decode(_read_bytes(path, file=file, most=bound.file_bytes), file=file,
                        encoding=encoding)
    skip = len(text) - len(text.lstrip("\r\n"))
    if len(text) == skip or text.isspace():
        raise DataError(
            "the file is empty",
            file=file,
            fix="Export the table with a header row and one line per record.",
        )
    header_line = text.count("\n", 0, skip) + 1
    end = text.find("\n", skip)
    first = text[skip : len(text) if end < 0 else end].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        sep = sep or first[4]
        skip = len(text) if end < 0 else end + 1
        header_line += 1
        end = text.find("\n", skip)
        first = text[skip : len(text) if end < 0 else end]
    sep = sep or _sniff(first)
    markers = list(MISSING if na_values is None else na_values)
    table, rows, tidy = _records(raw[skip:], text[skip:], sep, first, markers, file=file,
                                 header_line=header_line)
    header = table.iloc[0].tolist()
    if not tidy:  # Arrow read an empty header cell as missing
        header = ["" if pd.isna(h) else h for h in header]
    names = clean_header(header, file=file, row=header_line)
    frame = table.iloc[1:]
    frame.columns = names
    frame = number_rows(frame, rows)
    if tidy:
        frame = tidy_text(frame, markers)
    elif b"'" in raw:  # without a quote there is no quoted formula to restore
        frame = _restore_quotes(frame)
    if decimal == "," or (decimal is None and sep == ";"):
        frame = _decimal_points(frame)
    unnamed = [n for n, h in zip(names, header, strict=True) if not str(h).strip()]
    empty = [n for n in unnamed if frame[n].isna().all()]
    frame = drop_blank_rows(frame.drop(columns=empty))
    return rename(frame, columns, file=file)


def _records(raw: bytes, body: str, sep: str, first: str, markers: list[str], *, file: str,
             header_line: int) -> tuple[pd.DataFrame, np.ndarray, bool]:
    """Every record (header first) as text, the line each one starts on, and whether its
    cells still need :func:`~outcomes.io._common.tidy_text`.

    Arrow reads the file when it reads it as pandas would (:mod:`outcomes.io._arrow`). When
    no cell can hold whitespace to strip (ASCII text whose only spaces are line breaks and
    the separator, no quotes) and the header holds no missing marker, Arrow also makes the
    markers missing as it reads, and the cells need no further tidying.
    """
    width, quoted = _fields(first, sep), '"' in body
    _check_size(raw, width, file=file, header_line=header_line)
    plain = (not quoted and raw.isascii() and not any(m and m in first for m in markers)
             and not any(c in raw for c in (b" ", b"\t", b"\x0b", b"\x0c") if c != sep.encode()))
    table = _arrow.parse(raw, sep, width=width, quoted=quoted, nulls=markers if plain else None)
    if table is None or (quoted and _runs_to_end(body, table)):
        # a file Arrow does not read as pandas does: pandas reads it, or says why not
        table, plain = _parse(raw, sep, body=body, file=file, header_line=header_line), False
    return table, _line_numbers(table, header_line, quoted=quoted), not plain


def _restore_quotes(frame: pd.DataFrame) -> pd.DataFrame:
    """Take one quote off a quoted formula (all the tidying a plain file's cells need)."""
    out = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        out.isetitem(position, restore_formulas(frame.iloc[:, position]).array)
    return out


def _read_bytes(path: str | PathLike[str], *, file: str, most: int) -> bytes:
    """The file's bytes (decompressed for ``.gz``), refusing more than ``most`` of them."""
    size = os.path.getsize(path)
    if size > most:
        raise LimitError(f"the file holds {size:,} bytes", limit="file_bytes", file=file)
    if str(path).lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                data = handle.read(most + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"the file cannot be decompressed ({error})",
                file=file,
                fix="Check that it is a gzip-compressed text file, or remove the .gz suffix.",
            ) from None
        if len(data) > most:
            raise LimitError("the file decompresses to more bytes", limit="file_bytes",
                             file=file)
        return data
    with open(path, "rb") as handle:
        return handle.read()


def _check_size(raw: bytes, width: int, *, file: str, header_line: int) -> None:
    """Refuse a table with more lines, columns or cells than the limits, before parsing."""
    bound = limits()
    lines = count_newlines(raw) + (not raw.endswith(b"\n"))
    if lines - 1 > bound.rows:
        raise LimitError(f"the file has {lines - 1:,} lines after the header", limit="rows",
                         file=file)
    if width > bound.columns:
        raise LimitError(f"the header has {width:,} columns", limit="columns", file=file,
                         row=header_line)
    if (lines - 1) * width > bound.cells:
        raise LimitError(f"the table has {lines - 1:,} lines of {width:,} columns",
                         limit="cells", file=file)


def _decode(data: bytes, *, file: str, encoding: str | None) -> tuple[str, bytes]:
    """The text of the file and UTF-8 bytes of it for the parser (BOM removed)."""
    if encoding is None and data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", file=file, shift=3), data[3:]
    if encoding is None and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif encoding is None:
        encoding = _utf16_without_bom(data[:1024])
    if encoding is None:
        return _strict(data, "utf-8", file=file), data
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"{file}: {encoding!r} is not a known text encoding.") from None
    text = _strict(data, encoding, file=file).lstrip("\ufeff")
    return text, text.encode("utf-8")


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 when the sample shows its pattern: the high byte of most characters is zero.

    Latin text in UTF-16 has a NUL in every other byte; a UTF-8 file with a stray NUL byte
    does not, so it is read as UTF-8 and the NUL is left to validation.
    """
    sample = sample[: len(sample) - len(sample) % 2]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= half / 2 and even <= half / 20:
        return "utf-16-le"
    if even >= half / 2 and odd <= half / 20:
        return "utf-16-be"
    return None


def _strict(data: bytes, encoding: str, *, file: str, shift: int = 0) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        before = data[: error.start].decode(encoding, errors="replace")
        offset = error.start + shift
        raise DataError(
            f"byte 0x{data[error.start]:02X} at byte offset {offset} is not valid "
            f"{encoding.upper()} text",
            file=file,
            row=before.count("\n") + 1,
            fix=ENCODING_FIX,
        ) from None


def _sniff(line: str) -> str:
    """The separator that occurs most often outside quotes in the header line."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def _parse(raw: bytes, sep: str, *, body: str, file: str, header_line: int) -> pd.DataFrame:
    """All records, header first, as text; blank lines kept so that numbering stays true."""
    options: dict[str, Any] = dict(
        sep=sep, header=None, dtype=str, na_filter=False, skip_blank_lines=False,
        index_col=False, engine="c", encoding="utf-8",
    )
    try:
        return pd.read_csv(io.BytesIO(raw), **options)
    except pd.errors.ParserError as error:
        opened = _open_quote(body, sep, header_line=header_line)
        if opened is not None:
            raise DataError(
                "a quote (\") opens a cell on this line and is never closed",
                file=file,
                row=opened,
                fix='Close the quote, or double a quote that belongs to the text ("").',
            ) from None
        width = _widest(body, sep, header_line=header_line, file=file)
        if width is None:
            raise DataError(
                f"the file cannot be read as a table ({shorten(error, 120)})",
                file=file,
                fix="Check that every line has as many fields as the header.",
            ) from None
    if width > limits().columns:
        raise LimitError(f"a line has {width:,} fields", limit="columns", file=file)
    return pd.read_csv(io.BytesIO(raw), names=list(range(width)), **options)


def _runs_to_end(body: str, table: pd.DataFrame) -> bool:
    """Whether the last cell Arrow read may be a quote never closed, which Arrow reads to the
    end of the file and pandas refuses: the text then ends with the cell as it is written."""
    last = table.iat[-1, -1]
    return isinstance(last, str) and body.endswith('"' + last.replace('"', '""'))


def _fields(line: str, sep: str) -> int:
    """The number of fields in one line, counting separators outside quotes."""
    count, quoted = 1, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            count += 1
    return count


def _open_quote(body: str, sep: str, *, header_line: int) -> int | None:
    """The line on which a quoted cell opens and is never closed, if there is one.

    Quotes are read as the parser reads them: a quote opens a cell only at the start of a
    field, and two quotes inside a quoted cell stand for one quote.
    """
    line, opened, quoted, at_start = header_line, None, False, True
    position, end = 0, len(body)
    special = re.compile('["\n' + re.escape(sep) + "]")
    while position < end:
        found = special.search(body, position)
        if found is None:
            break
        where, char = found.start(), found.group()
        if not quoted and where > position:
            at_start = False
        position = where + 1
        if char == "\n":
            line += 1
            if not quoted:
                at_start = True
        elif quoted:
            if char == '"':
                if body.startswith('"', position):
                    position += 1
                else:
                    quoted = False
        elif char == '"':
            if at_start:
                quoted, opened = True, line
            at_start = False
        else:  # a separator
            at_start = True
    return opened if quoted else None


def _widest(body: str, sep: str, *, header_line: int, file: str) -> int | None:
    """Find a line with more fields than the header; extra fields that are all empty
    (a trailing separator) are allowed, and the widest such record is returned."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=sep)
    width, widest, consumed = None, 0, 0
    for record in reader:
        start, consumed = header_line + consumed, reader.line_num
        if width is None:
            width = widest = len(record)
        elif len(record) > width:
            if any(field.strip() for field in record[width:]):
                raise DataError(
                    f"this line has {len(record)} fields but the header has {width}",
                    file=file,
                    row=start,
                    fix=f'Quote cells that contain the separator {sep!r} ("a{sep} b"), '
                    "or remove the extra separators.",
                )
            widest = max(widest, len(record))
    return widest if width is not None and widest > width else None


def _line_numbers(table: pd.DataFrame, header_line: int, *, quoted: bool) -> np.ndarray:
    """The line on which each record after the header starts."""
    count = len(table)
    if not quoted:
        return header_line + np.arange(1, count, dtype=np.int64)
    newlines = np.zeros(count, dtype=np.int64)
    for position in range(table.shape[1]):
        cells = table.iloc[:, position]
        newlines += cells.str.count("\n").fillna(0).to_numpy(dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(newlines)[:-1]])
    starts = header_line + np.arange(count, dtype=np.int64) + before
    return starts[1:]


def _decimal_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn ``3,5`` into ``3.5`` in cells that look like numbers, outside id columns."""
    out = frame.copy(deep=False)
    for position, name in enumerate(frame.columns):
        cells = frame.iloc[:, position]
        if is_id_column(name) or not pd.api.types.is_string_dtype(cells.dtype):
            continue
        if not cells.str.contains(",", regex=False, na=False).any():
            continue
        number = cells.str.fullmatch(_DECIMAL_COMMA, na=False)
        fixed = cells[number].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        out.isetitem(position, cells.mask(number, fixed).array)
    return out
