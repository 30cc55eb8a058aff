"""An export as every source reader leaves it: text cells by source line, plus what it knows.

Each source module (:mod:`.qualtrics`, :mod:`.redcap`, :mod:`.surveymonkey`, :mod:`.wide`)
turns a raw export into a :class:`Prepared`: the data records only (header rows taken off),
every cell as text, the index ``row`` holding each record's line in the file, and what the
format tells about the columns (question texts, Qualtrics ImportIds, REDCap forms and
choices, checkbox groups, which columns identify people, which records the format itself
marks as previews or tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from outcomes.io._common import number_text

__all__ = ["Prepared", "as_text", "iso_date", "same_code"]


@dataclass
class Prepared:
    """One export, read and understood, before a mapping is applied.

    Attributes
    ----------
    data : DataFrame
        Data records only; text cells (missing = NaN); index ``row`` = line in the file.
    source : str
        The format: qualtrics, qualtrics-legacy, redcap, surveymonkey or wide.
    file : str
        The export's path as given.
    labels : dict
        Column -> its question text or label, where the format gives one.
    aliases : dict
        Another name a mapping may use for a column (a Qualtrics ImportId, a legacy
        Qualtrics label) -> the column.
    questions : dict
        Question id or text -> the columns of that question with their item numbers.
    personal : list of str
        Columns that identify people by the format's convention (dropped unless kept).
    flagged : dict
        Row -> (reason, message) for records the format marks as not real responses.
    checkboxes : dict
        Checkbox field -> {choice code: column}.
    completion : dict
        Column -> the column holding its form's completion status (REDCap ``*_complete``).
    ranges : dict
        Column -> (lowest, highest) answer code the export's own dictionary allows.
    choices : dict
        Column -> {code: label} from the export's dictionary.
    missing_codes : tuple of str
        Codes the format uses for "no answer" by default.
    date_format : str or None
        How the format writes dates (a strftime pattern), when not ISO.
    consulted : list of str
        Columns the reader looked at to flag records (Qualtrics ``Status``, ``Finished``).
    header_rows : int
        Rows of the file before the first record (the column names included).
    notes : list of str
        What the reader noticed, for the report.
    """

    data: pd.DataFrame
    source: str
    file: str
    labels: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    questions: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    personal: list[str] = field(default_factory=list)
    flagged: dict[int, tuple[str, str]] = field(default_factory=dict)
    checkboxes: dict[str, dict[str, str]] = field(default_factory=dict)
    completion: dict[str, str] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_codes: tuple[str, ...] = ()
    date_format: str | None = None
    consulted: list[str] = field(default_factory=list)
    header_rows: int = 1
    notes: list[str] = field(default_factory=list)

    def resolve(self, name: str) -> str | None:
        """The column a mapping means by ``name`` (a column, an alias), or None.

        Examples
        --------
        >>> p = Prepared(pd.DataFrame({"Q1_1": ["3"]}), "qualtrics", "a.csv",
        ...              aliases={"QID4_1": "Q1_1"})
        >>> p.resolve("Q1_1"), p.resolve("QID4_1"), p.resolve("Q9")
        ('Q1_1', 'Q1_1', None)
        """
        if name in self.data.columns:
            return name
        return self.aliases.get(name)


def as_text(column: pd.Series) -> pd.Series:
    """Any column as text cells: numbers as a spreadsheet shows them, dates as ISO dates.

    Examples
    --------
    >>> as_text(pd.Series([3.0, 2.5, None])).tolist()
    ['3', '2.5', nan]
    >>> as_text(pd.Series(pd.to_datetime(["2024-03-01 10:00"]))).tolist()
    ['2024-03-01']
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        text = column.dt.strftime("%Y-%m-%d")
        return text.astype(object).where(column.notna(), np.nan)
    values = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
    out = [number_text(v) for v in values.tolist()]
    out = [v.strip() or np.nan if isinstance(v, str) else v for v in out]
    return pd.Series(out, index=column.index, dtype=object, name=column.name)


_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\S*)?")


def iso_date(text: object, date_format: str | None = None) -> object:
    """A date as ``YYYY-MM-DD``; text that cannot be read comes back unchanged.

    Unchanged text is left for validation to reject with the cell's row and column.

    Examples
    --------
    >>> iso_date("2024-03-04 09:12:45"), iso_date("03/04/2024 09:12:45 AM", "%m/%d/%Y")
    ('2024-03-04', '2024-03-04')
    >>> iso_date("next week")
    'next week'
    """
    if not isinstance(text, str):
        return text
    value = text.strip()
    found = _ISO.fullmatch(value)
    if found:
        return found.group(1)
    if date_format:
        formats = [date_format]
        if " " not in date_format:  # a date pattern also reads the date part of a timestamp
            value = value.split(" ")[0]
        for pattern in formats:
            try:
                return datetime.strptime(value, pattern).date().isoformat()
            except ValueError:
                continue
    return text


def same_code(cells: pd.Series, codes: tuple[str, ...] | list[str]) -> pd.Series:
    """Which missing-data code each cell holds (the same text, or the same number), or None.

    Examples
    --------
    >>> same_code(pd.Series(["-99", "-99.0", "4", None, " UNK"]), ["-99", "UNK"]).tolist()
    ['-99', '-99', None, None, 'UNK']
    """
    stripped = cells.astype("string").str.strip()
    found = stripped.where(stripped.isin(list(codes))).astype(object)
    numeric: dict[float, str] = {}
    for code in codes:
        try:
            numeric.setdefault(float(code), code)
        except ValueError:
            continue
    if numeric:
        numbers = pd.to_numeric(stripped, errors="coerce")
        by_number = numbers.map(numeric).astype(object)
        found = found.where(found.notna(), by_number)
    return found.where(found.notna(), None)
