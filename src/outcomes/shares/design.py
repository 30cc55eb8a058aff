"""The design behind every share: a numeric model matrix from a tidy frame, once.

:func:`prepare` turns a DataFrame, an outcome, factors (groups of columns acting as one
player; categorical columns become dummy blocks) and always-in covariates into the
sufficient statistics the all-subsets engine works on, after listwise deletion (counted and
warned about) and with optional case weights and cluster ids. :func:`standardise` gives the
partial correlations of the factors' columns and the outcome given the covariates.

A Dask DataFrame gives the same design without a model matrix in memory: its moments and
per-cluster sums are gathered partition by partition (:mod:`outcomes.shares._gather`), and
:meth:`Design.draws` bootstraps from those sums (whole clusters) or with Poisson row
weights (cases).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes._engine import as_frame, is_dask
from outcomes._errors import DataError, DataWarning, ModelError, UsageError
from outcomes.shares import _gather as _partitioned
from outcomes.shares.bootstrap import Draws, bootstrap
from outcomes.shares.subsets import (
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
    def cluster_count(self) -> int | None:
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
    groups = _factor_groups(factors, caller)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    used = [c for cols in groups.values() for c in cols]
    _check_names(data, outcome, used, covariates, caller)
    if is_dask(data):
        return _prepare_partitioned(data, outcome, groups, covariates, weights, cluster, caller)
    extra, shown_as = {}, {}
    for label, value in (("weights", weights), ("cluster", cluster)):
        if value is None:
            continue
        shown_as[label] = value if isinstance(value, str) else label
        if isinstance(value, str):
            _require_column(data, value, caller)
            extra[label] = data[value]
        else:
            values = np.asarray(value)
            if len(values) != len(data):
                raise UsageError(
                    f"{label} has {len(values)} values but the data have {len(data)} rows; "
                    "give a column name or one value per row."
                )
            extra[label] = pd.Series(values, index=data.index)
    frame = data[[*used, *covariates, outcome]]
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
            stacklevel=3,
        )
        frame = frame.loc[~dropped]
        extra = {k: v.loc[~dropped] for k, v in extra.items()}
    y = _numeric_outcome(frame[outcome], outcome)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    players: list[tuple[int, ...]] = []
    for cols in [*groups.values(), *[[c] for c in covariates]]:
        start = len(names)
        for col in cols:
            values, labels = _encode(frame[col], col)
            blocks.append(values)
            names.extend(labels)
        players.append(tuple(range(start, len(names))))
    cov_index = tuple(i for p in players[len(groups) :] for i in p)
    players = players[: len(groups)]
    matrix = np.column_stack([*blocks, y]) if blocks else y[:, None]
    w = None if "weights" not in extra else _check_weights(extra["weights"].to_numpy())
    clusters = None if "cluster" not in extra else extra["cluster"].astype(str).to_numpy()
    n_param = len(names) + 1
    if len(matrix) <= n_param:
        raise ModelError(
            f"{len(matrix)} complete rows are too few for {len(names)} predictor columns "
            f"and an intercept; at least {n_param + 1} are needed."
        )
    cross = Moments.from_arrays(matrix, w).cross
    check_estimable(cross, [*names, outcome], outcome=outcome)
    return Design(
        matrix, tuple(names) + (outcome,), tuple(players), cov_index, tuple(groups),
        {k: tuple(v) for k, v in groups.items()}, covariates, outcome, w, clusters, n_dropped,
        cross,
    )


def _factor_groups(factors, caller: str) -> dict[str, list[str]]:
    if isinstance(factors, str):
        factors = [factors]
    if isinstance(factors, Mapping):
        groups = {str(k): [v] if isinstance(v, str) else list(v) for k, v in factors.items()}
    elif isinstance(factors, Sequence):
        groups = {str(c): [c] for c in factors}
    else:
        raise UsageError(
            f"{caller}(): factors must map factor names to column lists, or list columns."
        )
    if not groups:
        raise UsageError(f"{caller}(): give at least one factor.")
    for name, cols in groups.items():
        if not cols:
            raise UsageError(f'{caller}(): factor "{name}" has no columns; give at least one.')
    seen: dict[str, str] = {}
    for name, cols in groups.items():
        for c in cols:
            if c in seen:
                raise UsageError(
                    f'column "{c}" is in factor "{seen[c]}" and in "{name}"; '
                    "a column can belong to one factor only."
                )
            seen[c] = name
    return groups


def _require_column(data: pd.DataFrame, column: str, caller: str) -> None:
    if column not in data.columns:
        shown = ", ".join(map(str, list(data.columns)[:20]))
        raise DataError(
            f"{caller}() needs this column but the data have no such column",
            column=column,
            fix=f"Columns present: {shown}.",
        )


def _check_names(data, outcome, used, covariates, caller) -> None:
    for col in [outcome, *used, *covariates]:
        _require_column(data, col, caller)
    if outcome in used or outcome in covariates:
        raise UsageError(f'the outcome "{outcome}" cannot also be a factor or covariate.')
    if len(set(covariates)) != len(covariates):
        raise UsageError(f"covariates {list(covariates)} name a column twice; name each once.")
    both = sorted(set(used) & set(covariates))
    if both:
        raise UsageError(
            f"columns {both} are both factor columns and covariates; use each in one role."
        )


def _numeric_outcome(values: pd.Series, name: str) -> np.ndarray:
    _check_numeric_outcome(values.dtype, name)
    y = values.to_numpy(dtype=float)
    if len(y) and np.ptp(y) == 0:
        raise ModelError(f'the outcome "{name}" has the same value in every row used.')
    return y


def _check_numeric_outcome(dtype, name: str) -> None:
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        raise DataError(
            f"the outcome must be numeric, but it holds {dtype} values",
            column=name,
            fix="Convert it to numbers or choose a numeric score column.",
        )


def _encode(values: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """A numeric column as is; a categorical one as dummies (first level = reference)."""
    is_category = isinstance(values.dtype, pd.CategoricalDtype)
    if not is_category and (
        pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    ):
        x = values.to_numpy(dtype=float)
        if len(x) and np.ptp(x) == 0:
            raise ModelError(
                f'column "{name}" has the same value in every row used, so it cannot '
                "explain anything. Drop it from the factors or covariates."
            )
        return x[:, None], [name]
    if is_category:
        levels = [c for c in values.cat.categories if (values == c).any()]
    else:
        _refuse_numbers_with_text(values, name)
        levels = sorted(values.astype(str).unique())
        values = values.astype(str)
    if len(levels) < 2:
        raise ModelError(
            f'column "{name}" has one category in the rows used, so it cannot explain '
            "anything. Drop it from the factors or covariates."
        )
    dummies = np.column_stack([(values == lev).to_numpy(dtype=float) for lev in levels[1:]])
    return dummies, [f"{name}[{lev}]" for lev in levels[1:]]


def _refuse_numbers_with_text(values: pd.Series, name: str) -> None:
    """A text column that is mostly numbers is a number column with a typo, not categories."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().mean() < 0.5:
        return
    label = values.index[numbers.isna().to_numpy()][0]
    row = int(label) if isinstance(label, int | np.integer) else label
    where = f"row {row}" if values.index.name == "row" else f"the row with index {row!r}"
    raise DataError(
        f"{values[label]!r} in {where} is not a number, though most of the column is",
        file=values.attrs.get("source_file"),
        column=name,
        fix="Correct or empty that cell (empty cells are left out), or make the column a "
            "pandas category if it really holds categories.",
    )


def _check_weights(w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise DataError(
            "weights must be finite and non-negative with a positive sum",
            column="weights",
            fix="Check the weight column for negative or infinite values.",
        )
    return w


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


def _kind(dtype, name: str, caller: str) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        if dtype.categories is None or "__UNKNOWN_CATEGORIES__" in list(dtype.categories):
            raise UsageError(
                f'{caller}(): column "{name}" is categorical with unknown categories in the '
                "Dask frame. Make them known first (frame[col] = frame[col].cat.as_known()) "
                "or leave the column as text; its levels are then found across partitions."
            )
        return "category"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return "numeric"
    return "text"


def _prepare_partitioned(data, outcome, groups, covariates, weights, cluster, caller) -> Design:
    """The design of a Dask frame, from statistics gathered partition by partition."""
    for label, value in (("weights", weights), ("cluster", cluster)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{caller}(): with a Dask frame, give {label} as a column name.")
        if value is not None:
            _require_column(data, value, caller)
    _check_numeric_outcome(data.dtypes[outcome], outcome)
    columns = [c for cols in [*groups.values(), *[[c] for c in covariates]] for c in cols]
    dtypes = data.dtypes
    kinds = {c: _kind(dtypes[c], c, caller) for c in columns}
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
            stacklevel=4,
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
        _check_weights([-1.0])  # raises the in-memory message
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
