"""The coach's workbook: the template a coach fills in, and reading it back cell by cell.

:func:`write_template` writes one row per client (intake and end ORS, sessions, the mean SRS
of the early sessions, sponsor, status) and, for coaches who have them, the ratings of every
session; every column carries a note and a data-validation rule, and each sheet an example
row. :func:`read_practice` reads it back, naming the sheet, row and column of any cell it
cannot use. :func:`practice_from_study` lays out one coach of a study the same way.

Examples
--------
>>> import tempfile
>>> path = write_template(Path(tempfile.mkdtemp()) / "my_practice.xlsx")
>>> read_practice(path).clients.empty          # the example rows are skipped
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.study import Study

__all__ = ["CLIENT_COLUMNS", "SESSION_COLUMNS", "Practice", "write_template", "read_practice",
           "practice_from_study"]

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
    """A coach's clients (one row each, ``row`` = the workbook row) and optional sessions."""

    clients: pd.DataFrame
    sessions: pd.DataFrame | None = None
    source: str | None = None
    notes: tuple[str, ...] = ()


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
        cell = sheet.cell(row=1, column=j, value=name)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.comment = Comment(text + (" Required." if required else ""), "outcomes")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(name) + 4)
        rule = _validation(kind, low, high, name)
        if rule is not None:
            sheet.add_data_validation(rule)
            rule.add(f"{cell.column_letter}2:{cell.column_letter}1000")
        sheet.cell(row=2, column=j, value=example[j - 1]).font = Font(italic=True,
                                                                      color="808080")
    sheet.freeze_panes = "A2"


def write_template(path: str | Path) -> Path:
    """Write the workbook a coach fills in: "read me", "clients" and "sessions" sheets.

    Every column has a note saying what goes in it and a data-validation rule (ranges,
    lists); the second row of each sheet is an example, skipped when read.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

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
        about.cell(row=i, column=1, value=text).font = Font(bold=i == 1)
    about.column_dimensions["A"].width = 110
    _sheet(book, "clients", CLIENT_COLUMNS, _EXAMPLES["clients"])
    _sheet(book, "sessions", SESSION_COLUMNS, _EXAMPLES["sessions"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _read_sheet(sheet, columns: Mapping[str, tuple], file: str) -> pd.DataFrame:  # noqa: ANN001
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(c).strip().lower() if c is not None else "" for c in (rows[0] if rows else [])]
    missing = [c for c, spec in columns.items() if spec[3] and c not in header]
    if missing:
        raise DataError(f"the {sheet.title} sheet has no column {missing[0]!r}", file=file,
                        fix=f"Start from `outcomes template`; the columns are "
                            f"{', '.join(columns)}.")
    records = []
    for number, values in enumerate(rows[1:], start=2):
        record = dict(zip(header, values, strict=False))
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        if str(record.get("client") or "").startswith(EXAMPLE):
            continue
        out: dict[str, Any] = {"row": number}
        for name, (kind, low, high, required, _) in columns.items():
            out[name] = _cell(record.get(name), name, kind, low, high, required,
                              f"{file}, sheet {sheet.title}", number)
        records.append(out)
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
    if kind == "list":
        text = str(value).strip().lower()
        if text not in high:
            raise DataError(f"{value!r} is not allowed", file=file, row=row, column=name,
                            fix=f"Write one of {', '.join(high)}.")
        return text
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{value!r} is not a number", file=file, row=row, column=name,
                        fix=f"Write a number from {low} to {high}.") from None
    if not low <= number <= high or (kind == "whole" and number != int(number)):
        raise DataError(f"{value!r} is outside {low}-{high}", file=file, row=row, column=name,
                        fix=f"Write a {'whole number' if kind == 'whole' else 'number'} from "
                            f"{low} to {high}.")
    return number


def read_practice(path: str | Path) -> Practice:
    """Read a filled-in template, checking every cell (the example rows are skipped)."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist. Make the workbook with `outcomes template`.")
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds
        raise DataError(f"cannot be read as an Excel workbook ({error})", file=str(path),
                        fix="Save it as .xlsx, starting from `outcomes template`.") from None
    if "clients" not in book.sheetnames:
        raise DataError("has no sheet named clients", file=str(path),
                        fix="Start from `outcomes template`, which has the clients sheet.")
    clients = _read_sheet(book["clients"], CLIENT_COLUMNS, str(path))
    sessions = None
    if "sessions" in book.sheetnames:
        sessions = _read_sheet(book["sessions"], SESSION_COLUMNS, str(path))
        unknown = sorted(set(sessions["client"]) - set(clients["client"]))
        if unknown:
            row = int(sessions.loc[sessions["client"] == unknown[0], "row"].iloc[0])
            raise DataError(f"client {unknown[0]!r} is not on the clients sheet",
                            file=f"{path}, sheet sessions", row=row, column="client",
                            fix="Use the same code on both sheets.")
        sessions = sessions if len(sessions) else None
    duplicated = clients["client"].duplicated()
    if duplicated.any():
        row = int(clients.loc[duplicated, "row"].iloc[0])
        raise DataError("the same client code is on two rows", file=f"{path}, sheet clients",
                        row=row, column="client", fix="Give each client one row.")
    book.close()
    return Practice(clients=clients, sessions=sessions, source=str(path))


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
