"""Checking and encoding the columns of a design: names, roles, types and weights.

Before any moment is gathered, :mod:`outcomes.shares.design` asks here whether the named
columns exist and each plays one role (outcome, factor, covariate), whether the outcome is
numeric and varies, and how each factor column enters the model matrix: a numeric column
as it is, a categorical or text column as dummy columns (first level the reference). A text
column that is mostly numbers is refused with the offending cell named, since it is a
number column with a typo rather than categories.

Examples
--------
>>> import pandas as pd
>>> values, labels = encode(pd.Series(["low", "high", "low"]), "level")
>>> labels, values[:, 0].tolist()
(['level[low]'], [1.0, 0.0, 1.0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes._checks import check_factors
from outcomes._errors import DataError, ModelError, UsageError

__all__ = ["factor_groups", "check_names", "require_column", "numeric_outcome",
           "check_numeric_outcome", "encode", "check_weights", "column_kind"]


def factor_groups(factors, caller: str) -> dict[str, list[str]]:
    """Factor name -> its columns (see :func:`outcomes._checks.check_factors`)."""
    return {name: list(cols) for name, cols in check_factors(factors, caller).items()}


def check_names(data, outcome, used, covariates, caller) -> None:
    for col in [outcome, *used, *covariates]:
        require_column(data, col, caller)
    if outcome in used or outcome in covariates:
        raise UsageError(f'the outcome "{outcome}" cannot also be a factor or covariate.')
    if len(set(covariates)) != len(covariates):
        raise UsageError(f"covariates {list(covariates)} name a column twice; name each once.")
    both = sorted(set(used) & set(covariates))
    if both:
        raise UsageError(
            f"columns {both} are both factor columns and covariates; use each in one role."
        )


def require_column(data: pd.DataFrame, column: str, caller: str) -> None:
    if column not in data.columns:
        shown = ", ".join(map(str, list(data.columns)[:20]))
        raise DataError(
            f"{caller}() needs this column but the data have no such column",
            column=column,
            fix=f"Columns present: {shown}.",
        )


def numeric_outcome(values: pd.Series, name: str) -> np.ndarray:
    check_numeric_outcome(values.dtype, name)
    y = values.to_numpy(dtype=float)
    if len(y) and np.ptp(y) == 0:
        raise ModelError(f'the outcome "{name}" has the same value in every row used.')
    return y


def check_numeric_outcome(dtype, name: str) -> None:
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        raise DataError(
            f"the outcome must be numeric, but it holds {dtype} values",
            column=name,
            fix="Convert it to numbers or choose a numeric score column.",
        )


def encode(values: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
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


def check_weights(w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise DataError(
            "weights must be finite and non-negative with a positive sum",
            column="weights",
            fix="Check the weight column for negative or infinite values.",
        )
    return w


def column_kind(dtype, name: str, caller: str) -> str:
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
