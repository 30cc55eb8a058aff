"""The design behind every share: a numeric model matrix from a tidy frame, once.

:func:`prepare` turns a DataFrame, an outcome, factors (groups of columns acting as one
player; categorical columns become dummy blocks) and always-in covariates into the
sufficient statistics the all-subsets engine works on, after listwise deletion (counted and
warned about) and with optional case weights and cluster ids. :func:`standardise` gives the
partial correlations of the factors' columns and the outcome given the covariates.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes._errors import DataError, DataWarning, ModelError, UsageError
from outcomes.subsets import (
    Moments,
    UnitMoments,
    check_estimable,
    correlation,
    partial_correlation,
)

__all__ = ["Design", "prepare", "standardise", "local_players"]


@dataclass(frozen=True, eq=False)
class Design:
    """Numeric model matrix of factors, covariates and outcome after listwise deletion."""

    matrix: np.ndarray  # (n, k): factor columns in player order, covariates, outcome last
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

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    def units(self, *, by_cluster: bool = True) -> UnitMoments:
        """Per-row or per-cluster sums for the bootstrap."""
        groups = self.clusters if by_cluster else None
        return UnitMoments.from_arrays(self.matrix, groups, self.weights)


def prepare(
    data, outcome, factors, *, covariates=(), weights=None, cluster=None, caller="decompose"
) -> Design:
    """Check the inputs and build the model matrix (used by decompose and dominance)."""
    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"{caller}() needs a pandas DataFrame, not {type(data).__name__}.")
    groups = _factor_groups(factors, caller)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    used = [c for cols in groups.values() for c in cols]
    _check_names(data, outcome, used, covariates, caller)
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
    )  # fmt: skip


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
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise DataError(
            f"the outcome must be numeric, but it holds {values.dtype} values",
            column=name,
            fix="Convert it to numbers or choose a numeric score column.",
        )
    y = values.to_numpy(dtype=float)
    if len(y) and np.ptp(y) == 0:
        raise ModelError(f'the outcome "{name}" has the same value in every row used.')
    return y


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
        levels = sorted(values.astype(str).unique())
        values = values.astype(str)
    if len(levels) < 2:
        raise ModelError(
            f'column "{name}" has one category in the rows used, so it cannot explain '
            "anything. Drop it from the factors or covariates."
        )
    dummies = np.column_stack([(values == lev).to_numpy(dtype=float) for lev in levels[1:]])
    return dummies, [f"{name}[{lev}]" for lev in levels[1:]]


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
