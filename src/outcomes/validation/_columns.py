"""The rules the schema declares, checked a column at a time on the parsed table.

The pandera models of :mod:`outcomes.schema` say what each column must hold: not empty
(``nullable``), no repeats (``unique``), a vocabulary (``isin``), a range (``ge``, ``gt``,
``le``), a key of several columns (``Config.unique``) and rules on whole rows (the models'
``dataframe_check`` methods). This module reads those declarations and checks them itself,
with vectorised comparisons and one pass of integer codes for repeated keys, so that a
million rows cost about as much as reading them. Each failing cell becomes a problem with
its row, value, message and fix; a missing value is only ever reported as empty (the other
rules skip it), and a key is only reported as repeated when one of its cells is given.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from outcomes.schema import COLUMNS, KEYS, MODELS
from outcomes.validation.report import TableCheck

__all__ = ["check_schema", "key_codes", "table_key", "repeated"]

# What a failed check means and how to fix it, by the check's name.
_CHECK_TEXT = {
    "not_nullable": ("required", "is empty", "Fill it in; this column may not be empty."),
    "field_uniqueness": ("unique", "appears more than once", "Give each row its own identifier."),
    "isin": ("allowed_values", "is not an allowed value", "Use one of: {allowed}."),
    "greater_than_or_equal_to": (
        "range", "is below the minimum", "Use a value of at least {bound}."
    ),
    "greater_than": ("range", "is not above the minimum", "Use a value above {bound}."),
    "less_than_or_equal_to": ("range", "is above the maximum", "Use a value of at most {bound}."),
}
# Row checks name every column; this says which column each one is about.
_FRAME_CHECK_COLUMN = {
    "end_date is before start_date": (
        "end_date",
        "dates",
        "is before start_date",
        "Check both dates; the engagement cannot end before it starts.",
    ),
    "a per-session response needs its session number": (
        "session",
        "required",
        "is empty, but a per-session response needs its session number",
        "Give the session number for responses with occasion 'session'.",
    ),
}
# The comparison each range check makes, by the check's name and statistic.
_COMPARE = {
    "greater_than_or_equal_to": ("min_value", np.greater_equal),
    "greater_than": ("min_value", np.greater),
    "less_than_or_equal_to": ("max_value", np.less_equal),
    "less_than": ("max_value", np.less),
}


@cache
def _schema(kind: str) -> Any:
    return MODELS[kind].to_schema()


def _label(rule: Any) -> str:
    """The check as problems name it: its error text, else its name."""
    return str(rule.error if rule.error is not None else rule.name)


def check_schema(check: TableCheck) -> None:
    """Every rule the schema declares for ``check.kind``, on ``check.typed``.

    Rules on whole rows come first, then each column's rules, then repeated keys, so that
    a cell with several problems lists them in that order.
    """
    schema, typed = _schema(check.kind), check.typed
    for rule in schema.checks:
        failing = _failing(rule, typed)
        if failing.any():
            where = np.flatnonzero(failing)
            where = where[typed.iloc[where].notna().any(axis=1).to_numpy()]
            _add(check, _label(rule), "", where)
    for name, column in schema.columns.items():
        if name not in typed.columns:
            continue
        values = typed[name]
        given = values.notna().to_numpy()
        if not column.nullable and not given.all():
            where = np.flatnonzero(~given)
            _add(check, "not_nullable", name, where[~check.has_problem(where, name)])
        if column.unique:
            repeated = values.duplicated(keep=False).to_numpy() & given
            _add(check, "field_uniqueness", name, np.flatnonzero(repeated))
        for rule in column.checks:
            failing = ~_passes(rule, values, check, name) & given
            _add(check, _label(rule), name, np.flatnonzero(failing))
    _check_repeated_keys(check)


def _failing(rule: Any, typed: pd.DataFrame) -> np.ndarray:
    """The rows a check on whole rows (a model's ``dataframe_check``) fails."""
    output = rule(typed).check_output
    return ~np.asarray(pd.Series(output).fillna(True), dtype=bool)


def _passes(rule: Any, values: pd.Series, check: TableCheck, name: str) -> np.ndarray:
    """Which cells pass one column check (missing cells pass: they are checked as empty)."""
    if rule.name == "isin":  # each distinct value is looked up once
        codes, uniques = check.codes(name)
        allowed = list(rule.statistics["allowed_values"])
        return pd.Series(uniques, dtype=object).isin(allowed).to_numpy(dtype=bool)[codes]
    if rule.name in _COMPARE:
        statistic, compare = _COMPARE[rule.name]
        result = compare(values, rule.statistics[statistic])
        return np.asarray(result.to_numpy(dtype=bool, na_value=True), dtype=bool)
    output = rule(values).check_output
    return np.asarray(pd.Series(output).fillna(True), dtype=bool)


def _add(check: TableCheck, label: str, column: str, where: np.ndarray) -> None:
    """Record the failures of one check, with the message and fix for it."""
    if not len(where):
        return
    if label in _FRAME_CHECK_COLUMN:
        column, rule, message, fix = _FRAME_CHECK_COLUMN[label]
        check.add(where, column, check.raw[column].iloc[where].to_numpy(), rule, message, fix)
        return
    name, _, argument = label.partition("(")
    rule, message, fix = _CHECK_TEXT.get(name, ("check", f"fails {label}", "Correct it."))
    argument = argument.rstrip(")")
    allowed = argument.strip("[]()").replace("'", "")
    fix = fix.format(allowed=allowed, bound=argument)
    check.add(where, column, check.raw[column].iloc[where].to_numpy(), rule, message, fix)


def key_codes(parts: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """One integer per row that is equal for two rows exactly when all their codes are, and
    the number of integers it may take (keys lie in ``0 … size - 1``).

    ``parts`` holds, per column, the code of each row (0 to ``width - 1``) and ``width``.

    Examples
    --------
    >>> a, b = pd.factorize(pd.Series(["x", "x", "y"]))[0], np.array([0, 1, 1])
    >>> key, size = key_codes([(a, 2), (b, 2)])
    >>> key.tolist(), size
    ([0, 1, 3], 4)
    """
    key = np.zeros(len(parts[0][0]) if parts else 0, dtype=np.int64)
    size = 1
    for codes, width in parts:
        width = max(width, 1)
        if size * width >= 2**62:  # renumber the key so far before it could overflow
            key, kept = pd.factorize(key)
            size = max(len(kept), 1)
        key *= width  # in place: the key is this function's own array
        key += codes
        size *= width
    return key, size


def table_key(check: TableCheck, columns: list[str] | tuple[str, ...]) -> tuple[np.ndarray, int]:
    """:func:`key_codes` of the parsed ``columns`` of one table (missing equals missing)."""
    parts = []
    for column in columns:
        codes, uniques = check.codes(column)
        parts.append((codes, len(uniques)))
    return key_codes(parts)


def repeated(key: np.ndarray) -> np.ndarray:
    """Which rows share their key with another row.

    A stable sort finds them: the rows of a table usually come in the order of their key, in
    runs that the sort merges in about one pass (a hash table would cost ten times more).

    Examples
    --------
    >>> repeated(np.array([3, 1, 3, 2])).tolist()
    [True, False, True, False]
    """
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]
    flags = np.zeros(len(key), dtype=bool)
    flags[1:] |= same
    flags[:-1] |= same
    out = np.empty(len(key), dtype=bool)
    out[order] = flags
    return out


def _check_repeated_keys(check: TableCheck) -> None:
    """Every copy of a key of several columns (the model's ``Config.unique``) is rejected.

    The problem is put on the key's last column that has no default: the column a user
    changes to tell the copies apart (``session``, ``item``, ``scale``).
    """
    key = [c for c in KEYS[check.kind] if c in check.typed.columns]
    if not _schema(check.kind).unique or not key:
        return
    typed = check.typed
    copies = repeated(table_key(check, key)[0])
    if not copies.any():
        return
    where = np.flatnonzero(copies)
    where = where[typed[key].iloc[where].notna().any(axis=1).to_numpy()]
    columns = COLUMNS[check.kind]
    column = [c for c in KEYS[check.kind] if columns[c].default is None][-1]
    check.add(
        where,
        column,
        typed[column].iloc[where].to_numpy(),
        "unique",
        f"repeats a row with the same {', '.join(KEYS[check.kind])}",
        "Keep one row per " + ", ".join(KEYS[check.kind]) + "; remove or renumber the repeat.",
    )
