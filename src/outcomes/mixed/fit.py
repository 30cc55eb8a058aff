"""Clients nested in coaches: mixed models, multilevel R² and multilevel factor shares.

:func:`multilevel` fits ``outcome ~ predictors + (1 + slopes | coach)`` and reports the
fixed effects, the variance components, the coach intra-class correlation (ICC) of the
outcome, Nakagawa & Schielzeth's R² and Rights & Sterba's decomposition of the outcome's
variance. :func:`outcomes.mixed.shares.multilevel_shares` splits the variance explained
by the fixed effects among
factor groups (Shapley values of the marginal R²) and sets the coach's share and the
unexplained rest beside them. ``docs/multilevel.md`` states every estimand in words and
formulas.

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

With predictors centred within coaches ``f1`` and ``f2`` are Rights & Sterba's
``gamma_w' Phi_w gamma_w`` and ``gamma_b' Phi_b gamma_b``. The shares of their sum are
reported; ``f1 + f2`` is Nakagawa & Schielzeth's (2013, *Methods Ecol Evol* 4(2):133-142)
marginal R² and ``f1 + f2 + v + m`` the conditional R² (random slopes as in Johnson 2014,
*Methods Ecol Evol* 5(9):944-946), as ``performance::r2_nakagawa`` computes them: variances
of the fixed prediction with denominator n - 1, ``Sigma`` with denominator n.

Examples
--------
>>> rng = np.random.default_rng(1)
>>> coach = np.repeat(np.arange(40), 15)
>>> alliance = rng.normal(size=600) + 0.5 * rng.normal(size=40)[coach]
>>> end = 20 + 2 * alliance + rng.normal(size=40)[coach] + 3 * rng.normal(size=600)
>>> df = pd.DataFrame({"coach_id": coach.astype(str), "alliance": alliance, "end": end})
>>> fit = multilevel(df, "end", {"relationship": ["alliance"]})
>>> fit.fixed_effects.index.tolist()
['intercept', 'alliance_within', 'alliance_between']
>>> round(float(fit.rights_sterba.sum()), 12)
1.0
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from outcomes._errors import ConvergenceWarning, DataError, DataWarning, ModelError, UsageError
from outcomes._results import jsonable, text_table
from outcomes.mixed.likelihood import (
    SINGULAR_TOLERANCE,
    ClusterStats,
    MixedSolution,
    fit_mixedlm,
    fit_profiled,
    profile_interval,
)
from outcomes.shares.bootstrap import Draws, resample_counts
from outcomes.shares.subsets import Moments, check_estimable

__all__ = ["multilevel", "MultilevelFit"]

Centring = Literal["within", "none"]
Engine = Literal["auto", "profiled", "statsmodels"]
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
    group: str
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
    """Factor name -> columns, from a mapping, a list of columns or a single column."""
    if isinstance(factors, str):
        factors = [factors]
    if isinstance(factors, Mapping):
        out = {str(k): (v,) if isinstance(v, str) else tuple(v) for k, v in factors.items()}
    elif isinstance(factors, Sequence):
        out = {str(c): (c,) for c in factors}
    else:
        raise UsageError(f"{caller}(): factors must map factor names to column lists, "
                         "or list columns (an empty list fits the null model).")
    seen: dict[str, str] = {}
    for name, cols in out.items():
        if not cols:
            raise UsageError(f'{caller}(): factor "{name}" has no columns; give at least one.')
        for c in cols:
            if c in seen:
                raise UsageError(f'column "{c}" is in factor "{seen[c]}" and in "{name}"; a '
                                 "column can belong to one factor only.")
            seen[c] = name
    return out


def prepare(data, outcome: str, factors, *, covariates=(), group: str = "coach_id",
            centring: str = "within", caller: str = "multilevel") -> Design:
    """Check the inputs, drop incomplete rows (with a warning) and split the predictors."""
    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"{caller}() needs a pandas DataFrame, not {type(data).__name__}.")
    if centring not in ("within", "none"):
        raise UsageError(f'centring must be "within" or "none"; got {centring!r}.')
    fmap = factor_map(factors, caller)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    used = [c for cols in fmap.values() for c in cols] + list(covariates)
    for col in [group, outcome, *used]:
        if col not in data.columns:
            shown = ", ".join(map(str, list(data.columns)[:20]))
            raise DataError(f"{caller}() needs this column but the data have no such column",
                            column=col, fix=f"Columns present: {shown}.")
    if len(set(used)) < len(used) or outcome in used or group in used:
        raise UsageError("each column can play one role only (outcome, group, factor column "
                         "or covariate); a column is named twice.")
    frame = data[[group, outcome, *used]]
    missing = frame.isna()
    dropped = missing.any(axis=1).to_numpy()
    if dropped.any():
        where = ", ".join(f'"{c}" ({n})' for c, n in missing.sum().items() if n)
        warnings.warn(f"{int(dropped.sum())} of {len(frame)} rows have missing values and were "
                      f"left out (missing per column: {where}).", DataWarning,
                      stacklevel=3)
        frame = frame.loc[~dropped]
    for col in [outcome, *used]:
        if not (pd.api.types.is_numeric_dtype(frame[col]) or
                pd.api.types.is_bool_dtype(frame[col])):
            raise DataError(f"must be numeric for {caller}(), but it holds {frame[col].dtype} "
                            "values", column=col,
                            fix="Convert it to numbers (or to 0/1 indicator columns).")
    labels, groups = np.unique(frame[group].astype(str).to_numpy(), return_inverse=True)
    if len(labels) < 3:
        raise ModelError(f'{len(labels)} distinct values of "{group}" in the rows used; a '
                         "coach variance needs at least 3 coaches (and many more to be "
                         "estimated well).")
    order = np.argsort(groups, kind="stable")
    groups = groups[order]
    y = frame[outcome].to_numpy(dtype=float)[order]
    if np.ptp(y) == 0:
        raise ModelError(f'the outcome "{outcome}" has the same value in every row used.')
    blocks, terms, sources = [], [], []
    size = np.bincount(groups)
    for col in used:
        x = frame[col].to_numpy(dtype=float)[order]
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
    X = np.column_stack(blocks) if blocks else np.zeros((len(y), 0))
    if len(y) <= X.shape[1] + 2:
        raise ModelError(f"{len(y)} complete rows are too few for {X.shape[1]} predictors.")
    if blocks:
        check_estimable(Moments.from_arrays(np.column_stack([X, y])).cross, [*terms, outcome],
                        outcome=outcome)
    return Design(y, X, tuple(terms), tuple(sources), groups, labels, fmap, covariates,
                  outcome, group, centring, int(dropped.sum()))


def solve(design: Design, terms: Sequence[int], slopes: Sequence[int], reml: bool,
           engine: str) -> MixedSolution:
    """Fit one model: the exact profiled path for random intercepts, else MixedLM."""
    if not slopes and engine != "statsmodels":
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


def _fixed_table(names, coef, cov, ci_level) -> pd.DataFrame:
    se = np.sqrt(np.diag(cov))
    z = float(ndtri(0.5 + ci_level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * ndtr(-np.abs(coef / se))
    return pd.DataFrame({"estimate": coef, "std_error": se, "ci_low": coef - z * se,
                         "ci_high": coef + z * se, "p_value": p},
                        index=pd.Index(names, name="term"))


def _singular(solution: MixedSolution) -> bool:
    relative = solution.random_cov / solution.sigma2
    return bool(np.linalg.eigvalsh(relative).min() < SINGULAR_TOLERANCE**2)


def _slope_terms(design: Design, random_slopes) -> list[int]:
    wanted = (random_slopes,) if isinstance(random_slopes, str) else tuple(random_slopes)
    out = []
    for name in wanted:
        if name in design.terms:
            out.append(design.terms.index(name))
        elif f"{name}_within" in design.terms:
            out.append(design.terms.index(f"{name}_within"))
        elif name in design.sources:
            out.append(design.sources.index(name))
        else:
            raise UsageError(f'random slope "{name}" is not a predictor of the model; '
                             f"predictors: {', '.join(design.terms) or 'none'}.")
    return out


def multilevel(
    data: pd.DataFrame,
    outcome: str,
    factors: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    covariates: Sequence[str] = (),
    group: str = "coach_id",
    random_slopes: Sequence[str] = (),
    centring: Centring = "within",
    reml: bool = True,
    n_boot: int = 0,
    ci_level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    n_jobs: int | None = None,
    engine: Engine = "auto",
) -> MultilevelFit:
    """Fit a mixed model of clients nested in coaches and decompose the outcome's variance.

    Parameters
    ----------
    data : DataFrame
        One row per client (engagement); not modified.
    outcome : str
        Outcome column (numeric).
    factors : mapping of str to list of str, or list of str
        Factor name -> its columns, or a list of columns; ``[]`` fits the null model.
    covariates : sequence of str, default ()
        Further predictors (e.g. the intake score), centred like the factor columns.
    group : str, default "coach_id"
        Column of coach ids (the clusters).
    random_slopes : sequence of str, default ()
        Predictors whose slope varies by coach (a data column or a term name; with
        ``centring="within"`` the slope is on the within-coach part).
    centring : {"within", "none"}, default "within"
        Split each client-level predictor into ``_within`` and ``_between`` parts, or not.
    reml : bool, default True
        Restricted maximum likelihood (as lme4's default) or maximum likelihood.
    n_boot : int, default 0
        Cluster-bootstrap replicates (coaches resampled whole) for intervals of the R² and
        the Rights & Sterba shares (0: none).
    ci_level : float, default 0.95
        Interval level (Wald intervals for fixed effects, profile likelihood for the ICC,
        percentile intervals from the bootstrap).
    seed : int or Generator, optional
        Seed of the bootstrap.
    n_jobs : int, optional
        Worker processes for the bootstrap (default: every core).
    engine : {"auto", "profiled", "statsmodels"}, default "auto"
        ``auto`` uses the exact profiled likelihood for random-intercept models and
        statsmodels' MixedLM when there are random slopes; ``statsmodels`` always uses
        MixedLM.

    Returns
    -------
    MultilevelFit

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> coach = np.repeat(np.arange(30), 12)
    >>> df = pd.DataFrame({"coach_id": coach, "hope": rng.normal(size=360)})
    >>> df["end"] = df.hope + rng.normal(size=30)[coach] + 2 * rng.normal(size=360)
    >>> fit = multilevel(df, "end", [])
    >>> round(fit.icc, 3), [round(v, 3) for v in fit.icc_interval]
    (0.185, [0.095, 0.321])
    """
    check_options(n_boot, ci_level, engine)
    design = prepare(data, outcome, factors, covariates=covariates, group=group,
                     centring=centring)
    terms = list(range(len(design.terms)))
    slopes = _slope_terms(design, random_slopes)
    solution = solve(design, terms, slopes, reml, engine)
    if not solution.converged:
        warnings.warn(
            f"the mixed model of {outcome!r} did not converge with any optimiser tried "
            f"({', '.join(solution.attempts)}); the estimates are the best found and may be "
            "wrong. Simplify the random part (fewer random slopes) or rescale the predictors.",
            ConvergenceWarning, stacklevel=2)
    null = solve(design, [], [], reml, engine)
    low, high = profile_interval(design.stats(), [], reml=reml, ci_level=ci_level)
    parts = variance_parts(design, solution, terms, slopes)
    total = sum(parts.values())
    shares = pd.Series({k: parts[k] / total for k in COMPONENTS}, name="share")
    rtab = ["intercept", *(design.terms[i] for i in slopes)]
    T = pd.DataFrame(solution.random_cov, index=rtab, columns=rtab)
    vc = pd.Series([*np.diag(solution.random_cov), solution.sigma2],
                   index=[*rtab, "residual"], name="variance")
    ci = None
    if n_boot:
        ci = _bootstrap_fit(design, terms, slopes, reml, engine, int(n_boot), seed, n_jobs,
                            ci_level)
    return MultilevelFit(
        outcome=outcome, group=group, factors=design.factors, covariates=design.covariates,
        centring=centring, reml=reml,
        fixed_effects=_fixed_table(["intercept", *design.terms], solution.coef, solution.cov,
                                   ci_level),
        variance_components=vc, random_covariance=T,
        icc=float(null.random_cov[0, 0] / (null.random_cov[0, 0] + null.sigma2)),
        icc_interval=(low, high), r2_marginal=float(shares.f1 + shares.f2),
        r2_conditional=float(1 - shares.residual), rights_sterba=shares,
        variances=pd.Series(parts, name="variance"), loglik=solution.loglik,
        converged=solution.converged, singular=_singular(solution),
        optimizer=solution.optimizer, attempts=solution.attempts, messages=solution.messages,
        n=design.n, n_groups=len(design.labels), n_dropped=design.n_dropped,
        ci_level=ci_level, n_boot=int(n_boot), ci=ci,
    )


def check_options(n_boot, ci_level, engine) -> None:
    if int(n_boot) != n_boot or n_boot < 0:
        raise UsageError(f"n_boot must be a whole number >= 0; got {n_boot!r}.")
    if not 0 < ci_level < 1:
        raise UsageError(f"ci_level must lie between 0 and 1 (e.g. 0.95); got {ci_level!r}.")
    if engine not in ("auto", "profiled", "statsmodels"):
        raise UsageError(f'engine must be "auto", "profiled" or "statsmodels"; got {engine!r}.')


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
                  design.covariates, design.outcome, design.group, design.centring, 0)


def _refit_rows(design: Design, terms, slopes, reml, engine, counts) -> np.ndarray:
    """Per replicate, refitting the model on the resampled coaches (random slopes)."""
    out = np.full((len(counts), 8), np.nan)
    for i, row in enumerate(counts):
        rep = _expanded(design, row)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sol = solve(rep, terms, slopes, reml, engine)
                null = solve(rep, [], [], reml, engine)
            except (ModelError, np.linalg.LinAlgError):
                continue
        parts = variance_parts(rep, sol, terms, slopes)
        shares = np.array([parts[k] for k in COMPONENTS]) / sum(parts.values())
        icc = null.random_cov[0, 0] / (null.random_cov[0, 0] + null.sigma2)
        out[i] = [shares[0] + shares[1], 1 - shares[4], *shares, icc]
    return out


def warn_failed(failed: int, n_boot: int) -> None:
    if failed:
        warnings.warn(f"{failed} of {n_boot} bootstrap replicates could not be fitted (in them "
                      "a predictor no longer varied, or the predictors were collinear) and "
                      "were left out; with few coaches, prefer fewer coach-level columns.",
                      DataWarning, stacklevel=3)


def _bootstrap_fit(design, terms, slopes, reml, engine, n_boot, seed, n_jobs, ci_level):
    counts = resample_counts(len(design.labels), n_boot, np.random.default_rng(seed))
    if not slopes and engine != "statsmodels":
        reps = in_parallel(_profiled_rows, counts, n_jobs, design.stats(), terms, reml)
    else:
        reps = in_parallel(_refit_rows, counts, n_jobs, design, terms, slopes, reml, engine)
    ok = np.all(np.isfinite(reps), axis=1)
    warn_failed(int((~ok).sum()), n_boot)
    reps = reps[ok]
    names = ["r2_marginal", "r2_conditional", *COMPONENTS, "icc"]
    low, high = Draws(np.zeros(len(names)), reps).interval("percentile", ci_level)
    return pd.DataFrame({"quantity": names, "std_error": reps.std(axis=0, ddof=1),
                         "ci_low": low, "ci_high": high, "n_boot": len(reps)})


@dataclass(frozen=True, eq=False)
class MultilevelFit:
    """A mixed model of clients in coaches, with R² and the outcome's variance decomposed.

    ``fixed_effects`` has one row per term (estimate, std_error, Wald ci_low/ci_high at
    ``ci_level``, two-sided normal p_value); ``variance_components`` the coach-level
    variances (``intercept`` and each random slope) and ``residual``; ``random_covariance``
    the full coach-level covariance matrix. ``icc`` is the coach intra-class correlation
    of the outcome in the null model, ``tau² / (tau² + sigma²)``, with a profile-likelihood
    ``icc_interval``. ``rights_sterba`` gives f1, f2, v, m and residual as shares of the
    model-implied outcome variance (summing to 1) and ``variances`` the same parts in the
    outcome's units. ``ci`` holds cluster-bootstrap intervals when ``n_boot > 0``.
    """

    outcome: str
    group: str
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    centring: str
    reml: bool
    fixed_effects: pd.DataFrame
    variance_components: pd.Series
    random_covariance: pd.DataFrame
    icc: float
    icc_interval: tuple[float, float]
    r2_marginal: float
    r2_conditional: float
    rights_sterba: pd.Series
    variances: pd.Series
    loglik: float
    converged: bool
    singular: bool
    optimizer: str
    n: int
    n_groups: int
    n_dropped: int = 0
    attempts: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=(), repr=False)
    ci_level: float = 0.95
    n_boot: int = 0
    ci: pd.DataFrame | None = None

    def _interval(self, quantity: str) -> tuple[float, float]:
        if self.ci is None:
            return (np.nan, np.nan)
        row = self.ci[self.ci.quantity == quantity].iloc[0]
        return float(row.ci_low), float(row.ci_high)

    def table(self) -> pd.DataFrame:
        """Tidy rows: fixed effects, variances, Rights & Sterba shares, R² and the ICC."""
        fixed = self.fixed_effects.reset_index().assign(kind="fixed")
        rows = [fixed]
        rows.append(pd.DataFrame({"kind": "variance", "term": self.variance_components.index,
                                  "estimate": self.variance_components.to_numpy()}))
        share_terms = [*COMPONENTS, "r2_marginal", "r2_conditional"]
        values = [*self.rights_sterba.to_numpy(), self.r2_marginal, self.r2_conditional]
        ends = [self._interval(t) for t in share_terms]
        rows.append(pd.DataFrame({"kind": ["share"] * 5 + ["r2"] * 2, "term": share_terms,
                                  "estimate": values, "ci_low": [a for a, _ in ends],
                                  "ci_high": [b for _, b in ends]}))
        rows.append(pd.DataFrame({"kind": ["icc"], "term": [self.group], "estimate": [self.icc],
                                  "ci_low": [self.icc_interval[0]],
                                  "ci_high": [self.icc_interval[1]]}))
        out = pd.concat(rows, ignore_index=True)
        cols = ["kind", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value"]
        return out.reindex(columns=cols).assign(n=self.n)

    def summary(self) -> str:
        """Text report of the fit, the variance decomposition and how the fit went."""
        method = "REML" if self.reml else "ML"
        level = f"{round(100 * self.ci_level, 1):g} %"
        lines = [
            f"Mixed model of {self.outcome!r}: {self.n} clients in {self.n_groups} coaches "
            f"({self.group}), {method}, centring {self.centring}"
            + (f"; {self.n_dropped} rows with missing values left out." if self.n_dropped
               else "."),
            f"Fit: {self.optimizer}; "
            + ("converged" if self.converged else "DID NOT CONVERGE (estimates unreliable)")
            + (f" after trying {', '.join(self.attempts)}" if len(self.attempts) > 1 else "")
            + f"; log-likelihood {self.loglik:.4f}.",
        ]
        if self.singular:
            lines.append("The fit is singular: a coach-level variance (or a combination of "
                         "them) is estimated at zero; simplify the random part.")
        lines += ["", f"Fixed effects ({level} Wald intervals):",
                  text_table(self.fixed_effects.reset_index(), digits=4), "",
                  "Variance components:",
                  text_table(self.variance_components.rename("variance").reset_index()
                             .rename(columns={"index": "term"}), digits=4), ""]
        lines.append(f"Coach ICC of {self.outcome!r} (null model): {self.icc:.4f} "
                     f"[{self.icc_interval[0]:.4f}, {self.icc_interval[1]:.4f}] "
                     f"({level} profile-likelihood interval).")
        lines.append(f"R² marginal {self.r2_marginal:.4f}, conditional "
                     f"{self.r2_conditional:.4f} (Nakagawa & Schielzeth 2013).")
        shown = pd.DataFrame({"part": list(COMPONENTS), "meaning": [
            "fixed effects, within coaches", "fixed effects, between coaches",
            "random slopes", "coach intercepts (means)", "residual"],
            "share": self.rights_sterba.to_numpy()})
        if self.ci is not None:
            shown["interval"] = [f"[{a:.3f}, {b:.3f}]" for a, b in map(self._interval,
                                                                      COMPONENTS)]
        lines += ["", "Outcome variance (Rights & Sterba 2019):", text_table(shown), ""]
        if self.ci is not None:
            lines.append(f"{level} percentile intervals from {self.n_boot} cluster-bootstrap "
                         f"replicates ({self.n_groups} coaches resampled whole).")
        notes = [m for m in self.messages if "Retrying" not in m]
        if notes:
            lines += ["Optimiser notes:", *(f"  {m}" for m in dict.fromkeys(notes))]
        return "\n".join(lines).rstrip()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every reported quantity."""
        out: dict[str, Any] = {
            "outcome": self.outcome, "group": self.group, "n": self.n,
            "n_groups": self.n_groups, "n_dropped": self.n_dropped,
            "factors": {k: list(v) for k, v in self.factors.items()},
            "covariates": list(self.covariates), "centring": self.centring,
            "method": "REML" if self.reml else "ML",
            "fixed_effects": {t: row._asdict() for t, row in zip(
                self.fixed_effects.index, self.fixed_effects.itertuples(index=False),
                strict=True)},
            "variance_components": self.variance_components,
            "random_covariance": self.random_covariance.to_dict(),
            "icc": self.icc, "icc_ci_low": self.icc_interval[0],
            "icc_ci_high": self.icc_interval[1], "r2_marginal": self.r2_marginal,
            "r2_conditional": self.r2_conditional, "rights_sterba": self.rights_sterba,
            "variances": self.variances, "loglik": self.loglik, "converged": self.converged,
            "singular": self.singular, "optimizer": self.optimizer,
            "attempts": list(self.attempts), "ci_level": self.ci_level,
            "optimizer_notes": list(dict.fromkeys(self.messages)),
        }
        if self.ci is not None:
            out["n_boot"] = self.n_boot
            out["bootstrap"] = {r.quantity: {"std_error": r.std_error, "ci_low": r.ci_low,
                                             "ci_high": r.ci_high}
                                for r in self.ci.itertuples()}
        return jsonable(out)

    def plot(self, ax=None):
        """Stacked bars of the outcome's variance: total, within coaches, between coaches."""
        from outcomes._plotting import PALETTE, axes_or_new

        ax = axes_or_new(ax)
        v = self.variances
        bars = {"total": list(COMPONENTS), "within": ["f1", "v", "residual"],
                "between": ["f2", "m"]}
        labels = {"f1": "f1 fixed, within", "f2": "f2 fixed, between", "v": "v random slopes",
                  "m": "m coach intercepts", "residual": "residual"}
        colours = dict(zip(COMPONENTS, PALETTE, strict=False))
        for x, (bar, parts) in enumerate(bars.items()):
            total = float(sum(v[p] for p in parts))
            bottom = 0.0
            for p in parts:
                height = float(v[p]) / total if total > 0 else 0.0
                ax.bar(x, height, bottom=bottom, color=colours[p], width=0.6,
                       label=labels[p] if bar == "total" else None)
                bottom += height
        ax.set_xticks(range(3), ["total", "within coaches", "between coaches"])
        ax.set_ylabel(f"share of {self.outcome} variance")
        ax.set_ylim(0, 1)
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return ax
