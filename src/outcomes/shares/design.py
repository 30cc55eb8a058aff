"""The design behind every share: a numeric model matrix from a tidy frame, once.

:func:`prepare` turns a DataFrame, an outcome, factors (groups of columns acting as one
player; categorical columns become dummy blocks) and always-in covariates into the
sufficient statistics the all-subsets engine works on, after listwise deletion (counted and
warned about) and with optional case weights and cluster ids. :func:`standardise` gives the
partial correlations of the factors' columns and the outcome given the covariates.

A Dask DataFrame gives the same design without a model matrix in memory: its moments and
per-cluster sums are gathered partition by partition (:mod:`outcomes.shares._gather`), and
:meth:`Design.draws` bootstraps from those sums (whole clusters) or with Poisson row
weights (cases). The checks and the encoding of each column are in
:mod:`outcomes.shares._columns`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

import numpy as np
import pandas as pd

from outcomes._checks import check_covariates
from outcomes._engine import as_frame, is_dask
from outcomes._errors import DataWarning, ModelError, UsageError
from outcomes.shares import _gather as _partitioned
from outcomes.shares._columns import (
    check_names,
    check_numeric_outcome,
    check_weights,
    column_kind,
    encode,
    factor_groups,
    numeric_outcome,
    require_column,
)
from outcomes.shares.bootstrap import Draws, bootstrap
from outcomes.shares.moments import (
    Moments,
    UnitMoments,
    check_estimable,
    correlation,
    partial_correlation,
)

__all__ = ["Design", "prepare", "standardise", "local_players"]


@dataclass(frozen=True, eq=False)
class Design:
    """Numeric model matrix of factors, covariates and outcome after listwise deletion.

    For partitioned (Dask) data ``matrix`` is None: ``cross`` and the per-cluster sums
    ``cluster_units`` were gathered partition by partition, and ``source`` keeps the frame
    and its reading spec for a Poisson bootstrap of rows.
    """

    matrix: np.ndarray | None  # (n, k): factor columns in player order, covariates, outcome
    columns: tuple[str, ...]
    players: tuple[tuple[int, ...], ...]
    covariate_index: tuple[int, ...]
    names: tuple[str, ...]
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    outcome: str
    weights: np.ndarray | None
    clusters: np.ndarray | None
    n_dropped: int
    cross: np.ndarray  # weighted centred cross-products of ``matrix``
    n_rows: int = -1  # rows used (partitioned data)
    cluster_units: UnitMoments | None = None  # per-cluster sums (partitioned data)
    source: tuple | None = None  # (frame, spec, moments) of partitioned data

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0]) if self.matrix is not None else self.n_rows

    @property
    def n_clusters(self) -> int | None:
        """Number of clusters, when a cluster column was given."""
        if self.clusters is not None:
            return len(np.unique(self.clusters))
        return None if self.cluster_units is None else self.cluster_units.n_units

    def units(self, *, by_cluster: bool = True) -> UnitMoments:
        """Per-row or per-cluster sums for the bootstrap."""
        if self.matrix is None:
            if by_cluster and self.cluster_units is not None:
                return self.cluster_units
            raise UsageError("per-row sums of partitioned data are not kept; rows are "
                             "resampled with Poisson weights (Design.draws).")
        groups = self.clusters if by_cluster else None
        return UnitMoments.from_arrays(self.matrix, groups, self.weights)

    def draws(self, statistic, *, n_boot: int, seed, jackknife: bool,
              by_cluster: bool) -> Draws:
        """Bootstrap ``statistic``: whole clusters, rows, or Poisson row weights (Dask)."""
        if self.matrix is None and not (by_cluster and self.cluster_units is not None):
            frame, spec, moments = self.source  # type: ignore[misc]
            return _partitioned.poisson_draws(frame, spec, moments, statistic, n_boot=n_boot,
                                              seed=seed, jackknife=jackknife,
                                              n_rows=self.n)
        return bootstrap(self.units(by_cluster=by_cluster), statistic, n_boot=n_boot,
                         seed=seed, jackknife=jackknife)


def prepare(
    data, outcome, factors, *, covariates=(), weights=None, cluster=None, caller="decompose",
    engine=None,
) -> Design:
    """Check the inputs and build the model matrix (used by decompose and dominance).

    ``data`` is a pandas or Dask DataFrame, or a path or glob of Parquet or CSV files read
    by ``engine`` ("pandas" or "dask").
    """
    data = as_frame(data, engine, caller)
    if not isinstance(data, pd.DataFrame) and not is_dask(data):
        raise UsageError(f"{caller}() needs a pandas or Dask DataFrame, not "
                         f"{type(data).__name__}.")
    groups = factor_groups(factors, caller)
    covariates = check_covariates(covariates, caller)
    used = [c for cols in groups.values() for c in cols]
    check_names(data, outcome, used, covariates, caller)
    if is_dask(data):
        return _prepare_partitioned(data, outcome, groups, covariates, weights, cluster, caller)
    frame, extra, n_dropped = _listwise(data, [*used, *covariates, outcome], weights, cluster,
                                        caller)
    y = numeric_outcome(frame[outcome], outcome)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    players: list[tuple[int, ...]] = []
    for cols in [*groups.values(), *[[c] for c in covariates]]:
        start = len(names)
        for col in cols:
            values, labels = encode(frame[col], col)
            blocks.append(values)
            names.extend(labels)
        players.append(tuple(range(start, len(names))))
    cov_index = tuple(i for p in players[len(groups) :] for i in p)
    players = players[: len(groups)]
    matrix = np.column_stack([*blocks, y]) if blocks else y[:, None]
    w = None if "weights" not in extra else check_weights(extra["weights"].to_numpy())
    clusters = None if "cluster" not in extra else extra["cluster"].astype(str).to_numpy()
    n_param = len(names) + 1
    if len(matrix) <= n_param:
        raise ModelError(
            f"{len(matrix)} complete rows are too few for {len(names)} predictor columns "
            f"and an intercept; at least {n_param + 1} are needed."
            + _emptiest(data, [outcome, *used, *covariates])
        )
    cross = Moments.from_arrays(matrix, w).cross
    check_estimable(cross, [*names, outcome], outcome=outcome)
    return Design(
        matrix, tuple(names) + (outcome,), tuple(players), cov_index, tuple(groups),
        {k: tuple(v) for k, v in groups.items()}, covariates, outcome, w, clusters, n_dropped,
        cross,
    )


















def _emptiest(data: pd.DataFrame, columns: list[str]) -> str:
    """Which columns leave the rows incomplete: those empty in every row, else the three
    most often missing."""
    missing = data[list(dict.fromkeys(columns))].isna().sum()
    empty = [str(c) for c, n in missing.items() if n == len(data)]
    if empty:
        return (f" Empty in every row: {', '.join(empty)}. Nothing fed them; for a study, "
                "`outcomes score` (or analysis_table().attrs['notes']) says which responses "
                "feed which column.")
    worst = [f"{c} ({n} missing)" for c, n in missing.sort_values(ascending=False).items() if n]
    return f" Most often missing: {', '.join(worst[:3])}." if worst else ""


def _listwise(data, columns, weights, cluster, caller):
    """Keep the rows complete in ``columns``, weights and cluster; warn how many were not.

    Returns ``(frame, extra, n_dropped)``: ``extra`` holds the weights and cluster values
    of the rows kept, by label.
    """
    extra, shown_as = {}, {}
    for label, value in (("weights", weights), ("cluster", cluster)):
        if value is None:
            continue
        shown_as[label] = value if isinstance(value, str) else label
        if isinstance(value, str):
            require_column(data, value, caller)
            extra[label] = data[value]
        else:
            values = np.asarray(value)
            if len(values) != len(data):
                raise UsageError(
                    f"{label} has {len(values)} values but the data have {len(data)} rows; "
                    "give a column name or one value per row."
                )
            extra[label] = pd.Series(values, index=data.index)
    frame = data[columns]
    missing = frame.isna().to_numpy()
    extra_missing = {k: pd.isna(v).to_numpy() for k, v in extra.items()}
    dropped = missing.any(axis=1)
    for m in extra_missing.values():
        dropped = dropped | m
    n_dropped = int(dropped.sum())
    if n_dropped:
        counts = {c: int(n) for c, n in zip(frame.columns, missing.sum(axis=0), strict=True)}
        counts.update({shown_as[k]: int(m.sum()) for k, m in extra_missing.items()})
        where = ", ".join(f'"{c}" ({n})' for c, n in counts.items() if n > 0)
        warnings.warn(
            f"{n_dropped} of {len(frame)} rows have missing values and were left out "
            f"(missing per column: {where}).",
            DataWarning,
            stacklevel=_outside(),
        )
        frame = frame.loc[~dropped]
        extra = {k: v.loc[~dropped] for k, v in extra.items()}
    return frame, extra, n_dropped


def _outside() -> int:
    """The ``stacklevel`` of the first caller outside this package, for warnings."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("outcomes."):
        frame, level = frame.f_back, level + 1
    return level


def standardise(cross, design: Design):
    """Partial correlations of factor columns and outcome given the covariates.

    Returns ``(P, v)``: ``P`` (..., q, q) with the outcome last, and ``v = 1 - R²`` of the
    outcome on the covariates alone, so that ``R²(covariates + S) = 1 - v + v R²_P(S)``.
    """
    k = np.asarray(cross).shape[-1]
    factor_cols = [i for p in design.players for i in p]
    keep = [*factor_cols, k - 1]
    P, resid = partial_correlation(correlation(cross), keep, design.covariate_index)
    return P, resid[..., -1]


def local_players(design: Design) -> list[list[int]]:
    """Player column indices within the partial correlation matrix ``P``."""
    out, start = [], 0
    for p in design.players:
        out.append(list(range(start, start + len(p))))
        start += len(p)
    return out




def _prepare_partitioned(data, outcome, groups, covariates, weights, cluster, caller) -> Design:
    """The design of a Dask frame, from statistics gathered partition by partition."""
    for label, value in (("weights", weights), ("cluster", cluster)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{caller}(): with a Dask frame, give {label} as a column name.")
        if value is not None:
            require_column(data, value, caller)
    check_numeric_outcome(data.dtypes[outcome], outcome)
    columns = [c for cols in [*groups.values(), *[[c] for c in covariates]] for c in cols]
    dtypes = data.dtypes
    kinds = {c: column_kind(dtypes[c], c, caller) for c in columns}
    spec = _partitioned.Spec(tuple(columns), outcome, kinds, weights, cluster)
    if any(k != "numeric" for k in kinds.values()):
        categories: dict[str, Sequence] = {
            c: list(dtypes[c].categories) for c in columns if kinds[c] == "category"
        }
        spec = _partitioned.Spec(tuple(columns), outcome, kinds, weights, cluster,
                                 _partitioned.scan_levels(data, spec, categories))
        for c in columns:
            if kinds[c] != "numeric" and len(spec.levels[c]) < 2:
                raise ModelError(
                    f'column "{c}" has one category in the rows used, so it cannot explain '
                    "anything. Drop it from the factors or covariates."
                )
    totals = _partitioned.gather(data, spec)
    used = list(dict.fromkeys(spec.used))
    if totals.n_dropped:
        shown = {c: (weights if c == weights else cluster if c == cluster else c) for c in used}
        where = ", ".join(f'"{shown[c]}" ({int(n)})'
                          for c, n in zip(used, totals.missing, strict=True) if n > 0)
        warnings.warn(
            f"{totals.n_dropped} of {totals.n_input} rows have missing values and were left "
            f"out (missing per column: {where}).",
            DataWarning,
            stacklevel=_outside(),
        )
    names: list[str] = []
    players: list[tuple[int, ...]] = []
    position = 0
    n = totals.n_input - totals.n_dropped
    if n and totals.high[-1] == totals.low[-1]:
        raise ModelError(f'the outcome "{outcome}" has the same value in every row used.')
    for cols in [*groups.values(), *[[c] for c in covariates]]:
        start = len(names)
        for col in cols:
            if kinds[col] == "numeric":
                if n and totals.high[position] == totals.low[position]:
                    raise ModelError(
                        f'column "{col}" has the same value in every row used, so it cannot '
                        "explain anything. Drop it from the factors or covariates."
                    )
                names.append(col)
                position += 1
            else:
                names.extend(f"{col}[{lev}]" for lev in spec.levels[col][1:])
                position += len(spec.levels[col]) - 1
        players.append(tuple(range(start, len(names))))
    cov_index = tuple(i for p in players[len(groups) :] for i in p)
    if weights is not None and (not totals.weight_ok or not totals.moments.weight > 0):
        check_weights([-1.0])  # raises the in-memory message
    if n <= len(names) + 1:
        raise ModelError(
            f"{n} complete rows are too few for {len(names)} predictor columns "
            f"and an intercept; at least {len(names) + 2} are needed."
        )
    cross = totals.moments.cross
    check_estimable(cross, [*names, outcome], outcome=outcome)
    return Design(
        None, tuple(names) + (outcome,), tuple(players[: len(groups)]), cov_index,
        tuple(groups), {k: tuple(v) for k, v in groups.items()}, covariates, outcome, None,
        None, totals.n_dropped, cross, n_rows=n, cluster_units=totals.units,
        source=(data, spec, totals.moments),
    )
