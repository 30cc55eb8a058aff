"""Internal consistency of a complete item matrix: alpha, omega, their intervals, item statistics.

The arithmetic behind :func:`outcomes.measures.reliability.reliability`, on a NumPy matrix
with one row per respondent and one column per (reverse-keyed) item, no missing values:
Cronbach's alpha, McDonald's omega total from the one-factor ML model
(:mod:`outcomes.measures._factor_analysis`), the percentile bootstrap interval of omega over
respondents, and the item statistics (corrected item-total correlation, alpha if deleted).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from outcomes._errors import DataWarning
from outcomes.measures._factor_analysis import LOWEST_UNIQUENESS, one_factor, one_factor_batch

__all__ = ["alpha_of", "omega_of", "uniqueness_of", "bootstrap_omega", "item_statistics"]


def alpha_of(matrix: np.ndarray) -> float:
    k = matrix.shape[1]
    if k < 2 or matrix.shape[0] < 2:
        return float("nan")
    cov = np.cov(matrix, rowvar=False, ddof=1)
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def uniqueness_of(loading: np.ndarray) -> np.ndarray:
    """psi = 1 - lambda^2, as psych reports it; never below 0 (a Heywood loading)."""
    return np.maximum(1 - loading**2, 0.0)


def omega_of(matrix: np.ndarray, start: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    p = matrix.shape[1]
    if p < 3 or matrix.shape[0] < 3:
        return float("nan"), np.full(p, np.nan)
    sd = matrix.std(axis=0, ddof=1)
    if not np.all(sd > 0):
        return float("nan"), np.full(p, np.nan)
    corr = np.corrcoef(matrix, rowvar=False)
    loading = one_factor(corr, start=start)
    common = loading.sum() ** 2
    return float(common / (common + np.sum(uniqueness_of(loading)))), loading


def bootstrap_omega(matrix: np.ndarray, start: np.ndarray, n_boot: int, ci_level: float,
                     rng: np.random.Generator, scale: str) -> tuple[float, float]:
    """Percentile interval of omega over respondents resampled with replacement.

    Each sample is held as how often it draws each respondent, so that its cross-products
    come from one matrix product with the respondents' own cross-products (the same draws as
    indexing the rows, without copying them). A sample in which an item takes one value
    has no correlation matrix and is left out.
    """
    if n_boot <= 0 or not np.all(np.isfinite(start)):
        return (float("nan"), float("nan"))
    n, p = matrix.shape
    uniqueness = np.clip(1 - start**2, LOWEST_UNIQUENESS, 1.0)
    draws = np.full(n_boot, np.nan)
    centred = matrix - matrix.mean(axis=0)
    products = (centred[:, :, None] * centred[:, None, :]).reshape(n, p * p)
    levels = [np.unique(column, return_inverse=True)[1] for column in matrix.T]
    chunk = max(1, 2_000_000 // (n * p))
    for first in range(0, n_boot, chunk):
        size = min(chunk, n_boot - first)
        picks = rng.integers(0, n, (size, n))
        counts = np.bincount((picks + n * np.arange(size)[:, None]).ravel(),
                             minlength=size * n).reshape(size, n).astype(float)
        sums = counts @ centred
        cov = (counts @ products).reshape(size, p, p) - sums[:, :, None] * sums[:, None, :] / n
        usable = ~np.any(_one_value(counts > 0, levels), axis=1)
        sd = np.sqrt(np.einsum("bii->bi", cov[usable]))
        corrs = cov[usable] / sd[:, :, None] / sd[:, None, :]
        loading, converged = one_factor_batch(corrs, uniqueness)
        for b in np.flatnonzero(~converged):
            loading[b] = one_factor(corrs[b], start=uniqueness)
        common = loading.sum(axis=1) ** 2
        unique = np.sum(uniqueness_of(loading), 1)
        draws[first + np.flatnonzero(usable)] = common / (common + unique)
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


def _one_value(drawn: np.ndarray, levels: list[np.ndarray]) -> np.ndarray:
    """(B, p): whether item j takes one value only among the respondents each sample drew."""
    out = np.empty((drawn.shape[0], len(levels)), dtype=bool)
    for j, codes in enumerate(levels):
        hits = drawn.astype(float) @ np.eye(int(codes.max()) + 1)[codes]
        out[:, j] = (hits > 0).sum(axis=1) == 1
    return out


def item_statistics(matrix: np.ndarray, scale: str, items: list[int]) -> pd.DataFrame:
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
            "alpha_if_deleted": alpha_of(np.delete(matrix, j, axis=1)),
            "n": matrix.shape[0],
        })
    return pd.DataFrame(rows)
