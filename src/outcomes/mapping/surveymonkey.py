"""SurveyMonkey CSV exports: two header rows joined into one column name.

Row 1 holds each question's text over the first column of its block and nothing over the
rest; row 2 holds the option or statement of each column, or "Response" /
"Open-Ended Response" for a single answer. Row 1 is filled forward and joined with row 2 as
``"question - statement"`` (a lone "Response" adds nothing). The metadata columns are
Respondent ID, Collector ID, Start Date, End Date, IP Address, Email Address, First Name,
Last Name and Custom Data 1; the address, e-mail and name columns are personal data. Dates
are written month/day/year.
"""

from __future__ import annotations

import pandas as pd

from outcomes.mapping._prepared import Prepared

__all__ = ["detect", "prepare", "PERSONAL", "DATE_FORMAT"]

#: Metadata columns that identify people.
PERSONAL = ("IP Address", "Email Address", "First Name", "Last Name")
#: How SurveyMonkey writes dates (the time after the date is ignored).
DATE_FORMAT = "%m/%d/%Y"

_PLAIN = ("", "Response", "Open-Ended Response")


def detect(frame: pd.DataFrame) -> str | None:
    """``"surveymonkey"`` when the export has the Respondent ID and Collector ID columns.

    Examples
    --------
    >>> detect(pd.DataFrame(columns=["Respondent ID", "Collector ID", "Start Date"]))
    'surveymonkey'
    """
    return "surveymonkey" if {"Respondent ID", "Collector ID"} <= set(frame.columns) else None


def prepare(frame: pd.DataFrame, *, file: str) -> Prepared:
    """Join the two header rows and keep the records.

    Examples
    --------
    >>> t = pd.DataFrame({"Respondent ID": [None, "11"], "How are you?": ["Individually", "4"],
    ...                   "unnamed_3": ["Socially", "5"], "Notes": ["Response", "ok"]},
    ...                  index=pd.Index([2, 3], name="row"))
    >>> p = prepare(t, file="s.csv")
    >>> list(p.data.columns)
    ['Respondent ID', 'How are you? - Individually', 'How are you? - Socially', 'Notes']
    >>> p.questions["How are you?"]
    [('How are you? - Individually', 1), ('How are you? - Socially', 2)]
    """
    second = frame.iloc[0] if len(frame) else pd.Series(dtype=object)
    names: list[str] = []
    questions: dict[str, list[tuple[str, int]]] = {}
    labels: dict[str, str] = {}
    current = ""
    for position, column in enumerate(frame.columns):
        text = str(column)
        if not (text.startswith("unnamed_") and text[8:].isdigit()):
            current = text
        sub = second.iloc[position] if position < len(second) else None
        sub = sub.strip() if isinstance(sub, str) else ""
        name = current if sub in _PLAIN else f"{current} - {sub}"
        while name in names:
            name = f"{name} (again)"
        names.append(name)
        labels[name] = current
        if sub not in _PLAIN:
            members = questions.setdefault(current, [])
            members.append((name, len(members) + 1))
    data = frame.iloc[1:].copy()
    data.columns = names
    prepared = Prepared(
        data=data, source="surveymonkey", file=file, labels=labels,
        questions=questions, personal=[c for c in names if c in PERSONAL],
        date_format=DATE_FORMAT, header_rows=2,
    )
    prepared.notes.append("Read as a SurveyMonkey export: the two header rows were joined "
                          "into column names (question - option).")
    return prepared
