"""Maximum-likelihood mean and covariance of incomplete multivariate-normal data, by EM.

Under missing at random the observed-data likelihood of a multivariate normal sample is
maximised by the EM algorithm (Dempster, Laird & Rubin 1977; Little & Rubin 2020, ch. 11).
Rows that share a pattern of missing columns share the E-step's regression of the missing
on the observed columns, and the E-step needs only three sums per pattern: the weight
``s0``, the observed values ``s1 = sum w x_O`` and their cross-products
``s2 = sum w x_O x_O'``. With ``B = S_MO S_OO^-1``, ``c = mu_M - B mu_O`` and
``C = S_MM - B S_OM``,

    E sum w x_M       = s0 c + B s1
    E sum w x_O x_M'  = s1 c' + s2 B'
    E sum w x_M x_M'  = s0 (c c' + C) + c (B s1)' + (B s1) c' + B s2 B'

so an iteration costs the same whatever the number of rows. The sums are formed once for a
whole batch of row weights (case weights times bootstrap counts), and the batch is iterated
together: every bootstrap replicate of an EM estimate is one row of the batch, and a
replicate that draws every unit once gives the estimate itself.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.multivariate_normal([0, 0, 0], [[1, .5, .3], [.5, 1, .4], [.3, .4, 1]], 400)
>>> x[rng.random(400) < 0.3, 2] = np.nan
>>> fit = em_moments(x)
>>> fit.mean.shape, fit.covariance.shape, bool(fit.converged.all())
((1, 3), (1, 3, 3), True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from outcomes._errors import ConvergenceWarning, ModelError

__all__ = ["Patterns", "EmFit", "em_moments", "TOLERANCE", "MAX_ITERATIONS"]

TOLERANCE = 1e-10  # largest change of a standardised mean or covariance at convergence
MAX_ITERATIONS = 5000


@dataclass(frozen=True, eq=False)
class Patterns:
    """The rows of an incomplete matrix grouped by which columns they miss.

    The matrix is centred and scaled by the observed means and standard deviations
    (``centre``, ``scale``) so that EM works on numbers near 1; estimates are returned on
    the original scale.
    """

    observed: tuple[np.ndarray, ...]  # column indices observed in each pattern
    missing: tuple[np.ndarray, ...]  # and those missing
    rows: tuple[np.ndarray, ...]  # row indices of each pattern
    values: tuple[np.ndarray, ...]  # standardised observed values (n_g, |O|)
    outer: tuple[np.ndarray, ...]  # their outer products, flattened (n_g, |O|^2)
    centre: np.ndarray
    scale: np.ndarray
    n_rows: int

    @classmethod
    def of(cls, matrix) -> Patterns:
        """Group the rows of ``matrix`` (NaN = missing); rows with nothing observed are
        left out (they carry no information)."""
        x = np.asarray(matrix, dtype=float)
        seen = ~np.isnan(x)
        centre = np.nanmean(x, axis=0)
        scale = np.nanstd(x, axis=0)
        if np.any(~(scale > 0)):
            bad = np.flatnonzero(~(scale > 0)).tolist()
            raise ModelError(f"columns {bad} of the model matrix do not vary in the rows "
                             "where they are observed.")
        z = (x - centre) / scale
        keys, code = np.unique(seen, axis=0, return_inverse=True)
        code = np.asarray(code).ravel()
        observed, missing, rows, values, outer = [], [], [], [], []
        for g, key in enumerate(keys):
            if not key.any():
                continue
            idx = np.flatnonzero(code == g)
            cols = np.flatnonzero(key)
            v = z[np.ix_(idx, cols)]
            observed.append(cols)
            missing.append(np.flatnonzero(~key))
            rows.append(idx)
            values.append(v)
            outer.append((v[:, :, None] * v[:, None, :]).reshape(len(idx), -1))
        return cls(tuple(observed), tuple(missing), tuple(rows), tuple(values), tuple(outer),
                   centre, scale, len(x))

    @property
    def k(self) -> int:
        return len(self.centre)

    def sums(self, weights):
        """Per pattern, ``(s0, s1, s2)`` for each row of ``weights`` (R, n)."""
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        out = []
        for cols, idx, v, o in zip(self.observed, self.rows, self.values, self.outer,
                                   strict=True):
            wg = w[:, idx]
            q = len(cols)
            out.append((wg.sum(axis=1), wg @ v, (wg @ o).reshape(-1, q, q)))
        return out


@dataclass(frozen=True, eq=False)
class EmFit:
    """EM estimates for a batch of row weights: ``mean`` (R, k), ``covariance`` (R, k, k)
    (maximum likelihood: divided by the weight sum ``weight`` (R,)), iterations used and
    whether each converged."""

    mean: np.ndarray
    covariance: np.ndarray
    weight: np.ndarray
    iterations: int
    converged: np.ndarray

    @property
    def cross(self) -> np.ndarray:
        """Centred cross-products ``weight * covariance`` (what the share engine takes)."""
        return self.covariance * self.weight[:, None, None]


def _observed_part(sums, patterns: Patterns, r: int):
    """The parts of the E-step's sums that involve observed values only (fixed over
    iterations): ``sum w x_O`` and ``sum w x_O x_O'`` of every pattern."""
    k = patterns.k
    t1, t2 = np.zeros((r, k)), np.zeros((r, k, k))
    for cols, (_, s1, s2) in zip(patterns.observed, sums, strict=True):
        t1[:, cols] += s1
        t2[:, cols[:, None], cols] += s2
    return t1, t2


def _e_step(sums, patterns: Patterns, fixed, mu, S):
    """Expected sums ``sum w x`` and ``sum w x x'`` given the current ``mu`` and ``S``.

    The regression of a pattern's missing on its observed columns comes from the precision
    matrix ``P = S^-1``: ``C = (P_MM)^-1`` and ``B = -C P_MO``, so that one inverse per
    iteration serves every pattern and each pattern inverts only its few missing columns.
    """
    t1, t2 = fixed[0].copy(), fixed[1].copy()
    precision = np.linalg.inv(S)
    for cols, miss, (s0, s1, s2) in zip(patterns.observed, patterns.missing, sums,
                                        strict=True):
        if len(miss) == 0:
            continue
        rows = precision[:, miss]
        C = np.linalg.inv(rows[:, :, miss])
        B = -C @ rows[:, :, cols]  # (r, |M|, |O|)
        c = mu[:, miss] - (B @ mu[:, cols, None])[..., 0]
        bs1 = (B @ s1[..., None])[..., 0]
        s2b = s2 @ np.swapaxes(B, 1, 2)  # (r, |O|, |M|)
        xo_xm = s1[:, :, None] * c[:, None, :] + s2b
        cb = c[:, :, None] * bs1[:, None, :]
        xm_xm = (s0[:, None, None] * (c[:, :, None] * c[:, None, :] + C)
                 + cb + np.swapaxes(cb, 1, 2) + B @ s2b)
        t1[:, miss] += s0[:, None] * c + bs1
        t2[:, cols[:, None], miss] += xo_xm
        t2[:, miss[:, None], cols] += np.swapaxes(xo_xm, 1, 2)
        t2[:, miss[:, None], miss] += xm_xm
    return t1, t2


def em_moments(matrix=None, weights=None, *, patterns: Patterns | None = None, start=None,
               tol: float = TOLERANCE, max_iterations: int = MAX_ITERATIONS) -> EmFit:
    """Maximum-likelihood mean and covariance of incomplete normal data, per row weights.

    Parameters
    ----------
    matrix : array (n, k), optional
        Data with NaN where missing (or give ``patterns``, built once by ``Patterns.of``).
    weights : array (n,) or (R, n), optional
        Row weights (case weights times bootstrap counts); one EM run per row of weights.
    start : EmFit, optional
        Start from these estimates (their first row is used for every weight row); the
        default starts from observed means and variances with no correlation.
    tol, max_iterations : float, int
        Stop when no standardised mean or covariance changes by more than ``tol``.

    Returns
    -------
    EmFit
        On the original scale of ``matrix``. Replicates that do not converge are flagged in
        ``converged`` and a :class:`ConvergenceWarning` says how many.
    """
    if patterns is None:
        patterns = Patterns.of(matrix)
    k = patterns.k
    w = np.ones((1, patterns.n_rows)) if weights is None else np.atleast_2d(
        np.asarray(weights, dtype=float))
    r = len(w)
    sums = patterns.sums(w)
    total = sum(s[0] for s in sums)
    if start is None:
        mu, S = np.zeros((r, k)), np.repeat(np.eye(k)[None], r, axis=0)
    else:
        mu = np.repeat(((start.mean[0] - patterns.centre) / patterns.scale)[None], r, axis=0)
        S = np.repeat((start.covariance[0] / np.outer(patterns.scale, patterns.scale))[None],
                      r, axis=0)
    every = _observed_part(sums, patterns, r)
    active = np.ones(r, dtype=bool)
    work, part, fixed = np.arange(r), sums, every  # the weightings iterated
    iteration = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        while active.any() and iteration < max_iterations:
            iteration += 1
            if active.sum() < 0.75 * len(work):  # leave the converged ones behind
                work = np.flatnonzero(active)
                part = [(s0[work], s1[work], s2[work]) for s0, s1, s2 in sums]
                fixed = (every[0][work], every[1][work])
            t1, t2 = _e_step(part, patterns, fixed, mu[work], S[work])
            new_mu = t1 / total[work, None]
            new_S = t2 / total[work, None, None] - new_mu[:, :, None] * new_mu[:, None, :]
            change = np.maximum(np.abs(new_mu - mu[work]).max(axis=1),
                                np.abs(new_S - S[work]).max(axis=(1, 2)))
            live = active[work]
            moved = work[live]
            mu[moved], S[moved] = new_mu[live], new_S[live]
            active[moved] = change[live] > tol  # NaN stops, unconverged
    converged = np.isfinite(S).all(axis=(1, 2)) & ~active
    failed = int(r - converged.sum())
    if failed:
        warnings.warn(f"EM did not converge within {max_iterations} iterations for {failed} "
                      f"of {r} weightings; their estimates are left out.", ConvergenceWarning,
                      stacklevel=2)
    scale = patterns.scale
    return EmFit(mu * scale + patterns.centre, S * np.outer(scale, scale), total, iteration,
                 converged)
