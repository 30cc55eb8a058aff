"""REDCap records exports and data dictionaries.

A records CSV starts with the record id (usually ``record_id``); longitudinal projects add
``redcap_event_name`` (``baseline_arm_1``), repeating forms ``redcap_repeat_instrument`` and
``redcap_repeat_instance`` (1-based; a repeating *event* has an instance and no form name).
Each form ends with ``<form>_complete`` (0 Incomplete, 1 Unverified, 2 Complete). A checkbox
field becomes one 0/1 column per choice, ``field___code``, with characters other than letters
and digits in the code written as ``_`` (code -99 gives ``field____99``).

The data dictionary (18 columns, "Variable / Field Name" ... "Field Annotation"; the API's
snake_case names are read too) says which form each field is on, its choices
(``1, Label | 2, Label``), slider or validation ranges, matrix groups and which fields are
identifiers; identifier fields are dropped as personal data. Without a dictionary, a field's
form is taken from the export's column order (each form's fields come just before its
``_complete`` column).

Project missing-data codes (REDCap's defaults such as ``UNK``, ``NASK``, ``ASKU``) become
missing, with a note.
"""

from __future__ import annotations

import re

import pandas as pd

from outcomes._errors import DataError
from outcomes.io import read_table
from outcomes.mapping._prepared import Prepared

__all__ = ["detect", "prepare", "read_dictionary", "DICTIONARY_COLUMNS", "MISSING_CODES"]

#: The data dictionary's columns: the headers of the CSV download and the API's names.
DICTIONARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Variable / Field Name", "field_name"),
    ("Form Name", "form_name"),
    ("Section Header", "section_header"),
    ("Field Type", "field_type"),
    ("Field Label", "field_label"),
    ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    ("Field Note", "field_note"),
    ("Text Validation Type OR Show Slider Number", "text_validation_type_or_show_slider_number"),
    ("Text Validation Min", "text_validation_min"),
    ("Text Validation Max", "text_validation_max"),
    ("Identifier?", "identifier"),
    ("Branching Logic (Show field only if...)", "branching_logic"),
    ("Required Field?", "required_field"),
    ("Custom Alignment", "custom_alignment"),
    ("Question Number (surveys only)", "question_number"),
    ("Matrix Group Name", "matrix_group_name"),
    ("Matrix Ranking?", "matrix_ranking"),
    ("Field Annotation", "field_annotation"),
)

#: REDCap's suggested project missing-data codes (a project may define others; list them
#: in the mapping's ``missing_codes``).
MISSING_CODES = ("NI", "INV", "UNK", "NASK", "ASKU", "NAV", "MSK", "NAVU", "NP", "QS", "QI",
                 "TRC", "UNC", "DER", "PINF", "NINF", "OTH")

_META = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
         "redcap_data_access_group", "redcap_survey_identifier")
_CHECKBOX = re.compile(r"^(.+?)___(.+)$")
_CHOICE = re.compile(r"^\s*([^,]+?)\s*,\s*(.*?)\s*$")


def detect(frame: pd.DataFrame) -> str | None:
    """``"redcap"`` for a records export, else None.

    Examples
    --------
    >>> detect(pd.DataFrame(columns=["record_id", "redcap_event_name", "ors_1"]))
    'redcap'
    >>> detect(pd.DataFrame(columns=["record_id", "ors_1", "intake_complete"]))
    'redcap'
    >>> detect(pd.DataFrame(columns=["id", "ors_1"])) is None
    True
    """
    columns = [str(c) for c in frame.columns]
    if any(c in _META for c in columns):
        return "redcap"
    if columns and columns[0] == "record_id" and any(c.endswith("_complete") for c in columns):
        return "redcap"
    return None


def read_dictionary(path: str) -> pd.DataFrame:
    """Read a REDCap data dictionary into a frame with the API's snake_case column names.

    Raises
    ------
    DataError
        When the file lacks one of the four mandatory columns (field name, form name, field
        type, field label).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dict.csv"
    >>> _ = p.write_text('"Variable / Field Name","Form Name","Field Type","Field Label"\\n'
    ...                  'record_id,intake,text,ID\\n')
    >>> read_dictionary(str(p))["field_name"].tolist()
    ['record_id']
    """
    table = read_table(path)
    rename = {}
    for header, snake in DICTIONARY_COLUMNS:
        if header in table.columns:
            rename[header] = snake
    table = table.rename(columns=rename)
    needed = ["field_name", "form_name", "field_type", "field_label"]
    absent = [n for n in needed if n not in table.columns]
    if absent:
        header = dict((s, h) for h, s in DICTIONARY_COLUMNS)[absent[0]]
        raise DataError(
            f'the column "{header}" is missing, so this is not a REDCap data dictionary',
            file=path,
            fix="Download it from REDCap (Project Setup > Data Dictionary) without editing "
            "its header row.",
        )
    for _, snake in DICTIONARY_COLUMNS:
        if snake not in table.columns:
            table[snake] = pd.NA
    return table


def parse_choices(text: object) -> dict[str, str]:
    """``"1, Never | 2, Sometimes"`` -> ``{"1": "Never", "2": "Sometimes"}``.

    Examples
    --------
    >>> parse_choices("0, Not at all | 1, A little|2, Very, very much")
    {'0': 'Not at all', '1': 'A little', '2': 'Very, very much'}
    """
    if not isinstance(text, str):
        return {}
    out = {}
    for part in text.split("|"):
        found = _CHOICE.match(part)
        if found:
            out[found.group(1)] = found.group(2)
    return out


def _export_code(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", code).lower()


def prepare(frame: pd.DataFrame, *, file: str, dictionary: str | None) -> Prepared:
    """Understand a REDCap records export, with its data dictionary when given.

    Examples
    --------
    >>> t = pd.DataFrame({"record_id": ["1"], "tech___1": ["1"], "tech___2": ["0"],
    ...                   "session_log_complete": ["2"]}, index=pd.Index([2], name="row"))
    >>> p = prepare(t, file="r.csv", dictionary=None)
    >>> p.checkboxes, p.completion["tech___1"]
    ({'tech': {'1': 'tech___1', '2': 'tech___2'}}, 'session_log_complete')
    """
    prepared = Prepared(data=frame, source="redcap", file=file, missing_codes=MISSING_CODES)
    columns = [str(c) for c in frame.columns]
    fields = _dictionary(prepared, dictionary) if dictionary else None
    for column in columns:
        found = _CHECKBOX.match(column)
        if found:
            prepared.checkboxes.setdefault(found.group(1), {})[found.group(2)] = column
    if fields is not None:
        _checkbox_codes(prepared, fields)
        _forms_from_dictionary(prepared, fields, columns)
    else:
        _forms_from_order(prepared, columns)
        prepared.notes.append("No REDCap data dictionary was given: forms are taken from the "
                              "column order, and item ranges and identifier fields are not "
                              "known (name the dictionary in [source] dictionary).")
    return prepared


def _dictionary(prepared: Prepared, path: str) -> pd.DataFrame:
    table = read_dictionary(path)
    data_columns = set(prepared.data.columns)
    for entry in table.itertuples(index=False):
        name = str(entry.field_name)
        targets = [name] if name in data_columns else [
            c for c in data_columns if str(c).startswith(name + "___")]
        choices = parse_choices(entry.select_choices_or_calculations)
        kind = str(entry.field_type).strip().lower()
        for target in targets:
            if isinstance(entry.field_label, str):
                prepared.labels[target] = entry.field_label
            if kind in ("radio", "dropdown") and choices:
                prepared.choices[target] = choices
                numbers = pd.to_numeric(pd.Series(list(choices)), errors="coerce").dropna()
                if len(numbers) == len(choices):
                    prepared.ranges[target] = (float(numbers.min()), float(numbers.max()))
            elif kind == "slider" or str(entry.text_validation_type_or_show_slider_number) in (
                    "integer", "number"):
                low = pd.to_numeric(pd.Series([entry.text_validation_min]), errors="coerce")[0]
                high = pd.to_numeric(pd.Series([entry.text_validation_max]), errors="coerce")[0]
                if kind == "slider":
                    low = 0.0 if pd.isna(low) else low
                    high = 100.0 if pd.isna(high) else high
                if not (pd.isna(low) or pd.isna(high)):
                    prepared.ranges[target] = (float(low), float(high))
            if str(entry.identifier).strip().lower() == "y":
                prepared.personal.append(target)
        group = entry.matrix_group_name
        if isinstance(group, str) and group.strip() and name in data_columns:
            members = prepared.questions.setdefault(group.strip(), [])
            members.append((name, len(members) + 1))
    prepared.notes.append(f"Read the REDCap data dictionary {path} ({len(table)} fields).")
    return table


def _checkbox_codes(prepared: Prepared, fields: pd.DataFrame) -> None:
    """Give checkbox columns the dictionary's own choice codes (-99 for field____99)."""
    for entry in fields.itertuples(index=False):
        name = str(entry.field_name)
        if str(entry.field_type).strip().lower() != "checkbox" or name not in prepared.checkboxes:
            continue
        exported = prepared.checkboxes[name]
        by_export = {_export_code(code): code for code in parse_choices(
            entry.select_choices_or_calculations)}
        prepared.checkboxes[name] = {by_export.get(k.lower(), k): c for k, c in exported.items()}
        labels = parse_choices(entry.select_choices_or_calculations)
        for code, column in prepared.checkboxes[name].items():
            if code in labels:
                prepared.labels[column] = f"{prepared.labels.get(column, name)} - {labels[code]}"


def _forms_from_dictionary(prepared: Prepared, fields: pd.DataFrame, columns: list[str]) -> None:
    form_of = {str(e.field_name): str(e.form_name) for e in fields.itertuples(index=False)}
    for column in columns:
        base = _CHECKBOX.match(column)
        form = form_of.get(base.group(1) if base else column)
        if form and f"{form}_complete" in prepared.data.columns:
            prepared.completion[column] = f"{form}_complete"


def _forms_from_order(prepared: Prepared, columns: list[str]) -> None:
    start = 1
    for position, column in enumerate(columns):
        if column.endswith("_complete"):
            for member in columns[start:position]:
                if member not in _META:
                    prepared.completion[member] = column
            start = position + 1
