"""Writing a mapped export into a study folder, merging with the study already there.

Two exports for the same clients (an intake survey and a session log, say) end up as one
study when both are mapped into the same folder. The rules:

* **Re-mapping an export replaces it.** Rows whose ``export`` column names only this export
  are taken out before the new ones go in, so running ``outcomes map`` again after fixing
  the mapping does not duplicate anything.
* **The study as it stands wins; the export completes it.** An engagement, session or coach
  that both give is one row: a field the study lacks is filled from the export; a field
  both give must agree. An item response both give must have the same value.
* **A stand-in gives way.** A ``sponsor`` or ``status`` of ``unknown`` and a start date
  derived from a session or response date (``start_date_from`` says so) are filled in by an
  export that gives the value, and never conflict with one.
* **Exports that share no engagement are a warning.** An export none of whose engagement ids
  is in the study (an intake survey keyed by client code, a session log by record id) would
  give two halves that never meet; the summary says so, naming both and the id column.
* **A disagreement rejects the export's record, never the study's row.** The record goes to
  ``rejected/<export>.csv`` with reason ``study_conflict`` and a message naming both values
  and where the study's came from; nothing of that record enters the study.
* The tables are written as CSV (``responses.csv``, ``engagements.csv``, ``sessions.csv``,
  ``coaches.csv``); the whole folder is then validated, and the rows validation rejects are
  written to ``rejected/<table>.csv`` with ``rejected/problems.csv`` as
  ``outcomes validate`` does. A file of an earlier run that no longer has rows is emptied
  (headings only), never deleted; a folder where writing would overwrite the export being
  mapped (an export named ``responses.csv`` mapped into its own folder) is refused.
* Cells a spreadsheet would run as formulas are written with a leading ``'``, which the
  readers take off again, so that a study written and read back keeps its ids
  (:func:`outcomes.io.safe_cell`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from outcomes._errors import UsageError
from outcomes.io import FORMATS, read_table, write_table
from outcomes.mapping._build import ONE
from outcomes.mapping._derive import DERIVED
from outcomes.mapping._tables import UNKNOWN_FIELDS, assemble, order_columns, rejected_frame
from outcomes.schema import KEYS, TABLES, UNKNOWN
from outcomes.validation.report import ValidationReport
from outcomes.validation.rules import validate_tables

__all__ = ["write_export", "read_folder"]

_RESPONSE_KEY = list(KEYS["responses"])
_WRITTEN = ("coaches", "engagements", "sessions", "responses")


class Export(Protocol):
    """What merging reads of a mapped export (:class:`~outcomes.mapping.MappedExport`)."""

    @property
    def name(self) -> str: ...
    @property
    def tables(self) -> Mapping[str, pd.DataFrame]: ...
    @property
    def cells(self) -> pd.DataFrame: ...
    @property
    def rejected(self) -> pd.DataFrame: ...
    @property
    def data(self) -> pd.DataFrame: ...
    @property
    def notes(self) -> tuple[str, ...]: ...


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    """The canonical tables already in a study folder, as text cells.

    Raises
    ------
    UsageError
        When a table is held in another format than CSV (this writer would add a second
        file for it).
    """
    tables: dict[str, pd.DataFrame] = {}
    if not folder.exists():
        return tables
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        for suffix in FORMATS:
            stem = name[: -len(suffix)] if name.endswith(suffix) else None
            if stem in TABLES:
                if suffix != ".csv":
                    raise UsageError(
                        f"{path}: the study holds {stem} as {suffix}, but outcomes map writes "
                        f"CSV. Convert it to {stem}.csv first, or map into another folder.")
                tables[stem] = read_table(path, kind=stem)
    return tables


def _text_number(value: object) -> object:
    try:
        number = float(str(value))
    except ValueError:
        return value
    return number


def _own(frame: pd.DataFrame, name: str) -> pd.Series:
    if "export" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["export"].astype(object).map(lambda v: isinstance(v, str) and v == name)


def _response_conflicts(old: pd.DataFrame, new: pd.DataFrame,
                        rejected: dict[int, list[tuple[str, str]]]) -> np.ndarray:
    """Reject new responses that contradict the study; flag those it already holds.

    Returns a mask over ``new``: True where the study already has the same response.
    """
    repeat = np.zeros(len(new), bool)
    if not len(old) or not len(new):
        return repeat
    keys = pd.Series(_key_text(new, _RESPONSE_KEY), index=new.index)
    known = old.assign(_k=_key_text(old, _RESPONSE_KEY)).drop_duplicates("_k").set_index("_k")
    hit = keys.isin(known.index).to_numpy()
    theirs = known.loc[keys[hit]]
    mine = new.loc[hit, "value"].map(_text_number).to_numpy()
    stored = theirs["value"].map(_text_number).to_numpy()
    same = np.array([_same(a, b) for a, b in zip(mine, stored, strict=True)], dtype=bool)
    repeat[np.flatnonzero(hit)] = same
    origin = theirs["export"].to_numpy() if "export" in theirs else [None] * len(theirs)
    for row, key, a, b, where, agree in zip(new.loc[hit, "export_row"], keys[hit], mine,
                                            stored, origin, same, strict=True):
        if not agree:
            source = f" (from {where})" if isinstance(where, str) else ""
            rejected.setdefault(int(row), []).append((
                "study_conflict",
                f"the response {_said(key)} is {_number_text(b)} in the study{source}, "
                f"but {_number_text(a)} here"))
    return repeat


def _said(key: str) -> str:
    """A response key as a reader says it: E1, session 2, srs item 3 (client)."""
    at = dict(zip(_RESPONSE_KEY, key.split("|"), strict=True))
    when = f"session {_number_text(at['session'])}" if at["session"] else at["occasion"]
    return (f"{at['engagement_id']}, {when}, {at['instrument']} item "
            f"{_number_text(at['item'])} ({at['rater']})")


def _number_text(value: object) -> str:
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (np.isnan(a) and np.isnan(b)) or bool(np.isclose(a, b, rtol=0, atol=1e-9))
    return str(a) == str(b)


def _cell_conflicts(old: dict[str, pd.DataFrame], cells: pd.DataFrame,
                    rejected: dict[int, list[tuple[str, str]]]) -> None:
    """Reject records whose engagement, session or coach fields contradict the study."""
    for table in ONE:
        keys = KEYS[table]
        frame = old.get(table)
        part = cells[cells["table"] == table]
        if frame is None or not len(frame) or not len(part):
            continue
        index = frame[keys[0]].astype(str)
        for key in keys[1:]:
            index = index + f" {key} " + frame[key].astype(str)
        stored = frame.assign(_key=index.to_numpy()).drop_duplicates("_key").set_index("_key")
        derived = set(part.loc[part["field"] == DERIVED, "key"])
        for cell in part.itertuples(index=False):
            if cell.key not in stored.index or cell.field not in stored.columns:
                continue
            if (cell.field in ("start_date", DERIVED) and cell.key in derived) or _placeholder(
                    stored.loc[cell.key], cell.field):
                continue  # a value that stands in for an unknown one gives way
            theirs = stored.at[cell.key, cell.field]
            if isinstance(theirs, str) and not _same(_text_number(theirs),
                                                     _text_number(cell.value)):
                where = stored.at[cell.key, "export"] if "export" in stored.columns else None
                source = f" (from {where})" if isinstance(where, str) else ""
                rejected.setdefault(int(cell.export_row), []).append((
                    "study_conflict",
                    f"{cell.field} of {ONE[table]} {cell.key} is {theirs!r} in the "
                    f"study{source}, but {cell.value!r} here"))


def _placeholder(row: pd.Series, column: str) -> bool:
    """Whether a row's value only stands in for one not known: a sponsor or status
    ``unknown``, or a start date derived from a session or response date."""
    if column in UNKNOWN_FIELDS:
        value = row.get(column)
        return isinstance(value, str) and value.strip().lower() == UNKNOWN
    return column == "start_date" and isinstance(row.get(DERIVED), str)


def _key_text(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    parts = [frame[k].map(lambda v: "" if pd.isna(v) else str(_text_number(v)))
             for k in keys]
    return ["|".join(values) for values in zip(*parts, strict=True)]


def _combine(old: pd.DataFrame | None, new: pd.DataFrame, table: str) -> pd.DataFrame:
    """Rows of the study and of the export, one per key; the study's values come first."""
    if old is None or not len(old):
        return new
    if table == "responses":  # conflicts and repeats were taken out before
        return order_columns(pd.concat([old.reset_index(drop=True).astype(object),
                                        new.astype(object)], ignore_index=True), table)
    keys = list(KEYS[table])
    merged = old.reset_index(drop=True).astype(object)
    where: dict[str, int] = {}
    for position, key in enumerate(_key_text(merged, keys)):
        where.setdefault(key, position)
    fresh = []
    for position, key in enumerate(_key_text(new, keys)):
        if key not in where:
            fresh.append(position)
            continue
        target = where[key]
        row = new.iloc[position]
        for column in new.columns:
            value = row[column]
            if column in (*keys, "export_row", DERIVED) or pd.isna(value):
                continue
            if column not in merged.columns:
                merged[column] = pd.Series(np.nan, index=merged.index, dtype=object)
            current = merged.at[target, column]
            if column == "export":
                names = current.split(";") if isinstance(current, str) else []
                merged.at[target, column] = ";".join(dict.fromkeys([*names, value]))
            elif pd.isna(current) or (_placeholder(merged.loc[target], column)
                                      and not _placeholder(row, column)):
                merged.at[target, column] = value
                if column == "start_date" and (DERIVED in merged or pd.notna(row.get(DERIVED))):
                    if DERIVED not in merged:
                        merged[DERIVED] = pd.Series(np.nan, index=merged.index, dtype=object)
                    merged.at[target, DERIVED] = row.get(DERIVED, np.nan)
    out = pd.concat([merged, new.iloc[fresh].astype(object)], ignore_index=True)
    return order_columns(out, table)


def write_export(export: Export, folder: str | Path) -> dict[str, Any]:
    """Merge ``export`` into the study in ``folder`` (created if needed) and validate it.

    Returns
    -------
    dict
        What writing changes in the export: ``tables`` (as written), ``rejected`` (with the
        records that conflict with the study added), ``validation`` (the whole study's
        report), ``written`` (what was written where) and ``notes``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; give a folder for the study (--out).")
    _keep_export(export, folder)
    old = read_folder(folder)
    for table in ("responses", "sessions", "engagements", "coaches"):
        if table in old:
            old[table] = old[table].loc[~_own(old[table], export.name).to_numpy()]
    warnings = _shared(old, export, folder)
    rejected = _as_dict(export.rejected)
    _cell_conflicts(old, export.cells, rejected)
    responses = export.tables.get("responses")
    notes = list(export.notes)
    if responses is not None:
        repeat = _response_conflicts(old.get("responses", pd.DataFrame()), responses, rejected)
    out_rows = set(rejected)
    cells = export.cells[~export.cells["export_row"].isin(list(out_rows))] if len(
        export.cells) else export.cells
    tables: dict[str, pd.DataFrame] = {
        t: assemble(cells, t, export.name) for t in ("engagements", "sessions", "coaches")
        if t in export.tables}
    adding = dict(tables)
    if responses is not None:
        kept = ~responses["export_row"].isin(list(out_rows)).to_numpy()
        tables["responses"] = responses[kept]
        adding["responses"] = responses[kept & ~repeat]
        if (kept & repeat).any():
            notes.append(f"{int((kept & repeat).sum())} item responses were already in the "
                         "study with the same values and were not added again.")
    combined = {table: _combine(old.get(table), adding[table], table) for table in _WRITTEN
                if table in adding and (len(adding[table]) or table in old)}
    written: dict[str, str] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in combined.items():
        written[table] = str(write_table(frame, folder / f"{table}.csv"))
    rejected_table = rejected_frame(export.data, rejected)
    target = folder / "rejected" / f"{export.name}.csv"
    if len(rejected_table) or target.exists():  # an old file would describe a past run
        written["rejected"] = str(write_table(rejected_table, target))
    report = validate_tables(read_folder(folder))
    _write_validation(report, folder / "rejected")
    return {"tables": tables, "rejected": rejected_table, "validation": report,
            "written": written, "notes": tuple(notes), "warnings": tuple(warnings)}


def _shared(old: dict[str, pd.DataFrame], export: Export, folder: Path) -> list[str]:
    """A warning when the export and the study already in the folder share no engagement."""
    def ids(frames: Any) -> set[str]:
        return {str(v) for frame in frames if "engagement_id" in frame
                for v in frame["engagement_id"].dropna()}

    theirs = ids(old.get(t, pd.DataFrame()) for t in ("engagements", "sessions", "responses"))
    mine = ids(export.tables.values())
    if not theirs or not mine or theirs & mine:
        return []
    sources = {name for frame in old.values() if "export" in frame
               for value in frame["export"].dropna() for name in str(value).split(";")}
    study = f"the study in {folder}" + (f" (from {', '.join(sorted(sources))})"
                                        if sources else "")
    column = getattr(export, "id_column", "") or "engagement_id"

    def some(values: set[str]) -> str:
        return ", ".join(sorted(values)[:3])

    return [f"no engagement of {export.name} is in {study}: its ids (column {column!r}: "
            f"{some(mine)} ...) and the study's ({some(theirs)} ...) share none, so the two "
            "will not be analysed together. Check that both exports hold the same engagement "
            "ids, and map the column that does as engagement_id under [columns]."]


def _as_dict(frame: pd.DataFrame) -> dict[int, list[tuple[str, str]]]:
    """Rejected records as built: line -> [(first reason, every message)]."""
    return {int(r): [(reason, message)] for r, reason, message in
            zip(frame["row"], frame["reason"], frame["message"], strict=True)}


def _write_validation(report: ValidationReport, folder: Path) -> None:
    """The rows validation rejects; files of an earlier run are emptied, never deleted."""
    if not report.ok or any((folder / f"{name}.csv").exists() for name in (*TABLES, "problems")):
        report.write_rejected(folder)


def _keep_export(export: Export, folder: Path) -> None:
    """Refuse a study folder where writing would overwrite the export being mapped."""
    source = getattr(export, "file", None)
    if not source or not Path(source).exists():
        return
    names = [f"{table}.csv" for table in TABLES]
    names += [f"rejected/{name}.csv" for name in (*TABLES, "problems", export.name)]
    for name in names:
        if (folder / name).exists() and (folder / name).samefile(source):
            raise UsageError(
                f"--out {folder}: the study's {name} there is the export {source} itself, "
                "which mapping would overwrite. Map into another folder (--out), or move or "
                "rename the export first.")
