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
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_choice,
    check_ci_level,
    check_covariates,
    check_n_boot,
    check_seed,
    renamed,
    shared_parameters,
)
from outcomes._errors import DataWarning, OutcomesError, UsageError
from outcomes.shares._decomposition_result import Decomposition
from outcomes.shares.attenuation import correction as true_scores
from outcomes.shares.bootstrap import CI_METHODS, CiMethod, Draws, rank_probabilities
from outcomes.shares.metrics import METHODS, Method, share_statistic
from outcomes.shares.missing import IncompleteDesign, design_for, missingness_of, pooled

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
        ``.shares`` sum to ``.r2 - .r2_covariates`` (to ``.r2`` without covariates). With
        ``missing="mi"`` or ``"em"``, ``.complete_cases`` holds the same model on the clients
        with every value, which ``summary()`` sets beside the intention-to-treat shares.

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
    if isinstance(design, IncompleteDesign) and design.report.n_incomplete:
        result = replace(result, complete_cases=_complete_cases(
            data, outcome, factors, method, covariates=covariates, weights=weights,
            cluster=cluster, ci_level=ci_level))
    return result


def _complete_cases(data, outcome, factors, method, *, covariates, weights, cluster,
                    ci_level) -> Decomposition | None:
    """The point estimates of the same model on the clients with every value (listwise),
    set beside intention-to-treat shares; None when complete cases cannot carry the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            design = design_for("listwise", data, outcome, factors, covariates=covariates,
                                weights=weights, cluster=cluster)
            estimate, r2_cov = pooled(design, share_statistic(design, method))
        except OutcomesError:
            return None
    return _build(design, method, estimate, r2_cov, None, None, ci_level, 0)


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
