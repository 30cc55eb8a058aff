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
from scipy import stats

from outcomes import instruments as registry
from outcomes._errors import DataWarning, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import jsonable, text_table
from outcomes.instruments import Instrument, Scale
from outcomes.measures._factor_analysis import LOWEST_UNIQUENESS, one_factor, one_factor_batch
from outcomes.measures.scoring import item_matrix

__all__ = ["reliability", "Reliability", "cronbach_alpha", "omega_total", "feldt_interval",
           "one_factor"]

_OCCASIONS = ("intake", "session", "end", "followup")


def _alpha(matrix: np.ndarray) -> float:
    k = matrix.shape[1]
    if k < 2 or matrix.shape[0] < 2:
        return float("nan")
    cov = np.cov(matrix, rowvar=False, ddof=1)
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


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
    return _alpha(matrix)


def feldt_interval(alpha: float, n: int, k: int, *, ci_level: float = 0.95) -> tuple[float, float]:
    """The Feldt (1965) interval for alpha: 1 - (1 - alpha) F, F on (n - 1, (n - 1)(k - 1)) df.

    Examples
    --------
    >>> [round(x, 3) for x in feldt_interval(0.8, 100, 5)]
    [0.731, 0.856]
    """
    if not np.isfinite(alpha) or n < 2 or k < 2:
        return (float("nan"), float("nan"))
    tail = (1 - ci_level) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    return (float(low), float(high))


def _uniqueness(loading: np.ndarray) -> np.ndarray:
    """psi = 1 - lambda^2, as psych reports it; never below 0 (a Heywood loading)."""
    return np.maximum(1 - loading**2, 0.0)


def _omega(matrix: np.ndarray, start: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    p = matrix.shape[1]
    if p < 3 or matrix.shape[0] < 3:
        return float("nan"), np.full(p, np.nan)
    sd = matrix.std(axis=0, ddof=1)
    if not np.all(sd > 0):
        return float("nan"), np.full(p, np.nan)
    corr = np.corrcoef(matrix, rowvar=False)
    loading = one_factor(corr, start=start)
    common = loading.sum() ** 2
    return float(common / (common + np.sum(_uniqueness(loading)))), loading


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
    return _omega(matrix)[0]


def _numeric(items: pd.DataFrame) -> np.ndarray:
    if not isinstance(items, pd.DataFrame):
        raise UsageError("give the items as a DataFrame with one column per item")
    matrix = items.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return matrix[~np.isnan(matrix).any(axis=1)]


def _bootstrap_omega(matrix: np.ndarray, start: np.ndarray, n_boot: int, ci_level: float,
                     rng: np.random.Generator, scale: str) -> tuple[float, float]:
    """Percentile interval of omega over respondents resampled with replacement."""
    if n_boot <= 0 or not np.all(np.isfinite(start)):
        return (float("nan"), float("nan"))
    n, p = matrix.shape
    uniqueness = np.clip(1 - start**2, LOWEST_UNIQUENESS, 1.0)
    draws = np.full(n_boot, np.nan)
    chunk = max(1, 2_000_000 // (n * p))
    for first in range(0, n_boot, chunk):
        samples = matrix[rng.integers(0, n, (min(chunk, n_boot - first), n))]
        centred = samples - samples.mean(axis=1, keepdims=True)
        cov = np.einsum("bni,bnj->bij", centred, centred)
        sd = np.sqrt(np.einsum("bii->bi", cov))
        usable = np.all(sd > 1e-12 * (1 + np.abs(samples).max(axis=(1, 2)))[:, None], axis=1)
        corrs = cov[usable] / sd[usable][:, :, None] / sd[usable][:, None, :]
        loading, converged = one_factor_batch(corrs, uniqueness)
        for b in np.flatnonzero(~converged):
            loading[b] = one_factor(corrs[b], start=uniqueness)
        common = loading.sum(axis=1) ** 2
        draws[first + np.flatnonzero(usable)] = common / (common + np.sum(_uniqueness(loading), 1))
    kept = draws[np.isfinite(draws)]
    if kept.size < 0.9 * n_boot:
        warnings.warn(f"scale {scale!r}: omega could not be computed in "
                      f"{n_boot - kept.size} of {n_boot} bootstrap samples (an item without "
                      "variance); the interval uses the others", DataWarning, stacklevel=4)
    if kept.size < 2:
        return (float("nan"), float("nan"))
    tail = (1 - ci_level) / 2
    low, high = np.quantile(kept, [tail, 1 - tail])
    return (float(low), float(high))


def _item_statistics(matrix: np.ndarray, scale: str, items: list[int]) -> pd.DataFrame:
    total = matrix.sum(axis=1)
    rows = []
    for j, item in enumerate(items):
        rest = total - matrix[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (np.corrcoef(matrix[:, j], rest)[0, 1] if matrix.shape[0] > 2
                 else float("nan"))
        rows.append({
            "scale": scale, "item": item,
            "mean": matrix[:, j].mean() if len(matrix) else float("nan"),
            "sd": matrix[:, j].std(ddof=1) if len(matrix) > 1 else float("nan"),
            "item_total_correlation": float(r),
            "alpha_if_deleted": _alpha(np.delete(matrix, j, axis=1)),
            "n": matrix.shape[0],
        })
    return pd.DataFrame(rows)


def _one_scale(wide: pd.DataFrame, scale: Scale, ci_level: float, n_boot: int,
               rng: np.random.Generator) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
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
    alpha = _alpha(matrix) if n >= 3 else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        omega, loading = _omega(matrix)
    low, high = feldt_interval(alpha, n, k, ci_level=ci_level)
    omega_low, omega_high = _bootstrap_omega(matrix, loading, n_boot, ci_level, rng,
                                             scale.name)
    row = {"scale": scale.name, "alpha": alpha, "alpha_ci_low": low, "alpha_ci_high": high,
           "omega": omega, "omega_ci_low": omega_low, "omega_ci_high": omega_high,
           "n": n, "n_items": k}
    loadings = pd.DataFrame({"scale": scale.name, "item": items, "loading": loading,
                             "uniqueness": _uniqueness(loading)})
    return row, _item_statistics(matrix, scale.name, items), loadings


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
    ci_level : float, default 0.95
    n_boot : int, default 1000
        Bootstrap samples of respondents for the omega interval (0 for none).
    seed : int or Generator, optional

    Returns
    -------
    Reliability

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
    >>> result.table()[["scale", "n", "n_items"]]
       scale    n  n_items
    0  total  200        6
    """
    instrument = registry.get(instrument)
    if not 0 < ci_level < 1:
        raise UsageError(f"reliability: ci_level must be between 0 and 1, not {ci_level!r}")
    scales = [s for s in instrument.scales.values() if s.rule not in ("composite", "gas-tscore")]
    if not scales:
        raise UsageError(f"reliability: {instrument.key!r} has no item-based scale "
                         "(Goal Attainment Scaling goals differ from client to client)")
    wide, occasion = _select(responses, instrument, occasion, rater)
    rng = np.random.default_rng(seed)
    rows, items, loadings = [], [], []
    for scale in scales:
        row, item_stats, scale_loadings = _one_scale(wide, scale, ci_level, n_boot, rng)
        rows.append(row)
        items.append(item_stats)
        loadings.append(scale_loadings)
    return Reliability(
        instrument=instrument.key, occasion=occasion, rater=rater, ci_level=ci_level,
        n_boot=n_boot, scales=pd.DataFrame(rows),
        items=pd.concat(items, ignore_index=True),
        loadings=pd.concat(loadings, ignore_index=True),
    )


@dataclass(frozen=True)
class Reliability:
    """The reliability of an instrument's scales (see :func:`reliability`).

    Attributes
    ----------
    instrument, occasion, rater : str
        What was analysed.
    ci_level : float
        Level of the alpha (Feldt) and omega (percentile bootstrap) intervals.
    n_boot : int
    scales : DataFrame
        One row per scale; the same as :meth:`table`.
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
    scales: pd.DataFrame
    items: pd.DataFrame
    loadings: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """One row per scale: scale, alpha, alpha_ci_low, alpha_ci_high, omega,
        omega_ci_low, omega_ci_high, n, n_items."""
        return self.scales.copy()

    def summary(self) -> str:
        """A short text report."""
        level = f"{100 * self.ci_level:g}%"
        head = (f"Reliability of {self.instrument} ({self.rater} ratings, occasion "
                f"{self.occasion}); {level} intervals: alpha Feldt, omega bootstrap "
                f"({self.n_boot} samples).")
        return f"{head}\n{text_table(self.scales)}"

    def plot(self, ax: Any = None) -> Any:
        """Alpha and omega per scale, with their intervals. Returns the Axes."""
        ax = axes_or_new(ax)
        positions = np.arange(len(self.scales))
        for offset, name, colour in ((-0.1, "alpha", PALETTE[0]), (0.1, "omega", PALETTE[1])):
            estimate = self.scales[name].to_numpy(dtype=float)
            error = np.vstack([estimate - self.scales[f"{name}_ci_low"].to_numpy(dtype=float),
                               self.scales[f"{name}_ci_high"].to_numpy(dtype=float) - estimate])
            ax.errorbar(positions + offset, estimate, yerr=np.nan_to_num(error), fmt="o",
                        capsize=3, color=colour, label=name)
        ax.set_xticks(positions, self.scales["scale"].tolist())
        ax.set_ylabel("reliability")
        ax.set_title(f"{self.instrument}: alpha and omega ({100 * self.ci_level:g}% intervals)")
        ax.legend()
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe contents."""
        return jsonable({
            "instrument": self.instrument, "occasion": self.occasion, "rater": self.rater,
            "ci_level": self.ci_level, "n_boot": self.n_boot, "scales": self.scales,
            "items": self.items, "loadings": self.loadings,
        })
