"""Shares with every client kept: maximum likelihood (EM) and multiple imputation (MI).

``decompose(..., missing="em" | "mi")`` and ``dominance`` build an
:class:`IncompleteDesign` here instead of deleting incomplete rows.

- ``"em"``: the maximum-likelihood mean and covariance of the model matrix under MAR
  (multivariate normal, :mod:`outcomes.shares.em`) go straight into the all-subsets engine.
  Bootstrap replicates re-run EM on the resampled units (rows, or whole clusters), all
  replicates at once and warm-started from the estimate.
- ``"mi"``: ``m`` completed copies of the matrix by chained equations
  (:mod:`outcomes.shares.mice`); the shares are computed in each and averaged (Rubin's
  point estimate). ``m`` defaults to ``max(5, ceil(100 f))`` for a fraction ``f`` of
  incomplete rows (White, Royston & Wood 2011, *Stat Med* 30(4):377-399). Intervals come
  from bootstrapping first and imputing each replicate ("Boot MI"; Schomaker & Heumann
  2018, *Stat Med* 37(14):2252-2266; valid also when imputation and analysis models differ,
  Bartlett & Hughes 2020, *SMMR* 29(12):3533-3546). Each replicate is imputed once, which
  adds the between-imputation variance ``W`` of one imputation where the point estimate
  (a mean over ``m``) carries only ``W / m``; the replicates are therefore drawn in about
  their mean by ``sqrt(1 - W (1 - 1/m) / V)`` (``V`` their variance, ``W`` estimated from the
  ``m`` imputations of the data), the variance decomposition of von Hippel & Bartlett
  (2021, *Stat Sci* 36(3):400-420) with the within-replicate part known. BCa's acceleration
  comes from the jackknife of the EM shares, which estimate the same quantity without
  imputation noise.

Examples
--------
>>> import pandas as pd
>>> rng = np.random.default_rng(4)
>>> df = pd.DataFrame(rng.normal(size=(300, 3)), columns=["bond", "hope", "end"])
>>> df.loc[rng.random(300) < 0.25, "end"] = np.nan
>>> d = prepare_incomplete(df, "end", ["bond", "hope"], missing="em")
>>> d.n, d.n_dropped, d.report.method
(300, 0, 'em')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcomes._checks import check_choice, check_positive_int
from outcomes._errors import ModelError, UsageError
from outcomes.shares.bootstrap import MAX_JACKKNIFE, Draws, resample_counts
from outcomes.shares.design import Design
from outcomes.shares.em import EmFit, Patterns, em_moments
from outcomes.shares.mice import impute, impute_many
from outcomes.shares.missingness import (
    Incomplete,
    MissingnessReport,
    incomplete_matrix,
    listwise_report,
)
from outcomes.shares.moments import Moments, check_estimable

__all__ = ["IncompleteDesign", "prepare_incomplete", "design_for", "imputed", "pooled",
           "default_imputations", "missingness_of", "pull_in", "seed_entropy", "one_thread",
           "MISSING"]

#: The ways of handling missing values (``missing=``).
MISSING = ("listwise", "mi", "em")
_CHUNK = 1000  # replicates run through EM together
_CHAINS = 100  # replicates imputed together
REPLICATE_TOLERANCE = 1e-8  # EM in bootstrap and jackknife replicates (warm-started)


def one_thread():
    """A context in which BLAS runs on one thread: EM and the imputations multiply many
    small matrices, which threaded BLAS slows down (its threads wait on one another, and
    badly so when other work shares the cores)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def default_imputations(fraction_incomplete: float) -> int:
    """``max(5, ceil(100 f))`` imputations for a fraction ``f`` of incomplete rows.

    Examples
    --------
    >>> default_imputations(0.26), default_imputations(0.01), default_imputations(0.0)
    (26, 5, 1)
    """
    if fraction_incomplete <= 0:
        return 1
    return max(5, math.ceil(round(100 * fraction_incomplete, 9)))


@dataclass(frozen=True, eq=False)
class IncompleteDesign(Design):
    """A design whose moments come from EM or from imputations instead of complete rows.

    ``imputed`` holds one cross-product matrix per imputation (one, the EM estimate, for
    ``"em"``); ``cross`` is their mean. :meth:`draws` re-runs EM or the imputation in every
    bootstrap replicate.
    """

    method: str = "em"
    imputed: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    incomplete: Incomplete | None = None
    patterns: Patterns | None = None
    em: EmFit | None = None
    seeds: tuple = ()
    shrink_columns: int | None = None  # leading statistics pulled in (MI); None = all
    fill_cache: dict = field(default_factory=dict, repr=False)  # the chain's starting draws

    @property
    def report(self) -> MissingnessReport:
        return self.incomplete.report  # type: ignore[union-attr]

    def completed_matrix(self, rows: np.ndarray, seed) -> np.ndarray:
        """One imputed copy of the given rows of the model matrix, the chain started from
        the EM estimate (kept for :func:`sensitivity`, which imputes the same data with
        the same seeds)."""
        inc, em = self.incomplete, self.em
        assert inc is not None and em is not None
        w = None if inc.weights is None else inc.weights[rows]
        x, start = inc.matrix[rows], (em.mean[0], em.covariance[0])
        key = _imputation_key(x, inc.blocks, w, start, seed)
        if key is not None and key in _COMPLETED:
            return _COMPLETED[key].copy()
        out = impute(x, inc.blocks, rng=np.random.default_rng(seed), weights=w, start=start,
                     cache=self.fill_cache)
        if key is not None and out.nbytes <= _KEEP_BYTES:
            while _COMPLETED and sum(v.nbytes for v in _COMPLETED.values()) + out.nbytes \
                    > _KEEP_BYTES:
                del _COMPLETED[next(iter(_COMPLETED))]  # the oldest first
            _COMPLETED[key] = out.copy()
        return out

    def completed(self, rows: np.ndarray, seed) -> np.ndarray:
        """Cross-products of one imputed copy of the given rows."""
        inc = self.incomplete
        assert inc is not None
        w = None if inc.weights is None else inc.weights[rows]
        return Moments.from_arrays(self.completed_matrix(rows, seed), w).cross

    def draws(self, statistic, *, n_boot: int, seed, jackknife: bool,
              by_cluster: bool) -> Draws:
        """Bootstrap ``statistic``: resample units, then re-run EM or impute once."""
        with one_thread():
            return self._draws(statistic, n_boot=n_boot, seed=seed, jackknife=jackknife,
                               by_cluster=by_cluster)

    def _draws(self, statistic, *, n_boot: int, seed, jackknife: bool,
               by_cluster: bool) -> Draws:
        rng = np.random.default_rng(self.seeds[-1] if seed is None else seed)
        code = self.units_of(by_cluster)
        n_units = int(code.max()) + 1
        counts = resample_counts(n_units, n_boot, rng)
        seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(n_boot)
        reps = self.replicate(statistic, counts, by_cluster=by_cluster, seeds=seeds)
        ok = np.all(np.isfinite(reps), axis=1)
        reps = reps[ok]
        if self.method == "mi" and len(reps) > 1:
            reps = self._pull_in(statistic, reps)
        jack = None
        if jackknife:
            group = code if n_units <= MAX_JACKKNIFE else (
                rng.permutation(n_units) % MAX_JACKKNIFE)[code]
            leave = 1.0 - np.eye(int(group.max()) + 1)[:, group]
            jack = self._em_statistic(statistic, leave)
            jack = jack[np.all(np.isfinite(jack), axis=1)]
        return Draws(pooled(self, statistic)[0], reps, jack, int((~ok).sum()))

    def replicate(self, statistic, counts, *, by_cluster: bool, seeds=()) -> np.ndarray:
        """The statistic of each bootstrap replicate, given how often each unit (row, or
        cluster when ``by_cluster``) is drawn (``counts``, (B, G)): EM re-run on the
        weighted rows, or one imputation of the resampled rows with ``seeds[b]``."""
        code = self.units_of(by_cluster)
        row_counts = np.asarray(counts, dtype=float)[:, code]
        if self.method == "em":
            return self._em_statistic(statistic, row_counts)
        index = np.arange(len(code))
        rows = [np.repeat(index, c.astype(int)) for c in row_counts]
        out = []
        for i in range(0, len(rows), _CHAINS):  # chains imputed together
            crosses = np.stack(self.completed_many(rows[i : i + _CHAINS],
                                                   seeds[i : i + _CHAINS]))
            out.append(statistic(crosses))
        return np.vstack(out)

    def completed_many(self, rows, seeds) -> list[np.ndarray]:
        """Cross-products of one imputed copy of each set of rows (``completed`` for many
        at once: the same numbers, the chains run together)."""
        inc, em = self.incomplete, self.em
        assert inc is not None and em is not None
        weights = None if inc.weights is None else [inc.weights[r] for r in rows]
        done = impute_many([inc.matrix[r] for r in rows], inc.blocks,
                           rngs=[np.random.default_rng(s) for s in seeds], weights=weights,
                           start=(em.mean[0], em.covariance[0]), cache=self.fill_cache)
        return [Moments.from_arrays(x, None if weights is None else weights[i]).cross
                for i, x in enumerate(done)]

    def units_of(self, by_cluster: bool) -> np.ndarray:
        """The unit code of each row: its cluster, or the row itself."""
        if by_cluster and self.clusters is not None:
            return np.unique(self.clusters, return_inverse=True)[1].ravel()
        return np.arange(self.n)

    def _em_statistic(self, statistic, row_counts) -> np.ndarray:
        """The statistic of the EM estimate under each row of counts (chunked)."""
        base = np.ones(self.n) if self.weights is None else self.weights
        out = []
        for i in range(0, len(row_counts), _CHUNK):
            fit = em_moments(patterns=self.patterns, weights=row_counts[i : i + _CHUNK] * base,
                             start=self.em, tol=REPLICATE_TOLERANCE)
            values = statistic(fit.cross)
            values[~fit.converged] = np.nan
            out.append(values)
        return np.vstack(out)

    def _pull_in(self, statistic, reps) -> np.ndarray:
        """Replicates of one imputation each, drawn in to the spread of an m-imputation mean."""
        cols = slice(None) if self.shrink_columns is None else slice(0, self.shrink_columns)
        return pull_in(reps, statistic(self.imputed), cols)


def pull_in(reps: np.ndarray, per_imputation: np.ndarray, columns=slice(None)) -> np.ndarray:
    """Bootstrap replicates imputed once each, drawn in about their mean so that their
    variance is that of the mean over the ``m`` imputations (``per_imputation``, (m, s)):
    by ``sqrt(1 - W (1 - 1/m) / V)`` with ``W`` the between-imputation variance and ``V``
    the replicates' variance (only the given ``columns``)."""
    m = len(per_imputation)
    if m < 2 or len(reps) < 2:
        return reps
    between = per_imputation[:, columns].var(axis=0, ddof=1)
    centre = reps[:, columns].mean(axis=0)
    spread = reps[:, columns].var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.sqrt(np.clip(1 - between * (1 - 1 / m) / spread, 0, 1))
    out = reps.copy()
    out[:, columns] = centre + (reps[:, columns] - centre) * np.nan_to_num(factor, nan=1.0)
    return out


#: The last completed copies made, by what determines them (the rows' values, the columns'
#: blocks, the weights, the chain's start and the seed): ``decompose(missing="mi")`` and
#: ``sensitivity`` of the same data and seed make the same copies, once.
_COMPLETED: dict[tuple, np.ndarray] = {}
_KEEP_BYTES = 64 * 2**20  # at most 64 MiB of them


def _imputation_key(x, blocks, weights, start, seed) -> tuple | None:
    """What one completed copy depends on, as a key; None for a seed that is not a
    ``SeedSequence`` (its draws cannot be told apart)."""
    if not isinstance(seed, np.random.SeedSequence):
        return None
    import hashlib

    digest = hashlib.sha256()
    for part in (x, weights, *start):
        if part is not None:
            array = np.ascontiguousarray(part, dtype=float)
            digest.update(repr(array.shape).encode())
            digest.update(array.tobytes())
    return (digest.hexdigest(), repr([list(b) for b in blocks]), repr(seed.entropy),
            tuple(seed.spawn_key), seed.pool_size)


def imputed(design: Design, cross=None) -> np.ndarray:
    """The cross-product matrices to pool over: one per imputation, or ``cross`` (default
    the design's own) of a complete-rows design, as a stack (m, k, k)."""
    if isinstance(design, IncompleteDesign):
        return design.imputed
    return (design.cross if cross is None else cross)[None]


def pooled(design: Design, statistic, cross=None) -> tuple[np.ndarray, float]:
    """``(estimate, r2_covariates)``: for an incomplete design the mean over imputations.

    ``r2_covariates`` is the R² of the covariates alone (pooled the same way), so that
    pooled additive shares still sum to ``r2 - r2_covariates``. ``cross`` replaces the
    cross-products of a complete-rows design (for example corrected ones).
    """
    from outcomes.shares.design import standardise

    crosses = imputed(design, cross)
    values = statistic(crosses)
    _, v = standardise(crosses, design)
    return values.mean(axis=0), float(np.mean(1 - v))


def prepare_incomplete(data, outcome, factors, *, covariates=(), weights=None, cluster=None,
                       caller="decompose", missing="em", n_imputations=None, seed=None,
                       shrink_columns=None) -> IncompleteDesign:
    """The design of ``data`` keeping incomplete rows, for ``missing="em"`` or ``"mi"``."""
    check_choice(missing, "missing", ("em", "mi"), caller)
    inc = incomplete_matrix(data, outcome, factors, covariates=covariates, weights=weights,
                            cluster=cluster, caller=caller)
    n, k = inc.matrix.shape
    if n <= k:
        raise ModelError(f"{n} usable rows are too few for {k - 1} predictor columns and an "
                         f"intercept; at least {k + 1} are needed.")
    if np.isnan(inc.matrix[:, -1]).all():
        raise ModelError(f'the outcome "{outcome}" is missing in every row.')
    patterns = Patterns.of(inc.matrix)
    em = em_moments(patterns=patterns, weights=inc.weights)
    if not em.converged[0]:
        raise ModelError("EM did not converge for these data; check for columns that are "
                         "almost never observed together.")
    check_estimable(em.cross[0], list(inc.columns), outcome=outcome)
    root = np.random.SeedSequence(seed_entropy(seed))
    m = 1
    if missing == "mi":
        m = default_imputations(inc.report.fraction_incomplete) if n_imputations is None \
            else check_positive_int(n_imputations, "n_imputations", caller, minimum=1)
    seeds = tuple(root.spawn(m + 1))
    design = IncompleteDesign(
        None, inc.columns, inc.players, inc.covariate_index, inc.names, inc.factors,
        inc.covariates, outcome, inc.weights, inc.clusters, inc.report.n_left_out,
        em.cross[0], n_rows=n, method=missing, imputed=em.cross, incomplete=inc.with_method(
            missing, m if missing == "mi" else None),
        patterns=patterns, em=em, seeds=seeds, shrink_columns=shrink_columns)
    if missing == "em":
        return design
    rows = np.arange(n)
    with one_thread():
        imputed = np.stack([design.completed(rows, s) for s in seeds[:m]])
    return IncompleteDesign(**{**design.__dict__, "imputed": imputed,
                               "cross": imputed.mean(axis=0)})


def seed_entropy(seed):
    """The entropy of the imputations' seeds (a fixed default: the same data give the same
    imputations)."""
    if seed is None:
        return 0
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    if isinstance(seed, np.random.SeedSequence):
        return seed.entropy
    return seed


def missingness_of(design: Design, data, outcome, factors, *, covariates=(), weights=None,
                   cluster=None) -> MissingnessReport | None:
    """The missingness report of a design (computed for listwise designs of a pandas frame;
    None for partitioned data)."""
    if isinstance(design, IncompleteDesign):
        return design.report
    if not isinstance(data, pd.DataFrame):
        return None
    return listwise_report(data, outcome, factors, covariates=covariates)


def design_for(missing, data, outcome, factors, *, covariates=(), weights=None, cluster=None,
               engine=None, n_imputations=None, seed=None, reliability=None,
               caller="decompose", shrink_columns=None) -> Design:
    """The design for ``missing``: complete rows (``prepare``) or an incomplete design."""
    from outcomes._engine import is_dask
    from outcomes.shares.design import prepare

    check_choice(missing, "missing", MISSING, caller)
    if missing == "listwise":
        if n_imputations is not None:
            raise UsageError(f"{caller}(): n_imputations serves missing='mi'; drop it or "
                             "give missing='mi'.")
        return prepare(data, outcome, factors, covariates=covariates, weights=weights,
                       cluster=cluster, caller=caller, engine=engine)
    if reliability is not None:
        raise UsageError(f"{caller}(): reliability= works on complete rows only; give "
                         "missing='listwise' with it, or leave reliability out.")
    if engine == "dask" or is_dask(data) or not isinstance(data, pd.DataFrame):
        raise UsageError(f"{caller}(): missing={missing!r} needs a pandas DataFrame in memory; "
                         "with Dask data use missing='listwise'.")
    if missing == "em" and n_imputations is not None:
        raise UsageError(f"{caller}(): n_imputations serves missing='mi', not 'em'.")
    return prepare_incomplete(data, outcome, factors, covariates=covariates, weights=weights,
                              cluster=cluster, caller=caller, missing=missing,
                              n_imputations=n_imputations, seed=seed,
                              shrink_columns=shrink_columns)
