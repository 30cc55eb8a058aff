"""The R² of every subset of players, without refitting, and what follows from them.

LMG shares, dominance analysis and their relatives need the R² of many sub-models. They all
follow from one covariance (or correlation) matrix of predictors and outcome (see
:mod:`outcomes.shares.moments`). The engine (:func:`subset_r2`) walks the subsets player by
player. Each level decides one player for every partial subset at once: leaving it out
slices the current residual covariance, taking it in is a Schur-complement (sweep) update,
rank one per column. All partial subsets of a level are updated together with numpy, and
the walk is cut into chunks so that memory stays bounded (24 players fit in well under
1 GiB).

From the R² of every subset come the Shapley (LMG) shares (:func:`shapley`), the mean gains
by subset size of dominance analysis (:func:`conditional_contributions`) and complete
dominance (:func:`complete_dominance`).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(200, 3))
>>> y = x @ [1.0, 0.5, 0.0] + rng.normal(size=200)
>>> r2 = subset_r2(np.corrcoef(np.column_stack([x, y]).T), [[0], [1], [2]], outcome=3)
>>> r2.shape, float(r2[0])
((8,), 0.0)
>>> bool(np.isclose(shapley(r2).sum(), r2[-1]))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from math import comb

import numpy as np

__all__ = ["subset_r2", "popcount", "shapley", "conditional_contributions",
           "complete_dominance"]

_BUDGET = 32 * 2**20  # bytes of working arrays per chunk of the subset walk


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
