"""Problems found in a coach's workbook: collected while it is read, then told all at once.

:class:`Problems` gathers every cell that cannot be used (with its sheet, the row and column
heading the coach sees, the cell reference and the fix) and the mistakes between rows: a
client code on two rows, a session of a client who is not on the clients sheet, a session
written twice. :class:`WorkbookError` lists them all in one message.

Examples
--------
>>> found = Problems("my_practice.xlsx")
>>> found.headings["clients"] = {"intake_ors": ("intake_ors", "D", 3)}
>>> found.add("clients", 4, "intake_ors", value="2O", rule="number",
...           message="'2O' is not a number", fix="Write a number from 0 to 40.")
>>> print(WorkbookError(found.frame(), file="my_practice.xlsx"))
my_practice.xlsx: 1 problem in the workbook:
  - sheet clients, row 4, column "intake_ors": '2O' is not a number (cell D4). Write a number from 0 to 40.
Correct each cell as said, save the workbook and run again.
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError, locate

__all__ = ["PROBLEM_COLUMNS", "Problems", "WorkbookError", "shown", "rows_text", "left_out",
           "problem_lines"]

#: One row per problem: where (sheet, row, column heading, cell), what and how to fix it.
PROBLEM_COLUMNS = ["file", "sheet", "row", "column", "cell", "value", "rule", "message", "fix"]
SHEETS = ("clients", "sessions")
#: Values are echoed cut to this many characters.
PREFIX = 40
#: Rows listed by number in a sentence before the rest are counted.
LISTED = 12


def shown(value: Any) -> str:
    """A cell's value as the coach would recognise it, cut to a short prefix.

    Examples
    --------
    >>> shown("2O"), shown(44.0), shown(2.5), shown(True), shown(dt.datetime(2024, 3, 1))
    ("'2O'", '44', '2.5', 'TRUE', '2024-03-01')
    >>> shown("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'"
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return repr(text if len(text) <= PREFIX else text[:PREFIX] + "…")


def rows_text(rows: Any) -> str:
    """Row numbers in words: ``row 4``, ``rows 4, 5 and 8``; a long list is counted.

    Examples
    --------
    >>> rows_text([8, 4, 5]), rows_text([3])
    ('rows 4, 5 and 8', 'row 3')
    >>> rows_text(range(2, 20))
    '18 rows (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 6 more)'
    """
    numbers = sorted({int(r) for r in rows})
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    if len(numbers) > LISTED:
        listed = ", ".join(map(str, numbers[:LISTED]))
        return f"{len(numbers)} rows ({listed} and {len(numbers) - LISTED} more)"
    return "rows " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


class Problems:
    """The problems found so far in one workbook (mutable, used while reading it)."""

    def __init__(self, file: str) -> None:
        self.file = file
        #: sheet -> column name -> (heading as written, column letter, position)
        self.headings: dict[str, dict[str, tuple[str, str, int]]] = {}
        #: sheets whose every row is set aside (a required heading is missing or doubled)
        self.whole_sheet: set[str] = set()
        self._found: list[dict[str, Any]] = []

    def add(self, sheet: str, row: int, name: str, *, value: Any = None, rule: str,
            message: str, fix: str) -> None:
        """Record one problem of ``sheet`` at ``row`` in the column called ``name``."""
        heading, letter, position = self.headings.get(sheet, {}).get(name, (name, None, 999))
        self._found.append({
            "file": self.file, "sheet": sheet, "row": int(row), "column": heading,
            "cell": f"{letter}{row}" if letter and row > 1 else None,
            "value": None if value is None else shown(value), "rule": rule,
            "message": message, "fix": fix, "_position": position})

    def forget_headings(self, sheet: str) -> None:
        """Drop the heading problems of a sheet with no rows: nothing there is lost."""
        self.whole_sheet.discard(sheet)
        self._found = [p for p in self._found if not (p["sheet"] == sheet and p["row"] == 1)]

    def rejected(self, sheet: str, rows: pd.Series) -> pd.Series:
        """True for each of ``rows`` (workbook row numbers of ``sheet``) with a problem."""
        if sheet in self.whole_sheet:
            return pd.Series(True, index=rows.index)
        bad = {p["row"] for p in self._found if p["sheet"] == sheet}
        return rows.isin(bad)

    def frame(self) -> pd.DataFrame:
        """Every problem, sheet by sheet, in row order and the sheet's column order."""
        if not self._found:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
        frame = pd.DataFrame(self._found)
        frame["_sheet"] = frame["sheet"].map({s: i for i, s in enumerate(SHEETS)})
        frame = frame.sort_values(["_sheet", "row", "_position"], kind="stable")
        return frame[PROBLEM_COLUMNS].reset_index(drop=True)

    def check_links(self, clients: pd.DataFrame, sessions: pd.DataFrame | None) -> None:
        """Client codes on two rows; sessions of unknown, set-aside or twice-written clients."""
        named = clients[clients["client"].notna()]
        for code, rows in named.groupby("client", sort=False)["row"]:
            if len(rows) > 1:
                count = "two" if len(rows) == 2 else str(len(rows))
                for row in rows:
                    self.add("clients", row, "client", value=code, rule="duplicate",
                             message=f"the same client code is on {count} rows "
                                     f"({rows_text(rows)})",
                             fix="Give each client one row, with a code of its own.")
        if sessions is None or sessions.empty:
            return
        set_aside = named[self.rejected("clients", named["row"])]
        usable = set(named["client"]) - set(set_aside["client"])
        for row, code in sessions[["row", "client"]].itertuples(index=False):
            if code is None or pd.isna(code) or code in usable:
                continue
            if code in set(set_aside["client"]):
                where = rows_text(set_aside.loc[set_aside["client"] == code, "row"])
                self.add("sessions", row, "client", value=code, rule="client_set_aside",
                         message=f"left out with its client, whose {where} on the clients "
                                 "sheet cannot be used",
                         fix=f"Correct {where} of the clients sheet.")
            else:
                self.add("sessions", row, "client", value=code, rule="unknown_client",
                         message=f"client {shown(code)} is not on the clients sheet",
                         fix="Use the same code on both sheets, or add the client's row.")
        kept = sessions[sessions["client"].isin(usable) & sessions["session"].notna()
                        & ~self.rejected("sessions", sessions["row"])]
        for (_, number), rows in kept.groupby(["client", "session"], sort=False)["row"]:
            if len(rows) > 1:
                for row in rows:
                    self.add("sessions", row, "session", value=number, rule="duplicate",
                             message=f"session {shown(number)} of this client is on "
                                     f"{rows_text(rows)}",
                             fix="Write each session of a client once.")


def problem_lines(problems: pd.DataFrame) -> list[str]:
    """Each problem as one sentence: sheet, row, column, what was found (cell), the fix.

    The sessions left out with their client are said once per client.
    """
    lines: list[str] = []
    follow = problems["rule"] == "client_set_aside"
    for p in problems[~follow].itertuples(index=False):
        where = f"sheet {p.sheet}, " + locate(row=p.row, column=p.column)
        cell = f" (cell {p.cell})" if isinstance(p.cell, str) else ""
        lines.append(f"{where}: {p.message}{cell}. {p.fix}")
    for (message, fix), group in problems[follow].groupby(["message", "fix"], sort=False):
        lines.append(f"sheet sessions, {rows_text(group['row'])}, column "
                     f"\"{group['column'].iloc[0]}\": {message}. {fix}")
    return lines


def left_out(problems: pd.DataFrame, *, words: bool = False) -> str:
    """The rows set aside, by sheet: ``3 client rows and 2 session rows``, or with
    ``words`` ``rows 4, 5 and 8 of the clients sheet; row 4 of the sessions sheet``."""
    parts = []
    for sheet in SHEETS:
        mine = problems[problems["sheet"] == sheet]
        rows = mine.loc[mine["row"] > 1, "row"]
        n = rows.nunique()
        if (mine["row"] == 1).any():  # a heading: the whole sheet is set aside
            parts.append(f"every row of the {sheet} sheet" if words else
                         f"every {sheet[:-1]} row")
        elif n:
            parts.append(f"{rows_text(rows)} of the {sheet} sheet" if words else
                         f"{n} {sheet[:-1]} row{'s' if n != 1 else ''}")
    return ("; " if words else " and ").join(parts)


class WorkbookError(DataError):
    """A workbook with problems: every problem is listed, each with its sheet, row, column
    and fix (``problems`` holds them as a frame, see :data:`PROBLEM_COLUMNS`)."""

    def __init__(self, problems: pd.DataFrame, *, file: str, lead: str | None = None,
                 fix: str | None = None) -> None:
        self.problems = problems.reset_index(drop=True)
        self.workbook = file
        n = len(self.problems)
        self.lead = lead or f"{n} problem{'s' if n != 1 else ''} in the workbook"
        first = self.problems.iloc[0] if n else None
        super().__init__(
            self.lead, file=file if first is None else f"{file}, sheet {first['sheet']}",
            row=None if first is None else int(first["row"]),
            column=None if first is None else first["column"],
            fix=fix or "Correct each cell as said, save the workbook and run again.")

    def _text(self) -> str:
        lines = [f"  - {line}" for line in problem_lines(self.problems)]
        return "\n".join([f"{self.workbook}: {self.lead}:", *lines, str(self.fix)])


def no_problems() -> pd.DataFrame:
    """An empty problems frame."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})


def counts(sheets: dict[str, pd.DataFrame | None], found: Problems) -> pd.DataFrame:
    """Rows read, kept and set aside per sheet (``input == valid + rejected``)."""
    out = []
    for sheet, frame in sheets.items():
        if frame is None:
            continue
        bad = int(found.rejected(sheet, frame["row"]).sum())
        out.append((sheet, len(frame), len(frame) - bad, bad))
    return pd.DataFrame(out, columns=["sheet", "input", "valid", "rejected"]).astype(
        {"input": np.int64, "valid": np.int64, "rejected": np.int64})
