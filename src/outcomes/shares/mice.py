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
:func:`impute_many` runs the chains of many bootstrap replicates as one batch (the linear
algebra stacked, each chain drawing from its own generator in the order :func:`impute`
does), which is what makes a thousand imputed replicates take seconds.

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

__all__ = ["impute", "impute_many", "conditional_fill", "ITERATIONS", "RIDGE"]

ITERATIONS = 5  # cycles through the columns (the default of R's mice)
RIDGE = 1e-5


def conditional_fill(x, mean, covariance, rng, cache: dict | None = None) -> np.ndarray:
    """Fill each row's missing values with a draw given its observed ones, under a normal
    with ``mean`` and ``covariance``; ``cache`` keeps each pattern's regression for the
    next call with the same ``mean`` and ``covariance``."""
    out = np.array(x, dtype=float)
    seen = ~np.isnan(out)
    incomplete = np.flatnonzero(~seen.all(axis=1))
    keys, code = _patterns(~seen[incomplete])
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


def _patterns(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``missing`` and each row's pattern, in the order of the missing
    columns read as a binary number (column j worth 2^j)."""
    columns = np.flatnonzero(missing.any(axis=0))
    if len(columns) < 63:
        bits = missing[:, columns].astype(np.int64) @ (np.int64(1) << np.arange(len(columns)))
        _, first, code = np.unique(bits, return_index=True, return_inverse=True)
        return missing[first], np.asarray(code).ravel()
    keys, code = np.unique(missing[:, ::-1], axis=0, return_inverse=True)
    return keys[:, ::-1], np.asarray(code).ravel()


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
    """
    return impute_many([x], blocks, rngs=[rng], weights=None if weights is None else [weights],
                       start=start, iterations=iterations, cache=cache)[0]


def impute_many(xs: Sequence[np.ndarray], blocks: Sequence[Sequence[int]], *, rngs,
                weights=None, start=None, iterations: int = ITERATIONS,
                cache: dict | None = None) -> list[np.ndarray]:
    """One completed copy of each of ``xs`` (same columns, any rows), the chains run together.

    Each copy draws from its own generator in ``rngs``, in the same order as :func:`impute`
    would, so a copy does not depend on the others it is run with. The chains are held as
    one padded array (rows of weight 0 fill the shorter copies); each regression takes its
    cross-products from those of all rows, ``[1, x]' W [1, x]``, less those of the rows
    where its variable is missing, and after a variable is imputed only its own rows and
    columns of the cross-products are recomputed.
    """
    xs = [np.asarray(x, dtype=float) for x in xs]
    out = [x.copy() for x in xs]
    todo = [i for i, x in enumerate(xs) if np.isnan(x).any()]
    if not todo:
        return out
    chain = _Chain.of([xs[i] for i in todo], blocks, [rngs[i] for i in todo],
                      None if weights is None else [weights[i] for i in todo], start, cache)
    for _ in range(iterations):
        for step in chain.steps:
            chain.update(step)
    for r, i in enumerate(todo):
        out[i] = chain.full[r, : len(xs[i]), 1:].copy()
    return out


@dataclass(frozen=True)
class _Step:
    """One variable of the chains: its columns in ``[1, x]``, its predictors, per chain the
    rows where it is missing (padded with the last row, of weight 0) and how many, the
    weight of the rows where it is seen, and whether it is a category."""

    columns: np.ndarray
    others: np.ndarray
    gone: np.ndarray  # (R, g)
    n_gone: np.ndarray  # (R,)
    seen_weight: np.ndarray  # (R,)
    category: np.ndarray  # (R,) bool


@dataclass(frozen=True)
class _Chain:
    """Chains of imputation run together: ``[1, x]`` (R, n, k + 1) of every chain, its row
    weights (0 for padding), their product and the weighted cross-products."""

    full: np.ndarray
    weights: np.ndarray
    weighted: np.ndarray
    cross: np.ndarray
    steps: list[_Step]
    rngs: list

    @classmethod
    def of(cls, xs, blocks, rngs, weights, start, cache) -> _Chain:
        size = max(len(x) for x in xs) + 1  # at least one row of weight 0 per chain
        k = xs[0].shape[1]
        full = np.zeros((len(xs), size, k + 1))
        w = np.zeros((len(xs), size))
        for r, x in enumerate(xs):
            begin = start if start is not None else (np.nanmean(x, axis=0),
                                                      np.diag(np.nanvar(x, axis=0)))
            full[r, : len(x), 0] = 1.0
            full[r, : len(x), 1:] = conditional_fill(x, begin[0], begin[1], rngs[r],
                                                     cache if start is not None else None)
            w[r, : len(x)] = 1.0 if weights is None else np.asarray(weights[r], dtype=float)
        steps = _steps(xs, blocks, w, size)
        for step in steps:  # a category starts from a drawn category
            for i in np.flatnonzero(step.category & (step.n_gone > 0)):
                gone = step.gone[i, : step.n_gone[i]]
                full[i, gone[:, None], step.columns] = _category_draw(
                    np.clip(full[i, gone[:, None], step.columns], 0, 1), rngs[i])
        weighted = full * w[:, :, None]
        return cls(full, w, weighted, np.swapaxes(full, 1, 2) @ weighted, steps, rngs)

    def update(self, step: _Step) -> None:
        """Draw the step's regression in every chain and impute its variable anew."""
        chains = np.arange(len(self.full))[:, None]
        rows = self.full[chains, step.gone]  # (R, g, k + 1)
        seen = self.cross - np.swapaxes(rows, 1, 2) @ self.weighted[chains, step.gone]
        beta, sigma = _draw_fits(seen, step, self.rngs)
        fitted = rows[:, :, step.others] @ beta  # (R, g, c)
        values = np.zeros_like(fitted)
        for r in np.flatnonzero(step.n_gone):
            g = step.n_gone[r]
            if step.category[r]:
                values[r, :g] = _category_draw(np.clip(fitted[r, :g], 0, 1), self.rngs[r])
            else:
                values[r, :g] = fitted[r, :g] + sigma[r, 0] * self.rngs[r].standard_normal(
                    (g, 1))
        where = (chains[:, :, None], step.gone[:, :, None], step.columns[None, None, :])
        self.full[where] = values
        self.weighted[where] = values * self.weights[chains, step.gone][:, :, None]
        new = np.swapaxes(self.full, 1, 2) @ self.weighted[:, :, step.columns]
        self.cross[:, :, step.columns] = new
        self.cross[:, step.columns, :] = np.swapaxes(new, 1, 2)


def _draw_fits(cross, step: _Step, rngs):
    """Per chain, a draw of the coefficients (q, c) and residual sds (c,) of the step's
    columns on its predictors (Rubin's Bayesian regression, one per column), from the
    weighted cross-products ``cross`` of ``[1, x]`` over the rows where they are seen.

    A predictor that is zero in every such row (a category, or a coach, never seen with the
    column) is left out of the regression: its coefficient is 0.
    """
    o, y = step.others, step.columns
    q, c = len(o), len(y)
    xtx = cross[:, o[:, None], o]
    xty = cross[:, o[:, None], y]
    diagonal = np.diagonal(xtx, axis1=1, axis2=2)
    present = diagonal > 1e-12 * diagonal.max(axis=1, keepdims=True)
    cut = ~(present[:, :, None] & present[:, None, :])
    xtx = np.where(cut, 0.0, xtx)
    xty = np.where(present[:, :, None], xty, 0.0)
    ridged = xtx.copy()
    index = np.arange(q)
    ridged[:, index, index] += np.where(present, RIDGE * diagonal, 1.0)
    inverse = np.where(cut, 0.0, np.linalg.inv(ridged))
    beta = inverse @ xty
    ssr = (cross[:, y, y] - 2 * np.einsum("rij,rij->rj", beta, xty)
           + np.einsum("rij,rij->rj", beta, xtx @ beta))
    sigma = np.zeros((len(cross), c))
    noise = np.zeros((len(cross), q, c))
    chains = np.flatnonzero(step.n_gone)
    roots = _roots(inverse, present, chains)
    for r in chains:
        keep = present[r]
        df = max(step.seen_weight[r] - keep.sum(), 1.0)
        sigma[r] = np.sqrt(np.clip(ssr[r], 0, None) / rngs[r].chisquare(df, size=c))
        noise[r, keep] = roots[int(r)] @ rngs[r].standard_normal((int(keep.sum()), c))
    return beta + noise * sigma[:, None, :], sigma


def _roots(inverse, present, chains) -> dict[int, np.ndarray]:
    """The Cholesky root of each chain's coefficient covariance (its kept predictors): the
    chains that keep every predictor in one call (the same factorisation of each matrix as
    one call each), the others, or all when one of them is not positive definite, one by
    one."""
    whole = [int(r) for r in chains if present[r].all()]
    out: dict[int, np.ndarray] = {}
    if whole:
        try:
            out.update(zip(whole, np.linalg.cholesky(inverse[whole]), strict=True))
        except np.linalg.LinAlgError:
            pass
    for r in chains:
        if int(r) not in out:
            keep = present[r]
            out[int(r)] = _cholesky(inverse[r] if keep.all() else
                                    inverse[r][np.ix_(keep, keep)])
    return out


def _cholesky(matrix) -> np.ndarray:
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return _root(matrix)


def _steps(xs, blocks, w, size) -> list[_Step]:
    k = xs[0].shape[1]
    missing = [np.isnan(x) for x in xs]
    steps = []
    for block in blocks:
        b = list(block)
        gone = [np.flatnonzero(m[:, b[0]]) for m in missing]
        n_gone = np.array([len(g) for g in gone])
        if not n_gone.any():
            continue
        padded = np.full((len(xs), n_gone.max()), size - 1)
        for r, g in enumerate(gone):
            padded[r, : len(g)] = g
        others = np.ones(k + 1, dtype=bool)
        others[np.array(b) + 1] = False
        seen = [float(w[r, : len(x)][~m[:, b[0]]].sum())
                for r, (x, m) in enumerate(zip(xs, missing, strict=True))]
        category = [len(b) > 1 or _is_dummy(x[:, b[0]]) for x in xs]
        steps.append(_Step(np.array(b) + 1, np.flatnonzero(others), padded, n_gone,
                           np.array(seen), np.array(category)))
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
