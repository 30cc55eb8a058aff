"""Numbers as APA 7 prints them in a table (Publication Manual, 7th ed., sections 6.36, 6.44).

- Two decimals by default; more where two would hide the differences a reader needs
  (shares of R² below .10 get three).
- No leading zero for a value that cannot exceed 1 in magnitude (p, r, R², proportions,
  reliabilities); a leading zero otherwise (b = 0.45).
- A p value to three decimals, and ``< .001`` below that (``> .999`` at the top).
- A true minus sign (U+2212), never ``−0.00``: a value that rounds to zero is ``0.00``.
- An interval in brackets, ``[.21, .47]``.
- Counts as integers, with a comma for thousands (``1,140``).

These are the rules of papaja's ``apa_num``/``apa_p`` (``gt1 = FALSE`` drops the zero) and of
apaTables' cells, written again here so that every table of the toolkit follows one set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["MINUS", "number", "p_value", "interval", "count", "bounded", "EMPTY"]

MINUS = "\u2212"
#: What an APA table prints where a cell has no value.
EMPTY = "\u2014"


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def number(value: object, digits: int = 2, *, leading_zero: bool = True) -> str:
    """A number rounded to ``digits`` decimals, APA style.

    Examples
    --------
    >>> number(0.45321), number(0.45321, leading_zero=False), number(-0.004)
    ('0.45', '.45', '0.00')
    >>> number(-1.5), number(12.345, 1), number(float("nan"))
    ('−1.50', '12.3', '—')
    """
    if not _finite(value):
        return EMPTY
    text = f"{float(value):.{digits}f}"  # type: ignore[arg-type]
    if float(text) == 0:
        text = text.lstrip("-")
    negative = text.startswith("-")
    text = text.lstrip("-")
    if not leading_zero and text.startswith("0."):
        text = text[1:]
    return (MINUS if negative else "") + text


def p_value(value: object) -> str:
    """A p value: three decimals without the leading zero, ``< .001`` below that.

    Examples
    --------
    >>> [p_value(p) for p in (0.0312, 0.2, 1e-12, 0.99995, 0.0005)]
    ['.031', '.200', '< .001', '> .999', '< .001']
    """
    if not _finite(value):
        return EMPTY
    p = float(value)  # type: ignore[arg-type]
    if p < 0.001:
        return "< .001"
    if p > 0.999:
        return "> .999"
    return number(p, 3, leading_zero=False)


def interval(low: object, high: object, digits: int = 2, *, leading_zero: bool = True) -> str:
    """An interval in brackets; an empty cell when either end is missing.

    Examples
    --------
    >>> interval(0.214, 0.4721, leading_zero=False), interval(-1.2, 3.456)
    ('[.21, .47]', '[−1.20, 3.46]')
    >>> interval(None, 1.0)
    ''
    """
    if not (_finite(low) and _finite(high)):
        return ""
    return (f"[{number(low, digits, leading_zero=leading_zero)}, "
            f"{number(high, digits, leading_zero=leading_zero)}]")


def count(value: object) -> str:
    """A count, with a comma for thousands.

    Examples
    --------
    >>> count(1140), count(12.0), count(None)
    ('1,140', '12', '—')
    """
    if not _finite(value):
        return EMPTY
    return f"{int(round(float(value))):,}"  # type: ignore[arg-type]


def bounded(values: Iterable[object]) -> bool:
    """Whether every finite value lies within [−1, 1], so the leading zero can go.

    A column of proportions drops the zero only when no value in it exceeds 1: a relative
    share of a non-additive method can, and then every cell of the column keeps its zero.

    Examples
    --------
    >>> bounded([0.2, -0.4, float("nan")]), bounded([0.2, 1.3])
    (True, False)
    """
    return all(abs(float(v)) <= 1 for v in values if _finite(v))  # type: ignore[arg-type]
