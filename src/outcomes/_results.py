"""What every result shares: its four faces, how it displays itself, and JSON-safe output.

Every result in `outcomes` is a frozen dataclass with four faces: ``.table()`` (a tidy
DataFrame), ``.summary()`` (a :class:`Summary`: text that prints, and renders in Jupyter
without ``print``), ``.plot(ax=None)`` (a matplotlib Axes) and ``.to_dict()`` (JSON-safe).
Deriving from :class:`Result` gives it a one-line ``repr`` (its :meth:`Result.headline`)
and ``_repr_html_`` (the headline over the table) for notebooks.

The column vocabulary is shared: ``estimate``, ``std_error``, ``ci_low``, ``ci_high``,
``p_value``, ``n``; the interval level lives in metadata (``ci_level``), never in a column
name.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Result", "Summary", "jsonable", "frame_records", "text_table", "COLUMNS"]

COLUMNS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "n")

#: Rows of a table shown in a notebook before it is cut (the full table is ``.table()``).
HTML_ROWS = 20


class Summary(str):
    """Text that prints as itself and shows as preformatted text in a notebook.

    ``summary()`` of every result returns one: ``print(result.summary())`` and a bare
    ``result.summary()`` at the end of a notebook cell show the same text.

    Examples
    --------
    >>> s = Summary("R² 0.31\\nclient 0.12")
    >>> s
    R² 0.31
    client 0.12
    >>> s._repr_html_()
    '<pre>R² 0.31\\nclient 0.12</pre>'
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


class Result:
    """The display shared by every result: a one-line ``repr`` and a notebook view.

    A result class derives from this, declares its dataclass with ``repr=False`` (so the
    dataclass does not write its field dump over this ``repr``) and defines
    :meth:`headline`, one line of plain words with the main numbers.
    """

    __slots__ = ()

    def headline(self) -> str:
        """One line with the main numbers, used by ``repr``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.headline()}>"

    def _repr_html_(self) -> str:
        title = f"<p><strong>{html.escape(type(self).__name__)}</strong>: " \
                f"{html.escape(self.headline())}</p>"
        table = self.table()  # type: ignore[attr-defined]
        shown = table.head(HTML_ROWS)
        more = "" if len(table) <= HTML_ROWS else (
            f"<p>First {HTML_ROWS} of {len(table)} rows; <code>.table()</code> has them all.</p>")
        body = shown.to_html(index=False, float_format=lambda x: f"{x:.3f}", na_rep="",
                             border=0, escape=True)
        return title + body + more


def jsonable(value: Any) -> Any:
    """Turn numbers, arrays, Series and frames into plain JSON-safe Python.

    Non-finite floats become ``None`` so that the output is strict JSON.

    Examples
    --------
    >>> jsonable({"a": np.float64(0.5), "b": np.array([1, 2]), "c": float("nan")})
    {'a': 0.5, 'b': [1, 2], 'c': None}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return frame_records(value)
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | _dt.date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as a list of JSON-safe records (the index is dropped).

    Examples
    --------
    >>> frame_records(pd.DataFrame({"x": [1.0, np.nan]}))
    [{'x': 1.0}, {'x': None}]
    """
    return [
        {str(k): jsonable(v) for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def text_table(frame: pd.DataFrame, *, digits: int = 3, index: bool = False) -> str:
    """A plain-text rendering of a frame for ``.summary()``.

    Examples
    --------
    >>> print(text_table(pd.DataFrame({"scale": ["goal"], "alpha": [0.81234]})))
    scale  alpha
     goal  0.812
    """
    return frame.to_string(index=index, float_format=lambda x: f"{x:.{digits}f}")
