"""Which kind of export a file is, and reading it with the right source module.

Detection looks at the file, not its name: a Qualtrics export has ``ResponseId``/``StartDate``
and a row of ImportId JSON (current) or ``V1`` = "ResponseID" (legacy); a REDCap export has
``redcap_*`` columns or starts with ``record_id`` and has ``*_complete`` columns; a
SurveyMonkey export has "Respondent ID" and "Collector ID". Anything else, and every SPSS,
Excel and Parquet file, is a wide table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from outcomes._errors import UsageError
from outcomes.io import read_table
from outcomes.mapping import qualtrics, redcap, surveymonkey, wide
from outcomes.mapping._prepared import Prepared
from outcomes.mapping.config import FORMATS

__all__ = ["detect_source", "read_export", "TABULAR"]

#: File suffixes that can only be wide tables.
TABULAR = (".sav", ".xlsx", ".xlsm", ".parquet")


def _is_tabular(file: str) -> bool:
    return file.lower().endswith(TABULAR)


def detect_source(frame: pd.DataFrame) -> str:
    """The export's layout, from a CSV table read with one header row.

    Examples
    --------
    >>> detect_source(pd.DataFrame(columns=["Respondent ID", "Collector ID"]))
    'surveymonkey'
    >>> detect_source(pd.DataFrame(columns=["client_id", "ORS_s1_1"]))
    'wide'
    """
    for module in (qualtrics, redcap, surveymonkey):
        found = module.detect(frame)
        if found:
            return found
    return "wide"


def read_export(path: str | os.PathLike[str], *, source: str | None = None,
                sheet: str | int | None = None, dictionary: str | None = None) -> Prepared:
    """Read an export and take it apart by its layout (detected unless ``source`` says).

    Parameters
    ----------
    path : str or path-like
        The export file.
    source : {"qualtrics", "qualtrics-legacy", "redcap", "surveymonkey", "wide"}, optional
    sheet : str or int, optional
        Excel only: the sheet.
    dictionary : str, optional
        REDCap only: the data dictionary CSV.

    Returns
    -------
    Prepared

    Raises
    ------
    UsageError
        For an unknown ``source``, or one that cannot hold this kind of file.
    """
    file = os.fspath(path)
    if source is not None and source not in FORMATS:
        raise UsageError(f"source={source!r} is not an export layout. Use one of: "
                         f"{', '.join(FORMATS)}.")
    if _is_tabular(file):
        if source not in (None, "wide"):
            raise UsageError(f"{file}: a {Path(file).suffix} file is read as a wide table, not "
                             f"as {source}. Export it from {source} as CSV, or use "
                             "source = \"wide\".")
        return wide.prepare(file, sheet=sheet)
    if source == "wide":
        return wide.prepare(file)
    frame = read_table(file)
    form = source or detect_source(frame)
    if form in ("qualtrics", "qualtrics-legacy"):
        return qualtrics.prepare(frame, file=file, form=form)
    if form == "redcap":
        return redcap.prepare(frame, file=file, dictionary=dictionary)
    if form == "surveymonkey":
        return surveymonkey.prepare(frame, file=file)
    return wide.prepare(file, frame=frame)
