"""Sufficient statistics and the R² of every subset of players, without refitting.

LMG shares, dominance analysis and their relatives need the R² of many sub-models. They all
follow from the covariance matrix of outcome and predictors, so the data are read once into
:class:`Moments` (weight sum, means, centred cross-products). Moments of chunks, files or
workers combine with ``+`` (the pairwise formulas of Chan, Golub & LeVeque 1983), and
:class:`UnitMoments` keeps one set of sums per row or per cluster so that bootstrap
replicates are recombined with matrix products instead of resampling a DataFrame.

The engine (:func:`subset_r2`) walks the subsets player by player. Each level decides one
player for every partial subset at once: leaving it out slices the current residual
covariance, taking it in is a Schur-complement (sweep) update, rank one per column. All
partial subsets of a level are updated together with numpy, and the walk is cut into chunks
so that memory stays bounded (24 players fit in well under 1 GiB).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(200, 3))
>>> y = x @ [1.0, 0.5, 0.0] + rng.normal(size=200)
>>> m = Moments.from_arrays(np.column_stack([x, y]))
>>> r2 = subset_r2(m.correlation(), [[0], [1], [2]], outcome=3)
>>> r2.shape, float(r2[0])
((8,), 0.0)
>>> bool(np.isclose(shapley(r2).sum(), r2[-1]))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from math import comb

import numpy as np

from outcomes._errors import ModelError

__all__ = [
    "Moments",
    "UnitMoments",
    "correlation",
    "partial_correlation",
    "check_estimable",
    "subset_r2",
    "popcount",
    "shapley",
    "conditional_contributions",
    "complete_dominance",
]

_BUDGET = 32 * 2**20  # bytes of working arrays per chunk of the subset walk


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


@lru_cache(maxsize=8)
def popcount(p: int) -> np.ndarray:
    """Number of players in each subset, subsets coded as bit masks (player j = bit j).

    Examples
    --------
    >>> popcount(3).tolist()
    [0, 1, 1, 2, 1, 2, 2, 3]
    """
    counts = np.zeros(1, dtype=np.uint8)
    for _ in range(p):
        counts = np.concatenate([counts, counts + 1])
    counts.setflags(write=False)
    return counts


def subset_r2(matrix, players: Sequence[Sequence[int]], *, outcome: int = -1) -> np.ndarray:
    """R² of the outcome on every subset of players, from a covariance or correlation matrix.

    Parameters
    ----------
    matrix : ndarray of shape (..., k, k)
        Covariance, cross-product or correlation matrix (batched over leading axes).
    players : sequence of sequences of int
        Column indices of each player; a player of several columns enters as a block.
    outcome : int, default -1
        Index of the outcome column.

    Returns
    -------
    ndarray of shape (..., 2**p)
        Entry ``s`` is the R² of the subset whose bit ``j`` is set when player ``j`` is in.

    Examples
    --------
    >>> r = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.3], [0.6, 0.3, 1.0]])
    >>> subset_r2(r, [[0], [1]]).round(2).tolist()
    [0.0, 0.36, 0.09, 0.45]
    """
    matrix = np.asarray(matrix, dtype=float)
    k = matrix.shape[-1]
    outcome = outcome % k
    order = [c for player in players for c in player] + [outcome]
    lead = matrix.shape[:-2]
    picked = matrix[..., order, :][..., :, order].reshape(-1, len(order), len(order))
    # states are laid out (q, q, roots, subsets) so that every update runs over long
    # contiguous rows of subsets rather than over many tiny matrices
    states = np.ascontiguousarray(np.moveaxis(picked, 0, -1))[..., None]
    sizes = tuple(len(player) for player in players)
    r2 = _walk(states, sizes)
    r2 /= picked[:, -1, -1][:, None]
    np.subtract(1.0, r2, out=r2)
    return r2.reshape(*lead, 2 ** len(sizes))


def _walk(current: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """Residual outcome variance for every subset of ``sizes`` players, per root state.

    ``current`` has shape (q, q, roots, 1); the result has shape (roots, 2**len(sizes)).
    """
    q, roots = current.shape[0], current.shape[2]
    done = 0
    while done < len(sizes):
        g = sizes[done]
        need = 3 * 8 * roots * current.shape[3] * 2 * (q - g) ** 2
        if need > _BUDGET and roots * current.shape[3] > 1:
            break
        current = _step(current, g)
        q -= g
        done += 1
    if done == len(sizes):
        return current[0, 0]
    width = current.shape[3]
    flat = current.reshape(q, q, roots * width, 1)
    rest = sizes[done:]
    per_root = 3 * 8 * 2 * max(2**i * (q - sum(rest[:i])) ** 2 for i in range(1, len(rest) + 1))
    chunk = max(1, _BUDGET // per_root)
    out = np.empty((roots * width, 2 ** len(rest)))
    for start in range(0, roots * width, chunk):
        part = np.ascontiguousarray(flat[:, :, start : start + chunk])
        out[start : start + chunk] = _walk(part, rest)
    return out.reshape(roots, width, -1).transpose(0, 2, 1).reshape(roots, -1)


def _step(current: np.ndarray, g: int) -> np.ndarray:
    """Decide the next player (its ``g`` columns lead) for every state: out, then in.

    States are symmetric, so only their upper triangles are read and written.
    """
    q, roots, width = current.shape[0], current.shape[2], current.shape[3]
    out = np.empty((q - g, q - g, roots, 2 * width))
    for i in range(q - g):
        out[i, i:, :, :width] = current[g + i, g + i :]
    taken = current
    for _ in range(g - 1):
        smaller = np.empty((taken.shape[0] - 1,) * 2 + taken.shape[2:])
        _sweep(taken, smaller)
        taken = smaller
    _sweep(taken, out[..., width:])
    return out


def _sweep(state: np.ndarray, target: np.ndarray) -> None:
    """Schur complement of the leading column: ``S[1:, 1:] - S[1:, 0] S[0, 1:] / S[0, 0]``."""
    scaled = state[0, 1:] / state[0, 0]
    for i in range(state.shape[0] - 1):
        row = target[i, i:]
        np.multiply(state[0, i + 1], scaled[i:], out=row)
        np.subtract(state[i + 1, i + 1 :], row, out=row)


def shapley(r2) -> np.ndarray:
    """LMG (Shapley) shares from the R² of every subset (batched over leading axes).

    ``LMG_j = sum over S without j of |S|!(p-|S|-1)!/p! [R²(S+j) - R²(S)]`` (Lindeman,
    Merenda & Gold 1980; Grömping 2006), computed as signed sums over subsets in one pass.

    Examples
    --------
    >>> shapley(np.array([0.0, 0.36, 0.09, 0.45])).round(3).tolist()
    [0.36, 0.09]
    """
    r2 = np.asarray(r2, dtype=float)
    p = r2.shape[-1].bit_length() - 1
    size = popcount(p)
    w = np.array([1.0 / (p * comb(p - 1, s)) for s in range(p)] + [0.0])
    both = w + np.r_[0.0, w[:-1]]
    left_out = (r2 * w[size]).sum(axis=-1)
    weighted = both[size] * r2
    return _bit_sums(weighted, p) - left_out[..., None]


def _bit_sums(values: np.ndarray, p: int) -> np.ndarray:
    """``sum of values[s]`` over the subsets ``s`` that hold player j, for every j."""
    lead = values.shape[:-1]
    out = np.empty((*lead, p))
    folded = values
    for j in range(p - 1, -1, -1):
        halves = folded.reshape(*lead, 2, -1)
        out[..., j] = halves[..., 1, :].sum(axis=-1)
        folded = halves[..., 0, :] + halves[..., 1, :]
    return out


def conditional_contributions(r2) -> np.ndarray:
    """Mean R² gain of each player over the subsets of each size that exclude it.

    Returns an array (..., p, p): entry ``[j, k]`` is ``C_j^(k)`` of Budescu (1993), the
    mean of ``R²(S+j) - R²(S)`` over subsets ``S`` of ``k`` other players.

    Examples
    --------
    >>> conditional_contributions(np.array([0.0, 0.36, 0.09, 0.45])).round(2).tolist()
    [[0.36, 0.36], [0.09, 0.09]]
    """
    r2 = np.asarray(r2, dtype=float)
    p = r2.shape[-1].bit_length() - 1
    lead = r2.shape[:-1]
    size = popcount(p).astype(np.intp)
    counts = np.array([comb(p - 1, s) for s in range(p)], dtype=float)
    flat = r2.reshape(-1, 2**p)
    out = np.empty((flat.shape[0], p, p))
    for j in range(p):
        view = flat.reshape(flat.shape[0], -1, 2, 2**j)
        gain = (view[:, :, 1, :] - view[:, :, 0, :]).reshape(flat.shape[0], -1)
        sizes = size.reshape(-1, 2, 2**j)[:, 0, :].ravel()
        index = sizes[None, :] + p * np.arange(flat.shape[0])[:, None]
        sums = np.bincount(index.ravel(), gain.ravel(), minlength=p * flat.shape[0])
        out[:, j, :] = sums.reshape(-1, p) / counts
    return out.reshape(*lead, p, p)


def complete_dominance(r2, *, tol: float = 1e-12) -> np.ndarray:
    """Complete dominance (Budescu 1993) coded 1 / 0 / 0.5, diagonal NaN (batched).

    Entry ``[i, j]`` is 1 when ``R²(S+i) > R²(S+j)`` for every subset ``S`` of the other
    players, 0 when ``j`` wins every comparison, 0.5 otherwise (differences within ``tol``
    count as ties).

    Examples
    --------
    >>> complete_dominance(np.array([0.0, 0.36, 0.09, 0.45])).tolist()
    [[nan, 1.0], [0.0, nan]]
    """
    r2 = np.asarray(r2, dtype=float)
    p = r2.shape[-1].bit_length() - 1
    lead = r2.shape[:-1]
    cube = r2.reshape(*lead, *([2] * p))
    out = np.full((*lead, p, p), np.nan)
    n_lead = len(lead)
    for i in range(p):
        for j in range(i + 1, p):
            ai, aj = n_lead + p - 1 - i, n_lead + p - 1 - j
            i_in = np.take(np.take(cube, 1, axis=ai), 0, axis=aj - (aj > ai))
            j_in = np.take(np.take(cube, 0, axis=ai), 1, axis=aj - (aj > ai))
            diff = (i_in - j_in).reshape(*lead, -1)
            wins = np.all(diff > tol, axis=-1)
            loses = np.all(diff < -tol, axis=-1)
            code = np.where(wins, 1.0, np.where(loses, 0.0, 0.5))
            out[..., i, j] = code
            out[..., j, i] = 1.0 - code
    return out
