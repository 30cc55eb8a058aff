"""Each factor's share of the outcome, with bootstrap intervals: ``decompose``.

``decompose`` splits the R² of a linear regression of the outcome on the factors' columns
among the factors. A factor is a group of columns acting as one player (a categorical
column becomes a block of dummy columns that also acts as one player). Covariates are
always in the model: their R² is taken first and only the remaining R² is split. The
methods (LMG, dominance, Pratt, relative weights, CAR, first, last, betasq) are described
in :mod:`outcomes.shares.metrics`; the data are read once into sufficient statistics
(:mod:`outcomes.shares.design`), and every bootstrap replicate is a recombination of them
(:mod:`outcomes.shares.bootstrap`).

Examples
--------
>>> import pandas as pd
>>> from outcomes.shares.decomposition import decompose
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(300, 3)), columns=["bond", "task", "hope"])
>>> df["end_score"] = df.bond + 0.5 * df.task + 0.3 * df.hope + rng.normal(size=300)
>>> d = decompose(df, "end_score", {"relationship": ["bond", "task"], "expectancy": ["hope"]})
>>> list(d.shares.index), round(float(d.shares.sum() - d.r2), 12)
(['relationship', 'expectancy'], 0.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_choice,
    check_ci_level,
    check_covariates,
    check_n_boot,
    check_seed,
    old_attribute,
    renamed,
    shared_parameters,
)
from outcomes._errors import DataWarning, UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.shares.attenuation import corrected_factors, reliability_lines
from outcomes.shares.attenuation import correction as true_scores
from outcomes.shares.bootstrap import CI_METHODS, CiMethod, Draws, rank_probabilities
from outcomes.shares.metrics import ADDITIVE, METHODS, Method, share_statistic
from outcomes.shares.missing import design_for, missingness_of, pooled
from outcomes.shares.missingness import MissingnessReport

__all__ = ["decompose", "Decomposition"]


@renamed(ci="ci_method")
@shared_parameters
def decompose(
    data: pd.DataFrame,
    outcome: str,
    factors: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    covariates: Sequence[str] = (),
    method: Method = "lmg",
    n_boot: int = 0,
    cluster: str | None = None,
    weights: str | Sequence[float] | None = None,
    ci_method: CiMethod = "bca",
    ci_level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    engine: Literal["pandas", "dask"] | None = None,
    reliability: Mapping[str, float | str] | str | None = None,
    items: Mapping[str, Sequence[str]] | pd.DataFrame | None = None,
    missing: Literal["listwise", "mi", "em"] = "listwise",
    n_imputations: int | None = None,
) -> Decomposition:
    """Split the outcome's explained variance among factors.

    Parameters
    ----------
    data : DataFrame, Dask DataFrame, or path
        One row per client (engagement); not modified. A Dask DataFrame (or a path or glob
        of Parquet or CSV files with ``engine="dask"``) is read partition by partition and
        gives the same numbers; see ``docs/partitioned.md``.
    outcome : str
        Outcome column (numeric).
    factors : mapping of str to list of str, or list of str
        Factor name -> its columns (the columns act together as one player), or a list of
        columns, each its own factor. Non-numeric or category columns become dummy blocks.
    {covariates}
    method : {"lmg", "dominance", "pratt", "relative_weights", "first", "last", "betasq", "car"}
        How to split; see :mod:`outcomes.shares.metrics`. ``lmg`` is the default and the
        recommendation.
    {n_boot}
    {cluster}
    weights : str or sequence of float, optional
        Case or survey weights (a column name or one value per row); moments are weighted.
    {ci_method}
    {ci_level}
    {seed}
    {engine}
    reliability : mapping of str to float or str, or "estimate", optional
        Shares of true scores, from the covariance matrix with each corrected column's
        variance times its reliability (a number in (0, 1], or ``"estimate"`` from
        ``items``; the bootstrap re-estimates it in every replicate). The outcome is
        corrected only if named; see :mod:`outcomes.shares.attenuation`.
    items : mapping of str to list of str, or DataFrame, optional
        The items of estimated columns: ``{{column: [item columns]}}``, or the study's
        responses when ``data`` is its analysis table.
    {missing}
    {n_imputations}

    Returns
    -------
    Decomposition
        ``.r2`` is the R² of the full model (covariates included), ``.r2_covariates`` that
        of the covariates alone; for lmg, dominance, pratt, relative_weights and car the
        ``.shares`` sum to ``.r2 - .r2_covariates`` (to ``.r2`` without covariates).

    Notes
    -----
    With ``cluster`` the bootstrap resamples whole clusters and the BCa jackknife leaves one
    cluster out at a time. With Dask data and no ``cluster``, rows are resampled with
    Poisson(1) weights (the Poisson bootstrap), not by the multinomial draw of the in-memory
    path. ``ci=`` is the old name of ``ci_method=``.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame(rng.normal(size=(200, 4)), columns=["wai", "srs", "ahs", "gse"])
    >>> df["ors_end"] = df.wai + df.srs + 0.5 * df.ahs + df.gse + 2 * rng.normal(size=200)
    >>> d = decompose(df, "ors_end", {"relationship": ["wai", "srs"], "expectancy": ["ahs"],
    ...                               "client": ["gse"]}, n_boot=200, seed=1)
    >>> d.relative.round(2).tolist()
    [0.52, 0.04, 0.44]
    >>> d.ci.columns.tolist()
    ['factor', 'quantity', 'estimate', 'std_error', 'ci_low', 'ci_high']
    """
    check_choice(method, "method", METHODS, "decompose")
    check_choice(ci_method, "ci_method", CI_METHODS, "decompose")
    ci_level = check_ci_level(ci_level, "decompose")
    n_boot = check_n_boot(n_boot, "decompose")
    seed = check_seed(seed, "decompose")
    covariates = check_covariates(covariates, "decompose")
    design = design_for(missing, data, outcome, factors, covariates=covariates, weights=weights,
                        cluster=cluster, engine=engine, n_imputations=n_imputations, seed=seed,
                        reliability=reliability)
    statistic = share_statistic(design, method)
    if reliability is None and items is not None:
        raise UsageError("decompose(): items= serves reliability='estimate'; give both.")
    correction = None if reliability is None else true_scores(
        design, data, reliability, items=items, weights=weights, cluster=cluster)
    cross = design.cross if correction is None else correction.cross
    estimate, r2_cov = pooled(design, statistic, cross)
    draws = None
    if n_boot:
        draws = (correction or design).draws(statistic, n_boot=n_boot, seed=seed,
                             jackknife=ci_method == "bca", by_cluster=cluster is not None)
        if draws.n_failed:
            warnings.warn(
                f"{draws.n_failed} of {n_boot} bootstrap replicates could not be computed "
                "(a column did not vary in them) and were left out.",
                DataWarning,
                stacklevel=3,
            )
    result = _build(design, method, estimate, r2_cov, draws, ci_method, ci_level, n_boot)
    result = replace(result, missingness=missingness_of(design, data, outcome, factors,
                                                        covariates=covariates))
    if correction is not None:
        result = replace(result, reliability=correction.table)
    return result


def _build(design, method, estimate, r2_cov, draws, ci_method, ci_level,
           n_boot) -> Decomposition:
    names = list(design.names)
    p = len(names)
    shares = pd.Series(estimate[:p], index=pd.Index(names, name="factor"), name="share")
    extra: dict[str, Any] = {}
    if draws is not None:
        extra = _bootstrap_tables(draws, names, ci_method, ci_level)
    return Decomposition(
        outcome=design.outcome,
        method=method,
        factors=design.factors,
        covariates=design.covariates,
        shares=shares,
        r2=float(estimate[p]),
        r2_covariates=float(r2_cov),
        n=design.n,
        n_dropped=design.n_dropped,
        ci_level=ci_level,
        ci_method=ci_method if draws is not None else None,
        n_boot=int(n_boot),
        n_clusters=design.n_clusters,
        draws=draws,
        **extra,
    )


def _relative(rows: np.ndarray) -> np.ndarray:
    p = rows.shape[1] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return rows[:, :p] / rows[:, :p].sum(axis=1, keepdims=True)


def _differences(rows: np.ndarray) -> np.ndarray:
    p = rows.shape[1] - 1
    pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
    return np.column_stack([rows[:, i] - rows[:, j] for i, j in pairs] or [rows[:, :0]])


def _bootstrap_tables(draws: Draws, names, ci_method, ci_level) -> dict[str, Any]:
    p = len(names)
    parts = []
    for quantity, d, labels in (
        ("share", draws.map(lambda r: r[:, :p]), names),
        ("relative", draws.map(_relative), names),
        ("r2", draws.map(lambda r: r[:, p:]), [None]),
    ):
        low, high = d.interval(ci_method, ci_level)
        parts.append(pd.DataFrame({
            "factor": labels, "quantity": quantity, "estimate": d.estimate,
            "std_error": d.std_error(), "ci_low": low, "ci_high": high,
        }))
    table = pd.concat(parts, ignore_index=True)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    differences = None
    if pairs:
        d = draws.map(_differences)
        low, high = d.interval(ci_method, ci_level)
        differences = pd.DataFrame({
            "factor": [a for a, _ in pairs], "other": [b for _, b in pairs],
            "estimate": d.estimate, "std_error": d.std_error(), "ci_low": low, "ci_high": high,
        })
    ranks = pd.DataFrame(
        rank_probabilities(draws.replicates[:, :p]),
        index=pd.Index(names, name="factor"),
        columns=pd.Index(range(1, p + 1), name="rank"),
    )
    return {"ci": table, "differences": differences, "rank_probabilities": ranks}


@dataclass(frozen=True, eq=False, repr=False)
class Decomposition(Result):
    """Each factor's share of the outcome's variance, with optional bootstrap intervals.

    ``.r2`` is the R² of the full model (covariates included) and ``.r2_covariates`` the R²
    of the covariates alone. ``.shares`` (by factor, in the order given) are in R² units;
    for the additive methods (lmg, dominance, pratt, relative_weights, car) they sum to
    ``.r2 - .r2_covariates``. ``.relative`` is shares divided by their sum. ``.ci`` is a
    tidy frame (factor, quantity = share | relative | r2, estimate, std_error, ci_low,
    ci_high) when bootstrapped; ``.differences`` gives pairwise share differences and
    ``.rank_probabilities`` the share of replicates in which each factor takes each rank.
    """

    outcome: str
    method: str
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    shares: pd.Series
    r2: float
    r2_covariates: float
    n: int
    n_dropped: int
    ci_level: float = 0.95
    ci_method: str | None = None
    n_boot: int = 0
    n_clusters: int | None = None
    ci: pd.DataFrame | None = None
    differences: pd.DataFrame | None = None
    rank_probabilities: pd.DataFrame | None = None
    draws: Draws | None = field(default=None, repr=False)
    reliability: pd.DataFrame | None = None
    missingness: MissingnessReport | None = field(default=None, repr=False)

    @property
    def corrected(self) -> tuple[str, ...]:
        """The factors whose shares are corrected for unreliability (true-score shares)."""
        return corrected_factors(self.reliability, list(self.shares.index))

    cluster_count = old_attribute("cluster_count", "n_clusters")

    def headline(self) -> str:
        """R², the number of factors and method, n, and the intervals if any."""
        p = len(self.shares)
        text = (f"R² {self.r2:.3f} shared by {p} factor{'s' * (p != 1)} ({self.method}), "
                f"n = {self.n}")
        if self.covariates:
            text += f", covariates take {self.r2_covariates:.3f}"
        if self.ci is not None:
            text += f", {round(100 * self.ci_level, 1):g} % {self.ci_method} intervals"
        if self.reliability is not None:
            text += f", {len(self.corrected)} of {p} corrected for unreliability"
        if self.missingness is not None and self.missingness.method != "listwise":
            text += f", missing values by {self.missingness.method}"
        return text

    @property
    def relative(self) -> pd.Series:
        """Shares divided by their sum (sums to 1)."""
        return (self.shares / self.shares.sum()).rename("relative")

    @property
    def additive(self) -> bool:
        """Whether the shares add up to the split R² (lmg, dominance, pratt, ...)."""
        return self.method in ADDITIVE

    def table(self) -> pd.DataFrame:
        """One row per factor and quantity (share, relative) plus the model R²."""
        names = list(self.shares.index)
        rows = pd.DataFrame({
            "factor": names * 2 + [None],
            "quantity": ["share"] * len(names) + ["relative"] * len(names) + ["r2"],
            "estimate": [*self.shares, *self.relative, self.r2],
        })
        if self.ci is not None:
            ci = self.ci[["std_error", "ci_low", "ci_high"]].reset_index(drop=True)
            rows = pd.concat([rows, ci], axis=1)
        else:
            rows = rows.assign(std_error=np.nan, ci_low=np.nan, ci_high=np.nan)
        return rows.assign(n=self.n)

    def _interval(self, name, quantity="share"):
        if self.ci is None:
            return None, None
        row = self.ci[(self.ci.quantity == quantity) & (self.ci.factor == name)].iloc[0]
        return float(row.ci_low), float(row.ci_high)

    def summary(self) -> Summary:
        """Text report of the split."""
        lines = [
            f"Share of {self.outcome!r} by {self.method} (n = {self.n}"
            + (f", {self.n_dropped} rows with missing values left out)" if self.n_dropped else ")"),
            f"R² of the full model: {self.r2:.4f}",
        ]
        if self.covariates:
            lines.append(
                f"R² of the covariates ({', '.join(self.covariates)}), taken first: "
                f"{self.r2_covariates:.4f}; the factors share the remaining "
                f"{self.r2 - self.r2_covariates:.4f}."
            )
        names = list(self.shares.index)
        shown = pd.DataFrame({"factor": names, "share": self.shares.to_numpy(),
                              "relative %": 100 * self.relative.to_numpy()})
        if self.ci is not None:
            for q, label, scale in (("share", "share", 1), ("relative", "relative %", 100)):
                ends = [self._interval(n, q) for n in names]
                shown[f"{label} interval"] = [f"[{scale * a:.3f}, {scale * b:.3f}]"
                                              for a, b in ends]
        lines += ["", text_table(shown), ""]
        if self.additive:
            lines.append("Shares are in R² units and add up to the R² split among the factors.")
        else:
            lines.append(
                f"{self.method} shares are in R² units but do not add up to R²; "
                "relative shares are rescaled to sum to 100 %."
            )
        if self.ci is not None:
            unit = f"{self.n_clusters} clusters resampled whole" if self.n_clusters \
                else "rows resampled"
            level = round(100 * self.ci_level, 1)
            lines.append(f"{level:g} % {self.ci_method} intervals from {self.n_boot} "
                         f"bootstrap replicates ({unit}).")
        if self.reliability is not None:
            lines += ["", *reliability_lines(self.reliability, list(self.shares.index),
                                             self.ci is not None)]
        if self.missingness is not None and (self.missingness.n_incomplete or self.n_dropped):
            lines += ["", *self.missingness.lines()]
        return Summary("\n".join(lines))

    def to_dict(self, reference: str | None = "asay-lambert-1999") -> dict[str, Any]:
        """JSON-safe dict in the ``outcomes decompose --json`` layout."""
        factors = {}
        for name in self.shares.index:
            entry = {
                "columns": list(self.factors[name]),
                "share": self.shares[name],
                "relative": self.relative[name],
            }
            if self.ci is not None:
                entry["ci_low"], entry["ci_high"] = self._interval(name)
                entry["relative_ci_low"], entry["relative_ci_high"] = self._interval(
                    name, "relative")
            factors[name] = entry
        out: dict[str, Any] = {
            "method": self.method, "n": self.n, "n_dropped": self.n_dropped, "r2": self.r2,
            "r2_covariates": self.r2_covariates, "outcome": self.outcome,
            "covariates": list(self.covariates), "factors": factors,
        }
        if self.ci is not None:
            r2_row = self.ci[self.ci.quantity == "r2"].iloc[0]
            out["r2_ci_low"], out["r2_ci_high"] = r2_row.ci_low, r2_row.ci_high
            out.update(ci_level=self.ci_level, ci_method=self.ci_method, n_boot=self.n_boot)
        if self.reliability is not None:
            for name, entry in factors.items():
                entry["corrected"] = name in self.corrected
            out["reliability"] = self.reliability.to_dict(orient="records")
        if self.missingness is not None:
            out["missing"] = self.missingness.to_dict()
        if reference is not None:
            try:
                out["reference"] = self.compare(reference).to_dict()
            except UsageError as error:
                out["reference"] = {"key": reference, "note": str(error)}
        return jsonable(out)

    def compare(self, reference: str = "asay-lambert-1999", *, mapping=None):
        """Set the shares beside a reference split (see :mod:`outcomes.reference`)."""
        from outcomes.reference import compare

        p = len(self.shares)
        kwargs: dict[str, Any] = {}
        if self.draws is not None:
            names = list(self.shares.index)
            reps = pd.DataFrame(self.draws.replicates[:, :p], columns=names)
            kwargs["replicates"] = reps.assign(r2=self.draws.replicates[:, p])
            if self.draws.jackknife is not None:
                jack = pd.DataFrame(self.draws.jackknife[:, :p], columns=names)
                kwargs["jackknife"] = jack.assign(r2=self.draws.jackknife[:, p])
            method = self.ci_method or "percentile"
            kwargs["ci_method"] = method
            kwargs["interval"] = lambda est, reps, jack: Draws(est, reps, jack).interval(
                method, self.ci_level)
        return compare(self.shares, reference, r2=self.r2, additive=self.additive,
                       ci_level=self.ci_level, mapping=mapping, **kwargs)

    def plot(self, ax=None, *, reference: str | None = None):
        """Bars of the shares with interval whiskers; beside a reference split if given."""
        if reference is not None:
            return self.compare(reference).plot(ax=ax)
        from outcomes._plotting import share_bars

        names = list(self.shares.index)
        low = high = None
        if self.ci is not None:
            pairs = [self._interval(n) for n in names]
            low, high = [a for a, _ in pairs], [b for _, b in pairs]
        return share_bars(ax, names, self.shares.to_numpy(), low=low, high=high,
                          ylabel=f"share of {self.outcome} variance ({self.method})")
