"""The validation report: valid rows, rejected rows with their reasons, and the problems.

:class:`TableCheck` collects the problems of one table while the checks run;
:class:`ValidationReport` is the frozen result a user holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import locate
from outcomes._plotting import OKABE_ITO, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.io import _arrow, shorten

__all__ = ["TableCheck", "ValidationReport", "PROBLEM_COLUMNS", "COUNT_COLUMNS", "NOTE_COLUMNS",
           "rejected_rows", "counts_headline"]

PROBLEM_COLUMNS = ["table", "file", "row", "column", "value", "rule", "message", "fix"]

#: The columns of the notes: what was read in another spelling, in how many cells, e.g. what.
NOTE_COLUMNS = ["table", "file", "column", "change", "cells", "example"]


def _no_notes() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=int if c == "cells" else object)
                         for c in NOTE_COLUMNS})

#: The columns of the rows-per-table accounting: ``input == valid + rejected``.
COUNT_COLUMNS = ["table", "input", "valid", "rejected"]


def counts_headline(counts: pd.DataFrame) -> str:
    """Tables, rows in and rows rejected, in one line.

    Examples
    --------
    >>> counts_headline(pd.DataFrame([("sessions", 12000, 11990, 10), ("coaches", 40, 40, 0)],
    ...                              columns=COUNT_COLUMNS))
    '2 tables, 12,040 rows in, 10 rejected'
    """
    tables = len(counts)
    return (f"{tables} table{'s' if tables != 1 else ''}, {int(counts['input'].sum()):,} rows "
            f"in, {int(counts['rejected'].sum()):,} rejected")


@dataclass
class TableCheck:
    """The problems found so far in one table (mutable, used while checking)."""

    kind: str
    raw: pd.DataFrame
    file: str
    rows: np.ndarray
    typed: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing_columns: list[str] = field(default_factory=list)
    notes: list[tuple[str, str, int, str]] = field(default_factory=list)
    _parts: list[dict[str, Any]] = field(default_factory=list)
    _flagged: dict[str, np.ndarray] = field(default_factory=dict)
    _codes: dict[str, tuple[np.ndarray, pd.Index]] = field(default_factory=dict)

    def add(self, where, column, values, rule, message, fix) -> None:  # noqa: ANN001
        """Record one problem for each row position in ``where``."""
        where = np.asarray(where, dtype=int)
        if not len(where):
            return
        n = len(where)
        self._parts.append(
            {
                "pos": where,
                "column": np.full(n, column, dtype=object),
                "value": np.asarray(values, dtype=object),
                "rule": np.full(n, rule, dtype=object),
                "message": np.full(n, message, dtype=object),
                "fix": np.broadcast_to(np.asarray(fix, dtype=object), (n,)),
            }
        )
        mask = self._flagged.setdefault(column, np.zeros(len(self.raw), bool))
        mask[where] = True

    def add_table_problem(self, column: str, rule: str, message: str, fix: str) -> None:
        """A problem of the whole table (a missing column): every row is rejected by it.

        A table without rows still gets the problem once (with no row), so that it fails.
        """
        if len(self.raw):
            self.add(np.arange(len(self.raw)), column, np.full(len(self.raw), None), rule,
                     message, fix)
            return
        self._parts.append({"pos": np.array([-1]), "column": np.array([column], dtype=object),
                            "value": np.array([None], dtype=object),
                            "rule": np.array([rule], dtype=object),
                            "message": np.array([message], dtype=object),
                            "fix": np.array([fix], dtype=object)})

    def note(self, column: str, change: str, cells: int, example: str) -> None:
        """Record a tolerance (a name read in its canonical spelling), once per column."""
        self.notes.append((column, change, cells, example))

    def note_frame(self) -> pd.DataFrame:
        """The notes of this table, with ``table`` and ``file`` (columns ``NOTE_COLUMNS``)."""
        if not self.notes:
            return _no_notes()
        frame = pd.DataFrame(self.notes, columns=NOTE_COLUMNS[2:])
        frame.insert(0, "file", self.file)
        frame.insert(0, "table", self.kind)
        return frame

    def codes(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """An integer code for each parsed cell of ``column`` and the distinct values they
        stand for (missing values share a code); computed once per column."""
        if column in self._codes:
            return self._codes[column]
        values = self.typed[column]
        if _arrow.is_arrow_text(values):  # the codes scoring and the analysis table reuse
            codes, uniques = _arrow.factorize(values)
            if values.hasnans:
                codes = np.where(codes < 0, len(uniques), codes)
                uniques = uniques.append(pd.Index([np.nan], dtype=uniques.dtype))
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
        self._codes[column] = (codes, pd.Index(uniques))
        return self._codes[column]

    def keep_codes(self, column: str, codes: np.ndarray, uniques: pd.Index) -> None:
        """Give :meth:`codes` of ``column``, found another way (they must number the parsed
        cells as :meth:`codes` would, up to the order of the values)."""
        self._codes[column] = (codes, uniques)

    def has_problem(self, where: np.ndarray, column: str) -> np.ndarray:
        mask = self._flagged.get(column)
        if mask is None:
            return np.zeros(len(where), bool)
        return mask[np.asarray(where, dtype=int)]

    def problems(self) -> pd.DataFrame:
        if not self._parts:
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
            frame["_pos"] = pd.Series(dtype=int)
            return frame
        parts = {k: np.concatenate([p[k] for p in self._parts]) for k in self._parts[0]}
        pos = parts.pop("pos")
        frame = pd.DataFrame(parts)
        rows: Any = self.rows[pos] if len(self.rows) else [None] * len(pos)
        if len(self.rows) and (pos < 0).any():  # a problem of a table without rows has no row
            rows = [r if p >= 0 else None for r, p in zip(rows, pos, strict=True)]
        frame.insert(0, "row", rows)
        frame.insert(0, "file", self.file)
        frame.insert(0, "table", self.kind)
        frame["_pos"] = pos
        frame["value"] = frame["value"].map(_cell_text)
        order = {c: i for i, c in enumerate(self.raw.columns)}
        frame["_col"] = frame["column"].map(order).fillna(len(order))
        frame = frame.sort_values(["_pos", "_col"], kind="stable").drop(columns="_col")
        return frame.reset_index(drop=True)


def _cell_text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return shorten(value)  # a cell is echoed as a short prefix


@dataclass(frozen=True, repr=False)
class ValidationReport(Result):
    """What validation found, table by table; no row is ever lost.

    Attributes
    ----------
    valid : dict of str to DataFrame
        Per table, the rows that passed every check, with canonical types. The index is the
        source line number (named ``row``).
    rejected : dict of str to DataFrame
        Per table, each rejected row once, as it was given, with its source line (``row``)
        and every reason that applies (``reasons``).
    problems : DataFrame
        One row per problem: ``table, file, row, column, value, rule, message, fix``.
    counts : DataFrame
        Per table: ``input``, ``valid``, ``rejected`` (``input == valid + rejected``).
    notes : DataFrame
        What was accepted in another spelling and read as the canonical one, once per column:
        ``table, file, column, change, cells, example`` (e.g. ``SRS -> srs``). The valid
        rows hold the canonical spelling; the rejected rows are kept as given.
    """

    valid: dict[str, pd.DataFrame]
    rejected: dict[str, pd.DataFrame]
    problems: pd.DataFrame
    counts: pd.DataFrame
    files: dict[str, str] = field(default_factory=dict)
    notes: pd.DataFrame = field(default_factory=_no_notes)

    @classmethod
    def from_checks(cls, checks: list[TableCheck]) -> ValidationReport:
        valid, rejected, problems, counts, files = {}, {}, [], [], {}
        notes = [check.note_frame() for check in checks if check.notes]
        for check in checks:
            found = check.problems()
            bad_pos = np.unique(found["_pos"].to_numpy(dtype=int))
            bad_pos = bad_pos[bad_pos >= 0]  # a problem of a table without rows has none
            is_bad = np.zeros(len(check.raw), bool)
            is_bad[bad_pos] = True
            good = (check.typed.loc[~is_bad] if is_bad.any() else check.typed).copy(deep=False)
            good.index = pd.Index(check.rows[~is_bad], name="row")
            good.attrs = {"source_file": check.file}
            valid[check.kind] = good
            rejected[check.kind] = rejected_rows(check, found, is_bad)
            problems.append(found.drop(columns="_pos"))
            counts.append((check.kind, len(check.raw), int((~is_bad).sum()), int(is_bad.sum())))
            files[check.kind] = check.file
        frame = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(
            columns=PROBLEM_COLUMNS)
        table = pd.DataFrame(counts, columns=COUNT_COLUMNS)
        said = pd.concat(notes, ignore_index=True) if notes else _no_notes()
        return cls(valid, rejected, frame, table, files, said)

    @property
    def ok(self) -> bool:
        """True when no row of any table was rejected and no table lacks a required column."""
        rejected = bool(self.counts["rejected"].sum() > 0) if len(self.counts) else False
        return not rejected and not len(self.problems)

    def messages(self, limit: int | None = None) -> list[str]:
        """Each problem as one sentence: where, what, and how to fix it."""
        rows = self.problems if limit is None else self.problems.head(limit)
        out = []
        for p in rows.itertuples(index=False):
            row = None if p.row is None or pd.isna(p.row) else int(p.row)
            if p.rule == "missing_column":
                row = None
            value = "" if p.value is None or pd.isna(p.value) else f"{p.value} "
            out.append(f"{locate(p.file, row, p.column)}: {value}{p.message}. {p.fix}")
        return list(dict.fromkeys(out))  # a missing column is said once

    def note_messages(self) -> list[str]:
        """Each note as one sentence: where, what was read in another spelling, how often.

        Examples
        --------
        >>> import outcomes as oc
        >>> responses = pd.DataFrame({"engagement_id": ["E1", "E1"], "occasion": "Intake",
        ...                           "instrument": ["ORS", "ors"], "item": ["1", "2"],
        ...                           "value": ["5", "6"], "session": None})
        >>> for line in oc.validate(responses, "responses").note_messages():
        ...     print(line)
        <responses table>, column "occasion": values read in the canonical spelling (case, spaces, '-' and '_' ignored) in 2 cells, e.g. Intake -> intake.
        <responses table>, column "instrument": instrument names read as registry keys (case, spaces, '-' and '_' ignored, or an alias) in 1 cell, e.g. ORS -> ors.
        """  # noqa: E501
        out = []
        for n in self.notes.itertuples(index=False):
            where = locate(n.file, None, n.column)
            if n.change.startswith("header"):
                out.append(f"{where}: {n.change}, {n.example}.")
            else:
                cells = f"{n.cells:,} cell{'s' if n.cells != 1 else ''}"
                out.append(f"{where}: {n.change} in {cells}, e.g. {n.example}.")
        return out

    def headline(self) -> str:
        """Tables, rows in and rows rejected, e.g. ``4 tables, 227,740 rows in, 0 rejected``."""
        return counts_headline(self.counts)

    def table(self) -> pd.DataFrame:
        """Rows in, valid and rejected per table (a tidy frame)."""
        return self.counts.copy()

    def rules(self) -> pd.DataFrame:
        """How many rows each rule rejected, per table and column."""
        grouped = self.problems.groupby(["table", "column", "rule"], sort=False)
        return grouped.size().rename("n").reset_index()

    def summary(self, *, limit: int = 20) -> Summary:
        """Plain text: rows per table, then the first problems with their fixes."""
        head = "Validation: " + ("every row is valid." if self.ok else "some rows were rejected."
                                 if self.counts["rejected"].sum() else "a table failed.")
        text = [head, "", text_table(self.counts)]
        if len(self.notes):
            text += ["", "Read in another spelling (the valid rows hold the canonical one):"]
            text += [f"- {m}" for m in self.note_messages()]
        if not self.ok:
            msgs = self.messages()
            text += ["", f"Problems ({len(self.problems)}; first {min(limit, len(msgs))}):"]
            text += [f"- {m}" for m in msgs[:limit]]
        return Summary("\n".join(text))

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):  # noqa: ANN001, ANN201
        """Bars of problems per table, column and rule; when there are none, of the valid
        rows per table. Returns the Axes."""
        ax = axes_or_new(ax)
        if self.ok:
            ax.barh(self.counts["table"], self.counts["valid"], color=OKABE_ITO["blue"])
            ax.set_xlabel("valid rows")
            ax.set_title("Validation: every row is valid")
            return ax
        counts = self.rules()
        labels = counts["table"] + ": " + counts["column"] + " (" + counts["rule"] + ")"
        ax.barh(labels, counts["n"], color=OKABE_ITO["vermillion"])
        ax.invert_yaxis()
        ax.set_xlabel("problems")
        ax.set_title("Validation problems by table, column and rule")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: per table the counts, the problems and the notes, plus ``ok``."""
        tables = {}
        for row in self.counts.itertuples(index=False):
            found = self.problems[self.problems["table"] == row.table]
            said = self.notes[self.notes["table"] == row.table]
            tables[row.table] = {
                "file": self.files.get(row.table),
                "input": row.input,
                "valid": row.valid,
                "rejected": row.rejected,
                "problems": jsonable(found.drop(columns="table")),
                "notes": jsonable(said.drop(columns="table")),
            }
        return {"ok": self.ok, "tables": tables}

    def write_rejected(self, folder: str | Path) -> list[Path]:
        """Write each table's rejected rows, with reasons, as ``folder/<table>.csv``, and the
        problems as ``folder/problems.csv``; return the files written.

        A table without rejected rows gets no file, or, when ``folder`` already holds one
        from an earlier run, an empty one (headings only) in its place: nothing is deleted.
        Cells a spreadsheet would run as formulas are written with a leading ``'`` (see
        :func:`outcomes.io.safe_cell`).

        Raises
        ------
        UsageError
            When ``folder`` is a folder the validated tables were read from.
        """
        from outcomes.io.writing import check_output, source_files, write_table

        folder = Path(folder)
        check_output(folder, source_files(list(self.files.values())),
                     example=str(folder / "rejected"))
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for kind, frame in self.rejected.items():
            path = folder / f"{kind}.csv"
            if len(frame) or path.exists():  # an old file would describe a past run
                written.append(write_table(frame, path))
        written.append(write_table(self.problems, folder / "problems.csv"))
        return written


def rejected_rows(check: TableCheck, found: pd.DataFrame, is_bad: np.ndarray) -> pd.DataFrame:
    """The rows of ``check`` marked in ``is_bad``, as given, with ``row`` and ``reasons``."""
    raw = check.raw.reset_index(drop=True)
    out = raw.loc[is_bad].copy() if is_bad.any() else raw.iloc[:0].copy()
    out.insert(0, "row", check.rows[is_bad])
    if not len(found):
        out["reasons"] = pd.Series(dtype=object)
        return out.reset_index(drop=True)
    said = found["column"].astype(str) + " " + found["message"].astype(str)
    reasons = said.groupby(found["_pos"].to_numpy()).agg(lambda s: "; ".join(dict.fromkeys(s)))
    out["reasons"] = reasons.reindex(out.index).to_numpy()
    return out.reset_index(drop=True)
