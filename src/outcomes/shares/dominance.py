"""Dominance analysis of factors: complete, conditional and general dominance.

With ``C_j^(k)`` the mean R² gain of factor ``j`` over the subsets of ``k`` other factors
(Budescu 1993, *Psychol Bull* 114(3):542-551; Azen & Budescu 2003, *Psychol Methods*
8(2):129-148):

- ``i`` *completely* dominates ``j`` when ``R²(S+i) > R²(S+j)`` for every subset ``S`` of
  the other factors;
- ``i`` *conditionally* dominates ``j`` when ``C_i^(k) > C_j^(k)`` for every size ``k``;
- ``i`` *generally* dominates ``j`` when its general dominance weight, the mean of
  ``C_i^(k)`` over ``k``, is larger. General dominance weights equal the LMG shares.

Covariates are always in: every R² includes them and only the gain over them is compared.
Every subset's R² comes from the all-subsets engine in :mod:`outcomes.shares.subsets`, never
from a refit. With ``n_boot > 0`` each pairwise designation gets its bootstrap reproducibility, the
share of replicates that reproduce it (Azen & Budescu 2003).

Examples
--------
>>> import pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(400, 3)), columns=["bond", "task", "hope"])
>>> df["end_score"] = df.bond + 0.5 * df.task + 0.1 * df.hope + rng.normal(size=400)
>>> dom = dominance(df, "end_score", {"relationship": ["bond", "task"], "expectancy": ["hope"]})
>>> float(dom.complete.loc["relationship", "expectancy"])
1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_ci_level,
    check_covariates,
    check_n_boot,
    check_seed,
    shared_parameters,
)
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.shares.attenuation import correction as true_scores
from outcomes.shares.attenuation import reliability_lines
from outcomes.shares.bootstrap import percentile_interval
from outcomes.shares.design import local_players, standardise
from outcomes.shares.missing import design_for, imputed, missingness_of
from outcomes.shares.missingness import MissingnessReport
from outcomes.shares.subsets import complete_dominance, conditional_contributions, subset_r2

__all__ = ["dominance", "Dominance"]

KINDS = ("complete", "conditional", "general")


def _codes(r2: np.ndarray, tol: float = 1e-12):
    """Complete, conditional and general designations (…, p, p) coded 1 / 0 / 0.5."""
    complete = complete_dominance(r2, tol=tol)
    cond = conditional_contributions(r2)
    general = cond.mean(axis=-1)
    diff = cond[..., :, None, :] - cond[..., None, :, :]
    conditional = np.where(np.all(diff > tol, axis=-1), 1.0,
                           np.where(np.all(diff < -tol, axis=-1), 0.0, 0.5))
    gdiff = general[..., :, None] - general[..., None, :]
    general_code = np.where(gdiff > tol, 1.0, np.where(gdiff < -tol, 0.0, 0.5))
    p = r2.shape[-1].bit_length() - 1
    eye = np.eye(p, dtype=bool)
    conditional[..., eye] = np.nan
    general_code[..., eye] = np.nan
    return {"complete": complete, "conditional": conditional, "general": general_code}, cond


@shared_parameters
def dominance(
    data: pd.DataFrame,
    outcome: str,
    factors: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    covariates: Sequence[str] = (),
    weights: str | Sequence[float] | None = None,
    n_boot: int = 0,
    cluster: str | None = None,
    seed: int | np.random.Generator | None = None,
    ci_level: float = 0.95,
    engine: Literal["pandas", "dask"] | None = None,
    reliability: Mapping[str, float | str] | str | None = None,
    items: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
    missing: Literal["listwise", "mi", "em"] = "listwise",
    n_imputations: int | None = None,
) -> Dominance:
    """Complete, conditional and general dominance of factors on the outcome's R².

    Parameters
    ----------
    data, outcome, factors, weights
        As in :func:`outcomes.shares.decomposition.decompose`: a factor of several columns
        (or a categorical column) is one player; a Dask DataFrame (or a path with
        ``engine="dask"``) is read partition by partition.
    {covariates}
    {n_boot}
    {cluster}
    {seed}
    {ci_level}
    {engine}
    reliability, items
        Dominance of true scores, as in ``decompose`` (see
        :mod:`outcomes.shares.attenuation`); ``.reliability`` lists the corrections.
    {missing}
        With ``mi`` the R² of every subset is averaged over the imputations.
    {n_imputations}

    Notes
    -----
    The bootstrap (rows, or whole clusters when ``cluster`` is given) gives the
    reproducibility of each designation and percentile intervals of the general weights.

    Returns
    -------
    Dominance

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame(rng.normal(size=(500, 3)), columns=["a", "b", "c"])
    >>> df["y"] = df.a + 0.5 * df.b + rng.normal(size=500)
    >>> dom = dominance(df, "y", ["a", "b", "c"])
    >>> bool(np.isclose(dom.general.sum(), dom.r2))
    True
    >>> list(dom.conditional.columns), dom.complete.loc["a", "b"].item()
    ([0, 1, 2], 1.0)
    """
    ci_level = check_ci_level(ci_level, "dominance")
    n_boot = check_n_boot(n_boot, "dominance")
    seed = check_seed(seed, "dominance")
    covariates = check_covariates(covariates, "dominance")
    design = design_for(missing, data, outcome, factors, covariates=covariates, weights=weights,
                        cluster=cluster, engine=engine, n_imputations=n_imputations, seed=seed,
                        reliability=reliability, caller="dominance", shrink_columns=len(factors))
    players = local_players(design)
    names = list(design.names)
    p = len(names)
    correction = None if reliability is None else true_scores(
        design, data, reliability, items=items, weights=weights, cluster=cluster,
        caller="dominance")
    crosses = imputed(design, design.cross if correction is None else correction.cross)
    P, v = standardise(crosses, design)
    r2 = (subset_r2(P, players) * v[:, None]).mean(axis=0)  # pooled over imputations
    v = v.mean()
    codes, cond = _codes(r2)
    index = pd.Index(names, name="factor")
    boot: dict[str, Any] = {}
    if n_boot:
        boot = _bootstrap(design, players, cluster is not None, codes, n_boot, seed,
                          ci_level, p, correction)
    return Dominance(
        outcome=design.outcome,
        factors=design.factors,
        covariates=design.covariates,
        general=pd.Series(cond.mean(axis=-1), index=index, name="general"),
        conditional=pd.DataFrame(cond, index=index, columns=pd.Index(range(p), name="size")),
        complete=pd.DataFrame(codes["complete"], index=index, columns=names),
        conditional_dominance=pd.DataFrame(codes["conditional"], index=index, columns=names),
        general_dominance=pd.DataFrame(codes["general"], index=index, columns=names),
        r2=float(1 - v + r2[-1]),
        r2_covariates=float(1 - v),
        n=design.n,
        n_dropped=design.n_dropped,
        n_boot=n_boot,
        ci_level=ci_level,
        reliability=None if correction is None else correction.table,
        missingness=missingness_of(design, data, outcome, factors, covariates=covariates),
        **boot,
    )


def _bootstrap(design, players, by_cluster, codes, n_boot, seed, ci_level, p,
               correction=None) -> dict[str, Any]:
    pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]

    def statistic(cross):
        P, v = standardise(cross, design)
        out = np.full((len(cross), p + 3 * len(pairs)), np.nan)
        good = np.all(np.isfinite(P), axis=(-2, -1))
        if not good.any():
            return out
        r2 = subset_r2(P[good], players) * v[good][:, None]
        rep, cond = _codes(r2)
        cols = [cond.mean(axis=-1)]
        for kind in KINDS:
            picked = [rep[kind][:, i, j] for i, j in pairs]
            cols.append(np.stack(picked, axis=-1).reshape(-1, len(pairs)))
        out[good] = np.concatenate(cols, axis=1)
        return out

    draws = (correction or design).draws(statistic, n_boot=n_boot, seed=seed,
                                         jackknife=False, by_cluster=by_cluster)
    reps = draws.replicates
    low, high = percentile_interval(reps[:, :p], ci_level)
    names = list(design.names)
    rows = []
    for kind_no, kind in enumerate(KINDS):
        block = reps[:, p + kind_no * len(pairs) : p + (kind_no + 1) * len(pairs)]
        for k, (i, j) in enumerate(pairs):
            values = block[:, k]
            sample = codes[kind][i, j]
            rows.append({
                "factor": names[i], "other": names[j], "kind": kind,
                "p_factor": float(np.mean(values == 1.0)),
                "p_other": float(np.mean(values == 0.0)),
                "p_neither": float(np.mean(values == 0.5)),
                "reproducibility": float(np.mean(values == sample)),
            })
    general_ci = pd.DataFrame({
        "factor": names, "estimate": draws.estimate[:p],
        "std_error": reps[:, :p].std(axis=0, ddof=1), "ci_low": low, "ci_high": high,
    })
    return {"bootstrap": pd.DataFrame(rows), "general_ci": general_ci,
            "n_failed": draws.n_failed}


@dataclass(frozen=True, eq=False, repr=False)
class Dominance(Result):
    """Complete, conditional and general dominance of each factor over each other.

    ``.general`` (Series) are the general dominance weights (= LMG shares, summing to
    ``.r2 - .r2_covariates``); ``.conditional`` holds ``C_j^(k)`` by factor (rows) and
    subset size ``k`` (columns 0 … p-1); ``.complete``, ``.conditional_dominance`` and
    ``.general_dominance`` are factor × factor matrices coded 1 where the row dominates the
    column, 0 where the column dominates the row, 0.5 where neither (diagonal NaN).
    ``.bootstrap`` (with ``n_boot > 0``) gives, per pair and kind, the share of replicates
    in which the row factor dominates, the other dominates, neither does, and the
    reproducibility of the sample designation.
    """

    outcome: str
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    general: pd.Series
    conditional: pd.DataFrame
    complete: pd.DataFrame
    conditional_dominance: pd.DataFrame
    general_dominance: pd.DataFrame
    r2: float
    r2_covariates: float
    n: int
    n_dropped: int
    n_boot: int = 0
    ci_level: float = 0.95
    bootstrap: pd.DataFrame | None = None
    general_ci: pd.DataFrame | None = None
    n_failed: int = 0
    reliability: pd.DataFrame | None = None
    missingness: MissingnessReport | None = field(default=None, repr=False)

    @property
    def ci(self) -> pd.DataFrame | None:
        """Percentile intervals of the general dominance weights (None without bootstrap).

        One row per factor: ``factor``, ``estimate``, ``std_error``, ``ci_low``, ``ci_high``.
        """
        return self.general_ci

    def headline(self) -> str:
        """R², the factor that dominates most completely, and n."""
        wins = (self.complete == 1).sum(axis=1)
        top = str(wins.idxmax()) if len(wins) and wins.max() > 0 else None
        said = (f"{top} completely dominates {int(wins.max())} of {len(wins) - 1}"
                if top else "no complete dominance")
        return f"R² {self.r2:.3f} among {len(self.general)} factors; {said}; n = {self.n}"

    def designations(self) -> pd.DataFrame:
        """One row per pair and kind: which factor dominates (or ``neither``)."""
        names = list(self.general.index)
        rows = []
        for kind, matrix in (("complete", self.complete),
                             ("conditional", self.conditional_dominance),
                             ("general", self.general_dominance)):
            for i, a in enumerate(names):
                for b in names[i + 1 :]:
                    code = matrix.loc[a, b]
                    winner = a if code == 1 else b if code == 0 else "neither"
                    rows.append({"factor": a, "other": b, "kind": kind, "dominant": winner})
        out = pd.DataFrame(rows, columns=["factor", "other", "kind", "dominant"])
        if self.bootstrap is not None:
            out = out.merge(self.bootstrap, on=["factor", "other", "kind"], how="left")
        return out

    def table(self) -> pd.DataFrame:
        """Tidy frame: per factor, its general weight and conditional means by size."""
        long = self.conditional.reset_index().melt(id_vars="factor", var_name="size",
                                                   value_name="estimate")
        long.insert(1, "quantity", "conditional")
        general = pd.DataFrame({"factor": self.general.index, "quantity": "general",
                                "size": pd.NA, "estimate": self.general.to_numpy()})
        out = pd.concat([general, long], ignore_index=True)
        if self.general_ci is not None:
            ci = self.general_ci.set_index("factor")
            for col in ("std_error", "ci_low", "ci_high"):
                out[col] = np.where(out.quantity == "general", out.factor.map(ci[col]), np.nan)
        return out.assign(n=self.n)

    def summary(self) -> Summary:
        """Text report: weights, conditional means and designations."""
        lines = [f"Dominance analysis of {self.outcome!r} (n = {self.n}); "
                 f"R² = {self.r2:.4f}" + (f", covariates {self.r2_covariates:.4f}"
                                          if self.covariates else "")]
        shown = self.conditional.copy()
        shown.columns = [f"k={c}" for c in shown.columns]
        shown.insert(0, "general", self.general)
        lines += ["", text_table(shown.reset_index()), ""]
        d = self.designations()
        for kind in KINDS:
            part = d[d.kind == kind]
            said = [f"{r.dominant} over {r.other if r.dominant == r.factor else r.factor}"
                    for r in part.itertuples() if r.dominant != "neither"]
            lines.append(f"{kind.capitalize()} dominance: " + ("; ".join(said) or "none"))
        if self.bootstrap is not None:
            lines.append(f"Reproducibility from {self.n_boot} bootstrap replicates is in "
                         ".designations().")
        if self.reliability is not None:
            lines += ["", *reliability_lines(self.reliability, list(self.general.index),
                                             self.bootstrap is not None)]
        if self.missingness is not None and (self.missingness.n_incomplete or self.n_dropped):
            lines += ["", *self.missingness.lines()]
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every matrix and table."""
        return jsonable({
            "outcome": self.outcome, "n": self.n, "n_dropped": self.n_dropped, "r2": self.r2,
            "r2_covariates": self.r2_covariates, "covariates": list(self.covariates),
            "factors": {k: list(v) for k, v in self.factors.items()},
            "general": self.general, "conditional": {
                name: {str(k): v for k, v in row.items()}
                for name, row in self.conditional.iterrows()},
            "complete": {name: row for name, row in self.complete.iterrows()},
            "designations": self.designations(), "n_boot": self.n_boot,
            "general_ci": self.general_ci, "ci_level": self.ci_level,
            **({} if self.reliability is None else {"reliability": self.reliability}),
            **({} if self.missingness is None else {"missing": self.missingness.to_dict()}),
        })

    def plot(self, ax=None):
        """Heat map of the conditional dominance means by subset size."""
        from outcomes._plotting import heatmap

        return heatmap(ax, self.conditional.to_numpy(), list(self.conditional.index),
                       [str(c) for c in self.conditional.columns],
                       xlabel="number of other factors in the model",
                       title=f"Mean R² gain ({self.outcome})")
