"""The fast path of the CSV reader: Arrow's parser, and text cells tidied a column at a time.

Arrow parses a delimited file on every core straight into text columns, where pandas' C
parser builds one Python string per cell first. It is used only where it reads exactly as
pandas would: every record has as many fields as the header, and the text is valid UTF-8.
Any other file (a ragged line, a quote never closed, a stray byte) is left to pandas, whose
errors name the line (:mod:`outcomes.io.delimited`). One difference is checked here: Arrow
reads a quote that is never closed to the end of the file, where pandas refuses the file, so
the caller scans the last record for it.

The cells are tidied with Arrow's kernels, column by column: whitespace stripped, the
missing markers made missing, one quote taken off a quoted formula.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["parse", "tidy", "is_arrow_text"]

#: The dtype of text columns read here: pandas' ``str``, held by Arrow, NaN for missing.
ARROW_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def parse(raw: bytes, sep: str, *, width: int, quoted: bool,
          nulls: list[str] | None = None) -> pd.DataFrame | None:
    """Every record of ``raw`` (header first) as text columns ``0 … width-1``, or None when
    Arrow cannot read the file as pandas would (the caller then reads it with pandas).

    Parameters
    ----------
    raw : bytes
        UTF-8 text from the header line on.
    sep : str
        The separator.
    width : int
        The number of fields of the header line.
    quoted : bool
        Whether the text holds a quote (cells may then span lines).
    nulls : list of str, optional
        Cell texts read as missing; by default every cell is read as text.

    Examples
    --------
    >>> parse(b"a,b\\n1,x\\n", ",", width=2, quoted=False).values.tolist()
    [['a', 'b'], ['1', 'x']]
    >>> parse(b"a,b\\n1\\n", ",", width=2, quoted=False) is None   # a short line: pandas reads it
    True
    """
    import pyarrow as pa
    import pyarrow.csv as csv

    names = [f"f{i}" for i in range(width)]
    try:
        table = csv.read_csv(
            pa.py_buffer(raw),
            read_options=csv.ReadOptions(column_names=names, use_threads=True),
            parse_options=csv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True,
                                           escape_char=False, newlines_in_values=quoted,
                                           ignore_empty_lines=False),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()), null_values=nulls or [],
                strings_can_be_null=nulls is not None, quoted_strings_can_be_null=nulls is not None,
                check_utf8=True),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    columns = {i: pd.arrays.ArrowStringArray(table.column(i), dtype=ARROW_TEXT)
               for i in range(width)}
    return pd.DataFrame(columns, copy=False)


def is_arrow_text(column: pd.Series) -> bool:
    """Whether a column is text held by Arrow (the kernels below apply to it)."""
    return isinstance(column.array, pd.arrays.ArrowStringArray)


def tidy(column: pd.Series, markers: Iterable[str]) -> pd.Series:
    """Strip whitespace, make the missing ``markers`` missing and take one quote off a quoted
    formula, in one pass of Arrow kernels over a text column held by Arrow.

    Examples
    --------
    >>> cells = pd.Series([" x ", "NA", "'=1", None], dtype=ARROW_TEXT)
    >>> tidy(cells, ["", "NA"]).tolist()
    ['x', nan, '=1', nan]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from outcomes.io.writing import restore_cell

    cells = pc.utf8_trim_whitespace(column.array.__arrow_array__())
    quote = pc.starts_with(cells, "'")
    if pc.any(quote).as_py():
        values = cells.to_numpy(zero_copy_only=False).astype(object)
        hits = np.flatnonzero(quote.to_numpy(zero_copy_only=False).astype(bool))
        values[hits] = [restore_cell(values[i]) for i in hits]
        cells = pa.chunked_array([pa.array(values, type=pa.large_string())])
    missing = pc.is_in(cells, value_set=pa.array(list(markers), type=pa.large_string()))
    if pc.any(missing).as_py():
        cells = pc.if_else(missing, pa.scalar(None, pa.large_string()), cells)
    return pd.Series(pd.arrays.ArrowStringArray(cells, dtype=column.dtype), index=column.index,
                     name=column.name, copy=False)
