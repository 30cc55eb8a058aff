"""Sufficient statistics of a model matrix: weight sum, means and centred cross-products.

Every share in :mod:`outcomes.shares` follows from the covariance matrix of outcome and
predictors, so the data are read once into :class:`Moments`. Moments of chunks, files or
workers combine with ``+`` (the pairwise formulas of Chan, Golub & LeVeque 1983), and
:class:`UnitMoments` keeps one set of sums per row or per cluster so that bootstrap
replicates are recombined with matrix products instead of resampling a DataFrame.

This module also owns what is read off such a matrix before any subset is walked: the
correlation matrix, partial correlations given always-in covariates, and the check that
every column varies and none is an exact combination of the others.

Examples
--------
>>> x = np.random.default_rng(0).normal(size=(200, 3))
>>> m = Moments.from_arrays(x[:120]) + Moments.from_arrays(x[120:])
>>> bool(np.allclose(m.correlation(), np.corrcoef(x.T)))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from outcomes._errors import ModelError

__all__ = ["Moments", "UnitMoments", "correlation", "partial_correlation", "check_estimable"]


@dataclass(frozen=True, eq=False)
class Moments:
    """Weight sum, means and centred cross-products of a set of columns.

    Parameters
    ----------
    weight : float
        Number of rows, or the sum of the case weights.
    mean : ndarray of shape (k,)
        Weighted column means.
    cross : ndarray of shape (k, k)
        Weighted centred cross-products, ``sum w (x - mean)(x - mean)'``.
    columns : tuple of str
        Column names, in order.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(6, 2) ** 1.5
    >>> a, b = Moments.from_arrays(x[:2]), Moments.from_arrays(x[2:])
    >>> bool(np.allclose((a + b).cross, Moments.from_arrays(x).cross))
    True
    """

    weight: float
    mean: np.ndarray
    cross: np.ndarray
    columns: tuple[str, ...] = field(default=())

    @classmethod
    def from_arrays(cls, x, weights=None, columns: Sequence[str] = ()) -> Moments:
        """Moments of the rows of a 2-D array, optionally case-weighted."""
        x = np.asarray(x, dtype=float)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
        total = float(w.sum())
        mean = w @ x / total if total > 0 else np.zeros(x.shape[1])
        z = x - mean
        return cls(total, mean, (z * w[:, None]).T @ z, tuple(columns))

    @classmethod
    def from_frame(cls, data, columns: Sequence[str], *, weights=None) -> Moments:
        """Moments of numeric ``columns`` of a DataFrame (rows must be complete)."""
        x = data.loc[:, list(columns)].to_numpy(dtype=float)
        return cls.from_arrays(x, weights, columns)

    def __add__(self, other: Moments) -> Moments:
        if self.weight == 0:
            return other
        if other.weight == 0:
            return self
        total = self.weight + other.weight
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.weight / total)
        cross = self.cross + other.cross + np.outer(delta, delta) * (
            self.weight * other.weight / total
        )
        return Moments(total, mean, cross, self.columns or other.columns)

    def covariance(self, ddof: float = 1) -> np.ndarray:
        """The covariance matrix (``cross / (weight - ddof)``)."""
        return self.cross / (self.weight - ddof)

    def correlation(self) -> np.ndarray:
        """The correlation matrix."""
        return correlation(self.cross)


@dataclass(frozen=True, eq=False)
class UnitMoments:
    """One set of sums per unit (a row, or a cluster of rows) about a common centre.

    A bootstrap replicate gives each unit a count; the replicate's cross-products are then
    weighted sums of these per-unit sums, computed for all replicates at once.

    Parameters
    ----------
    weight : ndarray of shape (G,)
        Weight sum of each unit.
    first : ndarray of shape (G, k)
        ``sum w (x - centre)`` per unit.
    second : ndarray of shape (G, k, k)
        ``sum w (x - centre)(x - centre)'`` per unit.
    centre : ndarray of shape (k,)
        The overall weighted mean (so that ``first`` sums to zero).

    Examples
    --------
    >>> x = np.random.default_rng(1).normal(size=(30, 3))
    >>> u = UnitMoments.from_arrays(x, units=np.arange(30) % 5)
    >>> bool(np.allclose(u.combine(np.ones((1, 5)))[0], Moments.from_arrays(x).cross))
    True
    """

    weight: np.ndarray
    first: np.ndarray
    second: np.ndarray
    centre: np.ndarray

    @classmethod
    def from_arrays(cls, x, units=None, weights=None) -> UnitMoments:
        """Per-unit sums; ``units`` holds a unit code per row (None: each row its own)."""
        x = np.asarray(x, dtype=float)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
        centre = w @ x / w.sum()
        z = x - centre
        wz = z * w[:, None]
        outer = wz[:, :, None] * z[:, None, :]
        if units is None:
            return cls(w, wz, outer, centre)
        _, code = np.unique(np.asarray(units), return_inverse=True)
        order = np.argsort(code, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(code[order]) != 0])
        return cls(
            np.add.reduceat(w[order], starts),
            np.add.reduceat(wz[order], starts, axis=0),
            np.add.reduceat(outer[order], starts, axis=0),
            centre,
        )

    @property
    def n_units(self) -> int:
        return len(self.weight)

    def combine(self, unit_weights) -> np.ndarray:
        """Centred cross-product matrices, one per row of ``unit_weights`` (B, G)."""
        c = np.asarray(unit_weights, dtype=float)
        k = self.first.shape[1]
        total = c @ self.weight
        s1 = c @ self.first
        s2 = (c @ self.second.reshape(self.n_units, k * k)).reshape(-1, k, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            return s2 - s1[:, :, None] * (s1 / total[:, None])[:, None, :]

    def leave_one_out(self) -> np.ndarray:
        """Centred cross-product matrices with each unit left out in turn (G, k, k)."""
        total = self.weight.sum() - self.weight
        s1 = self.first.sum(axis=0) - self.first
        s2 = self.second.sum(axis=0) - self.second
        with np.errstate(invalid="ignore", divide="ignore"):
            return s2 - s1[:, :, None] * (s1 / total[:, None])[:, None, :]


def correlation(cross) -> np.ndarray:
    """Correlation matrices from covariance or cross-product matrices (batched).

    Examples
    --------
    >>> correlation(np.array([[4.0, 2.0], [2.0, 9.0]]))[0, 1].round(4)
    np.float64(0.3333)
    """
    cross = np.asarray(cross, dtype=float)
    sd = np.sqrt(np.diagonal(cross, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = cross / sd[..., :, None] / sd[..., None, :]
    idx = np.arange(cross.shape[-1])
    out[..., idx, idx] = 1.0
    return out


def partial_correlation(corr, keep: Sequence[int], given: Sequence[int]):
    """Partial out ``given`` columns: the correlation of ``keep`` given ``given``.

    Returns ``(matrix, residual)``: the partial correlation matrix of the ``keep`` columns
    and, per ``keep`` column, its residual variance as a share of its variance
    (``1 - R²`` on ``given``). Batched over leading axes.

    Examples
    --------
    >>> r = np.array([[1, .5, .5], [.5, 1, .5], [.5, .5, 1]])
    >>> m, res = partial_correlation(r, [0, 1], [2])
    >>> float(m[0, 1].round(4)), res.round(2).tolist()
    (0.3333, [0.75, 0.75])
    """
    corr = np.asarray(corr, dtype=float)
    keep, given = list(keep), list(given)
    block = corr[..., keep, :][..., :, keep]
    if given:
        cg = corr[..., keep, :][..., :, given]
        gg = corr[..., given, :][..., :, given]
        block = block - cg @ np.linalg.solve(gg, np.swapaxes(cg, -1, -2))
    residual = np.diagonal(block, axis1=-2, axis2=-1).copy()
    return correlation(block), residual


def check_estimable(cross, names: Sequence[str], *, outcome: str | None = None) -> None:
    """Raise a :class:`ModelError` naming constant or linearly dependent columns.

    ``cross`` is a covariance (or cross-product) matrix of the named columns; ``outcome``
    names the column that may be fitted exactly but must vary.

    Examples
    --------
    >>> x = np.column_stack([np.arange(5.0), 2 * np.arange(5.0), np.ones(5)])
    >>> check_estimable(Moments.from_arrays(x).cross, ["a", "b", "c"])
    Traceback (most recent call last):
    ...
    outcomes._errors.ModelError: column "c" is constant...
    """
    cross = np.asarray(cross, dtype=float)
    names = list(names)
    var = np.diag(cross)
    constant = [n for n, v in zip(names, var, strict=True) if not v > 0]
    if constant:
        which = ", ".join(f'"{c}"' for c in constant)
        raise ModelError(
            f"column {which} is constant in the rows used, so it cannot explain anything. "
            "Drop it from the factors or covariates."
        )
    predictors = [i for i, n in enumerate(names) if n != outcome]
    corr = correlation(cross)[np.ix_(predictors, predictors)]
    values, vectors = np.linalg.eigh(corr)
    if values[0] < 1e-10:
        loadings = np.abs(vectors[:, 0])
        involved = [names[predictors[i]] for i in np.flatnonzero(loadings > 1e-3)]
        which = ", ".join(f'"{c}"' for c in involved)
        raise ModelError(
            f"columns {which} are linearly dependent (one is an exact combination of the "
            "others), so their separate shares are not defined. Drop one of them or put "
            "them into one factor and remove the duplicate."
        )
