"""Small-cell suppression: nothing published rests on fewer than ``k`` clients.

Reports and norms files leave the body that holds the data, so every number in them is an
aggregate of at least ``k`` clients (default 5, never below 3):

- a count between 1 and ``k - 1`` is suppressed (shown as ``*``), and so are further cells
  of its row or column (*complementary* suppression) until no published total lets a
  reader work a suppressed cell out: each line with a published total then hides either
  nothing or at least two cells adding up to ``k`` or more;
- a mean, percentage or other statistic of fewer than ``k`` clients is not published, nor is
  a quantile that fewer than ``k`` clients lie beyond (the 5th percentile of 40 clients is
  the second-lowest client's score);
- counts can be rounded to the nearest 5 (halves up), as HESA, Ofqual and NHS Digital do;
- :func:`smallest_class` gives the k of k-anonymity of a released table.

The rules follow NHS Digital's, HESA's and Ofqual's publication rules and Sweeney (2002,
*Int J Uncertainty, Fuzziness and Knowledge-Based Systems* 10(5):557-570) for k-anonymity.
Pseudonyms and the search for identifiers are :mod:`outcomes.privacy.identifiers`.

Examples
--------
>>> table = pd.DataFrame({"completed": [40, 22, 3], "dropped": [6, 9, 8]},
...                      index=["self", "organisation", "other"])
>>> suppress_counts(table, k=5).display()
             completed dropped total
self                40       6    46
organisation         *       *    31
other                *       *    11
total               65      23    88
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._errors import DataError, UsageError
from outcomes._plotting import axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table

__all__ = [
    "MIN_K", "DEFAULT_K", "SUPPRESSED", "check_k", "too_few", "quantile_allowed",
    "round_to_base", "SuppressedTable", "suppress_counts", "mask_statistics", "smallest_class",
]

MIN_K = 3
DEFAULT_K = 5
SUPPRESSED = "*"


def check_k(k: Any) -> int:
    """The suppression threshold as an int, refused below :data:`MIN_K`.

    Examples
    --------
    >>> check_k(10)
    10
    >>> check_k(2)
    Traceback (most recent call last):
    ...
    outcomes._errors.UsageError: k = 2 is below the smallest threshold allowed, 3: ...
    """
    try:
        value = int(k)
    except (TypeError, ValueError):
        raise UsageError(f"k = {k!r} is not a whole number; give e.g. k=5.") from None
    if value != k and not (isinstance(k, float) and k == value):
        raise UsageError(f"k = {k!r} is not a whole number; give e.g. k=5.")
    if value < MIN_K:
        raise UsageError(f"k = {value} is below the smallest threshold allowed, {MIN_K}: "
                         f"with fewer clients behind a number it can point at a person. "
                         f"Use k={DEFAULT_K} (the default) or more.")
    return value


def too_few(n: Any, k: int = DEFAULT_K) -> bool:
    """Whether a number resting on ``n`` clients must be withheld (``n < k``; NaN too).

    Examples
    --------
    >>> too_few(4), too_few(5), too_few(float("nan"))
    (True, False, True)
    """
    value = float(n) if n is not None and not pd.isna(n) else float("nan")
    return not np.isfinite(value) or value < k


def quantile_allowed(n: int, q: float, *, k: int = DEFAULT_K) -> bool:
    """Whether the ``q`` quantile of ``n`` clients can be published.

    A quantile is published when at least ``k`` clients lie on each side of it, that is
    when ``n * min(q, 1 - q) >= k``: the median needs ``2k`` clients, the quartiles ``4k``,
    the 5th and 95th percentiles ``20k``.

    Examples
    --------
    >>> quantile_allowed(10, 0.5), quantile_allowed(40, 0.05), quantile_allowed(100, 0.05)
    (True, False, True)
    """
    return n * min(q, 1.0 - q) >= k - 1e-9


def round_to_base(values: Any, *, base: int = 5) -> Any:
    """Round counts to the nearest ``base``, halves up; missing values stay missing.

    Works on a number, a Series or a DataFrame and returns the same kind.

    Examples
    --------
    >>> round_to_base(pd.Series([0, 2, 2.5, 7, 12.5, None])).tolist()
    [0.0, 0.0, 5.0, 5.0, 15.0, nan]
    """
    if base < 1:
        raise UsageError(f"base = {base} must be a positive whole number (5 is usual).")
    if isinstance(values, pd.DataFrame | pd.Series):
        numbers = values.apply(pd.to_numeric) if isinstance(values, pd.DataFrame) \
            else pd.to_numeric(values)
        return np.floor(numbers.astype(float) / base + 0.5) * base
    if values is None or pd.isna(values):
        return float("nan")
    return float(np.floor(float(values) / base + 0.5) * base)


@dataclass(frozen=True, repr=False)
class SuppressedTable(Result):
    """A table of counts with small cells suppressed; the true small counts are not kept.

    ``values`` holds the publishable counts (NaN where suppressed, rounded when ``base``
    was given) with a ``total`` row and column where totals are published; ``reason`` says
    why each cell is hidden: ``"primary"`` (between 1 and k - 1), ``"complementary"`` (so
    that a total cannot reveal a primary cell) or ``""``.
    """

    values: pd.DataFrame
    reason: pd.DataFrame
    k: int
    base: int | None = None

    @property
    def mask(self) -> pd.DataFrame:
        """True where a cell is suppressed."""
        return self.reason != ""

    def display(self, *, symbol: str = SUPPRESSED) -> pd.DataFrame:
        """The table as text cells, suppressed cells shown as ``symbol``."""
        shown = self.values.copy().astype(object)
        for column in shown.columns:
            shown[column] = [symbol if r else f"{v:.0f}"
                             for v, r in zip(self.values[column], self.reason[column],
                                             strict=True)]
        return shown

    def table(self) -> pd.DataFrame:
        """Tidy: one row per cell with ``row``, ``column``, ``n``, ``reason``, ``suppressed``."""
        rows = [(r, c, self.values.loc[r, c], self.reason.loc[r, c])
                for r in self.values.index for c in self.values.columns]
        out = pd.DataFrame(rows, columns=["row", "column", "n", "reason"])
        return out.assign(suppressed=out["reason"] != "")

    def headline(self) -> str:
        """Cells shown and withheld, and the rule."""
        reasons = self.reason.to_numpy()
        cells = reasons.size
        primary = int((reasons == "primary").sum())
        complementary = int((reasons == "complementary").sum())
        rounded = f", counts rounded to {self.base}" if self.base else ""
        return (f"{cells - primary - complementary} of {cells} cells shown, {primary} "
                f"suppressed below k = {self.k} and {complementary} to protect them{rounded}")

    def summary(self) -> Summary:
        """The table with suppressed cells marked, and the rule applied."""
        hidden = int(self.mask.to_numpy().sum())
        rule = (f"{SUPPRESSED}: suppressed, fewer than {self.k} clients or hidden so that a "
                f"total cannot reveal such a cell ({hidden} cells).")
        if self.base:
            rule += f" Other counts rounded to the nearest {self.base}."
        return Summary(text_table(self.display().reset_index(names="")) + "\n" + rule)

    def plot(self, ax: Any = None) -> Any:
        """The published counts as a grid, suppressed cells marked ``*``. Returns the Axes."""
        ax = axes_or_new(ax)
        values = self.values.where(~self.mask).to_numpy(dtype=float)
        ax.imshow(np.ma.masked_invalid(values), cmap="Blues", aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            ax.text(j, i, SUPPRESSED if np.isnan(value) else f"{value:.0f}", ha="center",
                    va="center", fontsize=8)
        ax.set_xticks(range(values.shape[1]), [str(c) for c in self.values.columns])
        ax.set_yticks(range(values.shape[0]), [str(r) for r in self.values.index])
        ax.set_title(f"Counts published with k = {self.k} ({SUPPRESSED}: suppressed)")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: values (null where suppressed), reasons, k and rounding base."""
        return jsonable({"k": self.k, "base": self.base,
                         "values": self.values.where(~self.mask).astype(object)
                         .where(~self.mask, None).to_dict(orient="index"),
                         "reason": self.reason.to_dict(orient="index")})


def _lines(shape: tuple[int, int], row_total: bool, col_total: bool) -> list[list[tuple]]:
    """The additive constraints of a table with margins: each line's cells, total last."""
    rows, cols = shape
    lines = []
    if row_total:  # the last column holds each row's total
        lines += [[(i, j) for j in range(cols)] for i in range(rows)]
    if col_total:  # the last row holds each column's total
        lines += [[(i, j) for i in range(rows)] for j in range(cols)]
    return lines


def _line_exposed(line: list[tuple], values: np.ndarray, hidden: np.ndarray, k: int) -> bool:
    """A line that hides one cell only, or hides cells adding up to fewer than k while its
    total is published."""
    flags = [bool(hidden[c]) for c in line]
    if not any(flags):
        return False
    if sum(flags) < 2:
        return True
    return not hidden[line[-1]] and sum(values[c] for c in line[:-1] if hidden[c]) < k


def _determined(cells: list[tuple], lines: list[list[tuple]], hidden: np.ndarray) -> list:
    """Hidden cells whose value the published cells and the additive constraints fix."""
    unknown = [tuple(int(x) for x in c) for c in np.argwhere(hidden)]
    position = {c: i for i, c in enumerate(unknown)}
    rows = []
    for line in lines:
        row = np.zeros(len(unknown))
        for c in line[:-1]:
            if c in position:
                row[position[c]] += 1.0
        if line[-1] in position:
            row[position[line[-1]]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    _, singular, vt = np.linalg.svd(np.array(rows))
    null = vt[int((singular > 1e-9).sum()):]
    return [c for c in cells if c in position
            and (null.shape[0] == 0 or np.abs(null[:, position[c]]).max() < 1e-9)]


def _hide_one(line: list[tuple], values: np.ndarray, hidden: np.ndarray) -> bool:
    """Hide the best further cell of a line: an inner cell before the total, one whose
    crossing line already hides something, a non-zero one, then the smallest."""
    options = [c for c in line if not hidden[c]]
    if not options:
        return False

    def key(c: tuple) -> tuple:
        crossing = int(hidden[c[0], :].sum() + hidden[:, c[1]].sum())
        return (c == line[-1], crossing == 0, values[c] == 0, values[c])

    hidden[min(options, key=key)] = True
    return True


def _complementary(values: np.ndarray, primary: np.ndarray, k: int, row_total: bool,
                   col_total: bool) -> np.ndarray:
    """Primary cells plus the complementary cells that protect them."""
    hidden = primary.copy()
    lines = _lines(values.shape, row_total, col_total)
    primaries = [tuple(int(x) for x in c) for c in np.argwhere(primary)]
    for _ in range(values.size):
        exposed = [line for line in lines if _line_exposed(line, values, hidden, k)]
        if exposed:
            if not _hide_one(exposed[0], values, hidden):
                break
            continue
        fixed = _determined(primaries, lines, hidden)
        if not fixed or not any(_hide_one(line, values, hidden)
                                for line in lines if fixed[0] in line):
            break
    return hidden


def suppress_counts(
    counts: pd.DataFrame | pd.Series,
    *,
    k: int = DEFAULT_K,
    totals: Literal["both", "rows", "columns", "none"] = "both",
    base: int | None = None,
) -> SuppressedTable:
    """Suppress small counts, with complementary suppression, and optionally round the rest.

    Parameters
    ----------
    counts : DataFrame or Series
        Counts of clients (non-negative). A Series is one column.
    k : int, default 5
        Smallest count published (at least 3).
    totals : {"both", "rows", "columns", "none"}, default "both"
        Which totals are published: each row's (a ``total`` column), each column's (a
        ``total`` row), both, or none. Complementary suppression protects the lines whose
        total is published.
    base : int, optional
        Round every published count (totals included) to the nearest ``base`` (e.g. 5).

    Returns
    -------
    SuppressedTable

    Examples
    --------
    >>> s = suppress_counts(pd.Series({"completed": 30, "dropped": 2, "ongoing": 9}), k=5)
    >>> s.display()["n"].tolist()
    ['30', '*', '*', '41']
    """
    k = check_k(k)
    frame = counts.to_frame(counts.name or "n") if isinstance(counts, pd.Series) else counts
    if isinstance(counts, pd.Series) and totals == "both":
        totals = "columns"
    inner = frame.apply(pd.to_numeric).astype(float).fillna(0.0)
    if (inner.to_numpy() < 0).any():
        raise DataError("a count is negative", fix="Give counts of clients (0 or more).")
    row_total, col_total = totals in ("both", "rows"), totals in ("both", "columns")
    full = inner.copy()
    if row_total:
        full["total"] = inner.sum(axis=1)
    if col_total:
        full.loc["total"] = full.sum(axis=0)
    values = full.to_numpy()
    primary = (values > 0) & (values < k)
    hidden = _complementary(values, primary, k, row_total, col_total)
    reason = pd.DataFrame(np.where(primary, "primary",
                                   np.where(hidden, "complementary", "")).astype(object),
                          index=full.index, columns=full.columns)
    out = round_to_base(full, base=base) if base else full
    return SuppressedTable(values=out.where(reason == ""), reason=reason, k=k, base=base)


def mask_statistics(frame: pd.DataFrame, *, n: str = "n", columns: Iterable[str] | None = None,
                    k: int = DEFAULT_K) -> pd.DataFrame:
    """Withhold the numbers of every row resting on fewer than ``k`` clients.

    Returns a copy in which, on each row whose ``n`` is below ``k``, the ``columns`` (default:
    every numeric column, ``n`` included) are NaN, with a ``suppressed`` flag and a
    ``reason`` in words.

    Examples
    --------
    >>> stats = pd.DataFrame({"band": ["low", "high"], "mean": [12.5, 20.1], "n": [40, 3]})
    >>> mask_statistics(stats, k=5)[["mean", "n", "reason"]]
       mean     n                                reason
    0  12.5  40.0
    1   NaN   NaN  fewer than 5 clients: not published
    """
    k = check_k(k)
    if n not in frame.columns:
        raise UsageError(f"mask_statistics: no column {n!r} with the number of clients.")
    out = frame.copy()
    hidden = pd.to_numeric(out[n], errors="coerce").fillna(0).to_numpy() < k
    names = list(columns) if columns is not None else [
        c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])]
    if n not in names:
        names.append(n)
    for column in names:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
        out.loc[hidden, column] = np.nan
    out["suppressed"] = hidden
    out["reason"] = np.where(hidden, f"fewer than {k} clients: not published", "")
    return out


def smallest_class(frame: pd.DataFrame, columns: Iterable[str]) -> int:
    """Size of the smallest group of rows sharing the same values of ``columns`` (the k
    of k-anonymity; Sweeney 2002). Missing values form a group of their own.

    Examples
    --------
    >>> smallest_class(pd.DataFrame({"coach": ["a", "a", "b"], "sponsor": ["x"] * 3}),
    ...                ["coach", "sponsor"])
    1
    """
    columns = list(columns)
    if frame.empty:
        return 0
    return int(frame.groupby(columns, dropna=False).size().min())
