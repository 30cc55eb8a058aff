"""Clients nested in coaches: mixed models, multilevel R² and the outcome's variance decomposed.

:func:`multilevel` fits ``outcome ~ predictors + (1 + slopes | coach)`` and reports the
fixed effects, the variance components, the coach intra-class correlation (ICC) of the
outcome, Nakagawa & Schielzeth's R² and Rights & Sterba's decomposition of the outcome's
variance (``f1``, ``f2``, ``v``, ``m`` and ``residual``, defined in
:mod:`outcomes.mixed.design`, where the predictors are also centred within coaches).
:func:`outcomes.mixed.shares.multilevel_shares` splits the variance explained by the fixed
effects among factor groups (Shapley values of the marginal R²) and sets the coach's share
and the unexplained rest beside them. ``docs/multilevel.md`` states every estimand in words
and formulas.

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
from typing import Any

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
from outcomes._errors import ConvergenceWarning, UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.mixed.design import (
    COMPONENTS,
    SOLVERS,
    Centring,
    Design,
    Solver,
    prepare,
    solve,
    variance_parts,
)
from outcomes.mixed.likelihood import profile_interval
from outcomes.mixed.mixedlm import SINGULAR_TOLERANCE, MixedSolution
from outcomes.mixed.resampling import bootstrap_fit
from outcomes.mixed.small_sample import DF_METHODS, DfMethod, fixed_effect_df, t_table

__all__ = ["multilevel", "MultilevelFit"]


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


@renamed(group="cluster", engine="solver")
@shared_parameters
def multilevel(
    data: pd.DataFrame,
    outcome: str,
    factors: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    covariates: Sequence[str] = (),
    cluster: str = "coach_id",
    random_slopes: Sequence[str] = (),
    centring: Centring = "within",
    reml: bool = True,
    n_boot: int = 0,
    ci_level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    n_jobs: int | None = None,
    solver: Solver = "auto",
    df_method: DfMethod = "satterthwaite",
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
    {covariates}
        In this model they are centred like the factor columns.
    cluster : str, default "coach_id"
        The column that names each client's coach. Clients of one coach share the coach's
        random intercept and are resampled together in the bootstrap.
    random_slopes : sequence of str, default ()
        Predictors whose slope varies by coach (a data column or a term name; with
        ``centring="within"`` the slope is on the within-coach part).
    centring : {"within", "none"}, default "within"
        Split each client-level predictor into ``_within`` and ``_between`` parts, or not.
    reml : bool, default True
        Restricted maximum likelihood (as lme4's default) or maximum likelihood.
    {n_boot}
        Coaches are resampled whole; the intervals are of the R², the Rights & Sterba
        shares and the ICC.
    {ci_level}
        t intervals for the fixed effects (see ``df_method``), profile likelihood for the
        ICC, percentile intervals from the bootstrap.
    {seed}
    n_jobs : int, optional
        Worker processes for the bootstrap (default: every core).
    solver : {"auto", "profiled", "statsmodels"}, default "auto"
        ``auto`` uses the exact profiled likelihood for random-intercept models and
        statsmodels' MixedLM when there are random slopes; ``statsmodels`` always uses
        MixedLM.
    df_method : {"satterthwaite", "wald"}, default "satterthwaite"
        Degrees of freedom of the fixed effects' t intervals and p-values: Satterthwaite's
        approximation as lmerTest computes it (the ``df`` column), or ``"wald"`` for normal
        intervals and p-values (``df`` infinite), which are too narrow with few coaches.

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
    caller = "multilevel"
    n_boot = check_n_boot(n_boot, caller)
    ci_level = check_ci_level(ci_level, caller)
    seed = check_seed(seed, caller)
    check_choice(solver, "solver", SOLVERS, caller)
    check_choice(df_method, "df_method", DF_METHODS, caller)
    design = prepare(data, outcome, factors, covariates=covariates, cluster=cluster,
                     centring=centring)
    terms = list(range(len(design.terms)))
    slopes = _slope_terms(design, random_slopes)
    solution = solve(design, terms, slopes, reml, solver)
    if not solution.converged:
        warnings.warn(
            f"the mixed model of {outcome!r} did not converge with any optimiser tried "
            f"({', '.join(solution.attempts)}); the estimates are the best found and may be "
            "wrong. Simplify the random part (fewer random slopes) or rescale the predictors.",
            ConvergenceWarning, stacklevel=3)
    null = solve(design, [], [], reml, solver)
    low, high = profile_interval(design.stats(), [], reml=reml, ci_level=ci_level)
    parts = variance_parts(design, solution, terms, slopes)
    total = sum(parts.values())
    shares = pd.Series({k: parts[k] / total for k in COMPONENTS}, name="share")
    rtab = ["intercept", *(design.terms[i] for i in slopes)]
    vc = pd.Series([*np.diag(solution.random_cov), solution.sigma2],
                   index=[*rtab, "residual"], name="variance")
    ci = None
    if n_boot:
        ci = bootstrap_fit(design, terms, slopes, reml, solver, n_boot, seed, n_jobs, ci_level)
    return MultilevelFit(
        outcome=outcome, cluster=cluster, factors=design.factors,
        covariates=design.covariates, centring=centring, reml=reml,
        fixed_effects=t_table(solution.coef, solution.cov,
                              fixed_effect_df(design, slopes, solution, reml, df_method),
                              ["intercept", *design.terms], ci_level),
        df_method=df_method,
        variance_components=vc,
        random_covariance=pd.DataFrame(solution.random_cov, index=rtab, columns=rtab),
        icc=float(null.random_cov[0, 0] / (null.random_cov[0, 0] + null.sigma2)),
        icc_interval=(low, high), r2_marginal=float(shares.f1 + shares.f2),
        r2_conditional=float(1 - shares.residual), rights_sterba=shares,
        variances=pd.Series(parts, name="variance"), loglik=solution.loglik,
        converged=solution.converged, singular=_singular(solution),
        optimizer=solution.optimizer, attempts=solution.attempts, messages=solution.messages,
        n=design.n, n_clusters=len(design.labels), n_dropped=design.n_dropped,
        ci_level=ci_level, n_boot=n_boot, ci=ci,
    )


@dataclass(frozen=True, eq=False, repr=False)
class MultilevelFit(Result):
    """A mixed model of clients in coaches, with R² and the outcome's variance decomposed.

    ``fixed_effects`` has one row per term (estimate, std_error, ci_low/ci_high at
    ``ci_level`` and a two-sided p_value from the t distribution with ``df`` degrees of
    freedom: Satterthwaite's, or infinite for ``df_method="wald"``);
    ``variance_components`` the coach-level variances (``intercept`` and each random slope)
    and ``residual``; ``random_covariance`` the full coach-level covariance matrix. ``icc``
    is the coach intra-class correlation of the outcome in the null model,
    ``tau² / (tau² + sigma²)``, with a profile-likelihood ``icc_interval``.
    ``rights_sterba`` gives f1, f2, v, m and residual as shares of the model-implied outcome
    variance (summing to 1) and ``variances`` the same parts in the outcome's units. ``ci``
    holds cluster-bootstrap intervals when ``n_boot > 0``.
    ``cluster`` names the coach column and ``n_clusters`` counts the coaches.
    """

    outcome: str
    cluster: str
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
    n_clusters: int
    n_dropped: int = 0
    attempts: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=(), repr=False)
    ci_level: float = 0.95
    n_boot: int = 0
    ci: pd.DataFrame | None = None
    df_method: str = "satterthwaite"

    group = old_attribute("group", "cluster")
    n_groups = old_attribute("n_groups", "n_clusters")

    def _interval(self, quantity: str) -> tuple[float, float]:
        if self.ci is None:
            return (np.nan, np.nan)
        row = self.ci[self.ci.quantity == quantity].iloc[0]
        return float(row.ci_low), float(row.ci_high)

    def headline(self) -> str:
        """R², the coach ICC, and how many clients and coaches."""
        status = "" if self.converged else ", did not converge"
        return (f"R² marginal {self.r2_marginal:.3f}, conditional {self.r2_conditional:.3f}, "
                f"ICC {self.icc:.3f}; {self.n} clients, {self.n_clusters} coaches, "
                f"{'REML' if self.reml else 'ML'}{status}")

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
        rows.append(pd.DataFrame({"kind": ["icc"], "term": [self.cluster],
                                  "estimate": [self.icc], "ci_low": [self.icc_interval[0]],
                                  "ci_high": [self.icc_interval[1]]}))
        out = pd.concat(rows, ignore_index=True)
        cols = ["kind", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value"]
        return out.reindex(columns=cols).assign(n=self.n, df=out["df"])

    def summary(self) -> Summary:
        """Text report of the fit, the variance decomposition and how the fit went."""
        method = "REML" if self.reml else "ML"
        level = f"{round(100 * self.ci_level, 1):g} %"
        lines = [
            f"Mixed model of {self.outcome!r}: {self.n} clients in {self.n_clusters} coaches "
            f"({self.cluster}), {method}, centring {self.centring}"
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
        inference = ("Satterthwaite t intervals and p-values" if self.df_method ==
                     "satterthwaite" else "Wald (normal) intervals and p-values")
        lines += ["", f"Fixed effects ({level} {inference}):",
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
                         f"replicates ({self.n_clusters} coaches resampled whole).")
        notes = [m for m in self.messages if "Retrying" not in m]
        if notes:
            lines += ["Optimiser notes:", *(f"  {m}" for m in dict.fromkeys(notes))]
        return Summary("\n".join(lines).rstrip())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every reported quantity (``n_groups`` counts the coaches)."""
        out: dict[str, Any] = {
            "outcome": self.outcome, "cluster": self.cluster, "n": self.n,
            "n_groups": self.n_clusters, "n_dropped": self.n_dropped,
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
            "df_method": self.df_method,
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
