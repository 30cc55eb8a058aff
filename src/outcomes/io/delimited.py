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
import zlib
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError, UsageError
from outcomes.io._common import (
    MISSING,
    clean_header,
    drop_blank_rows,
    is_id_column,
    number_rows,
    rename,
    tidy_text,
)

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
        The text encoding. By default UTF-8 (with or without BOM), or UTF-16 with a BOM.
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
        column name, or a line with more fields than the header.

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
    text, raw = _decode(_read_bytes(path, file=file), file=file, encoding=encoding)
    skip = len(text) - len(text.lstrip("\r\n"))
    if not text[skip:].strip():
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
    body = text[skip:]
    table = _parse(raw[skip:], sep, body=body, file=file, header_line=header_line)
    rows = _line_numbers(table, header_line, quoted='"' in body)
    header = table.iloc[0].tolist()
    names = clean_header(header, file=file, row=header_line)
    frame = table.iloc[1:]
    frame.columns = names
    frame = tidy_text(number_rows(frame, rows), MISSING if na_values is None else na_values)
    if decimal == "," or (decimal is None and sep == ";"):
        frame = _decimal_points(frame)
    unnamed = [n for n, h in zip(names, header, strict=True) if not str(h).strip()]
    empty = [n for n in unnamed if frame[n].isna().all()]
    frame = drop_blank_rows(frame.drop(columns=empty))
    return rename(frame, columns, file=file)


def _read_bytes(path: str | PathLike[str], *, file: str) -> bytes:
    if str(path).lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"the file cannot be decompressed ({error})",
                file=file,
                fix="Check that it is a gzip-compressed text file, or remove the .gz suffix.",
            ) from None
    with open(path, "rb") as handle:
        return handle.read()


def _decode(data: bytes, *, file: str, encoding: str | None) -> tuple[str, bytes]:
    """The text of the file and UTF-8 bytes of it for the parser (BOM removed)."""
    if encoding is None and data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", file=file, shift=3), data[3:]
    if encoding is None and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif encoding is None and b"\x00" in data[:4096]:
        sample = data[:4096]
        encoding = "utf-16-le" if sample[1::2].count(0) > sample[::2].count(0) else "utf-16-be"
    if encoding is None:
        return _strict(data, "utf-8", file=file), data
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"{file}: {encoding!r} is not a known text encoding.") from None
    text = _strict(data, encoding, file=file).lstrip("\ufeff")
    return text, text.encode("utf-8")


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
        width = _widest(body, sep, header_line=header_line, file=file)
        if width is None:
            raise DataError(
                f"the file cannot be read as a table ({error})",
                file=file,
                fix='Check for a quote (") that is opened and never closed.',
            ) from None
    return pd.read_csv(io.BytesIO(raw), names=list(range(width)), **options)


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
