"""What is missing in the analysis columns, and the incomplete model matrix the methods use.

:func:`incomplete_matrix` builds the numeric model matrix of factors, covariates and outcome
as :func:`outcomes.shares.design.prepare` does, but keeps the rows with missing values
(NaN where a value is missing; a missing category leaves its whole block of dummy columns
missing). Only rows that cannot be used at all are left out: those without a cluster id or
weight, and those with no analysis value. :class:`MissingnessReport` says, per column and
per pattern, what was missing and which method dealt with it.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"bond": [1.0, 2, 3, 4, 5, 6], "hope": [2.0, None, 1, 3, 5, 4],
...                    "end": [1.0, 2, None, None, 4, 6]})
>>> inc = incomplete_matrix(df, "end", {"relationship": ["bond"], "expectancy": ["hope"]})
>>> inc.report.columns.n_missing.tolist(), inc.report.patterns.n.tolist()
([0, 1, 2], [3, 2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import check_covariates
from outcomes._errors import UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.shares._columns import (
    check_names,
    check_numeric_outcome,
    check_weights,
    encode,
    factor_groups,
    require_column,
)

__all__ = ["Incomplete", "MissingnessReport", "incomplete_matrix", "listwise_report",
           "METHOD_WORDS"]

#: How each ``missing=`` method is named in plain words.
METHOD_WORDS = {
    "listwise": "complete cases only (listwise deletion)",
    "em": "maximum likelihood under MAR (EM algorithm, multivariate normal)",
    "mi": "multiple imputation by chained equations (Bayesian linear regression)",
}


@dataclass(frozen=True, eq=False, repr=False)
class MissingnessReport(Result):
    """What was missing in the analysis columns and how it was handled.

    ``columns``: one row per analysis column (``column``, ``role``, ``n_missing``,
    ``percent``); ``patterns``: one row per pattern of missing columns (``missing`` lists
    them, ``n``, ``percent``), most frequent first. ``method`` is ``listwise``, ``em`` or
    ``mi``; ``n_imputations`` the number of imputations (MI). ``n`` rows were analysed,
    ``n_left_out`` could not be used at all (no cluster id or weight, or no analysis value).
    """

    columns: pd.DataFrame
    patterns: pd.DataFrame
    method: str
    n: int
    n_left_out: int = 0
    n_imputations: int | None = None

    @property
    def n_incomplete(self) -> int:
        """Rows with at least one missing analysis value."""
        return int(self.patterns.loc[self.patterns.missing != "", "n"].sum())

    @property
    def fraction_incomplete(self) -> float:
        """Share of the analysed rows with at least one missing value."""
        return self.n_incomplete / self.n if self.n else 0.0

    def headline(self) -> str:
        """Rows with a missing value, and the method."""
        return (f"{self.n_incomplete} of {self.n} rows miss a value "
                f"({100 * self.fraction_incomplete:.1f} %); method {self.method}")

    def table(self) -> pd.DataFrame:
        """Per column: role, rows missing and percent."""
        return self.columns.copy()

    def summary(self) -> Summary:
        """In plain words: what was missing and what was done about it."""
        shown = self.patterns.head(10).assign(
            missing=lambda f: f.missing.replace("", "(none: complete)"))
        return Summary("\n".join([*self.lines(), "", "Most frequent patterns:",
                                   text_table(shown.round({"percent": 1}))]))

    def lines(self) -> list[str]:
        """The summary as lines (the shares' summaries include them)."""
        missing = self.columns[self.columns.n_missing > 0]
        said = ", ".join(f"{r.column} {r.n_missing} ({r.percent:.1f} %)"
                         for r in missing.itertuples()) or "none"
        how = METHOD_WORDS[self.method]
        if self.method == "mi":
            how += f", {self.n_imputations} imputations pooled"
        lines = [f"Missing data: {self.n_incomplete} of {self.n} rows "
                 f"({100 * self.fraction_incomplete:.1f} %) miss at least one value; "
                 f"missing per column: {said}.",
                 f"Handled by {how}."]
        if self.method != "listwise" and self.n_incomplete:
            lines.append("Every row with any analysis value is kept (intention to treat); "
                         "this assumes values are missing at random given the columns used.")
        if self.n_left_out:
            lines.append(f"{self.n_left_out} rows had no usable value (or no cluster id or "
                         "weight) and were left out.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: method, counts, per column and per pattern."""
        return jsonable({
            "method": self.method, "n": self.n, "n_left_out": self.n_left_out,
            "n_incomplete": self.n_incomplete, "n_imputations": self.n_imputations,
            "columns": self.columns, "patterns": self.patterns,
        })

    def plot(self, ax=None):
        """Bars of the percent missing per column."""
        from outcomes._plotting import share_bars

        return share_bars(ax, list(self.columns.column), self.columns.percent.to_numpy() / 100,
                          ylabel="rows missing", percent=True)


@dataclass(frozen=True, eq=False)
class Incomplete:
    """The model matrix with NaN where values are missing, and what the design needs."""

    matrix: np.ndarray  # (n, k): factor columns in player order, covariates, outcome
    columns: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]  # matrix columns of each source column
    players: tuple[tuple[int, ...], ...]
    covariate_index: tuple[int, ...]
    names: tuple[str, ...]
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    outcome: str
    weights: np.ndarray | None
    clusters: np.ndarray | None
    report: MissingnessReport

    def with_method(self, method: str, n_imputations: int | None = None) -> Incomplete:
        """The same matrix with the report naming the method that ran."""
        return replace(self, report=replace(self.report, method=method,
                                            n_imputations=n_imputations))


def _encode_missing(values: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    seen = values.notna().to_numpy()
    part, labels = encode(values[seen], name)
    out = np.full((len(values), part.shape[1]), np.nan)
    out[seen] = part
    return out, labels


def _extra(data, value, label, caller):
    if value is None:
        return None
    if isinstance(value, str):
        require_column(data, value, caller)
        return data[value].to_numpy()
    values = np.asarray(value)
    if len(values) != len(data):
        raise UsageError(f"{label} has {len(values)} values but the data have {len(data)} "
                         "rows; give a column name or one value per row.")
    return values


def incomplete_matrix(data, outcome, factors, *, covariates=(), weights=None, cluster=None,
                      caller="decompose") -> Incomplete:
    """The model matrix keeping incomplete rows, with its missingness report."""
    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"{caller}(missing=...) other than 'listwise' needs a pandas "
                         f"DataFrame, not {type(data).__name__}.")
    groups = factor_groups(factors, caller)
    covariates = check_covariates(covariates, caller)
    used = [c for cols in groups.values() for c in cols]
    check_names(data, outcome, used, covariates, caller)
    check_numeric_outcome(data[outcome].dtype, outcome)
    w, ids = _extra(data, weights, "weights", caller), _extra(data, cluster, "cluster", caller)
    source = [*used, *covariates, outcome]
    keep = data[source].notna().any(axis=1).to_numpy().copy()
    for extra in (w, ids):
        if extra is not None:
            keep &= ~pd.isna(extra)
    frame = data.loc[keep, source]
    blocks: list[tuple[int, ...]] = []
    names: list[str] = []
    parts: list[np.ndarray] = []
    for col in source:
        values, labels = _encode_missing(frame[col], col)
        blocks.append(tuple(range(len(names), len(names) + len(labels))))
        names += labels
        parts.append(values)
    matrix = np.column_stack(parts)
    players, start = [], 0
    for cols in groups.values():
        width = sum(len(blocks[source.index(c)]) for c in cols)
        players.append(tuple(range(start, start + width)))
        start += width
    cov_index = tuple(range(start, len(names) - 1))
    report = _report(frame, groups, covariates, outcome, int((~keep).sum()))
    return Incomplete(
        matrix, tuple(names), tuple(blocks), tuple(players), cov_index, tuple(groups),
        {k: tuple(v) for k, v in groups.items()}, covariates, outcome,
        None if w is None else check_weights(w[keep]),
        None if ids is None else np.asarray(ids[keep]).astype(str), report)


def listwise_report(data, outcome, factors, *, covariates=()) -> MissingnessReport:
    """The report of what listwise deletion leaves out (names checked by the caller)."""
    groups = factor_groups(factors, "decompose")
    covariates = check_covariates(covariates, "decompose")
    source = [*[c for cols in groups.values() for c in cols], *covariates, outcome]
    return _report(data[source], groups, covariates, outcome, 0)


def _report(frame, groups, covariates, outcome, n_left_out) -> MissingnessReport:
    role = {c: f"factor {g}" for g, cols in groups.items() for c in cols}
    role.update({c: "covariate" for c in covariates})
    role[outcome] = "outcome"
    missing = frame.isna()
    n = len(frame)
    columns = pd.DataFrame({
        "column": list(frame.columns), "role": [role[c] for c in frame.columns],
        "n_missing": missing.sum().to_numpy().astype(int),
    })
    columns["percent"] = 100 * columns.n_missing / max(n, 1)
    patterns = _pattern_labels(missing).value_counts().rename_axis("missing").reset_index(name="n")
    patterns["percent"] = 100 * patterns.n / max(n, 1)
    return MissingnessReport(columns, patterns, "listwise", n, n_left_out)


def _pattern_labels(missing: pd.DataFrame) -> pd.Series:
    """Each row's missing columns, in column order, joined by ", " ("" for a complete row):
    one label per distinct pattern, then spread over the rows."""
    if missing.empty:
        return missing.apply(lambda row: ", ".join(c for c, m in row.items() if m), axis=1)
    found, rows = np.unique(missing.to_numpy(dtype=bool), axis=0, return_inverse=True)
    names = list(missing.columns)
    text = np.array([", ".join(str(c) for c, m in zip(names, pattern, strict=True) if m)
                     for pattern in found], dtype=object)
    return pd.Series(text[rows.reshape(-1)].tolist(), index=missing.index)
