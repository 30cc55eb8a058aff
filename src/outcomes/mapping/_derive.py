"""What a mapping fills in that the export does not say, and what its recoding leaves out.

Survey exports rarely carry every field of an engagement. Nothing is invented and nothing
goes silently:

* every record with a session number (a REDCap repeating instance) and every per-session
  administration gives a row of ``sessions``, even when none of its session fields holds a
  value (a session log with no technique ticked is still a session held);
* an engagement without a start date takes the date of its first session, or else of its
  intake response (the survey tool's ``RecordedDate`` / ``End Date``); the cells say where
  it came from (``start_date_from``) and a note counts them;
* a value recoded to ``""`` is missing, and a note counts each such value per field.

A ``sponsor`` or ``status`` the export does not give is written as ``unknown`` when the
engagements table is assembled (:func:`outcomes.mapping._tables.assemble`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from outcomes.mapping._prepared import Prepared, iso_date
from outcomes.mapping._resolve import FieldSource
from outcomes.mapping.config import Mapping

__all__ = ["session_cells", "start_dates", "emptied", "RESPONSE_DATES", "DERIVED", "CHECKED"]

#: Where a survey tool writes the date a response was recorded, by preference.
RESPONSE_DATES = ("RecordedDate", "EndDate", "End Date", "StartDate", "Start Date")

#: The column of ``engagements`` that says where a derived start date came from.
DERIVED = "start_date_from"

#: How a ticked checkbox is exported.
CHECKED = frozenset({"1", "checked", "yes", "true"})

_CELL_COLUMNS = ["table", "engagement_id", "session", "coach_id", "field", "value",
                 "export_row", "column"]


def session_cells(keys: pd.DataFrame, responses: pd.DataFrame,
                  mapping: Mapping) -> pd.DataFrame:
    """One ``session`` cell per record with a session number and per per-session
    administration, so that each becomes a row of ``sessions`` whatever its fields hold."""
    numbered = keys[keys["session"].notna()]
    parts = [pd.DataFrame({
        "engagement_id": numbered["engagement_id"].to_numpy(object),
        "session": numbered["session"].to_numpy(object),
        "coach_id": numbered["coach_id"].to_numpy(object),
        "export_row": numbered.index.to_numpy(),
        "column": mapping.columns.get("session", ""),
    })]
    if len(responses):
        given = responses[(responses["occasion"] == "session") & responses["session"].notna()]
        given = given.drop_duplicates(["export_row", "session"])
        rows = given["export_row"].to_numpy()
        parts.append(pd.DataFrame({
            "engagement_id": given["engagement_id"].to_numpy(object),
            "session": given["session"].to_numpy(object),
            "coach_id": keys.loc[rows, "coach_id"].to_numpy(object),
            "export_row": rows, "column": "",
        }))
    out = pd.concat(parts, ignore_index=True)
    out = out.drop_duplicates(["export_row", "session"])
    out = out.assign(table="sessions", field="session", value=out["session"].to_numpy())
    return out[_CELL_COLUMNS].reset_index(drop=True)


def _response_date(prepared: Prepared) -> str | None:
    for name in RESPONSE_DATES:
        column = prepared.resolve(name)
        if column is not None and column in prepared.data.columns:
            return column
    return None


def start_dates(cells: pd.DataFrame, responses: pd.DataFrame, data: pd.DataFrame,
                keys: pd.DataFrame, prepared: Prepared,
                date_format: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Start-date cells for the engagements of ``cells`` that have none, and the notes.

    The date of the engagement's first session (from this export's sessions), else the date
    the intake response was recorded. Each derived start date comes with a
    ``start_date_from`` cell saying which.
    """
    engagements = cells[cells["table"] == "engagements"]
    if not len(engagements):
        return pd.DataFrame(columns=_CELL_COLUMNS), []
    dated = set(engagements.loc[engagements["field"] == "start_date", "engagement_id"])
    lacking = engagements[~engagements["engagement_id"].isin(list(dated))]
    lacking = lacking.drop_duplicates("engagement_id").set_index("engagement_id")
    if not len(lacking):
        return pd.DataFrame(columns=_CELL_COLUMNS), []
    sessions = cells[(cells["table"] == "sessions") & (cells["field"] == "date")]
    found = _earliest(sessions["engagement_id"], sessions["value"], sessions["export_row"])
    first = {e: (d, r, "first session") for e, (d, r) in found.items()}
    column = _response_date(prepared)
    if column is not None:
        intake = set(keys.index[keys["occasion"] == "intake"])
        if len(responses):
            intake |= set(responses.loc[responses["occasion"] == "intake", "export_row"])
        rows = data.index[data.index.isin(list(intake)) & data.index.isin(keys.index)]
        values = data.loc[rows, column].map(lambda v: iso_date(v, date_format))
        for engagement, (day, row) in _earliest(keys.loc[rows, "engagement_id"], values,
                                                pd.Series(rows, index=rows)).items():
            first.setdefault(engagement, (day, row, f"intake response ({column})"))
    parts = []
    for engagement, (day, row, said) in first.items():
        if engagement not in lacking.index:
            continue
        coach = lacking.at[engagement, "coach_id"]
        for name, value in (("start_date", day), (DERIVED, said)):
            parts.append((engagement, name, value, row, coach))
    notes = _start_notes(len(lacking), parts, column)
    if not parts:
        return pd.DataFrame(columns=_CELL_COLUMNS), notes
    out = pd.DataFrame(parts, columns=["engagement_id", "field", "value", "export_row",
                                       "coach_id"])
    out = out.assign(table="engagements", session=pd.NA, column="")
    return out[_CELL_COLUMNS], notes


def _earliest(engagements: pd.Series, days: pd.Series,
              rows: pd.Series) -> dict[object, tuple[str, int]]:
    """The earliest ISO date of each engagement, with the record it came from."""
    frame = pd.DataFrame({"e": engagements.to_numpy(object), "d": days.to_numpy(object),
                          "r": rows.to_numpy()})
    iso = frame["d"].map(lambda v: isinstance(v, str)
                         and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) is not None)
    frame = frame[iso.astype(bool).to_numpy()]
    frame = frame.sort_values(["e", "d", "r"]).drop_duplicates("e")
    return {e: (d, int(r)) for e, d, r in zip(frame["e"], frame["d"], frame["r"], strict=True)}


def _start_notes(lacking: int, parts: Sequence[tuple[object, ...]],
                 column: str | None) -> list[str]:
    said = pd.Series([p[2] for p in parts if p[1] == DERIVED], dtype=object)
    counts = said.value_counts(sort=False)
    notes = []
    if len(counts):
        how = " and ".join(f"from the date of the {what} for {n}" for what, n in counts.items())
        notes.append(f"start_date is not in the export for {lacking} engagements: it is taken "
                     f"{how} (the column {DERIVED} says which). Map start_date under "
                     "[columns] when the export has it.")
    rest = lacking - int(counts.sum()) if len(counts) else lacking
    if rest:
        where = (f"no session date and no intake response date ({column})" if column else
                 "no session date and no response date")
        notes.append(f"start_date is not in the export for {rest} engagements, and they have "
                     f"{where} to take it from: it stays empty, and validation rejects them "
                     "unless another export gives it. Map start_date under [columns].")
    return notes


def emptied(data: pd.DataFrame, fields: dict[str, FieldSource], mapping: Mapping) -> list[str]:
    """Notes counting the values that ``[recode.<field>]`` turns into ``""`` (missing)."""
    notes = []
    for name, table in mapping.recode.items():
        blank = {str(k) for k, v in table.items() if v == ""}
        source = fields.get(name)
        if not blank or source is None:
            continue
        counts: dict[str, int] = {}
        for column in source.columns():
            cells = data[column]
            if name == "techniques" and source.checkboxes:
                code = next(c for c, col in source.checkboxes if col == column)
                if code in blank:
                    ticked = cells.astype("string").str.strip().str.lower().isin(
                        list(CHECKED))
                    counts[code] = counts.get(code, 0) + int(ticked.sum())
                continue
            texts = cells.dropna().astype(str)
            if name == "techniques":
                texts = pd.Series([c.strip() for cell in texts for c in re.split(r"[,;]", cell)],
                                  dtype=object)
            for value, n in texts[texts.isin(list(blank))].value_counts(sort=False).items():
                counts[str(value)] = counts.get(str(value), 0) + int(n)
        counts = {k: v for k, v in counts.items() if v}
        if counts:
            listed = ", ".join(f'"{k}" ({v})' for k, v in counts.items())
            what = ("technique codes were left out of techniques" if name == "techniques"
                    else f"values of {name} are missing")
            notes.append(f'{sum(counts.values())} {what}: [recode.{name}] turns them into "": '
                         f"{listed}.")
    return notes
