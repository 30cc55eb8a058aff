"""Multilevel factor shares: each factor group's part of the outcome variance, with the coach.

:func:`multilevel_shares` splits the variance explained by the fixed effects of a
random-intercept model among factor groups — Shapley values of Nakagawa & Schielzeth's
marginal R² over the groups, covariates always in — and sets the coach's share (the
random-intercept variance over the total) and the unexplained rest beside them, so that the
parts read client / relationship / expectancy / technique / coach / unexplained and sum to 1.
Each of the 2^k sub-models is fitted by the exact profiled likelihood of
:mod:`outcomes.mixed.likelihood` (or by statsmodels' MixedLM on request); the cluster bootstrap
resamples coaches whole, in parallel (:mod:`outcomes.mixed.resampling`). ``docs/multilevel.md``
states the estimand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_choice,
    check_ci_level,
    check_n_boot,
    check_seed,
    old_attribute,
    renamed,
    shared_parameters,
)
from outcomes._errors import UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.mixed.design import (
    PROFILED,
    SOLVERS,
    Centring,
    Design,
    Solver,
    prepare,
    solve,
    variance_parts,
)
from outcomes.mixed.imputed import ImputedCoaches, check_missing
from outcomes.mixed.likelihood import ClusterStats, fit_profiled
from outcomes.mixed.mixedlm import MixedSolution
from outcomes.mixed.resampling import in_parallel, warn_failed
from outcomes.shares.bootstrap import CiMethod, Draws, resample_counts
from outcomes.shares.missingness import MissingnessReport, listwise_report
from outcomes.shares.subsets import shapley

__all__ = ["multilevel_shares", "MultilevelShares"]


def _players(design: Design) -> tuple[list[list[int]], list[int]]:
    players = [design.columns_of(cols) for cols in design.factors.values()]
    return players, design.columns_of(design.covariates)


def _share_rows(stats: ClusterStats, players, always, reml, counts) -> np.ndarray:
    """Per replicate: Shapley shares of marginal R², covariates, coach, unexplained, R²."""
    p = len(players)
    r2 = np.empty((len(counts), 2**p))
    for mask in range(2**p):
        terms = always + [t for j in range(p) if mask >> j & 1 for t in players[j]]
        fit = fit_profiled(stats, terms, reml=reml, counts=counts)
        r2[:, mask] = fit.r2_marginal()
    total = fit.fixed_variance + fit.tau2 + fit.sigma2
    parts = [shapley(r2 - r2[:, :1])]
    if always:
        parts.append(r2[:, :1])
    parts += [(fit.tau2 / total)[:, None], (fit.sigma2 / total)[:, None], r2[:, -1:]]
    return np.column_stack(parts)


def _share_rows_mixedlm(design: Design, players, always, reml) -> tuple[np.ndarray, list]:
    """The same point estimates with every sub-model fitted by statsmodels' MixedLM."""
    p = len(players)
    r2, fits = np.empty(2**p), []
    for mask in range(2**p):
        terms = always + [t for j in range(p) if mask >> j & 1 for t in players[j]]
        sol = solve(design, terms, [], reml, "statsmodels")
        parts = variance_parts(design, sol, terms, [])
        r2[mask] = (parts["f1"] + parts["f2"]) / sum(parts.values())
        fits.append((sol, parts))
    sol, parts = fits[-1]
    total = sum(parts.values())
    row = [*shapley(r2 - r2[0]), *([r2[0]] if always else []), parts["m"] / total,
           parts["residual"] / total, r2[-1]]
    return np.array(row), [f[0] for f in fits]


def _design_rows(design: Design, reml: bool, leave_out: bool = False) -> np.ndarray:
    """The share rows of one design: its estimate, or one row per coach left out."""
    players, always = _players(design)
    g = len(design.labels)
    counts = 1.0 - np.eye(g) if leave_out else np.ones((1, g))
    rows = _share_rows(design.stats(), players, always, reml, counts)
    return rows if leave_out else rows[0]


@renamed(group="cluster", engine="solver", ci="ci_method")
@shared_parameters
def multilevel_shares(
    data: pd.DataFrame,
    outcome: str,
    factors: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    covariates: Sequence[str] = (),
    cluster: str = "coach_id",
    centring: Centring = "within",
    reml: bool = True,
    n_boot: int = 0,
    ci_method: CiMethod = "bca",
    ci_level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    n_jobs: int | None = None,
    solver: Solver = "auto",
    missing: Literal["listwise", "mi", "em"] = "listwise",
    n_imputations: int | None = None,
) -> MultilevelShares:
    """Each factor group's share of the outcome in a model of clients nested in coaches.

    The share of factor group k is its Shapley value over the groups of Nakagawa &
    Schielzeth's marginal R² of random-intercept models (covariates always in):

        share_k = sum over S without k of |S|! (p - |S| - 1)! / p! [R²m(S + k) - R²m(S)],

    where ``R²m(S) = var(X_S b_S) / (var(X_S b_S) + tau²_S + sigma²_S)`` is the marginal R²
    of the model with the covariates and the groups in S, each fitted anew (2^p fits). The
    shares sum to ``R²m(all) - R²m(covariates)``; the covariates' own line is
    ``R²m(covariates)``. Beside them, ``coach`` is the random-intercept variance and
    ``unexplained`` the residual variance of the full model, both as shares of its total
    ``var(X b) + tau² + sigma²``, so that all lines sum to 1. A group's share can be
    negative when adding it lowers the marginal R² of some sub-model (the variance
    components are re-estimated in every fit).

    Parameters
    ----------
    data, outcome, factors, covariates, cluster, centring, reml
        As in :func:`outcomes.multilevel`; ``factors`` needs at least one group.
    {n_boot}
        Coaches are resampled whole (Field & Welsh 2007) and all 2^p models refitted in
        each replicate.
    {ci_method}
        BCa's acceleration comes from leaving out one coach at a time.
    {ci_level}
    {seed}
        The same seed gives identical results for any ``n_jobs``.
    n_jobs : int, optional
        Worker processes for the bootstrap (joblib; default every core).
    solver : {"auto", "profiled", "statsmodels"}, default "auto"
        The exact profiled likelihood (default) or statsmodels' MixedLM for every
        sub-model (point estimates only; for checking).
    missing : {"listwise", "mi"}, default "listwise"
        Rows with a missing value left out, or every client with a coach id and any
        analysis value kept by multiple imputation with the coach in the imputation model
        (:mod:`outcomes.mixed.imputed`): the shares of each completed table are averaged,
        and the bootstrap imputes each replicate of coaches once ("Boot MI"). ``"em"`` is
        refused: its covariance is that of one level, not of clients nested in coaches.
    {n_imputations}

    Returns
    -------
    MultilevelShares

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> coach = np.repeat(np.arange(30), 15)
    >>> df = pd.DataFrame(rng.normal(size=(450, 2)), columns=["alliance", "hope"])
    >>> df["coach_id"] = coach
    >>> df["end"] = df.alliance + 0.5 * df.hope + rng.normal(size=30)[coach] \\
    ...     + 1.5 * rng.normal(size=450)
    >>> s = multilevel_shares(df, "end", {"relationship": ["alliance"], "expectancy": ["hope"]})
    >>> s.shares.round(3).to_dict()
    {'relationship': 0.221, 'expectancy': 0.07, 'coach': 0.277, 'unexplained': 0.431}
    >>> round(float(s.shares.sum()), 12)
    1.0
    """
    caller = "multilevel_shares"
    n_boot = check_n_boot(n_boot, caller)
    ci_level = check_ci_level(ci_level, caller)
    seed = check_seed(seed, caller)
    check_choice(ci_method, "ci_method", ("bca", "percentile"), caller)
    check_choice(solver, "solver", SOLVERS, caller)
    check_missing(missing, n_imputations, solver)
    if missing == "mi":
        state = ImputedCoaches.of(data, outcome, factors, covariates=covariates,
                                  cluster=cluster, centring=centring,
                                  n_imputations=n_imputations, seed=seed)
        if not state.factors:
            raise UsageError("multilevel_shares() needs at least one factor group to share "
                             "out.")
        row = partial(_design_rows, reml=reml)
        per = state.estimates(row)
        estimate, draws = per.mean(axis=0), None
        if n_boot:
            counts = resample_counts(len(state.labels), n_boot, np.random.default_rng(seed))
            draws = state.draws(row, counts, per, n_jobs, jackknife=partial(
                _design_rows, reml=reml, leave_out=True) if ci_method == "bca" else None)
            warn_failed(draws.n_failed, n_boot)
        names = [*state.factors, *(["covariates"] if state.covariates else []), "coach",
                 "unexplained"]
        return _result(estimate, draws, names, state, reml, ci_level, ci_method, n_boot,
                       PROFILED, state.report, n=state.n)
    design = prepare(data, outcome, factors, covariates=covariates, cluster=cluster,
                     centring=centring, caller=caller)
    if not design.factors:
        raise UsageError("multilevel_shares() needs at least one factor group to share out.")
    players, always = _players(design)
    names = [*design.factors, *(["covariates"] if always else []), "coach", "unexplained"]
    stats = design.stats()
    fits: list[MixedSolution] = []
    if solver == "statsmodels":
        if n_boot:
            raise UsageError('solver="statsmodels" gives point estimates only; use the '
                             'default solver for bootstrap intervals.')
        estimate, fits = _share_rows_mixedlm(design, players, always, reml)
    else:
        estimate = _share_rows(stats, players, always, reml, np.ones((1, len(design.labels))))[0]
    draws = None
    if n_boot:
        counts = resample_counts(len(design.labels), n_boot, np.random.default_rng(seed))
        reps = in_parallel(_share_rows, counts, n_jobs, stats, players, always, reml)
        leave_out = np.ones((len(design.labels),) * 2) - np.eye(len(design.labels))
        jack = _share_rows(stats, players, always, reml, leave_out)
        ok = np.all(np.isfinite(reps), axis=1)
        draws = Draws(estimate, reps[ok], jack[np.all(np.isfinite(jack), axis=1)],
                      int((~ok).sum()))
        warn_failed(draws.n_failed, n_boot)
    report = listwise_report(data, outcome, design.factors, covariates=design.covariates)
    return _result(estimate, draws, names, design, reml, ci_level, ci_method, n_boot,
                   "statsmodels" if fits else PROFILED, report, n=design.n)


def _result(estimate, draws, names, design: Design | ImputedCoaches, reml, ci_level,
            ci_method, n_boot, solver, report, *, n) -> MultilevelShares:
    table = None
    if draws is not None:
        low, high = draws.interval(ci_method, ci_level)
        table = pd.DataFrame({"part": [*names, "r2_marginal"], "estimate": estimate,
                              "std_error": draws.std_error(), "ci_low": low,
                              "ci_high": high})
    return MultilevelShares(
        outcome=design.outcome, cluster=design.cluster, factors=design.factors,
        covariates=design.covariates, centring=design.centring, reml=reml,
        shares=pd.Series(estimate[:-1], index=pd.Index(names, name="part"), name="share"),
        r2_marginal=float(estimate[-1]), n=n, n_clusters=len(design.labels),
        n_dropped=design.n_dropped, solver=solver, ci=table, ci_level=ci_level,
        ci_method=ci_method if draws is not None else None, n_boot=n_boot, draws=draws,
        missingness=report,
    )


@dataclass(frozen=True, eq=False, repr=False)
class MultilevelShares(Result):
    """Factor groups' shares of the outcome beside the coach's share and the unexplained.

    ``shares`` (Series, summing to 1) has one line per factor group (its Shapley share of
    the marginal R²), ``covariates`` when covariates were given (their marginal R²),
    ``coach`` (random-intercept variance) and ``unexplained`` (residual variance), all as
    shares of the full model's outcome variance. ``ci`` gives bootstrap intervals (part,
    estimate, std_error, ci_low, ci_high) when ``n_boot > 0``. ``cluster`` names the coach
    column, ``n_clusters`` counts the coaches and ``solver`` says how the models were fitted.
    """

    outcome: str
    cluster: str
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    centring: str
    reml: bool
    shares: pd.Series
    r2_marginal: float
    n: int
    n_clusters: int
    n_dropped: int = 0
    solver: str = PROFILED
    ci: pd.DataFrame | None = None
    ci_level: float = 0.95
    ci_method: str | None = None
    n_boot: int = 0
    draws: Draws | None = field(default=None, repr=False)
    missingness: MissingnessReport | None = field(default=None, repr=False)

    group = old_attribute("group", "cluster")
    n_groups = old_attribute("n_groups", "n_clusters")
    engine = old_attribute("engine", "solver")

    def headline(self) -> str:
        """The factors' shares together and the largest, beside the coach and the rest."""
        factors = self.shares[list(self.factors)]
        top = factors.idxmax()
        return (f"{len(factors)} factors share {factors.sum():.3f} (most: {top} "
                f"{factors[top]:.3f}), coach {self.shares['coach']:.3f}, unexplained "
                f"{self.shares['unexplained']:.3f}; n = {self.n}")

    def _interval(self, part: str) -> tuple[float, float]:
        if self.ci is None:
            return (np.nan, np.nan)
        row = self.ci[self.ci.part == part].iloc[0]
        return float(row.ci_low), float(row.ci_high)

    def table(self) -> pd.DataFrame:
        """One row per part (and the marginal R²), with intervals when bootstrapped."""
        rows = pd.DataFrame({"part": [*self.shares.index, "r2_marginal"],
                             "estimate": [*self.shares.to_numpy(), self.r2_marginal]})
        if self.ci is not None:
            rows = rows.assign(**{c: self.ci[c].to_numpy()
                                  for c in ("std_error", "ci_low", "ci_high")})
        else:
            rows = rows.assign(std_error=np.nan, ci_low=np.nan, ci_high=np.nan)
        return rows.assign(n=self.n)

    def summary(self) -> Summary:
        """Text report of the shares."""
        lines = [
            f"Shares of {self.outcome!r} in a model of {self.n} clients nested in "
            f"{self.n_clusters} coaches ({self.cluster}; {'REML' if self.reml else 'ML'}, "
            f"centring {self.centring})"
            + (f"; {self.n_dropped} rows with missing values left out." if self.n_dropped
               else "."),
            "Factor groups: Shapley shares of the marginal R² (Nakagawa & Schielzeth 2013) "
            f"over {2 ** len(self.factors)} random-intercept models"
            + (f", covariates ({', '.join(self.covariates)}) always in." if self.covariates
               else "."),
            "coach = random-intercept variance, unexplained = residual variance (full model).",
        ]
        meaning = {name: ", ".join(cols) for name, cols in self.factors.items()}
        meaning.update(covariates=", ".join(self.covariates), coach="coach random intercept",
                       unexplained="residual")
        shown = pd.DataFrame({"part": self.shares.index, "share": self.shares.to_numpy(),
                              "columns": [meaning[p] for p in self.shares.index]})
        if self.ci is not None:
            shown.insert(2, "interval", [f"[{a:.3f}, {b:.3f}]"
                                         for a, b in map(self._interval, self.shares.index)])
        lines += ["", text_table(shown), "", f"Marginal R² of the full model: "
                  f"{self.r2_marginal:.4f}. Fits: {self.solver}."]
        imputed = self.missingness is not None and self.missingness.method == "mi"
        if self.ci is not None:
            lines.append(f"{round(100 * self.ci_level, 1):g} % {self.ci_method} intervals from "
                         f"{self.n_boot} cluster-bootstrap replicates ({self.n_clusters} "
                         "coaches resampled whole" + (", each imputed once)." if imputed
                                                      else ")."))
        if self.missingness is not None and (self.missingness.n_incomplete or self.n_dropped):
            lines += ["", *self.missingness.lines()]
        return Summary("\n".join(lines))

    def to_dict(self, reference: str | None = "asay-lambert-1999") -> dict[str, Any]:
        """JSON-safe dict; ``reference`` adds the comparison with a reference split.

        ``n_groups`` counts the coaches.
        """
        parts = {}
        for name in self.shares.index:
            entry: dict[str, Any] = {"share": self.shares[name]}
            if name in self.factors:
                entry["columns"] = list(self.factors[name])
            if self.ci is not None:
                entry["ci_low"], entry["ci_high"] = self._interval(name)
            parts[name] = entry
        out: dict[str, Any] = {
            "outcome": self.outcome, "cluster": self.cluster, "n": self.n,
            "n_groups": self.n_clusters, "n_dropped": self.n_dropped,
            "covariates": list(self.covariates), "centring": self.centring,
            "method": "REML" if self.reml else "ML", "parts": parts,
            "r2_marginal": self.r2_marginal, "ci_level": self.ci_level,
        }
        if self.ci is not None:
            out.update(ci_method=self.ci_method, n_boot=self.n_boot)
        if self.missingness is not None:
            out["missing"] = self.missingness.to_dict()
        if reference is not None:
            try:
                out["reference"] = self.compare(reference).to_dict()
            except UsageError as error:
                out["reference"] = {"key": reference, "note": str(error)}
        return jsonable(out)

    def compare(self, reference: str = "asay-lambert-1999", *, mapping=None):
        """Set the shares beside a reference split (see :mod:`outcomes.reference`).

        The coach line is matched to a reference's ``therapist`` part unless ``mapping``
        says otherwise, and ``unexplained`` to its residual part.
        """
        from outcomes.reference import REFERENCES, compare

        split = REFERENCES.get(reference) if isinstance(reference, str) else reference
        if mapping is None and split is not None and "therapist" in split.shares:
            mapping = {"therapist": ["coach"]}
        est = self.shares.drop("unexplained")
        # a split of total variance sets its residual part against ours (1 - r2); for the
        # other kinds r2 is only named in the notes: the fixed effects' marginal R²
        total = split is not None and split.denominator == "total"
        r2 = 1 - float(self.shares["unexplained"]) if total else self.r2_marginal
        kwargs: dict[str, Any] = {}
        if self.draws is not None:
            cols = list(est.index)
            k = len(self.shares)

            def frame(rows):
                out = pd.DataFrame(rows[:, : k - 1], columns=cols)
                return out.assign(r2=1 - rows[:, k - 1] if total else rows[:, -1])

            kwargs.update(replicates=frame(self.draws.replicates),
                          jackknife=frame(self.draws.jackknife), ci_method=self.ci_method,
                          interval=lambda e, r, j: Draws(e, r, j).interval(
                              self.ci_method or "percentile", self.ci_level))
        return compare(est, reference, r2=r2, ci_level=self.ci_level, mapping=mapping,
                       **kwargs)

    def plot(self, ax=None, *, reference: str | None = None):
        """Bars of every part's share with interval whiskers (beside a reference if given)."""
        if reference is not None:
            return self.compare(reference).plot(ax=ax)
        from outcomes._plotting import axes_or_new, share_bars

        names = list(self.shares.index)
        ax = axes_or_new(ax, figsize=(1.2 * len(names) + 1, 4))
        low = high = None
        if self.ci is not None:
            ends = [self._interval(n) for n in names]
            low, high = [a for a, _ in ends], [b for _, b in ends]
        return share_bars(ax, names, self.shares.to_numpy(), low=low, high=high,
                          ylabel=f"share of {self.outcome} variance", percent=True)
