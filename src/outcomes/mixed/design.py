"""The model matrix of clients nested in coaches, one fit of it, and its variance parts.

:func:`prepare` checks the inputs, leaves out incomplete rows (with a warning), sorts the
rows by coach and builds the predictor terms; :func:`solve` fits one mixed model of them
(the exact profiled likelihood of :mod:`outcomes.mixed.likelihood` for random intercepts,
statsmodels' MixedLM of :mod:`outcomes.mixed.mixedlm` for random slopes or on request);
:func:`variance_parts` splits the model-implied variance of the outcome.

Centring. With ``centring="within"`` (the default) each client-level predictor ``x`` is
split into its coach mean ``x_between`` and the client's deviation from it ``x_within``
(centring within clusters; Enders & Tofighi 2007, *Psychol Methods* 12(2):121-138), so that
the within-coach and between-coach effects are estimated apart. A column that is constant
within every coach (a coach attribute) is left as it is.

Variance of the outcome (Rights & Sterba 2019, *Psychol Methods* 24(3):309-338). With the
fixed part of the prediction ``yhat = X b`` (intercept left out), its coach means ``yhat_j``,
the random-effect covariance ``T`` of ``[intercept, slopes]``, their predictors' means
``mu`` and covariance ``Sigma``, and the residual variance ``sigma²``:

- ``f1`` = variance of ``yhat - yhat_j`` (fixed effects, within coaches);
- ``f2`` = variance of ``yhat_j`` across clients (fixed effects, between coaches);
- ``v`` = ``tr(T Sigma)`` (random-slope variation), ``m`` = ``mu' T mu`` (coach means; the
  random-intercept variance when the slope predictors are centred within coaches);
- ``residual`` = ``sigma²``.

Examples
--------
>>> df = pd.DataFrame({"coach_id": ["a", "a", "b", "b", "c", "c", "c"],
...                    "hope": [1.0, 3.0, 2.0, 2.5, 0.0, 1.0, 5.0],
...                    "end": [10.0, 14.0, 12.0, 12.0, 8.0, 9.0, 16.0]})
>>> design = prepare(df, "end", ["hope"])
>>> design.terms, design.n
(('hope_within', 'hope_between'), 7)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from outcomes._checks import check_choice, check_covariates, check_factors
from outcomes._errors import DataError, DataWarning, ModelError, UsageError
from outcomes.mixed.likelihood import ClusterStats, fit_profiled
from outcomes.mixed.mixedlm import MixedSolution, fit_mixedlm
from outcomes.shares.moments import Moments, check_estimable

__all__ = ["Design", "factor_map", "prepare", "solve", "variance_parts", "COMPONENTS",
           "SOLVERS", "PROFILED"]

Centring = Literal["within", "none"]
Solver = Literal["auto", "profiled", "statsmodels"]
SOLVERS = ("auto", "profiled", "statsmodels")
COMPONENTS = ("f1", "f2", "v", "m", "residual")
PROFILED = "profiled likelihood (exact, one dimension)"


@dataclass(frozen=True, eq=False)
class Design:
    """Complete rows sorted by coach, with predictors split by centring."""

    y: np.ndarray
    X: np.ndarray  # (n, k) predictor terms, no intercept
    terms: tuple[str, ...]
    sources: tuple[str, ...]  # the data column each term comes from
    groups: np.ndarray  # coach code 0..G-1 per row
    labels: np.ndarray  # coach id per code
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    outcome: str
    cluster: str
    centring: str
    n_dropped: int

    @property
    def n(self) -> int:
        return len(self.y)

    def columns_of(self, names: Sequence[str]) -> list[int]:
        """Indices of the terms that come from the data columns ``names``."""
        return [i for i, s in enumerate(self.sources) if s in set(names)]

    def stats(self) -> ClusterStats:
        return ClusterStats.from_arrays(self.X, self.y, self.groups)


def factor_map(factors, caller: str) -> dict[str, tuple[str, ...]]:
    """Factor name -> columns; an empty list fits the null model."""
    return check_factors(factors, caller, allow_empty=True)


def prepare(data, outcome: str, factors, *, covariates=(), cluster: str = "coach_id",
            centring: str = "within", caller: str = "multilevel") -> Design:
    """Check the inputs, drop incomplete rows (with a warning) and split the predictors."""
    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"{caller}() needs a pandas DataFrame, not {type(data).__name__}.")
    check_choice(centring, "centring", ("within", "none"), caller)
    fmap = factor_map(factors, caller)
    covariates = check_covariates(covariates, caller)
    used = [c for cols in fmap.values() for c in cols] + list(covariates)
    for col in [cluster, outcome, *used]:
        if col not in data.columns:
            shown = ", ".join(map(str, list(data.columns)[:20]))
            raise DataError(f"{caller}() needs this column but the data have no such column",
                            column=col, fix=f"Columns present: {shown}.")
    if len(set(used)) < len(used) or outcome in used or cluster in used:
        raise UsageError("each column can play one role only (outcome, cluster, factor column "
                         "or covariate); a column is named twice.")
    frame = data[[cluster, outcome, *used]]
    missing = frame.isna()
    dropped = missing.any(axis=1).to_numpy()
    if dropped.any():
        where = ", ".join(f'"{c}" ({n})' for c, n in missing.sum().items() if n)
        warnings.warn(f"{int(dropped.sum())} of {len(frame)} rows have missing values and were "
                      f"left out (missing per column: {where}).", DataWarning,
                      stacklevel=4)
        frame = frame.loc[~dropped]
    for col in [outcome, *used]:
        if not (pd.api.types.is_numeric_dtype(frame[col]) or
                pd.api.types.is_bool_dtype(frame[col])):
            raise DataError(f"must be numeric for {caller}(), but it holds {frame[col].dtype} "
                            "values", column=col,
                            fix="Convert it to numbers (or to 0/1 indicator columns).")
    labels, groups = np.unique(frame[cluster].astype(str).to_numpy(), return_inverse=True)
    if len(labels) < 3:
        raise ModelError(f'{len(labels)} distinct values of "{cluster}" in the rows used; a '
                         "coach variance needs at least 3 coaches (and many more to be "
                         "estimated well).")
    order = np.argsort(groups, kind="stable")
    groups = groups[order]
    y = frame[outcome].to_numpy(dtype=float)[order]
    if np.ptp(y) == 0:
        raise ModelError(f'the outcome "{outcome}" has the same value in every row used.')
    columns = {col: frame[col].to_numpy(dtype=float)[order] for col in used}
    X, terms, sources = _terms(columns, groups, centring)
    if len(y) <= X.shape[1] + 2:
        raise ModelError(f"{len(y)} complete rows are too few for {X.shape[1]} predictors.")
    if terms:
        check_estimable(Moments.from_arrays(np.column_stack([X, y])).cross, [*terms, outcome],
                        outcome=outcome)
    return Design(y, X, tuple(terms), tuple(sources), groups, labels, fmap, covariates,
                  outcome, cluster, centring, int(dropped.sum()))


def _terms(columns: dict[str, np.ndarray], groups: np.ndarray,
           centring: str) -> tuple[np.ndarray, list[str], list[str]]:
    """The predictor terms (split within and between coaches or not), names and sources."""
    blocks, terms, sources = [], [], []
    size = np.bincount(groups)
    for col, x in columns.items():
        mean = np.bincount(groups, x) / size
        within = x - mean[groups]
        scale = max(float(np.abs(x).max()), 1.0)
        varies_within = np.abs(within).max() > 1e-10 * scale
        varies_between = np.ptp(mean) > 1e-10 * scale
        if centring == "within" and varies_within:
            parts = [(within, f"{col}_within")]
            if varies_between:
                parts.append((mean[groups], f"{col}_between"))
        else:
            parts = [(x, col)]
        for values, name in parts:
            blocks.append(values)
            terms.append(name)
            sources.append(col)
    X = np.column_stack(blocks) if blocks else np.zeros((len(groups), 0))
    return X, terms, sources


def solve(design: Design, terms: Sequence[int], slopes: Sequence[int], reml: bool,
          solver: str) -> MixedSolution:
    """Fit one model: the exact profiled path for random intercepts, else MixedLM."""
    if not slopes and solver != "statsmodels":
        f = fit_profiled(design.stats(), list(terms), reml=reml)
        return MixedSolution(f.coef[0], f.cov[0], np.array([[f.tau2[0]]]), float(f.sigma2[0]),
                             float(f.loglik[0]), True, PROFILED)
    X = np.column_stack([np.ones(design.n), design.X[:, list(terms)]])
    Z = np.column_stack([np.ones(design.n), design.X[:, list(slopes)]])
    return fit_mixedlm(design.y, X, design.groups, exog_re=Z, reml=reml)


def variance_parts(design: Design, solution: MixedSolution, terms: Sequence[int],
                   slopes: Sequence[int]) -> dict[str, float]:
    """Rights & Sterba's f1, f2, v, m and residual variance (not yet shares)."""
    pred = design.X[:, list(terms)] @ solution.coef[1:]
    size = np.bincount(design.groups)
    means = np.bincount(design.groups, pred) / size
    dof = design.n - 1
    f1 = float(np.sum((pred - means[design.groups]) ** 2) / dof)
    f2 = float(np.sum(size * (means - pred.mean()) ** 2) / dof)
    Z = np.column_stack([np.ones(design.n), design.X[:, list(slopes)]])
    mu = Z.mean(axis=0)
    sigma = np.atleast_2d(np.cov(Z, rowvar=False, ddof=0))
    T = solution.random_cov
    return {"f1": f1, "f2": f2, "v": float(np.trace(T @ sigma)), "m": float(mu @ T @ mu),
            "residual": solution.sigma2}

