"""The disclosure-control gate: every number that leaves the body passes through one place.

A report, a norms file or a benchmark publishes counts, percentages, means, quantiles,
intervals, effect sizes and model results. Each is released through a :class:`Disclosure`,
which knows the number of clients behind it, applies the rules below, and keeps a log of
every number released or withheld (:attr:`Disclosure.log`), so that a test can find each
number of a published page in the log.

The rules (``docs/privacy.md`` gives their sources):

- **threshold** -- nothing resting on fewer than ``k`` clients is published;
- **counts** -- a count of 1 to ``k - 1`` is withheld; tables of counts get complementary
  suppression (:func:`~outcomes.privacy.suppression.suppress_counts`); when rounding is on,
  every count, totals included, is rounded to ``base`` (5), and percentages are computed from
  the rounded counts;
- **percentages** -- withheld when the numerator or its complement is 1 to ``k - 1``;
- **means and spreads** -- published on a grid no finer than the instrument's precision and
  no finer than ``range / n``, so that the difference of two releases that differ by one
  client cannot give that client's value back to better than the whole range of the measure;
- **quantiles** -- published only with at least ``k`` clients on each side, at the
  instrument's precision;
- **model results, effect sizes and intervals** -- published only from at least ``k``
  clients, at two decimals (or the given precision);
- **linked counts** -- counts tied by totals, bands and margins are suppressed together
  (:meth:`Disclosure.linked_counts`, :func:`~outcomes.privacy.linked.suppress_linked`);
- **band edges** -- cut points of bands are rounded quantiles with at least ``k`` clients on
  each side, and every band they make holds at least ``k`` clients
  (:meth:`Disclosure.band_edges`).

Withheld numbers read the same whatever the reason, so that a reader cannot tell a primary
small cell from a complementary one.

Examples
--------
>>> gate = Disclosure(k=5)
>>> gate.count(3, "clients who dropped out").text
'withheld'
>>> gate.mean([12.1, 20.4, 18.0, 25.2, 30.3, 9.9], "mean intake", bounds=(0, 40)).text
'20'
>>> len(gate.log), int(gate.log["withheld"].sum())
(2, 1)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes.privacy.linked import suppress_linked
from outcomes.privacy.suppression import (
    DEFAULT_K,
    SuppressedTable,
    check_k,
    quantile_allowed,
    round_to_base,
    suppress_counts,
)

__all__ = ["WITHHELD", "Released", "Disclosure", "release_step", "sd_step"]

#: How a withheld number reads, whatever the reason.
WITHHELD = "withheld"


@dataclass(frozen=True)
class Released:
    """One number as released: its published value (``None`` when withheld) and text.

    ``n`` is the number of clients behind it; ``rule`` names the rule that decided.
    """

    what: str
    value: float | None
    text: str
    n: int | None
    rule: str
    step: float | None = None

    @property
    def withheld(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        return self.text

    def __format__(self, spec: str) -> str:
        return format(self.text, spec)


def _digits(step: float) -> int:
    """Decimals needed to write multiples of ``step``."""
    if step >= 1:
        return 0
    return max(0, math.ceil(-math.log10(step) - 1e-9))


def release_step(n: int, *, span: float | None, precision: float) -> float:
    """The rounding grid of a mean or a spread of ``n`` clients.

    The smallest of 1, 2 or 5 times a power of ten that is at least the instrument's
    ``precision`` and at least ``span / n`` (``span`` = the measure's range): two releases
    that differ by one client then differ in the sum of scores by an unknown amount as wide as
    the measure's whole range.

    Examples
    --------
    >>> release_step(875, span=40, precision=0.1), release_step(60, span=40, precision=0.1)
    (0.1, 1.0)
    >>> release_step(12, span=None, precision=0.01)
    0.01
    """
    floor = precision if span is None or n <= 0 else max(precision, span / n)
    power = 10.0 ** math.floor(math.log10(floor))
    for multiple in (1, 2, 5, 10):
        step = multiple * power
        if step >= floor * (1 - 1e-12):
            return float(round(step, 12))
    return float(10 * power)  # pragma: no cover


def _nice(floor: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``floor``."""
    power = 10.0 ** math.floor(math.log10(floor))
    for multiple in (1, 2, 5, 10):
        if multiple * power >= floor * (1 - 1e-12):
            return float(round(multiple * power, 12))
    return float(10 * power)  # pragma: no cover


def sd_step(n: int, mean: float, sd: float, *, bounds: Sequence[float],
            precision: float) -> float | None:
    """The rounding grid of a standard deviation published beside its mean and n.

    Two releases that differ by one client give, from their n, means and SDs, that client's
    squared distance from the first release's mean: ``(x - mean)² = D (n - 1) / n`` with
    ``D = (n - 1) sd₁² - (n - 2) sd₂²``. Only the rounding of the SDs blurs ``D``, so the
    grid is chosen wide enough, ``2 (n - 1) sd step >= range × R × n / (n - 1)`` with ``R``
    the farthest a score can lie from the mean, that the client stays anywhere within at
    least half the measure's range; and never finer than the mean's grid. ``None`` when only
    a grid coarser than the SD itself would do: the SD is then withheld.

    Examples
    --------
    >>> sd_step(875, 20.0, 7.0, bounds=(0, 40), precision=0.1)
    0.1
    >>> sd_step(200, 15.0, 5.0, bounds=(0, 40), precision=0.1)
    1.0
    >>> sd_step(6, 1.1, 0.1, bounds=(1, 5), precision=0.01) is None
    True
    """
    low, high = float(bounds[0]), float(bounds[1])
    reach = max(mean - low, high - mean, 0.0)
    mean_step = release_step(n, span=high - low, precision=precision)
    needed = (high - low) * reach * n / (2 * (n - 1) ** 2 * sd) if sd > 0 else math.inf
    if needed > max(sd, precision):
        return None
    return _nice(max(precision, mean_step, needed))


def _on_grid(value: float, step: float) -> float:
    return float(round(round(value / step) * step, 12))


def _write(value: float, step: float) -> str:
    out = f"{value:,.{_digits(step)}f}"
    if out.lstrip("-").strip("0.,") == "":
        out = out.lstrip("-")
    return out.replace("-", "−")


@dataclass
class Disclosure:
    """The gate every published number goes through, with the log of what it released.

    Parameters
    ----------
    k : int, default 5
        Fewest clients behind any published number (at least 3).
    base : int, optional
        Round every count to this base (5 is usual); ``None`` publishes exact counts.

    Examples
    --------
    >>> gate = Disclosure(k=5, base=5)
    >>> gate.count(873, "engagements").text, gate.percent(208, 873, "improved").text
    ('875', '24 %')
    """

    k: int = DEFAULT_K
    base: int | None = None
    records: list[Released] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.k = check_k(self.k)

    # -- the log -----------------------------------------------------------------------
    def _keep(self, released: Released) -> Released:
        self.records.append(released)
        return released

    def _withhold(self, what: str, n: int | None, rule: str) -> Released:
        return self._keep(Released(what, None, WITHHELD, n, rule))

    def withhold(self, what: str, n: int | None = None) -> Released:
        """Record a number that is not published (e.g. the share of a withheld count)."""
        return self._withhold(what, n, "withheld with a number it would reveal")

    @property
    def log(self) -> pd.DataFrame:
        """Every number released or withheld: what, value, text, clients, rule."""
        return pd.DataFrame([{"what": r.what, "value": r.value, "text": r.text, "n": r.n,
                              "rule": r.rule, "withheld": r.withheld} for r in self.records],
                            columns=["what", "value", "text", "n", "rule", "withheld"])

    def published_texts(self) -> set[str]:
        """The text of every number released (for finding a page's numbers in the log)."""
        return {r.text for r in self.records if not r.withheld}

    @property
    def n_withheld(self) -> int:
        return sum(r.withheld for r in self.records)

    # -- counts ------------------------------------------------------------------------
    def _rounded(self, n: float) -> float:
        return float(round_to_base(n, base=self.base)) if self.base else float(n)

    def count(self, n: Any, what: str) -> Released:
        """A count of clients or engagements: withheld from 1 to ``k - 1``, else (rounded)."""
        if n is None or pd.isna(n):
            return self._withhold(what, None, "not available")
        n = int(n)
        if 0 < n < self.k:
            return self._withhold(what, n, f"fewer than {self.k}")
        value = self._rounded(n)
        return self._keep(Released(what, value, f"{value:,.0f}" if n else "none", n,
                                   "rounded count" if self.base else "count"))

    def counts(self, table: pd.DataFrame | pd.Series, what: str, *,
               totals: str = "both") -> SuppressedTable:
        """A table of counts with small and complementary cells withheld (and rounding)."""
        shown = suppress_counts(table, k=self.k, totals=totals,  # type: ignore[arg-type]
                                base=self.base)
        values = shown.values
        for row in values.index:
            for column in values.columns:
                label = f"{what}: {row}, {column}"
                value = values.loc[row, column]
                if pd.isna(value):
                    self._withhold(label, None, "small or complementary cell")
                else:
                    self._keep(Released(label, float(value), f"{value:,.0f}", int(value),
                                        "rounded count" if self.base else "count"))
        return shown

    def linked_counts(self, values: Mapping[str, float],
                      constraints: Sequence[tuple[Sequence[str], str]], what: Mapping[str, str],
                      *, never: Collection[str] = (),
                      sensitive: Collection[str] | None = None) -> dict[str, Released]:
        """Counts tied by constraints, suppressed together (then rounded when ``base`` is set).

        ``values`` holds every cell a reader could work out; only the cells named in ``what``
        are published (and logged, under those labels). The cells a reader could only work
        out from rounded counts are not ``sensitive`` when the gate rounds (default: all
        cells without rounding, the published ones with it). Returns the released cells.

        Examples
        --------
        >>> gate = Disclosure(k=5)
        >>> out = gate.linked_counts({"a": 40, "b": 31, "c": 2, "all": 73},
        ...                          [(["a", "b", "c"], "all")], {"a": "band a", "b": "band b",
        ...                           "all": "all bands"})
        >>> [out[c].text for c in ("a", "b", "all")]
        ['40', 'withheld', '73']
        """
        if sensitive is None:
            sensitive = set(what) if self.base else set(values)
        reasons = suppress_linked(values, constraints, k=self.k, published=set(what),
                                  sensitive=sensitive, never=never)
        out = {}
        for cell, label in what.items():
            if reasons[cell]:
                out[cell] = self._withhold(label, None, "small or complementary cell")
            else:
                out[cell] = self.count(values[cell], label)
        return out

    def percent(self, numerator: Any, denominator: Any, what: str, *,
                digits: int = 0) -> Released:
        """A percentage, withheld when the numerator or its complement is 1 to ``k - 1``."""
        if numerator is None or denominator is None or pd.isna(numerator) \
                or pd.isna(denominator) or denominator <= 0:
            return self._withhold(what, None, "not available")
        top, bottom = int(numerator), int(denominator)
        if 0 < top < self.k or 0 < bottom - top < self.k or bottom < self.k:
            return self._withhold(what, bottom, f"numerator or complement under {self.k}")
        if self.base:
            top, bottom = int(self._rounded(top)), int(self._rounded(bottom))
        share = 100 * top / bottom if bottom else 0.0
        step = 10.0 ** -digits
        value = _on_grid(share, step)
        return self._keep(Released(what, value / 100, f"{_write(value, step)} %",
                                   int(denominator), "percentage", step))

    # -- distributions -----------------------------------------------------------------
    @staticmethod
    def _values(values: Iterable[Any]) -> np.ndarray:
        if isinstance(values, np.ndarray | pd.Series) and values.dtype.kind in "fiub":
            x = np.asarray(values, dtype=float)
            return x[~np.isnan(x)]
        x = pd.to_numeric(pd.Series(list(values) if not isinstance(values, pd.Series)
                                    else values), errors="coerce").dropna()
        return x.to_numpy(dtype=float)

    def mean(self, values: Iterable[Any], what: str, *, bounds: Sequence[float] | None = None,
             precision: float = 0.1) -> Released:
        """The mean of one value per client, on the :func:`release_step` grid."""
        x = self._values(values)
        return self._gridded(what, x, float(x.mean()) if x.size else None, bounds, precision,
                             "mean")

    def sd(self, values: Iterable[Any], what: str, *, bounds: Sequence[float] | None = None,
           precision: float = 0.1) -> Released:
        """The standard deviation of one value per client, on the :func:`sd_step` grid.

        The grid is at least the mean's and wide enough that the sum of squares a reader
        works out from the published n, mean and SD is uncertain by the whole range of a
        client's squared score; a spread too narrow for any such grid is withheld.
        """
        x = self._values(values)
        n = int(x.size)
        if n < self.k or n < 2:
            return self._withhold(what, n, f"fewer than {self.k}")
        value = float(x.std(ddof=1))
        if bounds is None:
            return self._gridded(what, x, value, bounds, precision, "standard deviation")
        step = sd_step(n, float(x.mean()), value, bounds=bounds, precision=precision)
        if step is None:
            return self._withhold(what, n, "spread too narrow to publish safely")
        published = _on_grid(value, step)
        return self._keep(Released(what, published, _write(published, step), n,
                                   "standard deviation", step))

    def _gridded(self, what: str, x: np.ndarray, value: float | None,
                 bounds: Sequence[float] | None, precision: float, rule: str) -> Released:
        n = int(x.size)
        if n < self.k or value is None:
            return self._withhold(what, n, f"fewer than {self.k}")
        span = float(bounds[1] - bounds[0]) if bounds is not None else None
        step = release_step(n, span=span, precision=precision)
        published = _on_grid(value, step)
        return self._keep(Released(what, published, _write(published, step), n, rule, step))

    def quantile(self, values: Iterable[Any], q: float, what: str, *,
                 precision: float = 0.1) -> Released:
        """A quantile, with at least ``k`` clients on each side, at the given precision."""
        x = self._values(values)
        if not quantile_allowed(int(x.size), q, k=self.k):
            return self._withhold(what, int(x.size), f"fewer than {self.k} beyond it")
        value = _on_grid(float(np.quantile(x, q)), precision)
        return self._keep(Released(what, value, _write(value, precision), int(x.size),
                                   "quantile", precision))

    def band_edges(self, values: Iterable[Any], bands: int, what: str, *,
                   step: float = 1.0) -> list[Released]:
        """Cut points of ``bands`` bands of equal size: rounded quantiles, ``k`` per band.

        Each cut is the ``i / bands`` quantile rounded to ``step``, kept only when at least
        ``k`` clients lie on each side of the quantile and every band between kept cuts holds
        at least ``k`` clients; a cut that would leave a band smaller is dropped.

        Examples
        --------
        >>> gate = Disclosure(k=5)
        >>> [e.text for e in gate.band_edges(range(9), 4, "intake")]
        []
        >>> [e.text for e in gate.band_edges(range(40), 4, "intake")]
        ['10', '20', '29']
        """
        x = np.sort(self._values(values))
        cuts: list[float] = []
        for i in range(1, bands):
            q = i / bands
            if not quantile_allowed(int(x.size), q, k=self.k):
                continue
            edge = _on_grid(float(np.quantile(x, q)), step)
            below = int(np.searchsorted(x, edge, side="left"))
            last = int(np.searchsorted(x, cuts[-1], side="left")) if cuts else 0
            if below - last >= self.k and x.size - below >= self.k and edge not in cuts:
                cuts.append(edge)
        return [self._keep(Released(f"{what}: band edge", edge, _write(edge, step),
                                    int(x.size), "band edge", step)) for edge in cuts]

    # -- model results -----------------------------------------------------------------
    def statistic(self, value: Any, n: Any, what: str, *, digits: int = 2) -> Released:
        """A model result, effect size, coefficient or share from ``n`` clients."""
        if value is None or pd.isna(value) or n is None or pd.isna(n):
            return self._withhold(what, None if n is None or pd.isna(n) else int(n),
                                  "not available")
        if int(n) < self.k:
            return self._withhold(what, int(n), f"fewer than {self.k}")
        if not math.isfinite(float(value)):  # e.g. an effect size of a group with no spread
            return self._withhold(what, int(n), "not available")
        step = 10.0 ** -digits
        published = _on_grid(float(value), step)
        return self._keep(Released(what, published, _write(published, step), int(n),
                                   "statistic", step))

    def interval(self, low: Any, high: Any, n: Any, what: str, *,
                 digits: int = 2) -> tuple[Released, Released]:
        """Both ends of an interval, released together or withheld together."""
        if low is None or high is None or pd.isna(low) or pd.isna(high):
            return (self._withhold(f"{what} (lower)", None, "not available"),
                    self._withhold(f"{what} (upper)", None, "not available"))
        return (self.statistic(low, n, f"{what} (lower)", digits=digits),
                self.statistic(high, n, f"{what} (upper)", digits=digits))
