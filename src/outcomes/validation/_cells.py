"""Rules on the cells themselves, whatever their column: NUL bytes and over-long text.

A NUL byte never belongs in text: it is a damaged file, or a stretch of another encoding.
A cell longer than the ``cell_chars`` limit (see :mod:`outcomes.io._limits`) is a damaged
file, or the rest of a file caught in an unclosed quote. Either is a problem of its row
only: the row is rejected, the others are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes.io import _arrow, limit_variable, limits, shorten
from outcomes.validation.report import TableCheck

__all__ = ["RULES", "check_cells"]

#: The rules of this module, by name.
RULES = {
    "nul_byte": "a cell holds a NUL byte (a damaged file, or part of it in another encoding)",
    "cell_size": "a cell holds more characters than the cell_chars limit",
}


def check_cells(check: TableCheck) -> None:
    """Flag every text cell of ``check.raw`` that holds a NUL byte or is over-long.

    Examples
    --------
    >>> raw = pd.DataFrame({"coach_id": ["C1", "C\\x002"], "note": ["ok", "fine"]})
    >>> check = TableCheck(kind="coaches", raw=raw, file="coaches.csv", rows=np.array([2, 3]))
    >>> check_cells(check)
    >>> check.problems()[["row", "column", "value", "rule"]].to_dict("records")
    [{'row': 3, 'column': 'coach_id', 'value': 'C\\\\x002', 'rule': 'nul_byte'}]
    """
    most = limits().cell_chars
    for position, name in enumerate(check.raw.columns):
        cells = check.raw.iloc[:, position]
        if not (pd.api.types.is_string_dtype(cells.dtype) or cells.dtype == object):
            continue
        flags = _flags(cells, most)
        if flags is None:
            continue
        nul, long = flags
        where = np.flatnonzero(nul | long)
        shown_at = dict(zip(where, [shorten(v) for v in cells.iloc[where].to_numpy()],
                            strict=True))
        if nul.any():
            where = np.flatnonzero(nul)
            check.add(where, str(name), [shown_at[w] for w in where], "nul_byte",
                      "holds a NUL byte (character 0), which text never contains",
                      "Correct the cell, or export the table again as UTF-8 text: the file is "
                      "damaged here, or holds part of it in another encoding.")
        if long.any():
            where = np.flatnonzero(long)
            check.add(where, str(name), [shown_at[w] for w in where], "cell_size",
                      f"is longer than the limit of {most:,} characters (cell_chars)",
                      "Shorten the cell, or close the quote that runs on into later lines; "
                      f"to allow longer cells, raise the environment variable "
                      f"{limit_variable('cell_chars')}.")


def _flags(cells: pd.Series, most: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The cells with a NUL byte and the over-long ones, or None when there are none (or the
    column holds no text)."""
    if _arrow.is_arrow_text(cells):
        import pyarrow.compute as pc

        # no byte 0 in the text, no NUL byte; a cell of more bytes than the limit may be
        # over-long: only then are the cells searched and their characters counted
        low = (_arrow.byte_range(cells) or (1, 0))[0]
        array = cells.array.__arrow_array__()
        if low > 0 and not (pc.max(pc.binary_length(array)).as_py() or 0) > most:
            return None
    try:
        text = cells.str
        nul = text.contains("\x00", regex=False, na=False).to_numpy(dtype=bool)
        long = (text.len() > most).fillna(False).to_numpy(dtype=bool)
    except (AttributeError, TypeError):  # an object column that holds no text
        return None
    return (nul, long) if (nul.any() or long.any()) else None
