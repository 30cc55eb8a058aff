"""Validation that loses nothing: every input row ends up valid or rejected with its reasons.

:func:`validate` checks one table; :func:`validate_tables` checks a whole study, adding the
rules that join tables (an engagement's coach exists, every session and response belongs to a
known engagement, a per-session response refers to a recorded session). Each problem is one
row of a tidy frame (``table, file, row, column, value, rule, message, fix``), where ``row``
is the line number in the source file, so a user can open the file and find it.

The promise, for every table: ``len(valid) + len(rejected) == len(input)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from outcomes import instruments as _instruments
from outcomes._errors import UsageError
from outcomes.schema import COLUMNS, TABLES
from outcomes.validation import _cells, _columns, _spellings
from outcomes.validation._parsing import EXPECTED, FIXES, parse_coded
from outcomes.validation.report import TableCheck, ValidationReport

__all__ = ["validate", "validate_tables", "check_table", "check_links", "RULES"]

#: Every rule validation applies, by the name that appears in ``problems["rule"]``.
RULES = {
    "missing_column": "a required column is not in the file, or a column is there under a "
                      "misspelt name (every row is rejected)",
    "type": "a cell cannot be read as the column's type (number, whole number, date, true/false)",
    "required": "a required cell is empty",
    "unique": "a key appears more than once (every copy is rejected)",
    "allowed_values": "a value outside the column's vocabulary",
    "range": "a number outside the column's range",
    "dates": "an engagement ends before it starts",
    "date_order": "a session is dated before an earlier-numbered session",
    "unknown_code": "a technique code not in the technique registry",
    "unknown_instrument": "an instrument not in the instrument registry",
    "unknown_item": "an item number the instrument does not have",
    "item_range": "an item value outside the instrument's response range or steps",
    "unknown_reference": "an id that the parent table (coaches, engagements) does not list",
    "unknown_session": "a per-session response to a session the sessions table does not list",
    **_cells.RULES,
}

def _source(table: pd.DataFrame, kind: str) -> str:
    return str(table.attrs.get("source_file") or f"<{kind} table>")


def _row_labels(table: pd.DataFrame) -> np.ndarray:
    """Row numbers as the user sees them: the source line when known, else 1-based position."""
    if table.index.name == "row" and table.index.is_unique:
        return np.asarray(table.index)
    return np.arange(1, len(table) + 1)


def validate(table: pd.DataFrame, kind: str) -> ValidationReport:
    """Check one canonical table; every row ends up valid or rejected with its reasons.

    Parameters
    ----------
    table : DataFrame
        The table as read (text cells are parsed here) or already typed. When it came from
        :func:`outcomes.io.read_table`, problems name the source file and line.
    kind : {"coaches", "engagements", "sessions", "responses", "scores"}
        Which canonical table it is.

    Returns
    -------
    ValidationReport
        ``report.valid[kind]`` holds the typed valid rows, ``report.rejected[kind]`` the
        rejected rows as given, with a ``reasons`` column, ``report.problems`` one row per
        problem found.

    Examples
    --------
    >>> sessions = pd.DataFrame({"engagement_id": ["E1", "E1", "E2"],
    ...                          "session": ["1", "2", "0"],
    ...                          "date": ["2024-01-08", "2024-02-30", "2024-01-09"]})
    >>> report = validate(sessions, "sessions")
    >>> report.ok, len(report.valid["sessions"]), len(report.rejected["sessions"])
    (False, 1, 2)
    >>> print(report.problems[["row", "column", "rule"]].to_string(index=False))
     row  column  rule
       2    date  type
       3 session range
    """
    return validate_tables({kind: table})


def validate_tables(tables: Mapping[str, pd.DataFrame]) -> ValidationReport:
    """Check the tables of a study, each on its own and then against each other.

    Parameters
    ----------
    tables : mapping of table kind to DataFrame
        Any subset of the canonical tables. Cross-table rules apply where both tables
        are given.

    Returns
    -------
    ValidationReport
    """
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise UsageError(
            f"unknown table kind {unknown[0]!r}; the canonical tables are {', '.join(TABLES)}."
        )
    checks = {kind: check_table(tables[kind], kind) for kind in TABLES if kind in tables}
    check_links(checks)
    return ValidationReport.from_checks([checks[k] for k in TABLES if k in checks])


def check_table(raw: pd.DataFrame, kind: str) -> TableCheck:
    """Every rule of one table on its own (the partitioned path runs it bucket by bucket)."""
    raw, renamed = _spellings.match_headers(raw, kind)
    check = TableCheck(kind=kind, raw=raw, file=_source(raw, kind), rows=_row_labels(raw))
    for note in renamed:
        check.note(*note)
    typed = _parse(check)
    check.typed = typed
    _cells.check_cells(check)
    if check.missing_columns:
        return check
    _columns.check_schema(check)
    if kind == "sessions":
        _check_session_dates(check)
        _check_techniques(check)
    if kind == "responses":
        _check_items(check)
    return check


def _parse(check: TableCheck) -> pd.DataFrame:
    raw, kind = check.raw, check.kind
    typed = raw.reset_index(drop=True).copy()
    misspelt = _spellings.near_misses([str(c) for c in typed.columns], kind)
    for column, spec in COLUMNS[kind].items():
        if column in misspelt:
            check.missing_columns.append(column)
            continue
        if column not in typed.columns:
            if spec.default is not None:
                typed[column] = spec.default
                continue
            if spec.required:
                check.missing_columns.append(column)
            continue
        values, bad, coded = parse_coded(typed[column], spec)
        if column in _spellings.VOCABULARIES:
            values, note = _spellings.canonical_values(column, typed[column], values)
            if note is not None:
                check.note(*note)
        if spec.default is not None:
            values = values.fillna(spec.default)
        if bad.any():
            where = np.flatnonzero(bad)
            check.add(
                where,
                column,
                typed[column].to_numpy()[where],
                "type",
                f"is not {EXPECTED[spec.kind]}",
                FIXES[spec.kind],
            )
        typed[column] = values
        if coded is not None and spec.default is None:
            check.keep_codes(column, *coded)  # the parsed cells' codes, found while parsing
    for column in check.missing_columns:
        message, fix = _spellings.missing_text(kind, check.file, column, misspelt)
        check.add_table_problem(column, "missing_column", message, fix)
    return typed


def _check_session_dates(check: TableCheck) -> None:
    typed = check.typed
    known = typed[typed["session"].notna() & typed["date"].notna()]
    order = known.sort_values(["engagement_id", "session"], kind="stable")
    earlier_max = order.groupby("engagement_id", sort=False)["date"].cummax()
    previous = earlier_max.groupby(order["engagement_id"], sort=False).shift(1)
    bad = (order["date"] < previous).fillna(False)
    where = order.index[bad.to_numpy(bool)].to_numpy()
    if len(where):
        check.add(
            where,
            "date",
            typed["date"].dt.strftime("%Y-%m-%d").to_numpy()[where],
            "date_order",
            "is earlier than the date of an earlier-numbered session",
            "Check the date and the session number; dates may not decrease with session.",
        )


def _check_techniques(check: TableCheck) -> None:
    if "techniques" not in check.typed.columns:
        return
    codes = _instruments.technique_codes()
    listed, distinct = pd.factorize(check.typed["techniques"])  # each list is read once
    unknown = np.array([any(item.strip() not in codes for item in str(text).split(";")
                            if item.strip()) for text in distinct], dtype=bool)
    bad = np.zeros(len(listed), dtype=bool)
    bad[listed >= 0] = unknown[listed[listed >= 0]]
    where = np.flatnonzero(bad)
    if len(where):
        check.add(
            where,
            "techniques",
            check.typed["techniques"].iloc[where].to_numpy(),
            "unknown_code",
            "holds a code that is not in the technique registry",
            "Use registry codes separated by ';' (see outcomes.instruments.techniques()).",
        )


def _item_ranges() -> pd.DataFrame:
    """Per registered instrument and item: the lowest and highest value and the step."""
    rows = []
    for key in _instruments.available():
        instrument = _instruments.get(key)
        for item in instrument.items:
            spec = instrument.range_of(item)
            step = spec.step or (0.0 if spec.decimals else 1.0)
            rows.append((key, item, float(spec.min), float(spec.max), float(step)))
    return pd.DataFrame(rows, columns=["instrument", "item", "low", "high", "step"])


def _ranges_of(check: TableCheck) -> tuple[np.ndarray, pd.DataFrame]:
    """The number of each row's instrument and item pair, and the registry's range of each
    pair (missing when it has none), looked up once per distinct pair."""
    key, first, present = _first_rows(*_columns.table_key(check, ["instrument", "item"]))
    number = np.zeros(len(first), dtype=np.int64)
    number[present] = np.arange(len(present))
    rows = check.typed[["instrument", "item"]].iloc[first[present]].reset_index(drop=True)
    found = rows.merge(_item_ranges(), on=["instrument", "item"], how="left")
    return number[key], found[["low", "high", "step"]]


def _first_rows(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The keys (renumbered from 0 when they are sparse), the first row of each key (``-1``
    for a key no row holds), and the keys some row holds."""
    if size > 4 * len(key) + 1024:  # many distinct keys: number them from 0
        key, distinct = pd.factorize(key)
        size = len(distinct)
    first = np.full(size, -1, dtype=np.int64)
    first[key[::-1]] = np.arange(len(key) - 1, -1, -1)
    return key, first, np.flatnonzero(first >= 0)


def _check_items(check: TableCheck) -> None:
    typed = check.typed
    known = set(_instruments.available())
    unknown = _given_but_not_in(check, "instrument", known)
    in_registry = ~unknown & typed["instrument"].notna().to_numpy()
    if unknown.any():
        where = np.flatnonzero(unknown)
        check.add(
            where,
            "instrument",
            typed["instrument"].iloc[where].to_numpy(),
            "unknown_instrument",
            "is not an instrument in the registry",
            f"Use one of {', '.join(sorted(known))}, or register an instrument file.",
        )
    pair, ranges = _ranges_of(check)
    no_range = ranges["low"].isna().to_numpy()[pair]
    no_item = in_registry & no_range & typed["item"].notna().to_numpy()
    if no_item.any():
        where = np.flatnonzero(no_item)
        check.add(
            where,
            "item",
            typed["item"].iloc[where].to_numpy(),
            "unknown_item",
            "is not an item number of this instrument",
            "Check the item numbering against the instrument's file in the registry.",
        )
    _check_values(check, pair, ranges)


def _check_values(check: TableCheck, pair: np.ndarray, ranges: pd.DataFrame) -> None:
    """A value outside its item's range, or between its response options: worked out once
    per distinct item and value, and spread to the rows."""
    codes, values = check.codes("value")
    key, first, present = _first_rows(pair * max(len(values), 1) + codes,
                                      len(ranges) * max(len(values), 1))
    at = first[present]
    value = check.typed["value"].to_numpy(dtype=float, na_value=np.nan)
    outside, between = _off_the_scale(value[at], ranges.iloc[pair[at]].reset_index(drop=True))
    for flags, message in (
        (outside, "lies outside the instrument's response range"),
        (between, "is not one of the instrument's response options"),
    ):
        if flags.any():
            mask = np.zeros(len(first), dtype=bool)
            mask[present[flags]] = True
            where = np.flatnonzero(mask[key])
            found = ranges.iloc[pair[where]].reset_index(drop=True)
            fixes = (
                "Use a value from " + found["low"].map("{:g}".format)
                + " to " + found["high"].map("{:g}".format)
                + np.where(found["step"] > 0, " in steps of "
                           + found["step"].map("{:g}".format), "")
                + "; leave unanswered items empty."
            )
            check.add(where, "value", check.typed["value"].iloc[where].to_numpy(),
                      "item_range", message, fixes.to_numpy())


def _off_the_scale(value: np.ndarray, ranges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which values lie outside their range, and which inside it but between the steps."""
    value = pd.Series(value)
    low, high, step = ranges["low"], ranges["high"], ranges["step"].fillna(0.0)
    outside = ((value < low) | (value > high)).fillna(False).to_numpy(bool)
    offset = (value - low) / step.where(step > 0)
    between = (step > 0) & ((offset - offset.round()).abs() > 1e-9)
    return outside, between.fillna(False).to_numpy(bool) & ~outside


def check_links(checks: dict[str, TableCheck]) -> None:
    """The rules across tables: every id a table refers to is listed by its parent table."""
    def ids(kind: str, column: str) -> pd.Series | None:
        check = checks.get(kind)
        if check is None or column not in check.typed.columns:
            return None
        return check.typed[column].dropna().astype(str)

    coaches = ids("coaches", "coach_id")
    engagements = ids("engagements", "engagement_id")
    links = [("engagements", "coach_id", coaches, "coaches")]
    links += [(kind, "engagement_id", engagements, "engagements") for kind in
              ("sessions", "responses", "scores")]
    for kind, column, known, parent in links:
        check = checks.get(kind)
        if check is None or known is None or check.missing_columns:
            continue
        values = check.typed[column]
        bad = _given_but_not_in(check, column, known)
        if bad.any():
            where = np.flatnonzero(bad)
            check.add(
                where, column, values.iloc[where].to_numpy(), "unknown_reference",
                f"does not appear in the {parent} table",
                f"Add it to {parent}, or correct the identifier.",
            )
    _check_response_sessions(checks)


def _given_but_not_in(check: TableCheck, column: str, known: pd.Series | set) -> np.ndarray:
    """Which rows hold a value of ``column`` (as text) that ``known`` does not: each
    distinct value is looked up once."""
    codes, uniques = check.codes(column)
    distinct = pd.Series(uniques, dtype=object)
    text = distinct.astype(str).astype(object)  # looked up in a hash table of Python text
    bad = (distinct.notna() & ~text.isin(known)).to_numpy(dtype=bool)
    return bad[codes]


def _check_response_sessions(checks: dict[str, TableCheck]) -> None:
    sessions, responses = checks.get("sessions"), checks.get("responses")
    if sessions is None or responses is None:
        return
    if sessions.missing_columns or responses.missing_columns:
        return
    typed = responses.typed
    recorded = np.isin(_columns.table_key(responses, ["engagement_id", "session"])[0],
                       _keys_in(sessions, responses, ["engagement_id", "session"]))
    per_session = ((typed["occasion"] == "session") & typed["session"].notna()).to_numpy(bool)
    bad = per_session & ~recorded
    # an unknown engagement is reported once, by the reference rule
    bad &= ~responses.has_problem(np.arange(len(typed)), "engagement_id")
    if bad.any():
        where = np.flatnonzero(bad)
        responses.add(
            where, "session", typed["session"].iloc[where].to_numpy(), "unknown_session",
            "is not a session recorded for this engagement in the sessions table",
            "Add the session to sessions, or correct the session number.",
        )


def _keys_in(check: TableCheck, other: TableCheck, columns: list[str]) -> np.ndarray:
    """The keys of ``check``'s rows in the codes of ``other`` (:func:`_columns.table_key`),
    leaving out the rows with a value ``other`` does not hold."""
    parts, held = [], np.ones(len(check.typed), dtype=bool)
    for column in columns:
        codes, uniques = check.codes(column)
        theirs = other.codes(column)[1]
        mapped = theirs.get_indexer(uniques)[codes]
        held &= mapped >= 0
        parts.append((mapped, len(theirs)))
    return _columns.key_codes(parts)[0][held]
