"""The pieces a report section is made of, and how numbers are written in them.

A section is a title and a list of blocks (plain dicts the template knows): ``lead`` (the
sentence that says what the section found), ``text``, ``note``, ``warning``, ``heading``,
``list``, ``table`` and ``figure``. Every cell of a table is a string formatted here, so the
template only places and escapes. A number released by the disclosure gate
(:class:`~outcomes.privacy.disclosure.Released`) is written as the gate wrote it: the helpers
below take one wherever they take a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from outcomes.privacy import SUPPRESSED
from outcomes.privacy.disclosure import Released

__all__ = ["lead", "text", "note", "warning", "heading", "items", "table", "figure", "number",
           "percent", "interval", "count", "section"]


def section(identifier: str, title: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """A section of a report."""
    return {"id": identifier, "title": title, "blocks": blocks}


def lead(value: str) -> dict[str, Any]:
    """The sentence that opens a section with what it found."""
    return {"kind": "lead", "text": value}


def text(value: str) -> dict[str, Any]:
    """A paragraph."""
    return {"kind": "text", "text": value}


def note(value: str) -> dict[str, Any]:
    """A paragraph in small print."""
    return {"kind": "note", "text": value}


def warning(value: str) -> dict[str, Any]:
    """A paragraph set apart: something the reader must not miss."""
    return {"kind": "warning", "text": value}


def heading(value: str) -> dict[str, Any]:
    """A sub-heading."""
    return {"kind": "heading", "text": value}


def items(values: Sequence[str]) -> dict[str, Any]:
    """A bulleted list."""
    return {"kind": "list", "items": [str(v) for v in values]}


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = "",
          numeric: Sequence[bool] | None = None, note: str = "") -> dict[str, Any]:
    """A table; cells become strings (None and NaN become an en dash)."""
    cells = [[_cell(v) for v in row] for row in rows]
    flags = list(numeric) if numeric is not None else [False] + [True] * (len(columns) - 1)
    return {"kind": "table", "caption": caption, "columns": [str(c) for c in columns],
            "rows": cells, "numeric": flags, "note": note, "symbol": SUPPRESSED}


def figure(src: str, *, alt: str, caption: str) -> dict[str, Any]:
    """A figure: an inlined image with its alternative text and caption."""
    return {"kind": "figure", "src": src, "alt": alt, "caption": caption}


def _cell(value: Any) -> str:
    if isinstance(value, Released):
        return value.text
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if value is pd.NA:
        return "–"
    if isinstance(value, float | np.floating):
        return number(float(value))
    return str(value)


def number(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals (a whole number without); NaN as an en dash.

    Examples
    --------
    >>> number(3.14159), number(12.0), number(float("nan")), number(-0.5, 1), number(-0.001)
    ('3.14', '12', '–', '−0.5', '0.00')
    """
    if isinstance(value, Released):
        return value.text
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    out = f"{value:.0f}" if value == int(value) and abs(value) < 1e15 else f"{value:.{digits}f}"
    if out.lstrip("-").strip("0.") == "":
        out = out.lstrip("-")  # no "−0.00"
    return out.replace("-", "−")


def percent(value: Any, digits: int = 0) -> str:
    """A proportion as a percentage: ``0.251`` -> ``"25 %"``.

    Examples
    --------
    >>> percent(0.251), percent(None)
    ('25 %', '–')
    """
    if isinstance(value, Released):
        return value.text
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.{digits}f} %"


def interval(low: Any, high: Any, digits: int = 2, *, scale: float = 1.0) -> str:
    """``[low, high]`` or an en dash.

    Examples
    --------
    >>> interval(0.1, 0.35), interval(None, 1), interval(-0.001, -2)
    ('[0.10, 0.35]', '–', '[0.00, −2.00]')
    """
    if isinstance(low, Released) or isinstance(high, Released):
        if low is None or high is None or low.withheld or high.withheld:
            return "withheld"
        return f"[{low.text}, {high.text}]"
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    a, b = (f"{scale * float(v):.{digits}f}" for v in (low, high))
    a, b = (v.lstrip("-") if v.lstrip("-").strip("0.") == "" else v for v in (a, b))
    return f"[{a.replace('-', '−')}, {b.replace('-', '−')}]"


def count(n: Any, k: int) -> str:
    """A count as words that never show a number between 1 and k - 1.

    Examples
    --------
    >>> count(0, 5), count(3, 5), count(1234, 5)
    ('none', 'fewer than 5', '1,234')
    """
    if isinstance(n, Released):
        return n.text
    if n is None or pd.isna(n):
        return f"fewer than {k}"
    n = int(n)
    if n == 0:
        return "none"
    return f"fewer than {k}" if n < k else f"{n:,}"
