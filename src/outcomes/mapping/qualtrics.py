"""Qualtrics CSV exports: the current three-header-row layout and the legacy two-row one.

The current export has three header rows: the column names (``Q7_3``, metadata such as
``StartDate``, ``Status``, ``ResponseId``), the question texts (a matrix row reads
"question - statement"), and one JSON object per column whose ``ImportId`` names the
question (``QID12_3``) or the metadata field; some files write that JSON with single quotes.
The legacy export has two header rows (names, then labels) and names its metadata
``V1`` ... ``V10``. Both may end each line with a comma and may hold line breaks inside quoted
text; :func:`outcomes.io.read_table` numbers the records by their line either way.

What this module adds to the plain table:

* ImportIds (and legacy labels) as aliases, so a mapping may say ``QID12_3`` or
  ``ExternalDataReference``; the columns of each question (``QID12``, or the export tag
  ``Q12``) with their row ids as item numbers;
* previews, tests and spam (``Status``) flagged for rejection, and unfinished responses
  (``Finished`` = 0), each with its reason;
* the metadata columns that identify people (IP address, location, recipient names and
  e-mail) marked as personal data.
"""

from __future__ import annotations

import ast
import json
import re

import pandas as pd

from outcomes.mapping._prepared import Prepared

__all__ = ["detect", "prepare", "PERSONAL", "STATUS"]

#: Metadata columns that identify people, in current and legacy exports (by name or label).
PERSONAL = (
    "IPAddress", "LocationLatitude", "LocationLongitude", "LocationAccuracy",
    "RecipientFirstName", "RecipientLastName", "RecipientEmail", "Name", "EmailAddress",
)

#: ``Status`` values (numeric export and choice-text export) that are not real responses.
STATUS: dict[str, tuple[str, str]] = {
    "1": ("preview", "a survey preview (Status = 1)"),
    "survey preview": ("preview", "a survey preview (Status = Survey Preview)"),
    "17": ("preview", "an offline survey preview (Status = 17)"),
    "offline survey preview": ("preview", "an offline survey preview"),
    "2": ("test", "a test response (Status = 2)"),
    "survey test": ("test", "a test response (Status = Survey Test)"),
    "8": ("spam", "marked as spam by Qualtrics (Status = 8)"),
    "spam": ("spam", "marked as spam by Qualtrics (Status = Spam)"),
}
#: ``Status`` values of real responses: anonymous link / IP, imported, offline app.
_REAL = {"0", "ip address", "4", "imported", "16", "offline", "email", "anonymous"}

_IMPORT = re.compile(r"^\s*\{\s*['\"]ImportId['\"]")
_QUESTION = re.compile(r"^(QID\d+)_(\d+)$")
_TAG = re.compile(r"^(.+?)_(\d+)$")
_LEGACY_META = ("ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress",
                "IPAddress", "Status", "StartDate", "EndDate", "Finished")


def detect(frame: pd.DataFrame) -> str | None:
    """``"qualtrics"``, ``"qualtrics-legacy"`` or None, from a table read with one header row.

    Examples
    --------
    >>> t = pd.DataFrame({"StartDate": ["Start Date", '{"ImportId":"startDate"}'],
    ...                   "ResponseId": ["Response ID", '{"ImportId":"_recordId"}']})
    >>> detect(t)
    'qualtrics'
    >>> detect(pd.DataFrame({"V1": ["ResponseID", "R_1"], "V7": ["Status", "0"]}))
    'qualtrics-legacy'
    """
    columns = set(frame.columns)
    if len(frame) >= 2 and ({"ResponseId", "StartDate"} & columns):
        cells = frame.iloc[1].dropna().astype(str)
        if len(cells) and cells.str.match(_IMPORT).mean() >= 0.5:
            return "qualtrics"
    if len(frame) >= 1 and "V1" in columns and str(frame.iloc[0]["V1"]).strip() == "ResponseID":
        return "qualtrics-legacy"
    if {"ResponseID", "ResponseSet"} <= columns:
        return "qualtrics-legacy"
    return None


def _import_id(text: object) -> str | None:
    if not isinstance(text, str) or not _IMPORT.match(text):
        return None
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        try:
            found = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
    value = found.get("ImportId") if isinstance(found, dict) else None
    return str(value) if value is not None else None


def prepare(frame: pd.DataFrame, *, file: str, form: str) -> Prepared:
    """Take the header rows off a Qualtrics export and learn what they say.

    Parameters
    ----------
    frame : DataFrame
        The export as :func:`outcomes.io.read_table` reads it (first row = column names).
    file : str
        The export's path, for messages.
    form : {"qualtrics", "qualtrics-legacy"}

    Returns
    -------
    Prepared

    Examples
    --------
    >>> t = pd.DataFrame({"Status": ["Response Type", '{"ImportId":"status"}', "0", "1"],
    ...                   "Q5_1": ["ORS - Individually", '{"ImportId":"QID5_1"}', "6", "7"]},
    ...                  index=pd.Index([2, 3, 4, 5], name="row"))
    >>> p = prepare(t, file="s.csv", form="qualtrics")
    >>> p.data.index.tolist(), p.questions["QID5"], p.flagged[5][0]
    ([4, 5], [('Q5_1', 1)], 'preview')
    """
    headers = 2 if form == "qualtrics" else 1
    labels_row = frame.iloc[0] if len(frame) else pd.Series(dtype=object)
    data = frame.iloc[headers:]
    labels = {c: str(v) for c, v in labels_row.items() if isinstance(v, str)}
    aliases: dict[str, str] = {}
    questions: dict[str, list[tuple[str, int]]] = {}
    if form == "qualtrics" and len(frame) >= 2:
        for column, cell in frame.iloc[1].items():
            import_id = _import_id(cell)
            if import_id and import_id not in frame.columns:
                aliases.setdefault(import_id, str(column))
            found = _QUESTION.match(import_id or "")
            if found:
                questions.setdefault(found.group(1), []).append((str(column), int(found.group(2))))
    else:
        for column, label in labels.items():
            if column.startswith("V") and column[1:].isdigit() and label in _LEGACY_META:
                aliases.setdefault(label, column)
    for column in data.columns:
        found = _TAG.match(str(column))
        if found and not str(column).startswith("QID") and found.group(1) not in aliases:
            tags = questions.setdefault(found.group(1), [])
            if not any(c == column for c, _ in tags):
                tags.append((str(column), int(found.group(2))))
    questions = {q: pairs for q, pairs in questions.items() if pairs}
    personal = [c for c in data.columns
                if c in PERSONAL or (form == "qualtrics-legacy" and labels.get(c) in PERSONAL)]
    prepared = Prepared(
        data=data, source=form, file=file, labels=labels, aliases=aliases,
        questions=questions, personal=personal, header_rows=headers + 1,
    )
    _flag(prepared, form)
    kind = "current (3 header rows)" if form == "qualtrics" else "legacy (2 header rows)"
    prepared.notes.append(f"Read as a Qualtrics export, {kind}: records start on line "
                          f"{int(data.index[0]) if len(data) else headers + 2}.")
    return prepared


def _meta_column(prepared: Prepared, name: str) -> str | None:
    return prepared.resolve(name)


def _flag(prepared: Prepared, form: str) -> None:
    """Flag previews, tests, spam and unfinished responses with their reasons."""
    status = _meta_column(prepared, "Status")
    finished = _meta_column(prepared, "Finished")
    progress = _meta_column(prepared, "Progress")
    data = prepared.data
    prepared.consulted = [c for c in (status, finished, progress) if c is not None]
    for row in data.index:
        if status is not None:
            value = data.at[row, status]
            text = str(value).strip().lower() if isinstance(value, str) else ""
            if text in STATUS:
                prepared.flagged[int(row)] = STATUS[text]
                continue
            if text and text not in _REAL:
                prepared.flagged[int(row)] = (
                    "status", f"Status {value!r} is not a known Qualtrics response type")
                continue
        if finished is not None:
            value = data.at[row, finished]
            text = str(value).strip().lower() if isinstance(value, str) else ""
            if text in ("0", "false"):
                done = data.at[row, progress] if progress is not None else None
                said = f", Progress {done}%" if isinstance(done, str) else ""
                prepared.flagged[int(row)] = (
                    "unfinished", f"an unfinished response (Finished = {value}{said})")
    if status is None:
        prepared.notes.append("The export has no Status column: previews cannot be told apart.")
