"""Survey exports into canonical study tables, with nothing lost on the way.

A mapping file (``mapping.toml``, see ``docs/mapping.md`` and :mod:`.config`) says, for one
export, which column holds the engagement, client, coach, session and occasion, which columns
are which instrument's items, how the survey tool's values recode to the instrument's range,
which columns identify people, and what holds for every row (``occasion = "intake"``).

* :func:`map_export` applies it: Qualtrics (current and legacy), REDCap (records with the
  data dictionary), SurveyMonkey and wide SPSS/Excel/CSV tables, the layout found from the
  file. Every record ends up mapped or rejected with its reason and line.
* :meth:`MappedExport.write` puts the tables into a study folder, merging with a study
  already there (:mod:`.merge` says how conflicts are handled), and validates the study.
* :func:`suggest_mapping` drafts a mapping by recognising instruments from their item counts
  and names, and finds the engagement's own fields.

What an export does not say is never invented (:mod:`._derive`): a sponsor or status it lacks
is ``unknown``, a start date comes from the first session or the intake response (and says
so), every session held is a row, and each value recoded to ``""`` is counted in a note.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "wide.csv").write_text(
...     "client,ORS_s1_1,ORS_s1_2,ORS_s1_3,ORS_s1_4\\nP1,5,6,5.5,7\\nP2,4,4,,3\\n")
>>> mapping = {"columns": {"client_id": "client"}, "constants": {"occasion": "session"},
...            "items": [{"instrument": "ors", "pattern": "ORS_s{session}_{item}"}]}
>>> mapped = map_export(folder / "wide.csv", mapping)
>>> mapped.rows_read, mapped.rows_mapped, len(mapped.tables["responses"])
(2, 2, 8)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

import pandas as pd

from outcomes._errors import UsageError
from outcomes.mapping._build import REASONS, build
from outcomes.mapping._tables import UNKNOWN_FIELDS, assemble, order_columns, rejected_frame
from outcomes.mapping.config import FIELDS, FORMATS, ItemBlock, Mapping, parse_mapping, read_mapping
from outcomes.mapping.result import MappedExport
from outcomes.mapping.sources import detect_source, read_export
from outcomes.mapping.suggest import suggest_mapping
from outcomes.schema import TABLES, UNKNOWN

__all__ = [
    "map_export", "read_mapping", "parse_mapping", "suggest_mapping", "detect_source",
    "Mapping", "ItemBlock", "MappedExport", "REASONS", "FIELDS", "FORMATS",
]


def _mapping(mapping: Mapping | MappingABC[str, Any] | str | os.PathLike[str]) -> Mapping:
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, MappingABC):
        return parse_mapping(mapping)
    return read_mapping(mapping)


def export_name(path: str | os.PathLike[str], given: str | None = None) -> str:
    """The export's name in the study: ``given``, or the file name without its suffixes.

    A name that is also a table's (``responses``) gets ``-export`` added, so that its
    rejected records do not mix with validation's ``rejected/responses.csv``.

    Examples
    --------
    >>> export_name("exports/Intake survey.csv"), export_name("x/responses.csv.gz")
    ('Intake-survey', 'responses-export')
    """
    if given:
        name = given
    else:
        name = Path(path).name
        for suffix in (".gz", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".sav", ".parquet"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "export"
    return f"{name}-export" if name.lower() in (*TABLES, "problems") else name


def map_export(path: str | os.PathLike[str],
               mapping: Mapping | MappingABC[str, Any] | str | os.PathLike[str], *,
               source: str | None = None) -> MappedExport:
    """Map one survey export to canonical tables by a mapping file.

    Parameters
    ----------
    path : str or path-like
        The export: a Qualtrics, REDCap or SurveyMonkey CSV, or a wide table (CSV, Excel,
        SPSS .sav, Parquet).
    mapping : Mapping, dict or path
        The mapping (a :class:`Mapping`, the parsed TOML as a dict, or the file's path).
    source : {"qualtrics", "qualtrics-legacy", "redcap", "surveymonkey", "wide"}, optional
        The export's layout; default the mapping's ``[source] format``, else detected.

    Returns
    -------
    MappedExport
        The tables the export gives, the rejected records with their reasons and lines,
        the notes and the accounting (``rows_read == rows_mapped + rows_rejected``). Call
        ``.write(folder)`` to put it into a study folder.

    Raises
    ------
    UsageError
        For a mapping that does not fit the export (a column it names is not there, two
        columns fill one cell), or a missing file.
    """
    plan = _mapping(mapping)
    file = os.fspath(path)
    if not os.path.isfile(file):
        raise UsageError(f"{file} does not exist. Check the path of the export.")
    if plan.dictionary is not None and not os.path.isfile(plan.dictionary):
        raise UsageError(f"{plan.file}, [source] dictionary: {plan.dictionary} does not exist. "
                         "Give the data dictionary's path relative to the mapping file.")
    prepared = read_export(file, source=source or plan.format, sheet=plan.sheet,
                           dictionary=plan.dictionary)
    built = build(prepared, plan)
    name = export_name(file, plan.name)
    tables: dict[str, pd.DataFrame] = {
        t: assemble(built.cells, t, name) for t in ("engagements", "sessions", "coaches")
        if t in plan.tables()}
    if plan.items:
        responses = built.responses.drop(columns="_column").assign(export=name)
        tables["responses"] = order_columns(responses, "responses").reset_index(drop=True)
        tables["responses"] = tables["responses"][
            [c for c in tables["responses"].columns if c != "export_row"] + ["export_row"]]
    notes = list(built.notes) + _unknown_notes(tables.get("engagements"), plan)
    if built.personal:
        notes.insert(0, f"Dropped {len(built.personal)} columns that identify people at "
                        f"ingest: {', '.join(built.personal)}.")
    cells = built.cells.reset_index(drop=True)
    return MappedExport(
        name=name, file=file, source=prepared.source, tables=tables,
        rejected=rejected_frame(built.data, built.rejected), notes=tuple(notes),
        rows_read=len(prepared.data), columns_used=tuple(built.used),
        columns_personal=tuple(built.personal), columns_ignored=tuple(built.ignored),
        cells=cells, data=built.data,
        id_column=plan.columns.get("engagement_id", plan.columns.get("client_id", "")),
    )


def _unknown_notes(engagements: pd.DataFrame | None, plan: Mapping) -> list[str]:
    """Say how many engagements have a sponsor or status the export does not give."""
    if engagements is None or not len(engagements):
        return []
    notes = []
    for name in UNKNOWN_FIELDS:
        n = int((engagements[name] == UNKNOWN).sum())
        if not n:
            continue
        said = (f"{name} is empty for {n} engagements" if plan.maps(name) else
                f"{name} is not in the export ({n} engagements)")
        notes.append(f'{said}: written as "{UNKNOWN}", and reports count it as unknown. Map '
                     f"{name} under [columns] or [constants] when it is known; a later export "
                     "that gives it fills it in.")
    return notes
