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

Two helpers let the steps after reading skip work on such columns: :func:`byte_range` reads
the smallest and largest byte of the text in one pass (no NUL byte, whitespace or non-ASCII
character below and above them), and :func:`factorize` numbers a column's distinct values
once for as long as the column lives, however many steps ask.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["parse", "tidy", "is_arrow_text", "byte_range", "factorize", "text_from_codes"]

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


def byte_range(column: pd.Series) -> tuple[int, int] | None:
    """The smallest and largest byte of the text of a column held by Arrow, or None when its
    cells hold no text: one pass over the bytes, no copy.

    A smallest byte above 32 (the space) and a largest below 128 say that no cell holds a
    NUL byte, whitespace or a character outside ASCII, so the checks for those can be
    skipped. The bytes of a missing cell may be counted too: the answer can only err towards
    making the full check.

    Examples
    --------
    >>> byte_range(pd.Series(["ab", None, "c "], dtype=ARROW_TEXT))
    (32, 99)
    >>> byte_range(pd.Series(["", None], dtype=ARROW_TEXT)) is None
    True
    """
    import pyarrow as pa

    low, high = 256, -1
    for chunk in column.array.__arrow_array__().chunks:
        _, offsets, data = chunk.buffers()
        if not len(chunk) or data is None:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        ends = np.frombuffer(offsets, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        text = np.frombuffer(data, dtype=np.uint8)[ends[0]:ends[-1]]
        if len(text):
            low, high = min(low, int(text.min())), max(high, int(text.max()))
    return None if high < 0 else (low, high)


#: The codes of text columns held by Arrow, by the identity of the Arrow array, while it lives.
_CODES: dict[int, tuple[np.ndarray, pd.Index]] = {}
# Columns shorter than this are factorised each time: keeping their codes would not pay.
_KEEP_FROM = 10_000


def factorize(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(column)``: each cell's code (-1 where missing) and the distinct values
    in order of appearance, computed once for a text column held by Arrow.

    An Arrow array never changes, so its codes are kept while it lives and serve every frame
    that holds it: validation, scoring and the analysis table read the same
    ``engagement_id``, ``occasion`` and ``instrument`` columns of a million responses, and
    factorise each once. The codes are read-only, in the smallest integer type that holds
    ``-1`` to ``len(distinct)``.

    Examples
    --------
    >>> codes, distinct = factorize(pd.Series(["b", None, "a", "b"], dtype=ARROW_TEXT))
    >>> codes.tolist(), distinct.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    if not is_arrow_text(column) or len(column) < _KEEP_FROM:
        codes, distinct = pd.factorize(column)
        return codes, pd.Index(distinct)
    found = _CODES.get(id(column.array.__arrow_array__()))
    if found is None:
        codes, distinct = pd.factorize(column)
        found = _remember(column, codes, pd.Index(distinct))
    return found


def _remember(column: pd.Series, codes: np.ndarray,
              distinct: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Keep the :func:`factorize` codes of a text column held by Arrow while it lives."""
    array = column.array.__arrow_array__()
    key = id(array)
    codes = codes.astype(np.min_scalar_type(-len(distinct) - 1), copy=False)
    codes.flags.writeable = False
    found = _CODES[key] = (codes, distinct)
    weakref.finalize(array, _CODES.pop, key, None)
    return found


def text_from_codes(values: Iterable[str | None], codes: np.ndarray,
                    name: str | None = None) -> pd.Series:
    """The text column whose cells are ``values[codes]`` (a None value: missing), held by
    Arrow, with its :func:`factorize` codes worked out from ``codes`` rather than by a
    pass over the text.

    Examples
    --------
    >>> column = text_from_codes(["x", "y", None, "y"], np.tile([1, 2, 3, 0], 5000))
    >>> column[:4].tolist()
    ['y', nan, 'y', 'x']
    >>> codes, distinct = factorize(column)          # kept, not worked out again
    >>> codes[:4].tolist(), distinct.tolist()
    ([0, -1, 0, 1], ['y', 'x'])
    >>> bool((codes == pd.factorize(column)[0]).all())
    True
    """
    text = pd.Series(list(values), dtype=ARROW_TEXT)
    column = pd.Series(text.array.take(codes), name=name)
    if len(column) < _KEEP_FROM:
        return column
    same, distinct = pd.factorize(text)  # a value listed twice is one value
    cells = same[codes]  # -1 where missing
    first = np.full(len(distinct) + 1, len(cells), dtype=np.int64)  # each value's first cell
    first[cells[::-1]] = np.arange(len(cells) - 1, -1, -1)
    present = np.flatnonzero(first[:-1] < len(cells))
    present = present[np.argsort(first[present], kind="stable")]  # in order of appearance
    number = np.full(len(distinct) + 1, -1, dtype=np.int64)  # the last, for missing cells
    number[present] = np.arange(len(present))
    _remember(column, number[cells], pd.Index(distinct[present]))
    return column
