"""The limits on what a reader will take, so that no file can make reading take unbounded work.

A real study never comes near these limits; a damaged or hostile file (a sheet that declares
a million empty rows, a compressed sheet of millions of cells, a 200 MB cell, a deeply nested
TOML or JSON file) is refused with a message that names the limit and how to raise it. Each limit is
read from an environment variable when it is set, so that the command line and Python
share one way to raise it::

    OUTCOMES_MAX_FILE_BYTES=5000000000 outcomes validate big-study/

The limits, with their defaults, are in :data:`DEFAULTS` and ``docs/data.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from outcomes._errors import UsageError, locate

__all__ = ["DEFAULTS", "Limits", "LimitError", "limits", "shorten", "limit_variable",
           "check_shape"]


@dataclass(frozen=True)
class Limits:
    """The reading limits in force (see :func:`limits`).

    Attributes
    ----------
    file_bytes : int
        Bytes of one table file as stored (and of a ``.gz`` file once decompressed).
    rows : int
        Records in one table (lines of a CSV file, rows of a sheet, records of Parquet/SPSS).
    columns : int
        Columns of one table. Excel itself stops at 16,384.
    cells : int
        Cells of one sheet as read (rows times the widest row, empty cells included).
    cell_chars : int
        Characters in one cell; a longer cell is a problem of its row (Excel stops at 32,767).
    workbook_bytes : int
        Bytes of a workbook's parts once decompressed (the sizes the zip directory declares).
    zip_ratio : int
        How many times larger than stored a workbook part larger than 1 MB may become when
        decompressed; real sheets stay below 30, zip bombs reach 1,000.
    toml_bytes : int
        Bytes of a study, mapping, instrument or report configuration file (TOML).
    depth : int
        Nesting of a TOML file (tables, dotted keys, arrays, inline tables) or of a JSON
        document such as a norms file (arrays and objects).
    """

    file_bytes: int = 2_000_000_000
    rows: int = 20_000_000
    columns: int = 20_000
    cells: int = 200_000_000
    cell_chars: int = 100_000
    workbook_bytes: int = 2_000_000_000
    zip_ratio: int = 200
    toml_bytes: int = 1_000_000
    depth: int = 64


#: The default of each limit, by name.
DEFAULTS: dict[str, int] = {f.name: f.default for f in fields(Limits)}  # type: ignore[misc]


def limit_variable(name: str) -> str:
    """The environment variable that sets a limit.

    Examples
    --------
    >>> limit_variable("cell_chars")
    'OUTCOMES_MAX_CELL_CHARS'
    """
    return f"OUTCOMES_MAX_{name.upper()}"


def limits() -> Limits:
    """The limits in force: each default, or its environment variable when that is set.

    Raises
    ------
    UsageError
        When a variable holds anything but a whole number above zero.

    Examples
    --------
    >>> limits().cell_chars == DEFAULTS["cell_chars"] or "OUTCOMES_MAX_CELL_CHARS" in os.environ
    True
    """
    values: dict[str, int] = {}
    for name, default in DEFAULTS.items():
        text = os.environ.get(limit_variable(name), "").strip().replace("_", "")
        if not text:
            values[name] = default
            continue
        if not text.isdigit() or int(text) < 1:
            given = shorten(os.environ[limit_variable(name)])
            raise UsageError(
                f"{limit_variable(name)}={given!r} is not a limit. Set it to a whole number "
                f"above 0 (the default is {default:,}), or unset it."
            )
        values[name] = int(text)
    return Limits(**values)


class LimitError(UsageError):
    """A file goes beyond a reading limit; the command line exits 2 without reading it.

    Parameters
    ----------
    message : str
        What was found.
    limit : str
        The name of the limit (a field of :class:`Limits`).
    file, row, column : optional
        Where.
    fix : str, optional
        What to do instead of raising the limit; the message then says how to raise it.

    Examples
    --------
    >>> print(LimitError("the file holds 3,000,000,000 bytes", limit="file_bytes",
    ...                  file="responses.csv"))  # doctest: +ELLIPSIS
    responses.csv: the file holds 3,000,000,000 bytes, more than the limit of ... (file_bytes)...
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        file: str | None = None,
        row: Any = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.limit = limit
        self.file, self.row, self.column = file, row, column
        where = locate(file, row, column)
        value = getattr(limits(), limit)
        text = f"{message}, more than the limit of {value:,} ({limit})"
        text = f"{where}: {text}" if where else text
        if fix:
            text = f"{text}. {fix.rstrip('.')}"
        text += (f". If the file is what you meant to read, raise the limit with the "
                 f"environment variable {limit_variable(limit)}.")
        super().__init__(text)


def check_shape(rows: int, columns: int, *, file: str, size: int) -> None:
    """Refuse a stored table (Parquet, SPSS) beyond the limits, from what its header says.

    Examples
    --------
    >>> check_shape(10, 3, file="coaches.parquet", size=2_000)
    """
    bound = limits()
    if size > bound.file_bytes:
        raise LimitError(f"the file holds {size:,} bytes", limit="file_bytes", file=file)
    if rows > bound.rows:
        raise LimitError(f"the file holds {rows:,} records", limit="rows", file=file)
    if columns > bound.columns:
        raise LimitError(f"the file holds {columns:,} columns", limit="columns", file=file)
    if rows * columns > bound.cells:
        raise LimitError(f"the file holds {rows:,} records of {columns:,} columns",
                         limit="cells", file=file)


def shorten(value: object, width: int = 40) -> str:
    """A value as it may be echoed in a message: at most ``width`` characters, then "…".

    Control characters are shown as escapes, so that a NUL byte or a line break in a cell
    cannot garble the message.

    Examples
    --------
    >>> shorten("x" * 50)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'
    >>> shorten("C\\x002")
    'C\\\\x002'
    """
    text = str(value)
    cut = text[: width + 1]
    cut = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in cut)
    if len(text) > width or len(cut) > width:
        return cut[:width] + "…"
    return cut
