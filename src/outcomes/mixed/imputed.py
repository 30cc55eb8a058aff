"""Multiple imputation for the multilevel shares: completed tables of clients within coaches.

:func:`outcomes.mixed.shares.multilevel_shares` with ``missing="mi"`` keeps every client who
has a coach id and any analysis value. Each of ``m`` completed copies of the analysis columns
is drawn by the chained equations of :mod:`outcomes.shares.mice` (Bayesian linear regression
of each incomplete column on all the others), the multilevel shares are computed on each
copy and averaged (Rubin's point estimate).

The coach in the imputation model. Every regression of the chain also has one indicator per
coach (the coach as a fixed effect). An imputation model that ignores the coaches draws
missing values from the population regression, which pulls imputed clients towards the
grand mean and shrinks the coach variance and every between-coach effect (Lüdtke, Robitzsch
& Grund 2017, *Psychol Methods* 22(1):141-165; Enders, Mistler & Keller 2016, *Psychol
Methods* 21(2):222-240). With coach indicators the imputation model contains every term of
the analysis model — the within-coach deviations, the coach means (``*_between``) and the
coach's random intercept, all linear functions of the columns and the indicators — so it is
congenial with it (Meng 1994), and each imputed client keeps its coach's level. Treating
coach effects as fixed rather than random can overstate the coach variance a little when
coaches have few clients and the ICC is small (Lüdtke et al. 2017); with the dozens of
clients per coach of a coaching body it is the safer side. A coach-level column (constant
within every coach where observed) is filled from its coach's observed value and, for a
coach where it is never observed, set to the mean of its imputed values within the coach,
so that it stays a coach attribute.

Intervals ("Boot MI"; Schomaker & Heumann 2018, *Stat Med* 37(14):2252-2266): coaches are
resampled whole, each replicate is imputed once (every drawn copy of a coach a coach of its
own, with its own indicator) and all sub-models are refitted; the replicates are then drawn
in to the spread of an ``m``-imputation mean (:func:`outcomes.shares.missing.pull_in`). BCa's
acceleration comes from leaving out one coach at a time from the first completed copy (its
imputations held fixed).

Examples
--------
>>> rng = np.random.default_rng(8)
>>> df = pd.DataFrame({"coach_id": np.repeat(np.arange(12), 10)})
>>> df["bond"] = rng.normal(size=120)
>>> df["end"] = df.bond + rng.normal(size=12)[df.coach_id] + rng.normal(size=120)
>>> df.loc[rng.random(120) < 0.2, "end"] = np.nan
>>> state = ImputedCoaches.of(df, "end", {"relationship": ["bond"]}, covariates=(),
...                           cluster="coach_id", centring="within", n_imputations=3, seed=1)
>>> state.n, state.m, state.report.method
(120, 3, 'mi')
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcomes._checks import check_choice, check_positive_int
from outcomes._errors import DataError, ModelError, UsageError
from outcomes.mixed.design import Design, _terms, factor_map
from outcomes.mixed.resampling import in_parallel
from outcomes.shares.bootstrap import Draws
from outcomes.shares.em import em_moments
from outcomes.shares.mice import impute
from outcomes.shares.missing import default_imputations, one_thread, pull_in, seed_entropy
from outcomes.shares.missingness import MissingnessReport, incomplete_matrix

__all__ = ["ImputedCoaches", "check_missing"]

RowFunction = Callable[[Design], np.ndarray]


@dataclass(frozen=True, eq=False)
class ImputedCoaches:
    """The incomplete analysis columns of clients sorted by coach, and how to complete them.

    ``matrix`` (n, k) holds the factor columns, covariates and outcome (NaN where missing),
    ``groups`` the coach code of each row (``labels`` the coach ids), ``start`` the normal
    (EM) estimates the chain starts from, ``seeds`` one seed per imputation and one for the
    bootstrap.
    """

    matrix: np.ndarray
    columns: tuple[str, ...]
    groups: np.ndarray
    labels: np.ndarray
    coach_level: tuple[int, ...]
    start: tuple[np.ndarray, np.ndarray]
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    outcome: str
    cluster: str
    centring: str
    report: MissingnessReport
    seeds: tuple[np.random.SeedSequence, ...]
    fill_cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.matrix)

    @property
    def m(self) -> int:
        return len(self.seeds) - 1

    @property
    def n_dropped(self) -> int:
        """Rows that could not be used at all (no coach id, or no analysis value)."""
        return self.report.n_left_out

    @classmethod
    def of(cls, data, outcome, factors, *, covariates, cluster, centring, n_imputations,
           seed, caller="multilevel_shares") -> ImputedCoaches:
        """Check the inputs and set up the imputation of ``data``."""
        fmap = factor_map(factors, caller)
        used = [c for cols in fmap.values() for c in cols]
        _check_roles(data, outcome, used, tuple(covariates), cluster, caller)
        inc = incomplete_matrix(data, outcome, fmap, covariates=covariates, cluster=cluster,
                                caller=caller)
        labels, groups = np.unique(np.asarray(inc.clusters), return_inverse=True)
        groups = np.asarray(groups).ravel()
        if len(labels) < 3:
            raise ModelError(f'{len(labels)} distinct values of "{cluster}" in the rows used; '
                             "a coach variance needs at least 3 coaches.")
        order = np.argsort(groups, kind="stable")
        matrix, groups = inc.matrix[order], groups[order]
        coach_level = _coach_level(matrix, groups)
        matrix = _fill_from_coach(matrix, groups, coach_level)
        if np.isnan(matrix[:, -1]).all():
            raise ModelError(f'the outcome "{outcome}" is missing in every row.')
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            em = em_moments(matrix)
        start = (em.mean[0], em.covariance[0]) if em.converged[0] else (
            np.nanmean(matrix, axis=0), np.diag(np.nanvar(matrix, axis=0)))
        m = default_imputations(inc.report.fraction_incomplete) if n_imputations is None \
            else check_positive_int(n_imputations, "n_imputations", caller, minimum=1)
        seeds = tuple(np.random.SeedSequence(seed_entropy(seed)).spawn(m + 1))
        return cls(matrix, inc.columns, groups, labels, coach_level, start,
                   {k: tuple(v) for k, v in fmap.items()},
                   tuple(covariates), outcome, cluster, centring,
                   inc.with_method("mi", m).report, seeds)

    def completed(self, rows: np.ndarray, groups: np.ndarray, seed) -> np.ndarray:
        """One imputed copy of the given rows, whose coaches are ``groups`` (codes 0..G-1)."""
        x = self.matrix[rows]
        if not np.isnan(x).any():
            return x.copy()
        k = x.shape[1]
        coaches = (groups[:, None] == np.arange(1, int(groups.max()) + 1)).astype(float)
        share = coaches.mean(axis=0)
        mean = np.r_[self.start[0], share]
        covariance = np.zeros((len(mean), len(mean)))
        covariance[:k, :k] = self.start[1]
        covariance[np.arange(k, len(mean)), np.arange(k, len(mean))] = share * (1 - share)
        # the start has no covariance between columns and coaches, so the starting draws'
        # regressions do not depend on the coaches drawn and are kept between calls
        done = impute(np.column_stack([x, coaches]), [(j,) for j in range(k)],
                      rng=np.random.default_rng(seed), start=(mean, covariance),
                      cache=self.fill_cache)[:, :k]
        size = np.bincount(groups)
        for j in self.coach_level:
            done[:, j] = (np.bincount(groups, done[:, j]) / size)[groups]
        return done

    def design(self, values: np.ndarray, groups: np.ndarray, labels) -> Design:
        """The multilevel design of one completed copy (rows sorted by coach)."""
        names = list(self.columns)
        columns = {c: values[:, names.index(c)] for cols in self.factors.values() for c in cols}
        columns.update({c: values[:, names.index(c)] for c in self.covariates})
        X, terms, sources = _terms(columns, groups, self.centring)
        return Design(values[:, -1], X, tuple(terms), tuple(sources), groups,
                      np.asarray(labels), self.factors, self.covariates, self.outcome,
                      self.cluster, self.centring, self.report.n_left_out)

    def estimates(self, row: RowFunction) -> np.ndarray:
        """The statistic ``row`` of each of the ``m`` completed copies, (m, s)."""
        rows = np.arange(self.n)
        with one_thread():
            return np.vstack([row(self.design(self.completed(rows, self.groups, s),
                                              self.groups, self.labels))
                              for s in self.seeds[: self.m]])

    def jackknife(self, leave_out: RowFunction) -> np.ndarray:
        """Leave-one-coach-out values of the first completed copy (for BCa's acceleration,
        a skewness that the imputations barely move; every copy would cost m times more)."""
        rows = np.arange(self.n)
        with one_thread():
            return leave_out(self.design(self.completed(rows, self.groups, self.seeds[0]),
                                         self.groups, self.labels))

    def replicate(self, row: RowFunction, counts: np.ndarray, seeds) -> np.ndarray:
        """Per bootstrap replicate (how often each coach is drawn, (B, G)): the rows of the
        drawn coaches (each copy a coach of its own), imputed once with ``seeds[b]``, and
        the statistic ``row`` of them (NaN where it cannot be computed)."""
        out: list[np.ndarray | None] = []
        with warnings.catch_warnings(), one_thread():
            warnings.simplefilter("ignore")
            for count, seed in zip(np.asarray(counts), seeds, strict=True):
                rows, groups = self._drawn(count)
                labels = np.arange(groups.max() + 1).astype(str)
                try:
                    out.append(row(self.design(self.completed(rows, groups, seed), groups,
                                               labels)))
                except (ModelError, np.linalg.LinAlgError):
                    out.append(None)
        width = max((len(v) for v in out if v is not None), default=0)
        return np.vstack([np.full(width, np.nan) if v is None else v for v in out])

    def draws(self, row: RowFunction, counts: np.ndarray, per_imputation: np.ndarray,
              n_jobs: int | None, *, jackknife: RowFunction | None = None) -> Draws:
        """Boot MI: ``row`` of every replicate of coaches (``counts``, (B, G)) imputed once,
        drawn in to the spread of the mean over the imputations (``per_imputation``), with
        the leave-one-coach-out values of ``jackknife`` for BCa."""
        n_boot = len(counts)
        seeds = self.seeds[-1].spawn(n_boot)
        indexed = np.column_stack([np.arange(n_boot), counts])
        reps = in_parallel(_chunk, indexed, n_jobs, self, row, seeds)
        ok = np.all(np.isfinite(reps), axis=1) if reps.shape[1] else np.zeros(n_boot, bool)
        jack = None if jackknife is None else self.jackknife(jackknife)
        if jack is not None:
            jack = jack[np.all(np.isfinite(jack), axis=1)]
        return Draws(per_imputation.mean(axis=0), pull_in(reps[ok], per_imputation), jack,
                     int((~ok).sum()))

    def _drawn(self, count) -> tuple[np.ndarray, np.ndarray]:
        starts = np.searchsorted(self.groups, np.arange(len(self.labels) + 1))
        rows: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for g in np.flatnonzero(count):
            where = np.arange(starts[g], starts[g + 1])
            for _ in range(int(count[g])):
                rows.append(where)
                codes.append(np.full(len(where), len(codes)))
        return np.concatenate(rows), np.concatenate(codes)


def _chunk(state: ImputedCoaches, row: RowFunction, seeds, chunk) -> np.ndarray:
    """Bootstrap rows of a chunk of ``[replicate index, counts per coach]``."""
    return state.replicate(row, chunk[:, 1:], [seeds[i] for i in chunk[:, 0].astype(int)])


def check_missing(missing, n_imputations, solver, caller="multilevel_shares") -> None:
    """``missing=`` of the multilevel shares: listwise or mi (EM is refused)."""
    check_choice(missing, "missing", ("listwise", "mi", "em"), caller)
    if missing == "em":
        raise UsageError(f"{caller}(): missing='em' is not available here: the EM estimate "
                         "is the covariance of one level of rows, not the likelihood of "
                         "clients nested in coaches. Use missing='mi' (the coach is in the "
                         "imputation model) or 'listwise'.")
    if missing == "listwise" and n_imputations is not None:
        raise UsageError(f"{caller}(): n_imputations serves missing='mi'; drop it or give "
                         "missing='mi'.")
    if missing == "mi" and solver == "statsmodels":
        raise UsageError(f'{caller}(): solver="statsmodels" gives complete-case point '
                         "estimates only; use the default solver with missing='mi'.")


def _check_roles(data, outcome, used, covariates, cluster, caller) -> None:
    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"{caller}() needs a pandas DataFrame, not {type(data).__name__}.")
    for col in [cluster, outcome, *used, *covariates]:
        if col not in data.columns:
            shown = ", ".join(map(str, list(data.columns)[:20]))
            raise DataError(f"{caller}() needs this column but the data have no such column",
                            column=col, fix=f"Columns present: {shown}.")
    named = [outcome, cluster, *used, *covariates]
    if len(set(named)) < len(named):
        raise UsageError("each column can play one role only (outcome, cluster, factor column "
                         "or covariate); a column is named twice.")
    for col in [outcome, *used, *covariates]:
        values = data[col]
        if isinstance(values.dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise DataError(f"must be numeric for {caller}(), but it holds {values.dtype} "
                            "values", column=col,
                            fix="Convert it to numbers (or to 0/1 indicator columns).")


def _coach_level(matrix: np.ndarray, groups: np.ndarray) -> tuple[int, ...]:
    """Predictor columns that are constant within every coach where observed and vary
    between coaches (coach attributes)."""
    out = []
    for j in range(matrix.shape[1] - 1):
        seen = ~np.isnan(matrix[:, j])
        x, g = matrix[seen, j], groups[seen]
        if len(np.unique(g)) < 2:
            continue
        low = pd.Series(x).groupby(g).agg(["min", "max"])
        scale = max(float(np.abs(x).max()), 1.0)
        if (low["max"] - low["min"]).max() <= 1e-10 * scale and np.ptp(x) > 1e-10 * scale:
            out.append(j)
    return tuple(out)


def _fill_from_coach(matrix, groups, coach_level) -> np.ndarray:
    """A coach attribute's missing values filled from its coach's observed value."""
    out = matrix.copy()
    for j in coach_level:
        gone = np.isnan(out[:, j])
        if gone.any():
            known = pd.Series(out[~gone, j]).groupby(groups[~gone]).first()
            out[gone, j] = known.reindex(groups[gone]).to_numpy()
    return out
