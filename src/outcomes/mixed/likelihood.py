"""Exact random-intercept (RE)ML from per-cluster sums, batched over bootstrap replicates.

The random-intercept model ``y_ij = x_ij'b + u_j + e_ij`` with ``u_j ~ N(0, tau²)`` and
``e_ij ~ N(0, sigma²)`` has, for cluster j of n_j rows, ``V_j = sigma² (I + g 11')`` with the
variance ratio ``g = tau² / sigma²`` and ``V_j^-1 = (I - w_j 11') / sigma²``,
``w_j = g / (1 + n_j g)``, ``log|V_j| = n_j log sigma² + log(1 + n_j g)``. With
``z = [1, x, y]`` and per-cluster sums ``Q_j = sum_i z z'`` and ``s_j = sum_i z``,

    A(g) = sum_j (Q_j - w_j s_j s_j'),   b(g) = A_xx^-1 A_xy,   RSS(g) = A_yy - A_yx b(g),

so the likelihood depends on the data only through the ``Q_j``. Profiling out b and sigma²
(``sigma² = RSS / N`` for ML, ``RSS / (N - p)`` for REML) leaves one dimension:

    ML:   -2 l(g) = N (1 + log(2 pi RSS / N)) + sum_j log(1 + n_j g)
    REML: -2 l(g) = (N - p)(1 + log(2 pi RSS / (N - p))) + sum_j log(1 + n_j g) + log|A_xx|

(the REML form is lme4's REML criterion; Bates et al. 2015, *J Stat Softw* 67(1)). The
minimum over ``g >= 0`` is found exactly: a grid over ``rho = g / (1 + g)`` brackets it and
bisection on the sign of the analytic derivative closes the bracket to machine precision.
A cluster-bootstrap replicate gives each cluster a count, and ``A(g)`` becomes the
count-weighted sum, so all replicates and sub-models are fitted together with numpy.

Models with random slopes or nested random intercepts go to statsmodels' MixedLM
(:mod:`outcomes.mixed.mixedlm`).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(30), 10)
>>> x = rng.normal(size=300)
>>> y = 1 + 0.5 * x + rng.normal(size=30)[g] + rng.normal(size=300)
>>> fit = fit_profiled(ClusterStats.from_arrays(x[:, None], y, g), [0])
>>> fit.coef[0].round(3).tolist(), bool(fit.ratio[0] > 0)
([0.904, 0.548], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincinv

from outcomes._errors import ModelError

__all__ = ["ClusterStats", "ProfiledFit", "fit_profiled", "profile_interval"]

LOG_2PI = float(np.log(2 * np.pi))
_GRID = np.array([0.0, 1e-3, 0.01, 0.03, 0.06, 0.1, 0.15, 0.22, 0.3, 0.4, 0.55, 0.7, 0.85,
                  0.95, 0.99, 0.999])
_TOP = 1 - 1e-9
_ITERATIONS = 100
_WIDTH = 1e-13
_BISECTIONS = 56


@dataclass(frozen=True, eq=False)
class ClusterStats:
    """Per-cluster sums of ``z z'`` with ``z = [1, x - centre_x, y - centre_y]``.

    Parameters
    ----------
    cross : ndarray of shape (G, k, k)
        ``sum_i z_i z_i'`` per cluster; ``cross[:, 0, 0]`` is the cluster size and
        ``cross[:, 0, :]`` the column sums.
    centre : ndarray of shape (k,)
        What was subtracted from each column (0 for the constant); the overall means.
    """

    cross: np.ndarray
    centre: np.ndarray

    @classmethod
    def from_arrays(cls, x, y, groups) -> ClusterStats:
        """Sums per cluster of predictors ``x`` (n, p), outcome ``y`` (n,), codes ``groups``."""
        x = np.asarray(x, dtype=float).reshape(len(y), -1)
        y = np.asarray(y, dtype=float)
        raw = np.column_stack([np.ones(len(y)), x, y])
        centre = raw.mean(axis=0)
        centre[0] = 0.0
        z = raw - centre
        _, code = np.unique(np.asarray(groups), return_inverse=True)
        order = np.argsort(code, kind="stable")
        bounds = np.flatnonzero(np.r_[True, np.diff(code[order]) != 0, True])
        zs = z[order]
        cross = np.stack([zs[a:b].T @ zs[a:b] for a, b in zip(bounds[:-1], bounds[1:],
                                                               strict=True)])
        return cls(cross, centre)

    @property
    def n_clusters(self) -> int:
        return int(self.cross.shape[0])

    @property
    def sizes(self) -> np.ndarray:
        return self.cross[:, 0, 0]


@dataclass(frozen=True, eq=False)
class ProfiledFit:
    """Random-intercept fits, one per row of the cluster counts (batched).

    ``coef`` holds the intercept (on the original scale) then the slopes; ``cov`` their
    covariance ``sigma² A_xx^-1`` (as lme4's ``vcov``); ``ratio`` is ``tau² / sigma²``;
    ``fixed_variance`` the variance of the fixed-effect prediction (``b' S_xx b`` with the
    replicate's predictor covariance, denominator n - 1), as in Nakagawa & Schielzeth (2013).
    """

    coef: np.ndarray
    cov: np.ndarray
    ratio: np.ndarray
    sigma2: np.ndarray
    loglik: np.ndarray
    fixed_variance: np.ndarray
    n: np.ndarray
    reml: bool

    @property
    def tau2(self) -> np.ndarray:
        return self.ratio * self.sigma2

    def r2_marginal(self) -> np.ndarray:
        """Nakagawa & Schielzeth's marginal R² of each fit."""
        return self.fixed_variance / (self.fixed_variance + self.tau2 + self.sigma2)


class _Problem:
    """The criterion of one sub-model for a batch of replicates."""

    def __init__(self, stats: ClusterStats, predictors: Sequence[int], reml: bool, counts):
        k = stats.cross.shape[1]
        self.cols = [0, *(1 + int(i) for i in predictors), k - 1]
        q = len(self.cols)
        Q = stats.cross[:, self.cols][:, :, self.cols]
        self.q, self.p, self.reml = q, q - 1, reml
        self.size = Q[:, 0, 0]
        self.s = Q[:, 0, :]
        self.c = np.atleast_2d(np.asarray(counts, dtype=float))
        self.M = (self.c @ Q.reshape(len(Q), -1)).reshape(-1, q, q)
        self.deficient = self._deficient()
        if self.deficient.any():  # fit those replicates on the whole data; reported as NaN
            self.c = np.where(self.deficient[:, None], 1.0, self.c)
            self.M = (self.c @ Q.reshape(len(Q), -1)).reshape(-1, q, q)
        self.SS = (self.s[:, :, None] * self.s[:, None, :]).reshape(len(Q), -1)
        self.N = self.c @ self.size
        self.dof = self.N - self.p if reml else self.N
        if np.any(self.dof <= 0):
            raise ModelError(f"{int(self.N.min())} rows are too few for {self.p} fixed effects.")

    def _deficient(self) -> np.ndarray:
        """Replicates whose predictors are (nearly) collinear: X'X of rank below p."""
        if self.q <= 2:
            return np.zeros(len(self.M), dtype=bool)
        n = self.M[:, 0, 0]
        mean = self.M[:, 0, 1:-1] / n[:, None]
        cross = self.M[:, 1:-1, 1:-1] - n[:, None, None] * mean[:, :, None] * mean[:, None, :]
        scale = np.sqrt(np.clip(np.diagonal(cross, axis1=1, axis2=2), 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = cross / scale[:, :, None] / scale[:, None, :]
        bad = ~np.all(scale > 0, axis=1) | ~np.all(np.isfinite(corr), axis=(1, 2))
        corr = np.where(bad[:, None, None], np.eye(self.q - 2), corr)
        return bad | (np.linalg.eigvalsh(corr)[:, 0] < 1e-10)

    def _solve(self, g: np.ndarray):
        g = g[:, None]
        w = g / (1 + self.size[None, :] * g)
        A = self.M - ((self.c * w) @ self.SS).reshape(-1, self.q, self.q)
        Axx, Axy = A[:, :-1, :-1], A[:, :-1, -1]
        beta = np.linalg.solve(Axx, Axy[..., None])[..., 0]
        rss = A[:, -1, -1] - (Axy * beta).sum(axis=-1)
        return Axx, beta, rss

    def derivative(self, g: np.ndarray) -> np.ndarray:
        """Derivative of ``_batched_criterion`` with respect to the variance ratio."""
        Axx, beta, rss = self._solve(g)
        inv = 1 + self.size[None, :] * g[:, None]
        dw = self.c / inv**2
        resid = self.s[None, :, -1] - beta @ self.s[:, :-1].T
        out = -self.dof * (dw * resid**2).sum(axis=1) / rss + (self.c * self.size / inv).sum(1)
        if self.reml:
            sx = self.s[:, :-1]
            solved = np.linalg.solve(Axx, np.broadcast_to(sx.T, (len(g), *sx.T.shape)))
            out = out - (dw * np.einsum("gk,bkg->bg", sx, solved)).sum(axis=1)
        return out


def _batched_criterion(problem: _Problem, g: np.ndarray) -> np.ndarray:
    Axx, _, rss = problem._solve(g)
    logs = (problem.c * np.log1p(problem.size[None, :] * g[:, None])).sum(axis=1)
    value = problem.dof * np.log(rss / problem.dof) + logs
    if problem.reml:
        value = value + np.linalg.slogdet(Axx)[1]
    return value


def _to_ratio(rho: np.ndarray) -> np.ndarray:
    return rho / (1 - rho)


def _minimise(problem: _Problem) -> np.ndarray:
    """The variance ratio that minimises the criterion, per replicate.

    A grid over ``rho = g / (1 + g)`` finds the best grid point; the root of the analytic
    derivative in the bracket around it is then found by the Illinois variant of regula
    falsi (superlinear, and never leaves the bracket) to a width of ``1e-13`` in rho.
    """
    b = problem.c.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.stack([_batched_criterion(problem, np.full(b, _to_ratio(r))) for r in _GRID])
    values = np.where(np.isfinite(values), values, np.inf)
    best = np.argmin(values, axis=0)
    low = _GRID[np.maximum(best - 1, 0)]
    high = np.where(best + 1 < len(_GRID), _GRID[np.minimum(best + 1, len(_GRID) - 1)], _TOP)
    f_low = problem.derivative(_to_ratio(low))
    f_high = problem.derivative(_to_ratio(high))
    inner = ((f_low >= 0) & (best > 0)) | ((f_high <= 0) & (best + 1 < len(_GRID)))
    if inner.any():  # the criterion turns between grid points: search beside the best one
        low = np.where((f_low >= 0) & (best > 0), _GRID[best], low)
        high = np.where((f_high <= 0) & (best + 1 < len(_GRID)), _GRID[best], high)
        f_low = problem.derivative(_to_ratio(low))
        f_high = problem.derivative(_to_ratio(high))
    at_low = f_low >= 0  # the minimum is at the lower end (the boundary rho = 0)
    at_high = f_high <= 0
    side = np.zeros(b)  # which end moved last: -1 low, +1 high
    for _ in range(_ITERATIONS):
        open_ = (high - low > _WIDTH) & ~at_low & ~at_high
        if not open_.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = high - f_high * (high - low) / (f_high - f_low)
        mid = 0.5 * (low + high)
        guess = np.where(np.isfinite(guess) & (guess > low) & (guess < high), guess, mid)
        f_guess = problem.derivative(_to_ratio(guess))
        rising = (f_guess > 0) & open_
        falling = (f_guess <= 0) & open_
        f_low = np.where(rising & (side == 1), 0.5 * f_low, f_low)
        f_high = np.where(falling & (side == -1), 0.5 * f_high, f_high)
        high, f_high = np.where(rising, guess, high), np.where(rising, f_guess, f_high)
        low, f_low = np.where(falling, guess, low), np.where(falling, f_guess, f_low)
        side = np.where(rising, 1, np.where(falling, -1, side))
    rho = np.where(at_low, low, np.where(at_high, high, 0.5 * (low + high)))
    return _to_ratio(rho)


def fit_profiled(
    stats: ClusterStats, predictors: Sequence[int], *, reml: bool = True, counts=None
) -> ProfiledFit:
    """Fit the random-intercept model on the predictor columns ``predictors``.

    Parameters
    ----------
    stats : ClusterStats
        Per-cluster sums of all candidate predictors and the outcome.
    predictors : sequence of int
        Indices of the predictor columns (of ``x`` as given to ``ClusterStats``) in the model.
    reml : bool, default True
        REML (as lme4's default) or ML.
    counts : ndarray of shape (B, G), optional
        How often each cluster enters each fit (cluster-bootstrap replicates); default one
        fit of the data as they are. A replicate whose predictors are collinear (a coach-level
        column that no longer varies, say) gives NaN.
    """
    counts = np.ones((1, stats.n_clusters)) if counts is None else counts
    problem = _Problem(stats, predictors, reml, counts)
    ratio = _minimise(problem)
    Axx, beta, rss = problem._solve(ratio)
    sigma2 = rss / problem.dof
    cov = sigma2[:, None, None] * np.linalg.inv(Axx)
    centre = stats.centre[problem.cols]
    shift = np.r_[1.0, -centre[1:-1]]
    coef = beta.copy()
    coef[:, 0] = centre[-1] + beta @ shift
    cov[:, 0, :] = np.einsum("j,bjk->bk", shift, cov)
    cov[:, :, 0] = np.einsum("bkj,j->bk", cov, shift)
    mean = problem.M[:, 0, :] / problem.N[:, None]
    centred = problem.M - problem.N[:, None, None] * mean[:, :, None] * mean[:, None, :]
    sxx = centred[:, 1:-1, 1:-1] / (problem.N - 1)[:, None, None]
    slopes = beta[:, 1:]
    fixed = np.einsum("bi,bij,bj->b", slopes, sxx, slopes)
    loglik = -0.5 * (_batched_criterion(problem, ratio) + problem.dof * (1 + LOG_2PI))
    if problem.deficient.any():
        bad = problem.deficient
        for values in (coef, cov, ratio, sigma2, loglik, fixed):
            values[bad] = np.nan
    return ProfiledFit(coef, cov, ratio, sigma2, loglik, fixed, problem.N, reml)


def profile_interval(
    stats: ClusterStats, predictors: Sequence[int], *, reml: bool = True, ci_level: float = 0.95
) -> tuple[float, float]:
    """Profile-likelihood interval of ``rho = tau² / (tau² + sigma²)`` (one fit).

    The interval holds every ``rho`` whose profiled (RE)ML deviance lies within the
    ``ci_level`` quantile of chi-square(1) of the minimum; a lower end at the boundary is 0.
    """
    problem = _Problem(stats, predictors, reml, np.ones((1, stats.n_clusters)))
    ratio = _minimise(problem)
    best = float(_batched_criterion(problem, ratio)[0])
    limit = best + float(2 * gammaincinv(0.5, ci_level))  # the chi-square(1) quantile
    rho_hat = float(ratio[0] / (1 + ratio[0]))

    def excess(rho: float) -> float:
        ratio = _to_ratio(np.array([rho]))
        return float(_batched_criterion(problem, ratio)[0]) - limit

    def root(inside: float, outside: float) -> float:
        for _ in range(_BISECTIONS):
            mid = 0.5 * (inside + outside)
            inside, outside = (mid, outside) if excess(mid) < 0 else (inside, mid)
        return 0.5 * (inside + outside)

    low = 0.0 if excess(0.0) <= 0 else root(rho_hat, 0.0)
    top = _TOP
    high = top if excess(top) <= 0 else root(rho_hat, top)
    return low, high
