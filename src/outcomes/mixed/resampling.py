"""The cluster bootstrap of mixed models: coaches resampled whole, replicates in parallel.

A replicate draws coaches with replacement (Field & Welsh 2007, *J R Stat Soc B*
69(3):369-390) and is held as a count per coach, drawn before any work is shared out, so
that the numbers do not depend on the number of worker processes (:func:`in_parallel`).
Random-intercept models are refitted for all replicates at once from per-coach sums
(:func:`outcomes.mixed.likelihood.fit_profiled` with counts); models with random slopes are
refitted replicate by replicate on the expanded rows, each drawn copy of a coach becoming a
coach of its own. :func:`bootstrap_fit` gives the intervals of :func:`outcomes.multilevel`;
:func:`outcomes.mixed.shares.multilevel_shares` shares out its replicates with
:func:`in_parallel` too.

Examples
--------
>>> n_workers(1, 10), n_workers(4, 1)
(1, 1)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from outcomes._errors import DataWarning, ModelError
from outcomes.mixed.design import COMPONENTS, Design, solve, variance_parts
from outcomes.mixed.likelihood import ClusterStats, fit_profiled
from outcomes.shares.bootstrap import Draws, resample_counts

__all__ = ["n_workers", "in_parallel", "warn_failed", "bootstrap_fit"]

#: The quantities of each replicate of a fit, in the order of its columns.
QUANTITIES = ("r2_marginal", "r2_conditional", *COMPONENTS, "icc")


def n_workers(n_jobs: int | None, n_tasks: int) -> int:
    """Worker processes to use: every core by default, never more than the tasks."""
    import joblib

    wanted = joblib.effective_n_jobs(-1 if n_jobs is None else n_jobs)
    return max(1, min(int(wanted), n_tasks))


def in_parallel(fn, counts: np.ndarray, n_jobs: int | None, *args) -> np.ndarray:
    """``fn(*args, chunk)`` over row chunks of ``counts``, in worker processes, stacked.

    The counts are drawn before the work is shared out, so the result does not depend on
    the number of workers.
    """
    workers = n_workers(n_jobs, len(counts) // 50 + 1)
    if workers == 1:
        return fn(*args, counts)
    from joblib import Parallel, delayed

    chunks = np.array_split(counts, workers * 2)
    parts = Parallel(n_jobs=workers)(delayed(fn)(*args, c) for c in chunks if len(c))
    return np.concatenate(parts)


def _profiled_rows(stats: ClusterStats, terms: list[int], reml: bool, counts) -> np.ndarray:
    """Per replicate: R² marginal, conditional, the five shares and the null-model ICC."""
    fit = fit_profiled(stats, terms, reml=reml, counts=counts)
    null = fit_profiled(stats, [], reml=reml, counts=counts)
    cols = [1 + t for t in terms]
    Q = stats.cross[:, cols][:, :, cols]
    s = stats.cross[:, 0, cols]
    size = stats.sizes
    n = counts @ size
    per_cluster = (s[:, :, None] * s[:, None, :]) / size[:, None, None]
    within = (counts @ (Q - per_cluster).reshape(len(Q), -1)).reshape(-1, len(cols), len(cols))
    mean = counts @ s / n[:, None]
    between = (counts @ per_cluster.reshape(len(Q), -1)).reshape(within.shape) - n[
        :, None, None] * mean[:, :, None] * mean[:, None, :]
    b = fit.coef[:, 1:]
    f1 = np.einsum("bi,bij,bj->b", b, within, b) / (n - 1)
    f2 = np.einsum("bi,bij,bj->b", b, between, b) / (n - 1)
    parts = np.column_stack([f1, f2, np.zeros(len(n)), fit.tau2, fit.sigma2])
    shares = parts / parts.sum(axis=1, keepdims=True)
    icc = null.ratio / (1 + null.ratio)
    return np.column_stack([shares[:, 0] + shares[:, 1], 1 - shares[:, 4], shares, icc])


def _expanded(design: Design, counts_row: np.ndarray) -> Design:
    """The design of one replicate: each coach repeated as often as drawn, as new coaches."""
    rows, codes = [], []
    new = 0
    for g in np.flatnonzero(counts_row):
        where = np.flatnonzero(design.groups == g)
        for _ in range(int(counts_row[g])):
            rows.append(where)
            codes.append(np.full(len(where), new))
            new += 1
    idx = np.concatenate(rows)
    return Design(design.y[idx], design.X[idx], design.terms, design.sources,
                  np.concatenate(codes), np.arange(new).astype(str), design.factors,
                  design.covariates, design.outcome, design.cluster, design.centring, 0)


def _refit_rows(design: Design, terms, slopes, reml, solver, counts) -> np.ndarray:
    """Per replicate, refitting the model on the resampled coaches (random slopes)."""
    out = np.full((len(counts), 8), np.nan)
    for i, row in enumerate(counts):
        rep = _expanded(design, row)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sol = solve(rep, terms, slopes, reml, solver)
                null = solve(rep, [], [], reml, solver)
            except (ModelError, np.linalg.LinAlgError):
                continue
        parts = variance_parts(rep, sol, terms, slopes)
        shares = np.array([parts[k] for k in COMPONENTS]) / sum(parts.values())
        icc = null.random_cov[0, 0] / (null.random_cov[0, 0] + null.sigma2)
        out[i] = [shares[0] + shares[1], 1 - shares[4], *shares, icc]
    return out


def warn_failed(failed: int, n_boot: int) -> None:
    """Say how many replicates could not be fitted and were left out (if any)."""
    if failed:
        warnings.warn(f"{failed} of {n_boot} bootstrap replicates could not be fitted (in them "
                      "a predictor no longer varied, or the predictors were collinear) and "
                      "were left out; with few coaches, prefer fewer coach-level columns.",
                      DataWarning, stacklevel=3)


def bootstrap_fit(design: Design, terms: list[int], slopes: list[int], reml: bool,
                  solver: str, n_boot: int, seed, n_jobs: int | None,
                  ci_level: float) -> pd.DataFrame:
    """Percentile intervals of R², the Rights & Sterba shares and the ICC, by quantity.

    Columns: quantity, std_error, ci_low, ci_high and n_boot (the replicates kept).
    """
    counts = resample_counts(len(design.labels), n_boot, np.random.default_rng(seed))
    if not slopes and solver != "statsmodels":
        reps = in_parallel(_profiled_rows, counts, n_jobs, design.stats(), terms, reml)
    else:
        reps = in_parallel(_refit_rows, counts, n_jobs, design, terms, slopes, reml, solver)
    ok = np.all(np.isfinite(reps), axis=1)
    warn_failed(int((~ok).sum()), n_boot)
    reps = reps[ok]
    names = list(QUANTITIES)
    low, high = Draws(np.zeros(len(names)), reps).interval("percentile", ci_level)
    return pd.DataFrame({"quantity": names, "std_error": reps.std(axis=0, ddof=1),
                         "ci_low": low, "ci_high": high, "n_boot": len(reps)})
