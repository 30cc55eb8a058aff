"""What every result shares: its four faces, how it displays itself, and JSON-safe output.

Every result in `outcomes` is a frozen dataclass with four faces: ``.table()`` (a tidy
DataFrame), ``.summary()`` (a :class:`Summary`: text that prints, and renders in Jupyter
without ``print``), ``.plot(ax=None)`` (a matplotlib Axes) and ``.to_dict()`` (JSON-safe).
Deriving from :class:`Result` gives it a one-line ``repr`` (its :meth:`Result.headline`)
and ``_repr_html_`` (the headline over the table, with headings in words and evenly
rounded numbers) for notebooks, and the faces for papers: ``to_apa()`` (an APA 7 table),
``to_docx(path)`` and ``to_latex(path)`` (see :mod:`outcomes.apa`).

The column vocabulary is shared: ``estimate``, ``std_error``, ``ci_low``, ``ci_high``,
``p_value``, ``n``; the interval level lives in metadata (``ci_level``), never in a column
name.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from outcomes.apa.table import ApaTable

__all__ = ["Result", "Summary", "jsonable", "frame_records", "text_table", "COLUMNS",
           "readable", "heading"]

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
        shown = readable(table.head(HTML_ROWS), ci_level=getattr(self, "ci_level", 0.95))
        more = "" if len(table) <= HTML_ROWS else (
            f"<p>First {HTML_ROWS} of {len(table)} rows; <code>.table()</code> has them all.</p>")
        body = shown.to_html(index=False, na_rep="", border=0, escape=True)
        return title + body + more

    def to_apa(self, *, number: int = 1, title: str | None = None, note: str | None = None,
               **options: Any) -> ApaTable:
        """The result as an APA 7 table: number, title, rounded cells, intervals, note.

        Shares, dominance, multilevel fits and shares, change and reliability have tables
        of their own; any other result is laid out from ``table()``. The table shows itself
        in a notebook and writes itself with ``.to_docx(path)`` and ``.to_latex(path)``;
        see :mod:`outcomes.apa` for the rules and options (``reference=`` for shares,
        ``part="variance"`` for a multilevel fit).
        """
        from outcomes.apa import build

        return build(self, number=number, title=title, note=note, **options)

    def to_docx(self, path: str | PathLike[str], **options: Any) -> Path:
        """Write :meth:`to_apa` as a Word table (python-docx); returns the path."""
        return self.to_apa(**options).to_docx(path)

    def to_latex(self, path: str | PathLike[str] | None = None, **options: Any) -> str:
        """:meth:`to_apa` as LaTeX (booktabs, threeparttable); written to ``path`` if given."""
        return self.to_apa(**options).to_latex(path)


#: Headings a person reads for the shared column vocabulary (the interval's is built from
#: the level); any other snake_case name has its underscores turned into spaces.
HEADINGS = {"estimate": "Estimate", "std_error": "Std. error", "p_value": "p", "n": "n",
            "df": "df", "r2": "R²", "n_items": "Items"}


def heading(name: object) -> str:
    """A column name as a heading: the shared vocabulary in words, snake_case spaced.

    Examples
    --------
    >>> heading("std_error"), heading("p_neither"), heading("relative")
    ('Std. error', 'P neither', 'Relative')
    """
    text = str(name)
    if text in HEADINGS:
        return HEADINGS[text]
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def _decimals(column: pd.Series) -> int | None:
    """Decimals that show a float column evenly: none for whole numbers, three for values
    within [-1, 1] (proportions, correlations), two otherwise."""
    finite = column[np.isfinite(column.astype(float))]
    if finite.empty:
        return None
    if (finite == finite.round()).all() and finite.abs().max() >= 1:
        return 0
    return 3 if finite.abs().max() <= 1 else 2


def readable(frame: pd.DataFrame, *, ci_level: float = 0.95) -> pd.DataFrame:
    """A copy of a tidy frame for people: headings in words, the interval's two ends in one
    bracketed column, each float column rounded to one number of decimals.

    Examples
    --------
    >>> tidy = pd.DataFrame({"factor": ["client"], "estimate": [0.353017],
    ...                      "ci_low": [0.256944], "ci_high": [0.44886], "n": [842]})
    >>> readable(tidy).to_dict(orient="records")
    [{'Factor': 'client', 'Estimate': '0.353', '95 % interval': '[0.257, 0.449]', 'n': 842}]
    """
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        column = frame[name]
        if name == "ci_high" and "ci_low" in frame.columns:
            continue
        if name == "ci_low" and "ci_high" in frame.columns:
            both = pd.concat([frame.ci_low, frame.ci_high]).astype(float)
            places = _decimals(both) or 2
            out[f"{round(100 * ci_level, 1):g} % interval"] = [
                f"[{a:.{places}f}, {b:.{places}f}]" if np.isfinite(a) and np.isfinite(b) else ""
                for a, b in zip(frame.ci_low.astype(float), frame.ci_high.astype(float),
                                strict=True)]
        elif name == "p_value":
            out[heading(name)] = [_p_text(p) for p in column]
        elif column.dtype.kind == "f":
            decimals = _decimals(column) or 0
            out[heading(name)] = ["" if not np.isfinite(v) else f"{v:.{decimals}f}"
                                  for v in column]
        else:
            out[heading(name)] = column
    return out.reset_index(drop=True)


def _p_text(value: object) -> str:
    try:
        p = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(p):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"

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
