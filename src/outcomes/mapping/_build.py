"""Apply a mapping to a prepared export: records in, canonical rows and rejected records out.

Every record of the export ends in one of two places: it gives canonical rows (item
responses, or fields of an engagement, session or coach), or it is rejected with a reason.
A record is rejected as a whole, so that nothing half-mapped enters a study; the reasons
are listed in :data:`REASONS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes import instruments as _instruments
from outcomes.mapping._derive import CHECKED, emptied, session_cells, start_dates
from outcomes.mapping._prepared import Prepared, iso_date, same_code
from outcomes.mapping._resolve import FieldSource, ItemColumn, resolve_blocks, resolve_fields
from outcomes.mapping.config import TABLE_FIELDS, ItemBlock, Mapping
from outcomes.schema import ALLOWED, COLUMNS, KEYS

__all__ = ["REASONS", "Built", "build", "ONE"]

#: Why a record can be rejected, by the code in the ``reason`` column.
REASONS = {
    "preview": "a Qualtrics survey preview",
    "test": "a Qualtrics test response",
    "spam": "marked as spam by Qualtrics",
    "status": "a Qualtrics response type that is not a real response",
    "unfinished": "an unfinished Qualtrics response (Finished = 0)",
    "incomplete": "a REDCap form marked Incomplete (0)",
    "no_engagement": "no engagement (or client) id",
    "bad_value": "a value the mapping cannot read (not a number, or not in the vocabulary)",
    "no_occasion": "answers without an occasion",
    "no_session": "per-session data without a session number",
    "no_coach": "coach details without a coach id",
    "duplicate": "another record gives the same item response",
    "conflict": "records of this export disagree about an engagement, session or coach",
    "study_conflict": "disagrees with the study already in the folder",
    "no_values": "the record holds no value the mapping uses",
}

#: The tables built from record fields, and what one of their rows is called in messages.
ONE = {"engagements": "engagement", "sessions": "session", "coaches": "coach"}

_CHECKED = CHECKED
_UNCHECKED = {"0", "unchecked", "no", "false"}
_INCOMPLETE = {"0", "incomplete"}


@dataclass
class Built:
    """The canonical rows an export gives, and the records it cannot give.

    ``responses`` has the canonical columns plus ``export_row`` (the record's line);
    ``cells`` holds every engagement, session and coach field one per row (``table``,
    ``key``, key columns, ``field``, ``value``, ``export_row``, ``column``; ``column`` is
    empty for constants); ``rejected`` maps a line to its reasons.
    """

    data: pd.DataFrame
    responses: pd.DataFrame
    cells: pd.DataFrame
    rejected: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def reject(self, rows: Any, reason: str, messages: str | list[str]) -> None:
        """Reject records (by line) for ``reason``; one message per record, or one for all."""
        lines = [int(r) for r in np.atleast_1d(np.asarray(rows))]
        texts = [messages] * len(lines) if isinstance(messages, str) else list(messages)
        for row, text in zip(lines, texts, strict=True):
            found = self.rejected.setdefault(int(row), [])
            if (reason, text) not in found:
                found.append((reason, text))


def build(prepared: Prepared, mapping: Mapping) -> Built:
    """Map every record of ``prepared`` by ``mapping``."""
    personal = _personal(prepared, mapping)
    fields = resolve_fields(prepared, mapping, personal)
    blocks = resolve_blocks(prepared, mapping, personal)
    used = list(dict.fromkeys(
        [c for source in fields.values() for c in source.columns()]
        + [e.column for _, entries in blocks for e in entries]))
    data = prepared.data.drop(columns=personal)
    built = Built(data=data, responses=pd.DataFrame(), cells=pd.DataFrame(), used=used,
                  personal=personal, notes=list(prepared.notes))
    built.used += [c for c in prepared.consulted if c in data.columns and c not in used]
    data = _blank_codes(data, used, (*mapping.missing_codes, *prepared.missing_codes), built)
    for row, (reason, message) in prepared.flagged.items():
        if not (reason == "unfinished" and mapping.keep_incomplete):
            built.reject([row], reason, message)
    keys = _row_keys(data, mapping, fields, built, skip=set(built.rejected))
    live = data.index[~data.index.isin(list(built.rejected))]
    built.notes += emptied(data.loc[live], fields, mapping)
    built.responses = _responses(data.loc[live], keys.loc[live], blocks, prepared, mapping, built)
    built.cells = _cells(data.loc[live], keys.loc[live], fields, prepared, mapping, built)
    if not mapping.keep_incomplete:
        _incomplete(data.loc[live], prepared, used, built)
    built.ignored = [c for c in data.columns if c not in set(built.used)]
    _duplicates(built)
    _conflicts(built)
    rejected = list(built.rejected)
    built.responses = built.responses[~built.responses["export_row"].isin(rejected)]
    built.cells = built.cells[~built.cells["export_row"].isin(rejected)]
    giving = set(built.responses["export_row"]) | set(
        built.cells.loc[built.cells["column"] != "", "export_row"])
    empty = [r for r in data.index if int(r) not in built.rejected and int(r) not in giving]
    built.reject(empty, "no_values", "the record holds no value the mapping uses")
    kept = keys.loc[~keys.index.isin(list(built.rejected))]
    extra, notes = start_dates(built.cells, built.responses, data, kept, prepared,
                               mapping.date_format or prepared.date_format)
    if len(extra):
        built.cells = pd.concat([built.cells, extra.assign(key=extra["engagement_id"])],
                                ignore_index=True)
        built.cells["session"] = built.cells["session"].astype("Int64")
    built.notes += notes
    _range_notes(blocks, prepared, built)
    return built


def _personal(prepared: Prepared, mapping: Mapping) -> list[str]:
    listed = [] if mapping.keep_personal_data else list(prepared.personal)
    for name in mapping.drop:
        column = prepared.resolve(name)
        if column is not None and column not in listed:
            listed.append(column)
    return listed


def _blank_codes(data: pd.DataFrame, used: list[str], codes: tuple[str, ...],
                 built: Built) -> pd.DataFrame:
    if not codes or not used:
        return data
    out = data.copy()
    counts: dict[str, int] = {}
    for column in used:
        hits = same_code(out[column], codes)
        found = hits.notna()
        if found.any():
            for code, n in hits[found].value_counts(sort=False).items():
                counts[str(code)] = counts.get(str(code), 0) + int(n)
            out[column] = out[column].mask(found.to_numpy())
    if counts:
        listed = ", ".join(f"{code} ({n})" for code, n in counts.items())
        built.notes.append(f"{sum(counts.values())} cells held missing-data codes and are "
                           f"now missing: {listed}.")
    return out


def _text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) or pd.isna(value) else str(value)  # type: ignore[arg-type]


def _values(data: pd.DataFrame, name: str, fields: dict[str, FieldSource],
            mapping: Mapping) -> pd.Series:
    """A field's value in every record: its column (recoded), its constant, or missing."""
    source = fields.get(name)
    if source is not None and source.column is not None:
        values = data[source.column].astype(object)
        table = mapping.recode.get(name)
        if table and name != "techniques":
            values = values.map(lambda v: table.get(v, v) if isinstance(v, str) else v)
            values = values.map(lambda v: np.nan if v == "" else v)  # recoded to "": missing
        return values.map(_text)
    if name in mapping.constants:
        return pd.Series(_text(mapping.constants[name]), index=data.index, dtype=object)
    return pd.Series(np.nan, index=data.index, dtype=object)


def _row_keys(data: pd.DataFrame, mapping: Mapping, fields: dict[str, FieldSource],
              built: Built, *, skip: set[int]) -> pd.DataFrame:
    """The key fields of every record; records with unusable keys are rejected (records
    already rejected, in ``skip``, are not judged again)."""
    keys = pd.DataFrame({name: _values(data, name, fields, mapping)
                         for name in TABLE_FIELDS["keys"]}, index=data.index)
    judged = ~data.index.isin(list(skip))
    if not mapping.maps("engagement_id"):
        keys["engagement_id"] = keys["client_id"]
        built.notes.append("No engagement_id is mapped: each client_id is taken as one "
                           "engagement.")
    said = mapping.columns.get("engagement_id", mapping.columns.get("client_id", "the id"))
    built.reject(keys.index[keys["engagement_id"].isna() & judged], "no_engagement",
                 f'the engagement id ({said}) is empty')
    for name in ("occasion", "rater"):
        allowed = ALLOWED[name]
        bad = keys[name].notna() & ~keys[name].isin(allowed) & judged
        built.reject(keys.index[bad], "bad_value", [
            f"{name} {v!r} (column {mapping.columns.get(name)!r}) is not one of "
            f"{', '.join(allowed)}; add it under [recode.{name}]" for v in keys[name][bad]])
    keys["rater"] = keys["rater"].fillna("client")
    number = pd.to_numeric(keys["session"], errors="coerce")
    whole = (number >= 1) & (number == np.floor(number))
    bad = keys["session"].notna() & ~whole & judged
    built.reject(keys.index[bad], "bad_value", [
        f"session {v!r} (column {mapping.columns.get('session')!r}) is not a session number; "
        "add it under [recode.session]" for v in keys["session"][bad]])
    keys["session"] = number.where(whole).astype("Int64")
    return keys


def _responses(data: pd.DataFrame, keys: pd.DataFrame,
               blocks: list[tuple[ItemBlock, list[ItemColumn]]], prepared: Prepared,
               mapping: Mapping, built: Built) -> pd.DataFrame:
    columns = [*COLUMNS["responses"], "export_row", "_column"]
    parts = []
    for number, (block, entries) in enumerate(blocks):
        for entry in entries:
            occasion = entry.occasion or block.occasion
            session = entry.session or block.session
            rater = entry.rater or block.rater
            parts.append(pd.DataFrame({
                "engagement_id": keys["engagement_id"].to_numpy(),
                "occasion": keys["occasion"].to_numpy() if occasion is None else occasion,
                "session": keys["session"].to_numpy() if session is None else session,
                "instrument": block.instrument, "item": entry.item,
                "raw": data[entry.column].to_numpy(object),
                "rater": keys["rater"].to_numpy() if rater is None else rater,
                "export_row": data.index.to_numpy(), "_column": entry.column, "_block": number,
            }))
    if not parts:
        return pd.DataFrame(columns=columns)
    long = pd.concat(parts, ignore_index=True)
    long["session"] = long["session"].astype("Int64")
    administration = [long[c] for c in ("export_row", "_block", "occasion", "session", "rater")]
    given = long["raw"].notna().groupby(administration, dropna=False, sort=False).transform("any")
    long = long[given.to_numpy(bool)].copy()
    long["value"] = np.nan
    for number, (block, _) in enumerate(blocks):
        here = long["_block"] == number
        _read_values(long, here.to_numpy(), block, built)
    no_occasion = long["occasion"].isna()
    built.reject(long.loc[no_occasion, "export_row"].unique(), "no_occasion",
                 "answers without an occasion: set occasion under [constants] or [columns], "
                 "or in the item block")
    no_session = (long["occasion"] == "session") & long["session"].isna()
    built.reject(long.loc[no_session, "export_row"].unique(), "no_session",
                 "per-session answers without a session number: map session under [columns]")
    long.loc[long["occasion"] != "session", "session"] = pd.NA
    long = long.sort_values(["export_row", "_block", "item"], kind="stable")
    return long[columns].reset_index(drop=True)


def _read_values(long: pd.DataFrame, here: np.ndarray, block: ItemBlock, built: Built) -> None:
    raw = long.loc[here, "raw"]
    listed = raw.isin(list(block.recode))
    recoded = raw[listed].map(block.recode)
    number = pd.to_numeric(raw.where(~listed), errors="coerce") * block.multiply + block.add
    long.loc[here, "value"] = number.where(~listed, recoded).astype(float)
    blank = raw[listed][recoded.isna()].value_counts(sort=False)
    if len(blank):
        listed_text = ", ".join(f'"{k}" ({n})' for k, n in blank.items())
        built.notes.append(f'{block.label}: {int(blank.sum())} answers are recoded to "" and '
                           f"kept as unanswered items: {listed_text}.")
    bad = raw.notna() & ~listed & number.isna()
    if bad.any():
        rows = long.loc[bad[bad].index, ["export_row", "_column"]]
        built.reject(rows["export_row"], "bad_value", [
            f"column {c!r}: {v!r} is not a number; add it to the recode table of {block.label}"
            for c, v in zip(rows["_column"], raw[bad], strict=True)])


def _cells(data: pd.DataFrame, keys: pd.DataFrame, fields: dict[str, FieldSource],
           prepared: Prepared, mapping: Mapping, built: Built) -> pd.DataFrame:
    tables = mapping.tables()
    date_format = mapping.date_format or prepared.date_format
    parts: list[pd.DataFrame] = []

    def add(table: str, name: str, values: pd.Series, column: str, session: object = None) -> None:
        if name in ("start_date", "end_date", "date"):
            values = values.map(lambda v: iso_date(v, date_format))
        given = values.notna()
        if not given.any():
            return
        frame = keys.loc[given, ["engagement_id", "coach_id"]].copy()
        frame["session"] = keys.loc[given, "session"] if session is None else session
        frame = frame.assign(table=table, field=name, value=values[given].to_numpy(),
                             export_row=frame.index.to_numpy(), column=column)
        parts.append(frame.reset_index(drop=True))

    if "engagements" in tables:
        for name in ("client_id", "coach_id", *TABLE_FIELDS["engagements"]):
            if mapping.maps(name):
                add("engagements", name, _values(data, name, fields, mapping),
                    mapping.columns.get(name, ""))
    if "sessions" in tables:  # a session held is a row, whatever its fields hold
        parts.append(session_cells(keys, built.responses, mapping))
    for name in TABLE_FIELDS["sessions"]:
        source = fields.get(name)
        if source is not None and source.per_session:
            for column, session in source.per_session:
                one = FieldSource(name, column=column)
                add("sessions", name, _field(data, name, one, mapping), column, session)
        elif mapping.maps(name):
            add("sessions", name, _field(data, name, source, mapping),
                mapping.columns.get(name, ""))
    for name in TABLE_FIELDS["coaches"]:
        if mapping.maps(name):
            add("coaches", name, _values(data, name, fields, mapping),
                mapping.columns.get(name, ""))
    if not parts:
        return pd.DataFrame(columns=["table", "key", "engagement_id", "session", "coach_id",
                                     "field", "value", "export_row", "column"])
    cells = pd.concat(parts, ignore_index=True)
    cells["session"] = cells["session"].astype("Int64")
    no_session = (cells["table"] == "sessions") & cells["session"].isna()
    built.reject(cells.loc[no_session, "export_row"].unique(), "no_session",
                 "session details without a session number: map session under [columns]")
    no_coach = (cells["table"] == "coaches") & cells["coach_id"].isna()
    built.reject(cells.loc[no_coach, "export_row"].unique(), "no_coach",
                 "coach details without a coach id: map coach_id under [columns]")
    cells["key"] = np.where(
        cells["table"] == "coaches", cells["coach_id"].astype(object),
        np.where(cells["table"] == "sessions",
                 cells["engagement_id"].astype(str) + " session "
                 + cells["session"].astype(str), cells["engagement_id"].astype(object)))
    return cells


def _field(data: pd.DataFrame, name: str, source: FieldSource | None,
           mapping: Mapping) -> pd.Series:
    """A session field's values; techniques become registry codes joined by ';'."""
    if name != "techniques":
        return _values(data, name, {name: source} if source else {}, mapping)
    table = mapping.recode.get("techniques", {})
    if source is not None and source.checkboxes:
        # a group with no box ticked says nothing (older REDCap versions write 0 on rows of
        # other forms and events), so it stays missing rather than "no technique"
        joined = pd.Series("", index=data.index, dtype=object)
        for code, column in source.checkboxes:
            ticked = data[column].astype("string").str.strip().str.lower().isin(list(_CHECKED))
            name = str(_text(table.get(code, code))).strip()
            if name:
                joined = joined.where(~ticked.to_numpy(bool), joined + ";" + name)
        return joined.map(lambda v: _join(v.split(";")))
    values = _values(data, name, {name: source} if source else {}, mapping)

    def split(cell: object) -> object:
        if not isinstance(cell, str):
            return cell
        codes = [c.strip() for c in re.split(r"[,;]", cell) if c.strip()]
        return _join([table.get(c, c) for c in codes])

    return values.map(split)


def _join(codes: list[object]) -> object:
    """Technique codes joined by ';' (a code recoded to "" is left out; none left: missing)."""
    texts = [str(_text(c)).strip() for c in codes]
    return ";".join(dict.fromkeys(t for t in texts if t)) or np.nan


def _incomplete(data: pd.DataFrame, prepared: Prepared, used: list[str], built: Built) -> None:
    """Reject records whose answers sit on a REDCap form marked Incomplete."""
    for column in used:
        status = prepared.completion.get(column)
        if status is None or status not in data.columns:
            continue
        marked = data[status].astype(object).map(
            lambda v: v.strip().lower() if isinstance(v, str) else v).isin(_INCOMPLETE)
        hit = marked & data[column].notna()
        form = status[: -len("_complete")]
        if status not in built.used:
            built.used.append(status)
        built.reject(data.index[hit], "incomplete",
                     f'form "{form}" is marked Incomplete ({status} = 0); set '
                     "keep_incomplete = true under [source] to keep it")


def _duplicates(built: Built) -> None:
    key = list(KEYS["responses"])
    frame = built.responses
    twice = frame[frame.duplicated(key, keep=False)]
    for values, group in twice.groupby(key, dropna=False, sort=False):
        at = dict(zip(key, values, strict=True))
        when = f"session {at['session']}" if pd.notna(at["session"]) else str(at["occasion"])
        what = (f"engagement {at['engagement_id']}, {when}, {at['instrument']} item "
                f"{at['item']} ({at['rater']})")
        rows = sorted(set(group["export_row"].tolist()))
        for row in rows:
            others = [r for r in rows if r != row]
            said = (f"also given by row {', '.join(map(str, others))}" if others else
                    f"given by both columns {' and '.join(group['_column'])}")
            built.reject([row], "duplicate", f"{what} is {said}")


def _conflicts(built: Built) -> None:
    cells = built.cells
    if not len(cells):
        return
    spread = cells.groupby(["table", "key", "field"], sort=False)["value"].transform("nunique")
    for (table, key, name), group in cells[spread > 1].groupby(["table", "key", "field"],
                                                               sort=False):
        said = ", ".join(f"row {r} says {v!r}" for r, v in
                         zip(group["export_row"], group["value"], strict=True))
        built.reject(group["export_row"].unique(), "conflict",
                     f"{name} of {ONE[str(table)]} {key} differs between records: {said}")


def _range_notes(blocks: list[tuple[ItemBlock, list[ItemColumn]]], prepared: Prepared,
                 built: Built) -> None:
    """Say where the export's own coding of an item differs from the instrument's range."""
    for block, entries in blocks:
        instrument = _instruments.get(block.instrument)
        for entry in entries:
            if entry.column not in prepared.ranges or block.recode:
                continue
            low, high = (v * block.multiply + block.add for v in prepared.ranges[entry.column])
            want = instrument.item_range(entry.item)
            if (low, high) != tuple(want):
                built.notes.append(
                    f"{block.label}: the export codes {entry.column} {low:g} to {high:g}, but "
                    f"{instrument.key} item {entry.item} runs {want[0]:g} to {want[1]:g}; "
                    f"check add, multiply or recode (add = {want[0] - low:g} would align the "
                    "lowest answers).")
                break
