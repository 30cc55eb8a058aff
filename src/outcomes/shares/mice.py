"""Multiple imputation by chained equations on the model matrix, with Bayesian regression.

Each column with missing values is imputed in turn from all the others (van Buuren &
Groothuis-Oudshoorn 2011, *J Stat Softw* 45(3)), by the Bayesian linear regression of
Rubin (1987, p. 167) that R's ``mice`` calls ``norm``: with ``b`` the least-squares fit on
the rows where the column is observed (a ridge of 1e-5 times the diagonal, as ``mice``),
``sigma*^2 = SSR / g`` with ``g ~ chi^2(n_obs - q)``, ``b* ~ N(b, sigma*^2 (X'X)^-1)`` and each
missing value ``x b* + sigma* z``. A categorical column (a block of dummy columns) draws a
category with the probabilities of a linear-probability model with drawn coefficients.

Why this and not statsmodels' ``MICEData``: the shares' bootstrap imputes every replicate
afresh (bootstrap, then impute), so one imputation must take milliseconds, and must work on
the numeric model matrix (dummy blocks included) that the share engine uses. ``MICEData``
refits statsmodels models through formulas for every column in every cycle (about a
hundred times slower here) and defaults to predictive mean matching. The chain starts from
draws of the missing values given the observed ones under the EM (maximum-likelihood
normal) estimates, close to where the chain settles, so a few cycles suffice.

Examples
--------
>>> rng = np.random.default_rng(1)
>>> x = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], 300)
>>> x[rng.random(300) < 0.3, 1] = np.nan
>>> done = impute(x, [(0,), (1,)], rng=np.random.default_rng(2))
>>> bool(np.isfinite(done).all()), bool(np.allclose(done[~np.isnan(x)], x[~np.isnan(x)]))
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["impute", "conditional_fill", "ITERATIONS", "RIDGE"]

ITERATIONS = 5  # cycles through the columns (the default of R's mice)
RIDGE = 1e-5


def conditional_fill(x, mean, covariance, rng, cache: dict | None = None) -> np.ndarray:
    """Fill each row's missing values with a draw given its observed ones, under a normal
    with ``mean`` and ``covariance``; ``cache`` keeps each pattern's regression for the
    next call with the same ``mean`` and ``covariance``."""
    out = np.array(x, dtype=float)
    seen = ~np.isnan(out)
    incomplete = np.flatnonzero(~seen.all(axis=1))
    # patterns in the order of their missing columns read as binary, the last column first
    keys, code = np.unique(~seen[incomplete, ::-1], axis=0, return_inverse=True)
    code = np.asarray(code).ravel()
    cache = {} if cache is None else cache
    for g, key in enumerate(keys):
        rows = incomplete[code == g]
        name = key.tobytes()
        if name not in cache:
            cache[name] = _conditional(seen[rows[0]], mean, covariance)
        obs, miss, B, root = cache[name]
        centre = mean[miss] + (out[rows[:, None], obs] - mean[obs]) @ B.T
        out[rows[:, None], miss] = centre + rng.standard_normal((len(rows), len(miss))) @ root.T
    return out


def _conditional(key, mean, covariance):
    """Observed and missing columns, regression ``B`` and residual root of one pattern."""
    obs, miss = np.flatnonzero(key), np.flatnonzero(~key)
    soo = covariance[np.ix_(obs, obs)]
    som = covariance[np.ix_(obs, miss)]
    B = np.linalg.solve(soo, som).T if len(obs) else np.zeros((len(miss), 0))
    return obs, miss, B, _root(covariance[np.ix_(miss, miss)] - B @ som)


def _root(matrix) -> np.ndarray:
    """A square root ``L`` with ``L L' = matrix`` (eigen-based: tolerates near-singular)."""
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2)
    return vecs * np.sqrt(np.clip(vals, 0, None))


@dataclass(frozen=True)
class _Step:
    """One variable of the chain: its columns in ``[1, x]``, its predictors, the rows where
    it is missing, the weight of the rows where it is seen, and whether it is a category."""

    columns: np.ndarray
    others: np.ndarray
    gone: np.ndarray
    seen_weight: float
    category: bool


def _draw_fit(cross, step: _Step, rng):
    """A draw of the coefficients (q, c) and residual sds (c,) of the step's columns on its
    predictors (Rubin's Bayesian regression, one per column), from the weighted
    cross-products ``cross`` of ``[1, x]`` over the rows where the columns are seen.

    A predictor that is zero in every such row (a category, or a coach, never seen with the
    column) is left out of the regression: its coefficient is 0.
    """
    o = step.others
    diagonal = cross[o, o]
    present = diagonal > 1e-12 * diagonal.max()
    if present.all():
        return _draw(cross, o, step, rng)
    draws = np.zeros((len(o), len(step.columns)))
    draws[present], sigma = _draw(cross, o[present], step, rng)
    return draws, sigma


def _draw(cross, o, step: _Step, rng):
    y = step.columns
    xtx = cross[o[:, None], o]
    xty = cross[o[:, None], y]
    ridged = xtx.copy()
    ridged.flat[:: len(o) + 1] += RIDGE * np.diagonal(xtx)
    inverse = np.linalg.inv(ridged)
    beta = inverse @ xty
    ssr = cross[y, y] - 2 * np.einsum("ij,ij->j", beta, xty) + np.einsum(
        "ij,ij->j", beta, xtx @ beta)
    df = max(step.seen_weight - len(o), 1.0)
    sigma = np.sqrt(np.clip(ssr, 0, None) / rng.chisquare(df, size=len(y)))
    try:
        root = np.linalg.cholesky(inverse)
    except np.linalg.LinAlgError:
        root = _root(inverse)
    return beta + (root @ rng.standard_normal((len(o), len(y)))) * sigma, sigma


def impute(x, blocks: Sequence[Sequence[int]], *, rng, weights=None, start=None,
           iterations: int = ITERATIONS, cache: dict | None = None) -> np.ndarray:
    """One completed copy of ``x`` (NaN = missing) by chained equations.

    Parameters
    ----------
    x : array (n, k)
    blocks : sequence of sequences of int
        The columns of each variable: one for a number, several for the dummies of a
        categorical variable (imputed together as one category).
    rng : numpy Generator
    weights : array (n,), optional
        Case weights (used in every regression).
    start : (mean, covariance), optional
        Normal estimates to start the chain from (default: observed means and variances).
    iterations : int
        Cycles through the variables with missing values.
    cache : dict, optional
        Kept between calls with the same ``start`` (the starting draws' regressions).

    Notes
    -----
    Each regression takes its cross-products from those of all rows, ``[1, x]' W [1, x]``,
    less those of the rows where its variable is missing; after a variable is imputed only
    its own rows and columns of the cross-products are recomputed.
    """
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    missing = np.isnan(x)
    if not missing.any():
        return x.copy()
    if start is None:
        start = (np.nanmean(x, axis=0), np.diag(np.nanvar(x, axis=0)))
    full = np.empty((n, k + 1))
    full[:, 0] = 1.0
    full[:, 1:] = conditional_fill(x, start[0], start[1], rng, cache)
    steps = _steps(x, missing, blocks, w)
    for step in steps:
        if step.category:
            full[step.gone[:, None], step.columns] = _category_draw(
                np.clip(full[step.gone[:, None], step.columns], 0, 1), rng)
    weighted = full * w[:, None]
    cross = full.T @ weighted
    for _ in range(iterations):
        for step in steps:
            rows = full[step.gone]
            seen = cross - rows.T @ weighted[step.gone]
            beta, sigma = _draw_fit(seen, step, rng)
            fitted = rows[:, step.others] @ beta
            if step.category:
                values = _category_draw(np.clip(fitted, 0, 1), rng)
            else:
                values = fitted + sigma[0] * rng.standard_normal((len(fitted), 1))
            full[step.gone[:, None], step.columns] = values
            weighted[step.gone[:, None], step.columns] = values * w[step.gone, None]
            new = full.T @ weighted[:, step.columns]
            cross[:, step.columns] = new
            cross[step.columns, :] = new.T
    return full[:, 1:]


def _steps(x, missing, blocks, w) -> list[_Step]:
    k = x.shape[1]
    steps = []
    for block in blocks:
        b = list(block)
        gone = missing[:, b[0]]
        if gone.any():
            steps.append(_Step(np.array(b) + 1, np.r_[0, 1 + np.setdiff1d(np.arange(k), b)],
                               np.flatnonzero(gone), float(w[~gone].sum()),
                               len(b) > 1 or _is_dummy(x[:, b[0]])))
    return steps


def _is_dummy(column) -> bool:
    seen = column[~np.isnan(column)]
    return bool(len(seen)) and bool(np.all((seen == 0) | (seen == 1)))


def _category_draw(probabilities, rng) -> np.ndarray:
    """Dummies of a category drawn with the given (clipped) probabilities; the reference
    category takes what is left (at least 0)."""
    p = np.column_stack([np.clip(1 - probabilities.sum(axis=1), 0, None), probabilities])
    total = p.sum(axis=1, keepdims=True)
    p = np.where(total > 0, p / np.where(total > 0, total, 1), 1 / p.shape[1])
    u = rng.random(len(p))[:, None]
    pick = (u > np.cumsum(p, axis=1)).sum(axis=1)
    pick = np.minimum(pick, p.shape[1] - 1)
    out = np.zeros_like(probabilities)
    rows = np.flatnonzero(pick > 0)
    out[rows, pick[rows] - 1] = 1.0
    return out
