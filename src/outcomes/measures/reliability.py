"""Internal consistency of an instrument's scales: alpha, omega and item statistics.

:func:`reliability` takes the canonical ``responses`` table and one instrument and, for
each item-based scale, reports

- Cronbach's alpha with the Feldt (1965) confidence interval, as ``pingouin`` and R's
  ``psych::alpha`` give it;
- McDonald's omega total from a one-factor model fitted by maximum likelihood to the
  item correlation matrix, omega_t = (sum lambda)^2 / ((sum lambda)^2 + sum psi), with a
  percentile bootstrap interval over respondents;
- item statistics: mean, SD, corrected item-total correlation, alpha if the item is left
  out.

Items are reverse-keyed first. Respondents with any item of a scale missing are left out of
that scale (listwise deletion; ``n`` reports who was kept).

Why maximum likelihood, and how it is fitted: :mod:`outcomes.measures._factor_analysis`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import fdtri

from outcomes import instruments as registry
from outcomes._checks import check_ci_level, check_n_boot, check_seed, shared_parameters
from outcomes._errors import DataWarning, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.instruments import Instrument, Scale
from outcomes.measures._coefficients import (
    alpha_of,
    bootstrap_omega,
    item_statistics,
    omega_of,
    uniqueness_of,
)
from outcomes.measures._factor_analysis import one_factor
from outcomes.measures.scoring import item_matrix

__all__ = ["reliability", "Reliability", "cronbach_alpha", "omega_total", "feldt_interval",
           "one_factor"]

_OCCASIONS = ("intake", "session", "end", "followup")
#: The columns of :meth:`Reliability.table`, one row per scale and quantity.
COLUMNS = ["scale", "quantity", "estimate", "ci_low", "ci_high", "n", "n_items"]


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of wide item data (one column per item).

    Rows with any missing item are left out (listwise). alpha = k/(k-1) (1 - sum of item
    variances / variance of the sum) (Cronbach 1951, Psychometrika 16:297-334).

    Examples
    --------
    >>> data = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 4], "c": [1, 3, 3, 5]})
    >>> round(cronbach_alpha(data), 4)
    0.9333
    """
    matrix = _numeric(items)
    if matrix.shape[1] < 2 or matrix.shape[0] < 2:
        raise UsageError("cronbach_alpha needs at least two items and two complete rows")
    return alpha_of(matrix)


@shared_parameters
def feldt_interval(alpha: float, n: int, k: int, *, ci_level: float = 0.95) -> tuple[float, float]:
    """The Feldt (1965) interval for alpha: 1 - (1 - alpha) F, F on (n - 1, (n - 1)(k - 1)) df.

    Parameters
    ----------
    alpha : float
        Cronbach's alpha.
    n, k : int
        Respondents and items behind it.
    {ci_level}

    Examples
    --------
    >>> [round(x, 3) for x in feldt_interval(0.8, 100, 5)]
    [0.731, 0.856]
    """
    ci_level = check_ci_level(ci_level, "feldt_interval")
    if not np.isfinite(alpha) or n < 2 or k < 2:
        return (float("nan"), float("nan"))
    tail = (1 - ci_level) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    # upper quantiles of F(df1, df2): fdtri is the inverse of its distribution function
    low = 1 - (1 - alpha) * fdtri(df1, df2, 1.0 - tail)
    high = 1 - (1 - alpha) * fdtri(df1, df2, 1.0 - (1 - tail))
    return (float(low), float(high))


def omega_total(items: pd.DataFrame) -> float:
    """McDonald's omega total of wide item data from a one-factor ML model.

    omega_t = (sum lambda)^2 / ((sum lambda)^2 + sum psi), psi = 1 - lambda^2, fitted to the
    correlation matrix of the complete rows (McDonald 1999, Test theory: A unified
    treatment). Needs at least three items.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=500)
    >>> data = pd.DataFrame({f"i{j}": f + rng.normal(size=500) for j in range(4)})
    >>> 0.7 < omega_total(data) < 0.9
    True
    """
    matrix = _numeric(items)
    if matrix.shape[1] < 3 or matrix.shape[0] < 3:
        raise UsageError("omega_total needs at least three items and three complete rows")
    return omega_of(matrix)[0]


def _numeric(items: pd.DataFrame) -> np.ndarray:
    if not isinstance(items, pd.DataFrame):
        raise UsageError("give the items as a DataFrame with one column per item")
    matrix = items.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return matrix[~np.isnan(matrix).any(axis=1)]


def _one_scale(wide: pd.DataFrame, scale: Scale, ci_level: float, n_boot: int,
               rng: np.random.Generator
               ) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    items = list(scale.items)
    matrix = wide[items].to_numpy(dtype=float)
    matrix = matrix[~np.isnan(matrix).any(axis=1)]
    n, k = matrix.shape
    if scale.rule == "zsum" and n > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = (matrix - matrix.mean(axis=0)) / matrix.std(axis=0, ddof=1)
    if n < 3:
        warnings.warn(f"scale {scale.name!r}: only {n} respondents answered every item; "
                      "reliability is not estimated", DataWarning, stacklevel=3)
    alpha = alpha_of(matrix) if n >= 3 else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        omega, loading = omega_of(matrix)
    low, high = feldt_interval(alpha, n, k, ci_level=ci_level)
    omega_low, omega_high = bootstrap_omega(matrix, loading, n_boot, ci_level, rng,
                                             scale.name)
    rows = [{"scale": scale.name, "quantity": "alpha", "estimate": alpha, "ci_low": low,
             "ci_high": high, "n": n, "n_items": k},
            {"scale": scale.name, "quantity": "omega", "estimate": omega, "ci_low": omega_low,
             "ci_high": omega_high, "n": n, "n_items": k}]
    loadings = pd.DataFrame({"scale": scale.name, "item": items, "loading": loading,
                             "uniqueness": uniqueness_of(loading)})
    return rows, item_statistics(matrix, scale.name, items), loadings


def _select(responses: pd.DataFrame, instrument: Instrument, occasion: str | None,
            rater: str) -> tuple[pd.DataFrame, str]:
    """One row of items per engagement: the chosen rater and occasion."""
    wide = item_matrix(responses, instrument)
    index = wide.index.to_frame(index=False)
    keep = (index["rater"] == rater).to_numpy().copy()
    if not keep.any():
        raise UsageError(f"reliability: no {instrument.key!r} responses from rater {rater!r}")
    given = [o for o in _OCCASIONS if (index.loc[keep, "occasion"] == o).any()]
    if occasion is None:
        others = sorted(set(index.loc[keep, "occasion"].dropna()) - set(_OCCASIONS))
        occasion = (given or others)[0]
    keep = keep & (index["occasion"] == occasion).to_numpy()
    if not keep.any():
        raise UsageError(f"reliability: {instrument.key!r} was not given at occasion "
                         f"{occasion!r}; it was given at: {', '.join(given)}")
    chosen = index[keep]
    if occasion == "session":
        first = chosen.groupby("engagement_id")["session"].transform("min")
        chosen = chosen[(chosen["session"] == first).to_numpy()]
    return wide.iloc[chosen.index.to_numpy()], occasion


@shared_parameters
def reliability(responses: pd.DataFrame, instrument: str | Instrument, *,
                occasion: str | None = None, rater: str = "client", ci_level: float = 0.95,
                n_boot: int = 1000, seed: int | np.random.Generator | None = None,
                ) -> Reliability:
    """Alpha, omega and item statistics for each scale of one instrument.

    Parameters
    ----------
    responses : DataFrame
        Canonical long responses (see :func:`outcomes.measures.scoring.score`). Not modified.
    instrument : str or Instrument
    occasion : str, optional
        Which administration to use, one per engagement. Default: the earliest occasion
        at which the instrument was given (intake, then session, end, followup). For
        ``"session"``, each engagement's first rated session is used.
    rater : str, default "client"
    {ci_level}
    n_boot : int, default 1000
        Bootstrap samples of respondents for the omega interval (0 for none).
    {seed}

    Returns
    -------
    Reliability
        ``table()`` has one row per scale and quantity (``alpha``, ``omega``) with
        ``estimate``, ``ci_low``, ``ci_high``, ``n`` and ``n_items``.

    Notes
    -----
    CEQ scales (z-sums) are analysed on z-standardised items, so alpha is the
    standardised alpha of the score actually used. Composite scales and Goal Attainment
    Scaling (goals differ from client to client) have no internal consistency.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> trait = rng.normal(size=(200, 1))
    >>> answers = np.clip(np.round(2 + trait + rng.normal(size=(200, 6))), 0, 4)
    >>> responses = pd.DataFrame({
    ...     "engagement_id": np.repeat([f"e{i}" for i in range(200)], 6),
    ...     "occasion": "intake", "session": pd.NA, "instrument": "lot-r",
    ...     "item": np.tile([1, 3, 4, 7, 9, 10], 200), "value": answers.ravel()})
    >>> result = reliability(responses, "lot-r", n_boot=50, seed=1)
    >>> result.table()[["scale", "quantity", "n", "n_items"]]
       scale quantity    n  n_items
    0  total    alpha  200        6
    1  total    omega  200        6
    """
    ci_level = check_ci_level(ci_level, "reliability")
    n_boot = check_n_boot(n_boot, "reliability")
    seed = check_seed(seed, "reliability")
    instrument = registry.get(instrument)
    scales = [s for s in instrument.scales.values() if s.rule not in ("composite", "gas-tscore")]
    if not scales:
        raise UsageError(f"reliability: {instrument.key!r} has no item-based scale "
                         "(Goal Attainment Scaling goals differ from client to client)")
    wide, occasion = _select(responses, instrument, occasion, rater)
    rng = np.random.default_rng(seed)
    rows, items, loadings = [], [], []
    for scale in scales:
        scale_rows, item_stats, scale_loadings = _one_scale(wide, scale, ci_level, n_boot, rng)
        rows.extend(scale_rows)
        items.append(item_stats)
        loadings.append(scale_loadings)
    return Reliability(
        instrument=instrument.key, occasion=occasion, rater=rater, ci_level=ci_level,
        n_boot=n_boot, estimates=pd.DataFrame(rows, columns=COLUMNS),
        items=pd.concat(items, ignore_index=True),
        loadings=pd.concat(loadings, ignore_index=True),
    )


@dataclass(frozen=True, repr=False)
class Reliability(Result):
    """The reliability of an instrument's scales (see :func:`reliability`).

    Attributes
    ----------
    instrument, occasion, rater : str
        What was analysed.
    ci_level : float
        Level of the alpha (Feldt) and omega (percentile bootstrap) intervals.
    n_boot : int
    estimates : DataFrame
        One row per scale and quantity (``alpha``, ``omega``): scale, quantity, estimate,
        ci_low, ci_high, n (respondents with every item of the scale), n_items; the same as
        :meth:`table`.
    items : DataFrame
        Item statistics: scale, item, mean, sd, item_total_correlation (corrected),
        alpha_if_deleted, n.
    loadings : DataFrame
        One-factor ML loadings and uniquenesses per scale and item.
    """

    instrument: str
    occasion: str
    rater: str
    ci_level: float
    n_boot: int
    estimates: pd.DataFrame
    items: pd.DataFrame
    loadings: pd.DataFrame

    @property
    def alpha(self) -> pd.Series:
        """Cronbach's alpha of each scale, indexed by scale."""
        return self._quantity("alpha")

    @property
    def omega(self) -> pd.Series:
        """McDonald's omega total of each scale, indexed by scale."""
        return self._quantity("omega")

    @property
    def scales(self) -> pd.DataFrame:
        """The former wide table (one row per scale, ``alpha_ci_low`` and the like).

        Deprecated: use :meth:`table` (one row per scale and quantity); this goes in the
        next release.
        """
        warnings.warn("Reliability.scales is now Reliability.table(), one row per scale and "
                      "quantity (alpha, omega) with estimate, ci_low and ci_high; .scales "
                      "goes in the next release.", FutureWarning, stacklevel=2)
        return self._wide()

    def _quantity(self, quantity: str) -> pd.Series:
        rows = self.estimates[self.estimates["quantity"] == quantity]
        return pd.Series(rows["estimate"].to_numpy(dtype=float), index=rows["scale"].tolist(),
                         name=quantity)

    def _wide(self) -> pd.DataFrame:
        """One row per scale: alpha, its interval, omega, its interval, n, n_items."""
        parts = {q: self.estimates[self.estimates["quantity"] == q].reset_index(drop=True)
                 for q in ("alpha", "omega")}
        wide = {"scale": parts["alpha"]["scale"]}
        for quantity, rows in parts.items():
            wide.update({quantity: rows["estimate"], f"{quantity}_ci_low": rows["ci_low"],
                         f"{quantity}_ci_high": rows["ci_high"]})
        return pd.DataFrame({**wide, "n": parts["alpha"]["n"],
                             "n_items": parts["alpha"]["n_items"]})

    def table(self) -> pd.DataFrame:
        """One row per scale and quantity: scale, quantity (alpha | omega), estimate, ci_low,
        ci_high, n, n_items."""
        return self.estimates.copy()

    def headline(self) -> str:
        """The instrument, its scales' alpha and omega, and how many answered."""
        def spread(values: pd.Series) -> str:
            low, high = np.nanmin(values), np.nanmax(values)
            if not np.isfinite(low):
                return "not estimated"
            return f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}–{high:.2f}"

        n = self.estimates["n"].astype(int)
        count = f"n = {n.max():,}" if n.min() == n.max() else f"n = {n.min():,}–{n.max():,}"
        scales = self.estimates["scale"].nunique()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return (f"{self.instrument}, {scales} scale{'s' * (scales != 1)}: alpha "
                    f"{spread(self.alpha)}, omega {spread(self.omega)}, {count} "
                    f"({self.rater}, {self.occasion})")

    def summary(self) -> Summary:
        """A short text report: one line per scale."""
        level = f"{100 * self.ci_level:g}%"
        head = (f"Reliability of {self.instrument} ({self.rater} ratings, occasion "
                f"{self.occasion}); {level} intervals: alpha Feldt, omega bootstrap "
                f"({self.n_boot} samples).")
        def shown(row: Any) -> str:
            return f"{row.estimate:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"

        rows = {q: self.estimates[self.estimates["quantity"] == q].reset_index(drop=True)
                for q in ("alpha", "omega")}
        lines = pd.DataFrame({
            "scale": rows["alpha"]["scale"], "n": rows["alpha"]["n"],
            "items": rows["alpha"]["n_items"],
            **{f"{q} [{level}]": [shown(r) for r in part.itertuples()]
               for q, part in rows.items()}})
        return Summary(f"{head}\n{text_table(lines)}")

    def plot(self, ax: Any = None) -> Any:
        """Alpha and omega per scale, with their intervals. Returns the Axes."""
        ax = axes_or_new(ax)
        scales = list(dict.fromkeys(self.estimates["scale"]))
        positions = np.arange(len(scales))
        for offset, name, colour in ((-0.1, "alpha", PALETTE[0]), (0.1, "omega", PALETTE[1])):
            rows = self.estimates[self.estimates["quantity"] == name]
            estimate = rows["estimate"].to_numpy(dtype=float)
            error = np.vstack([estimate - rows["ci_low"].to_numpy(dtype=float),
                               rows["ci_high"].to_numpy(dtype=float) - estimate])
            ax.errorbar(positions + offset, estimate, yerr=np.nan_to_num(error), fmt="o",
                        capsize=3, color=colour, label=name)
        ax.set_xticks(positions, scales)
        ax.set_ylabel("reliability")
        ax.set_title(f"{self.instrument}: alpha and omega ({100 * self.ci_level:g}% intervals)")
        ax.legend()
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe contents; ``estimates`` holds the rows of :meth:`table`."""
        return jsonable({
            "instrument": self.instrument, "occasion": self.occasion, "rater": self.rater,
            "ci_level": self.ci_level, "n_boot": self.n_boot, "estimates": self.estimates,
            "items": self.items, "loadings": self.loadings,
        })
