"""The importance metrics: how each method splits R² among players, from a correlation matrix.

Every metric is computed on the partial correlation matrix of the factors' columns and the
outcome given the always-in covariates (outcome last), for a whole batch of matrices at
once: the sample and every bootstrap replicate. As in R's relaimpo (``always=``; Grömping
2006, *J Stat Softw* 17(1)), the covariates' R² is taken first and only the remaining R² is
split. :func:`share_statistic` does this for a design: from the cross-products of its
columns to each factor's share of the outcome's total variance and the model's R².

Methods (all shares are in R² units, i.e. shares of the outcome's variance):

- ``lmg`` — Shapley value of R² over orderings of the factors (Lindeman, Merenda & Gold
  1980; Grömping 2007, *Am Stat* 61(2):139-147). Sums to ``r2 - r2_covariates``.
- ``dominance`` — general dominance weights (Budescu 1993; Azen & Budescu 2003); equal to
  LMG. See :func:`outcomes.shares.dominance.dominance` for complete and conditional dominance.
- ``pratt`` — ``beta_j r_jy`` summed over a factor's columns (Pratt 1987; Thomas, Hughes &
  Zumbo 1998). Sums to ``r2 - r2_covariates``; can be negative.
- ``relative_weights`` — Johnson (2000, *Multivar Behav Res* 35(1):1-19):
  ``Lambda = R_xx^(1/2)``, ``beta* = Lambda^-1 r_xy``, ``eps = (Lambda o Lambda)(beta* o beta*)``,
  summed over a factor's columns. Sums to ``r2 - r2_covariates``.
- ``car`` — squared CAR scores ``omega = R_xx^(-1/2) r_xy`` (Zuber & Strimmer 2011, *Stat
  Appl Genet Mol Biol* 10(1):34), summed over a factor's columns. Sums to
  ``r2 - r2_covariates``. (relaimpo does not allow ``always`` with ``car``; here it is
  computed on the partial correlations given the covariates like every other metric.)
- ``first`` — R² of the factor alone (after the covariates); ``last`` — the R² lost when
  the factor leaves the full model; ``betasq`` — squared standardised coefficient (for a
  factor of several columns ``beta_G' R_GG beta_G``, the variance of its part of the
  prediction). These three do not sum to R².

Examples
--------
>>> r = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.3], [0.6, 0.3, 1.0]])
>>> method_shares(r[None], [[0], [1]], "lmg").round(2).tolist()
[[0.36, 0.09]]
>>> float(full_r2(r).round(2))
0.45
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from outcomes._checks import check_choice
from outcomes.shares.design import Design, local_players, standardise
from outcomes.shares.subsets import shapley, subset_r2

__all__ = ["Method", "METHODS", "ADDITIVE", "method_shares", "full_r2", "share_statistic"]

Method = Literal["lmg", "dominance", "pratt", "relative_weights", "first", "last", "betasq", "car"]
METHODS = ("lmg", "dominance", "pratt", "relative_weights", "first", "last", "betasq", "car")
#: The methods whose shares add up to the R² split among the factors.
ADDITIVE = frozenset({"lmg", "dominance", "pratt", "relative_weights", "car"})


def method_shares(P, players, method: str) -> np.ndarray:
    """Shares on the partial-correlation scale, for a batch of matrices ``(b, q, q)``."""
    r = P[..., :-1, -1]
    if method in ("lmg", "dominance"):
        return shapley(subset_r2(P, players))
    if method == "first":
        return _per_player(players, lambda i: _quad(r[..., i], P[..., i, :][..., :, i]))
    check_choice(method, "method", METHODS, "method_shares")
    rxx = P[..., :-1, :-1]
    if method in ("relative_weights", "car"):
        vals, vecs = np.linalg.eigh(rxx)
        root_inv = (vecs / np.sqrt(vals)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
        star = (root_inv @ r[..., None])[..., 0]
        if method == "car":
            column = star**2
        else:
            root = (vecs * np.sqrt(vals)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
            column = ((root**2) @ (star**2)[..., None])[..., 0]
        return _per_player(players, lambda i: column[..., i].sum(axis=-1))
    inverse = np.linalg.inv(rxx)
    beta = (inverse @ r[..., None])[..., 0]
    if method == "last":
        return _per_player(players, lambda i: _quad(beta[..., i], inverse[..., i, :][..., :, i]))
    if method == "pratt":
        return _per_player(players, lambda i: (beta[..., i] * r[..., i]).sum(axis=-1))

    def block(i):
        b = beta[..., i]
        return np.einsum("...i,...ij,...j->...", b, P[..., i, :][..., :, i], b)

    return _per_player(players, block)  # betasq


def _per_player(players, fn) -> np.ndarray:
    return np.stack([fn(list(p)) for p in players], axis=-1)


def _quad(vec, mat) -> np.ndarray:
    """``vec' mat^-1 vec`` batched."""
    return np.einsum("...i,...i->...", vec, np.linalg.solve(mat, vec[..., None])[..., 0])


def full_r2(P) -> np.ndarray:
    """R² of the outcome on all columns of a partial correlation matrix (outcome last)."""
    return _quad(P[..., :-1, -1], P[..., :-1, :-1])


def share_statistic(design: Design, method: str) -> Callable[[np.ndarray], np.ndarray]:
    """The statistic ``decompose`` estimates and bootstraps, for a design and a method.

    It maps centred cross-product matrices ``(b, k, k)`` of the design's columns to rows
    ``(b, p + 1)``: each factor's share of the outcome's total variance, then the R² of the
    full model. A row that cannot be computed (a column constant in a replicate) is NaN.
    """
    players = local_players(design)

    def statistic(cross: np.ndarray) -> np.ndarray:
        out = np.full((len(cross), len(players) + 1), np.nan)
        with np.errstate(all="ignore"):
            P, v = standardise(cross, design)
            good = np.all(np.isfinite(P), axis=(-2, -1)) & np.isfinite(v)
            if not good.any():
                return out
            try:
                shares = method_shares(P[good], players, method) * v[good][:, None]
                r2 = 1 - v[good] + v[good] * full_r2(P[good])
            except np.linalg.LinAlgError:  # singular: try the matrices one at a time
                return out if len(cross) == 1 else _one_by_one(cross, statistic)
        out[good] = np.column_stack([shares, r2])
        return out

    return statistic


def _one_by_one(cross, statistic) -> np.ndarray:
    """The statistic of each matrix alone; a singular one gives a row of NaN."""
    return np.vstack([statistic(c[None]) for c in cross])
