"""The coach's workbook: the template a coach fills in, and reading it back cell by cell.

:func:`write_template` writes one row per client (intake and end ORS, sessions, the mean SRS
of the early sessions, sponsor, status) and, for coaches who have them, the ratings of every
session; every column carries a note and a data-validation rule, and each sheet an example
row. :func:`read_practice` reads it back and lists, all at once, every cell it cannot use
with its sheet, row, column and fix (:mod:`outcomes.benchmarking._workbook`).
:func:`practice_from_study` lays out one coach of a study the same way.

Examples
--------
>>> import tempfile
>>> path = write_template(Path(tempfile.mkdtemp()) / "my_practice.xlsx")
>>> read_practice(path).clients.empty          # the example rows are skipped
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import check_choice
from outcomes._errors import DataError, UsageError
from outcomes.benchmarking._workbook import (
    Problems,
    WorkbookError,
    counts,
    left_out,
    no_problems,
    shown,
)
from outcomes.io.writing import safe_cell
from outcomes.schema import canonical_spellings, spelling_key

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.study import Study

__all__ = ["CLIENT_COLUMNS", "SESSION_COLUMNS", "Practice", "write_template", "read_practice",
           "practice_from_study", "WorkbookError"]

SPONSORS = ("self", "organisation")
STATUSES = ("completed", "ongoing", "dropped", "referred")
#: column -> (kind, low, high or choices, required, what to write)
CLIENT_COLUMNS: dict[str, tuple[str, Any, Any, bool, str]] = {
    "client": ("text", None, None, True, "Your own code for the client (never a name). It "
               "stays in this workbook: the report refers to rows."),
    "sponsor": ("list", None, SPONSORS, False, "Who pays: self or organisation."),
    "status": ("list", None, STATUSES, False, "completed, ongoing, dropped or referred."),
    "intake_ors": ("decimal", 0, 40, True, "ORS total (0-40) at the first meeting."),
    "end_ors": ("decimal", 0, 40, False, "ORS total (0-40) at the last session; empty while "
                "the coaching goes on."),
    "sessions": ("whole", 1, 200, False, "Number of sessions held."),
    "early_srs": ("decimal", 0, 40, False, "Mean SRS total (0-40) over sessions 1 to 3."),
}
SESSION_COLUMNS: dict[str, tuple[str, Any, Any, bool, str]] = {
    "client": ("text", None, None, True, "The client's code, as on the clients sheet."),
    "session": ("whole", 1, 200, True, "Session number (1, 2, ...)."),
    "ors": ("decimal", 0, 40, False, "ORS total at the start of the session."),
    "srs": ("decimal", 0, 40, False, "SRS total at the end of the session."),
}
EXAMPLE = "EXAMPLE"
_EXAMPLES = {"clients": ["EXAMPLE - delete this row", "organisation", "completed", 18.5, 27.0,
                         8, 36.5],
             "sessions": ["EXAMPLE - delete this row", 1, 18.5, 36.0]}


@dataclass(frozen=True)
class Practice:
    """A coach's clients (one row each, ``row`` = the workbook row) and optional sessions.

    ``problems`` lists the rows of the workbook that were set aside (see :func:`read_practice`
    with ``errors="report"``), one row per problem; ``counts`` gives, per sheet, the rows
    read, kept and set aside (``input == valid + rejected``).
    """

    clients: pd.DataFrame
    sessions: pd.DataFrame | None = None
    source: str | None = None
    notes: tuple[str, ...] = ()
    problems: pd.DataFrame = field(default_factory=no_problems)
    counts: pd.DataFrame | None = None

    def left_out(self) -> str:
        """The workbook rows set aside, e.g. ``3 client rows and 2 session rows`` (or "")."""
        return left_out(self.problems)


def _validation(kind: str, low: Any, high: Any, name: str):  # noqa: ANN202
    from openpyxl.worksheet.datavalidation import DataValidation

    if kind == "list":
        rule = DataValidation(type="list", formula1='"' + ",".join(high) + '"',
                              allow_blank=True)
    elif kind in ("decimal", "whole"):
        rule = DataValidation(type=kind, operator="between", formula1=str(low),
                              formula2=str(high), allow_blank=True)
    else:
        return None
    allowed = "one of " + ", ".join(high) if kind == "list" else f"{low} to {high}"
    rule.error = f"{name}: {allowed}"
    rule.errorTitle = "Not allowed here"
    rule.showErrorMessage = True
    return rule


def _sheet(book, title: str, columns: Mapping[str, tuple], example: list) -> None:  # noqa: ANN001
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    sheet = book.create_sheet(title)
    for j, (name, (kind, low, high, required, text)) in enumerate(columns.items(), start=1):
        cell = sheet.cell(row=1, column=j, value=safe_cell(name))
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.comment = Comment(text + (" Required." if required else ""), "outcomes")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(name) + 4)
        rule = _validation(kind, low, high, name)
        if rule is not None:
            sheet.add_data_validation(rule)
            rule.add(f"{cell.column_letter}2:{cell.column_letter}1000")
        sheet.cell(row=2, column=j, value=safe_cell(example[j - 1])).font = Font(
            italic=True, color="808080")
    sheet.freeze_panes = "A2"


def write_template(path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the workbook a coach fills in: "read me", "clients" and "sessions" sheets.

    Every column has a note saying what goes in it and a data-validation rule (ranges,
    lists); the second row of each sheet is an example, skipped when read. Every cell is
    written as a value, none as a formula (see :func:`outcomes.io.safe_cell`).

    Parameters
    ----------
    path : str or Path
        The workbook to write (``.xlsx``).
    overwrite : bool, default False
        Replace a file already at ``path``; by default such a file (perhaps a filled-in
        workbook) is kept and a UsageError raised.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    if path.exists() and not overwrite:
        raise UsageError(f"{path} already exists and may hold a coach's data; writing the "
                         "template would replace it. Give another file name, or pass "
                         "overwrite=True (--force on the command line) to replace it.")
    book = Workbook()
    about = book.active
    about.title = "read me"
    lines = [
        "Your practice, for a benchmark against your coaching body's norms",
        "",
        "1. On the clients sheet, write one row per client: intake_ors is required; add "
        "end_ors when the coaching has ended.",
        "2. If you record the ORS and SRS at every session, write them on the sessions sheet "
        "(one row per client and session); your clients are then also checked session by "
        "session against the body's expected course.",
        "3. Delete the grey example rows, save, and run:",
        "   outcomes benchmark my_practice.xlsx --norms norms.json --out my_benchmark",
        "",
        "Use your own codes for clients, never names. The report refers to rows of this "
        "workbook, and nothing in it leaves your computer.",
        "Hover over a column heading for what goes in it.",
    ]
    for i, text in enumerate(lines, start=1):
        about.cell(row=i, column=1, value=safe_cell(text)).font = Font(bold=i == 1)
    about.column_dimensions["A"].width = 110
    _sheet(book, "clients", CLIENT_COLUMNS, _EXAMPLES["clients"])
    _sheet(book, "sessions", SESSION_COLUMNS, _EXAMPLES["sessions"])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _headings(sheet, columns: Mapping[str, tuple], found: Problems) -> dict:  # noqa: ANN001
    """Column name -> (heading as written, letter, position); a required heading that is
    missing or written twice sets the whole sheet aside."""
    from difflib import get_close_matches

    from openpyxl.utils import get_column_letter

    title = sheet.title
    first = next(sheet.iter_rows(max_row=1, values_only=True), None) or ()
    written = [str(c).strip() if c is not None else "" for c in first]
    headings: dict[str, tuple[str, str, int]] = {}
    for j, text in enumerate(written):
        name, letter = text.lower(), get_column_letter(j + 1)
        if name in columns and name in headings:
            found.whole_sheet.add(title)
            found.add(title, 1, name, rule="heading", fix="Keep one of the two columns.",
                      message=f"the heading is on two columns ({headings[name][1]} and "
                              f"{letter})")
        elif name:
            headings.setdefault(name, (text, letter, j))
    found.headings[title] = headings
    others = {t.lower(): t for t in written if t and t.lower() not in columns}
    for name, (*_, required, _text) in columns.items():
        if required and name not in headings:
            found.whole_sheet.add(title)
            near = [others[t] for t in get_close_matches(name, others, n=1, cutoff=0.6)]
            found.add(title, 1, name, rule="missing_column",
                      message="no column has this heading, so no row of the sheet can be read",
                      fix=(f"Rename the heading {shown(near[0])} to {name}." if near else
                           f"Add the column; the headings are {', '.join(columns)} (as in "
                           "`outcomes template`)."))
    return headings


def _read_sheet(sheet, columns: Mapping[str, tuple], found: Problems) -> pd.DataFrame:  # noqa: ANN001
    """Every row with a value (the example rows skipped), each cell checked: a cell that
    cannot be used is recorded in ``found`` and read as empty."""
    title = sheet.title
    headings = _headings(sheet, columns, found)
    records = []
    for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        cells = {name: values[j] if j < len(values) else None
                 for name, (_, _, j) in headings.items() if name in columns}
        if str(cells.get("client") or "").startswith(EXAMPLE):
            continue
        out: dict[str, Any] = {"row": number}
        for name, (kind, low, high, required, _) in columns.items():
            value = cells.get(name)
            try:
                out[name] = _cell(value, name, kind, low, high, required and name in cells,
                                  f"sheet {title}", number)
            except DataError as error:
                blank = value is None or str(value).strip() == ""
                found.add(title, number, name, value=None if blank else value,
                          rule="required" if blank else {"list": "allowed_value"}.get(
                              kind, "number"), message=error.message, fix=error.fix or "")
                out[name] = np.nan if kind in ("decimal", "whole") else None
        records.append(out)
    if not records:
        found.forget_headings(title)
    return pd.DataFrame(records, columns=["row", *columns])


def _cell(value: Any, name: str, kind: str, low: Any, high: Any, required: bool, file: str,
          row: int) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DataError("is empty", file=file, row=row, column=name,
                            fix="Fill it in, or delete the row.")
        return np.nan if kind in ("decimal", "whole") else None
    if kind == "text":
        return str(value).strip()
    if kind == "list":  # the one spelling rule of a study's tables (outcomes.schema)
        text = canonical_spellings(high).get(spelling_key(value))
        if text is None:
            raise DataError(f"{shown(value)} is not allowed", file=file, row=row, column=name,
                            fix=f"Write one of {', '.join(high)}.")
        return text
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{shown(value)} is not a number", file=file, row=row, column=name,
                        fix=f"Write a number from {low} to {high}.") from None
    if not low <= number <= high or (kind == "whole" and number != int(number)):
        raise DataError(f"{shown(value)} is outside {low}-{high}", file=file, row=row, column=name,
                        fix=f"Write a {'whole number' if kind == 'whole' else 'number'} from "
                            f"{low} to {high}.")
    return number


def read_practice(path: str | Path, *,
                  errors: Literal["raise", "report"] = "raise") -> Practice:
    """Read a filled-in template, checking every cell (the example rows are skipped).

    Every problem is found in one reading: a cell that is not a number, outside its range,
    not one of the allowed values or empty where required; a missing heading; a client code
    on two rows; a session of a client who is not on the clients sheet, or written twice.

    Parameters
    ----------
    path : str or Path
        The workbook from :func:`write_template`, filled in.
    errors : {"raise", "report"}, default "raise"
        What happens when some rows cannot be used. ``"raise"``: one :class:`WorkbookError`
        lists every problem with its sheet, row, column heading, cell and fix. ``"report"``:
        the rows that can be used are returned, and every row set aside is listed in
        ``problems`` and named (by row) in ``notes``; a session of a client set aside is set
        aside too. No row is dropped silently either way.

    Raises
    ------
    WorkbookError
        With ``errors="raise"``, when any row cannot be used.
    DataError
        When the file is not an Excel workbook or has no clients sheet.
    UsageError
        When the file does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from openpyxl import load_workbook
    >>> path = write_template(Path(tempfile.mkdtemp()) / "my_practice.xlsx")
    >>> book = load_workbook(path)
    >>> book["clients"].append(["anna", "self", "completed", "2O", 25, 8, 37])
    >>> book["clients"].append(["ben", "employer", "completed", 21, 24, 6, 35])
    >>> book["clients"].append(["cleo", "self", "ongoing", 19, None, 4, 38])
    >>> book.save(path)
    >>> practice = read_practice(path, errors="report")
    >>> practice.clients["client"].tolist()
    ['cleo']
    >>> practice.problems[["sheet", "row", "column", "cell"]].values.tolist()
    [['clients', 3, 'intake_ors', 'D3'], ['clients', 4, 'sponsor', 'B4']]
    """
    from outcomes.io import open_workbook

    check_choice(errors, "errors", ("raise", "report"), "read_practice")
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist. Make the workbook with `outcomes template`.")
    try:
        book = open_workbook(path)  # within the reading limits, with defusedxml
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # a sheet costs the cells it holds, not its claimed size
    except UsageError:
        raise  # a limit the workbook is beyond, or no defusedxml
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds
        why = error.message if isinstance(error, DataError) else error
        raise DataError(f"cannot be read as an Excel workbook ({why})", file=str(path),
                        fix="Save it as .xlsx, starting from `outcomes template`.") from None
    found = Problems(str(path))
    try:
        if "clients" not in book.sheetnames:
            raise DataError("has no sheet named clients", file=str(path),
                            fix="Start from `outcomes template`, which has the clients sheet.")
        clients = _read_sheet(book["clients"], CLIENT_COLUMNS, found)
        sessions = None
        if "sessions" in book.sheetnames:
            sessions = _read_sheet(book["sessions"], SESSION_COLUMNS, found)
    finally:
        book.close()
    found.check_links(clients, sessions)
    problems = found.frame()
    if len(problems) and errors == "raise":
        raise WorkbookError(problems, file=str(path))
    tally = counts({"clients": clients, "sessions": sessions}, found)
    clients = clients[~found.rejected("clients", clients["row"])].reset_index(drop=True)
    if sessions is not None:
        sessions = sessions[~found.rejected("sessions", sessions["row"])]
        sessions = sessions.reset_index(drop=True) if len(sessions) else None
    notes = () if problems.empty else (
        f"Left out of this benchmark because a cell could not be used: "
        f"{left_out(problems, words=True)}. Correct them in the workbook and run the "
        "benchmark again.",)
    return Practice(clients=clients, sessions=sessions, source=str(path), notes=notes,
                    problems=problems, counts=tally)


def practice_from_study(study: Study, coach: str) -> Practice:
    """One coach's clients from a study, laid out as the template's sheets."""
    from outcomes.practice.trajectories import session_scores

    table = study.analysis_table()
    mine = table[table["coach_id"].astype(str) == str(coach)].reset_index(drop=True)
    if mine.empty:
        raise UsageError(f"coach {coach!r} has no consenting engagements in {study.source}; "
                         "give a coach_id of the study.")
    clients = pd.DataFrame({"row": np.arange(1, len(mine) + 1), "client": mine["engagement_id"],
                            "sponsor": mine["sponsor"], "status": mine["status"],
                            "intake_ors": mine["baseline"], "end_ors": mine["end_score"],
                            "sessions": mine["sessions_attended"],
                            "early_srs": mine["session_rating"]})
    scores = study.scores()
    per_session = session_scores(scores[scores["engagement_id"].isin(set(mine.engagement_id))])
    sessions = per_session.rename(columns={"engagement_id": "client"})[
        ["client", "session", "ors", "srs"]]
    return Practice(clients=clients, sessions=sessions if len(sessions) else None,
                    source=f"{study.source} (coach {coach})")
