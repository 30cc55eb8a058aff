"""Writing tables that are safe to open and that never land on the files they came from.

Two rules hold for every CSV and Excel file the toolkit writes.

**No live formulas.** A spreadsheet runs a cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula, and survey respondents control open-text cells.
So a text cell that begins with one of these characters and is not a number is written with
a leading ``'`` (the OWASP advice on CSV injection): ``=HYPERLINK(…)`` is written
``'=HYPERLINK(…)``, while ``-3.5`` and ``+2`` stay numbers. A text that already begins with
quotes before such a character gets one more, so that the readers of :mod:`outcomes.io`,
which take one quote off such a cell (:func:`restore_formulas`), give back exactly the value
that was written: a study written and read again keeps its ids. Values inside the toolkit
are never changed; only the file carries the quote. Parquet files are written as they are
(they hold typed values and no spreadsheet runs them).

**Inputs stay untouched.** :func:`check_output` refuses an output file that is one of the
files read, and an output folder that holds them, so that no command overwrites, mixes
with or deletes the data it reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from outcomes._errors import UsageError

__all__ = ["FORMULA_START", "safe_cell", "neutralise_formulas", "restore_formulas",
           "restore_cell", "write_table", "check_output", "source_files"]

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_START = "=+-@\t\r"

_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?\Z"
#: A text cell to quote when written: quotes (maybe none), a formula character, not a number.
_TO_QUOTE = re.compile(rf"'*(?=[=+\-@\t\r])(?!{_NUMBER})")
_FIRST = frozenset(FORMULA_START + "'")
#: A cell as :func:`safe_cell` writes it: at least one quote before such a text.
_QUOTED = re.compile(rf"'+(?=[=+\-@\t\r])(?!{_NUMBER})")


def safe_cell(value: object) -> object:
    """The value as it is written to a CSV or Excel cell: text that a spreadsheet would run
    as a formula gets a leading ``'``; anything else is returned unchanged.

    Examples
    --------
    >>> [safe_cell(v) for v in ["=1+1", "@SUM(A1)", "-3.5", "+2", "E01", -3.5]]
    ["'=1+1", "'@SUM(A1)", '-3.5', '+2', 'E01', -3.5]
    >>> safe_cell("-not sure-"), safe_cell("'=x")
    ("'-not sure-", "''=x")
    """
    if isinstance(value, str) and _TO_QUOTE.match(value):
        return "'" + value
    return value


def restore_cell(value: object) -> object:
    """The value :func:`safe_cell` was given: one leading quote taken off a quoted formula.

    Examples
    --------
    >>> restore_cell("'=1+1"), restore_cell("''=x"), restore_cell("'-3.5"), restore_cell("'ok")
    ('=1+1', "'=x", "'-3.5", "'ok")
    """
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value


def restore_formulas(column: pd.Series) -> pd.Series:
    """A text column read from a file with :func:`restore_cell` applied to every cell.

    Examples
    --------
    >>> restore_formulas(pd.Series(["'=1+1", "x", "'-2"])).tolist()
    ['=1+1', 'x', "'-2"]
    """
    if pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:
        maybe = np.flatnonzero(column.str.startswith("'").to_numpy(dtype=bool, na_value=False))
        if not len(maybe):
            return column
    else:
        maybe = np.flatnonzero([isinstance(v, str) and v[:1] == "'" for v in column])
    values = column.to_numpy(dtype=object)
    hits = [i for i in maybe if _QUOTED.match(values[i])]
    if not hits:
        return column
    values = values.copy()
    values[hits] = [values[i][1:] for i in hits]
    out = pd.Series(values, index=column.index, name=column.name)
    return out if column.dtype == object else out.astype(column.dtype)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`safe_cell` applied to every text cell and column name.

    Numbers, dates and missing values pass through; the caller's frame is not changed.

    Examples
    --------
    >>> frame = pd.DataFrame({"client_id": ["=cmd|' /C calc'!A0", "P2"], "value": [-3, 4]})
    >>> neutralise_formulas(frame)["client_id"].tolist()
    ["'=cmd|' /C calc'!A0", 'P2']
    """
    out = frame.copy(deep=False)
    out.attrs = {}
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if not (column.dtype == object or pd.api.types.is_string_dtype(column.dtype)):
            continue
        if column.dtype != object:  # pandas' text dtype: look closer only where it may
            first = column.str.slice(0, 1).isin(_FIRST).to_numpy(dtype=bool)
            if not first.any():
                continue
        else:
            first = np.ones(len(column), dtype=bool)
        values = column.to_numpy(dtype=object, copy=True)
        hits = np.zeros(len(values), dtype=bool)
        hits[first] = [isinstance(v, str) and v[:1] in _FIRST and _TO_QUOTE.match(v) is not None
                       for v in values[first]]
        if hits.any():
            values[hits] = ["'" + v for v in values[hits]]
            safe = pd.Series(values, index=column.index, name=column.name)
            out.isetitem(position, safe.astype(column.dtype) if column.dtype != object
                         else safe)
    names = [safe_cell(name) for name in frame.columns]
    if names != list(frame.columns):
        out.columns = names
    return out


def write_table(frame: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Write a table as CSV (UTF-8, ``.csv``/``.csv.gz``/``.tsv``) or Parquet, without its index.

    Folders on the way are created. In CSV and TSV, a text cell a spreadsheet would run as a
    formula is written with a leading ``'`` (see :func:`safe_cell`). The caller's frame is
    not changed; to keep the ``row`` provenance in the file, write ``frame.reset_index()``.

    Returns
    -------
    pathlib.Path
        Where the table was written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "scores" / "scores.csv"
    >>> table = pd.DataFrame({"engagement_id": ["007", "=1+1"], "score": [3.5, -1.0]})
    >>> write_table(table, out).read_text()
    "engagement_id,score\\n007,3.5\\n'=1+1,-1.0\\n"
    """
    target = Path(path)
    name = target.name.lower()
    out = frame.copy(deep=False)
    out.attrs = {}
    if name.endswith(".parquet"):
        target.parent.mkdir(parents=True, exist_ok=True)
        out.to_parquet(target, index=False)
    elif name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        target.parent.mkdir(parents=True, exist_ok=True)
        sep = "\t" if ".tsv" in name else ","
        neutralise_formulas(out).to_csv(target, index=False, sep=sep, encoding="utf-8",
                                        lineterminator="\n")
    else:
        raise UsageError(
            f"{os.fspath(path)}: write_table writes .csv, .csv.gz, .tsv, .tsv.gz or .parquet; "
            f'not "{target.suffix or target.name}".'
        )
    return target


def source_files(*sources: object) -> list[Path]:
    """The files and folders a result was read from, as paths that exist.

    Each source is a path, a table (its ``attrs["source_file"]``; ``"book.xlsx:sheet"``
    gives the workbook), a mapping or list of tables, or ``None``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "book.xlsx").write_bytes(b"")
    >>> table = pd.DataFrame()
    >>> table.attrs["source_file"] = f"{folder / 'book.xlsx'}:coaches"
    >>> source_files({"coaches": table}, None) == [folder / "book.xlsx"]
    True
    """
    found: list[Path] = []
    for source in sources:
        if source is None:
            continue
        if isinstance(source, pd.DataFrame):
            source = source.attrs.get("source_file")
        elif isinstance(source, dict):
            found += source_files(*source.values())
            continue
        elif isinstance(source, list | tuple):
            found += source_files(*source)
            continue
        if not isinstance(source, str | PathLike):
            continue
        text = os.fspath(source)
        if not os.path.exists(text) and ":" in text:
            text = text.rpartition(":")[0]
        if text and os.path.exists(text):
            found.append(Path(text))
    return list(dict.fromkeys(found))


def check_output(target: str | PathLike[str], inputs: Iterable[str | PathLike[str]], *,
                 option: str = "--out", folder: bool = True,
                 example: str | None = None) -> None:
    """Refuse to write ``target`` where it would overwrite or mix with the files read.

    Parameters
    ----------
    target : path
        The output: a folder (``folder=True``) or a file.
    inputs : iterable of paths
        The files (and folders) the command read, e.g. from :func:`source_files`.
    option : str, default "--out"
        How the caller names the output, for the message.
    folder : bool, default True
        Whether ``target`` is a folder: then it may not be an input folder, nor a folder
        that directly holds an input file. A file may not be an input.
    example : str, optional
        A folder or file to suggest instead.

    Raises
    ------
    UsageError
        Naming the input and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> study = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (study / "sessions.csv").write_text("engagement_id\\n")
    >>> check_output(study / "rejected", [study / "sessions.csv"])
    >>> try:
    ...     check_output(study, [study / "sessions.csv"])
    ... except UsageError as error:
    ...     print(str(error).replace(str(study), "STUDY"))  # doctest: +NORMALIZE_WHITESPACE
    --out STUDY: this folder holds sessions.csv, one of the files read; writing there would
    overwrite or mix with your data. Give a folder that holds none of the input files.
    """
    out = _resolved(target)
    instead = f", e.g. {option} {example}" if example else ""
    for given in inputs:
        source = _resolved(given)
        if out == source and source.is_dir():
            found = "folder is where the data was read from"
        elif out == source:
            raise UsageError(f"{option} {os.fspath(target)} is {source.name}, one of the files "
                             "read; writing there would overwrite it. Give another path"
                             f"{instead}.")
        elif folder and out == source.parent and not source.is_dir():
            found = f"folder holds {source.name}, one of the files read"
        else:
            continue
        raise UsageError(f"{option} {os.fspath(target)}: this {found}; writing there "
                         "would overwrite or mix with your data. Give a folder that holds none "
                         f"of the input files{instead}.")


def _resolved(path: str | PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))
