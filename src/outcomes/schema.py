"""The canonical tables of a coaching study, as pandera models: the one place they are declared.

A study has up to five tables (docs/data.md): ``coaches``, ``engagements``,
``sessions``, ``responses`` (item level, long) and the derived ``scores``. The models below
say what each column must hold: its type, its range, its allowed values, which columns
identify a row (a column's ``unique=True``, or the model's ``Config.unique`` for a key of
several columns) and the value a missing optional column takes (``default``). Everything
else that needs the columns reads them from here: :data:`COLUMNS` (how raw text is parsed
into each column), :data:`KEYS`, :data:`ALLOWED` and :data:`TABLES` are views of the models.

People write the same name in many ways (``Completed``, ``WAI_SR``, `` self ``): one rule,
:func:`spelling_key`, decides which spellings are the same name (case, spaces, ``-`` and
``_`` ignored). Validation, the instrument registry and the coach's workbook all use it, and
:func:`canonical_spellings` maps a vocabulary's spellings to its canonical values.

The rules that need more than one row or more than one table (an engagement's coach
exists, dates do not decrease with session number, an item's value lies in its instrument's
range) live in :mod:`outcomes.validation.rules`, which also turns every failure into a
row-level problem with a fix.

Every table may carry extra columns; they pass through untouched.

Examples
--------
>>> sorted(COLUMNS["sessions"])
['adherence', 'date', 'duration_min', 'engagement_id', 'session', 'techniques']
>>> COLUMNS["engagements"]["status"].required
True
>>> KEYS["sessions"], ALLOWED["rater"]
(('engagement_id', 'session'), ('client', 'coach', 'sponsor'))
>>> canonical_spellings(ALLOWED["status"]).get(spelling_key(" Completed "))
'completed'
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pandera.dtypes as pa_dtypes
import pandera.pandas as pa
from pandera.typing import Series

__all__ = [
    "TABLES",
    "OCCASIONS",
    "RATERS",
    "SPONSORS",
    "STATUSES",
    "ColumnSpec",
    "COLUMNS",
    "MODELS",
    "KEYS",
    "ALLOWED",
    "NUMERIC",
    "UNKNOWN",
    "spelling_key",
    "spelling_keys",
    "canonical_spellings",
]

#: The value a ``sponsor`` or ``status`` takes when the source does not say (a survey export
#: rarely does): reported as unknown, never guessed.
UNKNOWN = "unknown"

OCCASIONS = ("intake", "session", "end", "followup")
RATERS = ("client", "coach", "sponsor")
SPONSORS = ("self", "organisation", UNKNOWN)
STATUSES = ("completed", "ongoing", "dropped", "referred", UNKNOWN)

_IGNORED = re.compile(r"[\s_-]+")


def spelling_key(text: object) -> str:
    """The form in which two spellings of a name are compared: lower case, and without
    spaces, ``-`` or ``_`` anywhere.

    Examples
    --------
    >>> [spelling_key(s) for s in ("WAI-SR", " wai_sr ", "Wai SR", "waisr")]
    ['waisr', 'waisr', 'waisr', 'waisr']
    """
    return _IGNORED.sub("", str(text)).casefold()


def spelling_keys(values: pd.Series) -> pd.Series:
    """:func:`spelling_key` of every value of a text column at once (missing stays missing).

    Examples
    --------
    >>> spelling_keys(pd.Series(["Follow-up", None], dtype="string")).tolist()
    ['followup', <NA>]
    """
    return values.astype("string").str.replace(_IGNORED.pattern, "", regex=True).str.casefold()


def canonical_spellings(values: Iterable[str]) -> dict[str, str]:
    """Each canonical value by its :func:`spelling_key`.

    Raises
    ------
    ValueError
        When two values of the vocabulary share a spelling key (they could not be told apart).

    Examples
    --------
    >>> canonical_spellings(["follow-up", "end"])
    {'followup': 'follow-up', 'end': 'end'}
    """
    found: dict[str, str] = {}
    for value in values:
        key = spelling_key(value)
        if found.setdefault(key, value) != value:
            raise ValueError(f"{found[key]!r} and {value!r} are spellings of the same name")
    return found

Kind = Literal["id", "text", "int", "float", "date", "bool"]

#: Field metadata marking an identifier: text that is never read as a number ("007").
_ID = {"kind": "id"}


class _Canonical(pa.DataFrameModel):
    class Config:
        strict = False  # extra columns pass through
        coerce = False  # parsing is done cell by cell in outcomes.validation


class Coaches(_Canonical):
    """A coach: ``coach_id`` unique; optional experience, accreditation, orientation."""

    coach_id: Series[str] = pa.Field(unique=True, metadata=_ID)
    years_experience: Series[float] | None = pa.Field(ge=0, le=80, nullable=True)
    accreditation: Series[str] | None = pa.Field(nullable=True)
    orientation: Series[str] | None = pa.Field(nullable=True)


class Engagements(_Canonical):
    """One coaching engagement of one client with one coach."""

    engagement_id: Series[str] = pa.Field(unique=True, metadata=_ID)
    client_id: Series[str] = pa.Field(metadata=_ID)
    coach_id: Series[str] = pa.Field(metadata=_ID)
    start_date: Series[pd.Timestamp]
    end_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    sponsor: Series[str] = pa.Field(isin=SPONSORS)
    status: Series[str] = pa.Field(isin=STATUSES)
    research_consent: Series[pd.BooleanDtype] | None = pa.Field(nullable=True)

    @pa.dataframe_check(error="end_date is before start_date")
    def ends_after_start(cls, df: pd.DataFrame) -> Series[bool]:
        return ~(df["end_date"] < df["start_date"]).fillna(False)


class Sessions(_Canonical):
    """One session of an engagement; ``session`` counts from 1."""

    class Config:
        unique = ["engagement_id", "session"]

    engagement_id: Series[str] = pa.Field(metadata=_ID)
    session: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500)
    date: Series[pd.Timestamp]
    duration_min: Series[float] | None = pa.Field(gt=0, le=600, nullable=True)
    techniques: Series[str] | None = pa.Field(nullable=True)
    adherence: Series[float] | None = pa.Field(ge=1, le=5, nullable=True)


class Responses(_Canonical):
    """One item response: who, when, which instrument and item, and the value."""

    class Config:
        unique = ["engagement_id", "occasion", "session", "instrument", "item", "rater"]

    engagement_id: Series[str] = pa.Field(metadata=_ID)
    occasion: Series[str] = pa.Field(isin=OCCASIONS)
    session: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500, nullable=True)
    instrument: Series[str]
    item: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500)
    value: Series[float] = pa.Field(nullable=True)  # empty: the item was not answered
    rater: Series[str] = pa.Field(isin=RATERS, default="client")

    @pa.dataframe_check(error="a per-session response needs its session number")
    def session_given_for_sessions(cls, df: pd.DataFrame) -> Series[bool]:
        return ~((df["occasion"] == "session") & df["session"].isna())


class Scores(_Canonical):
    """One scale score of one administration of an instrument."""

    class Config:
        unique = ["engagement_id", "occasion", "session", "instrument", "scale", "rater"]

    engagement_id: Series[str] = pa.Field(metadata=_ID)
    occasion: Series[str] = pa.Field(isin=OCCASIONS)
    session: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500, nullable=True)
    instrument: Series[str]
    scale: Series[str]
    score: Series[float] = pa.Field(nullable=True)
    n_items: Series[pd.Int64Dtype] = pa.Field(ge=0)
    rater: Series[str] = pa.Field(isin=RATERS, default="client")


#: The canonical tables' models, in the order the tables are read and validated.
MODELS: dict[str, type[_Canonical]] = {
    "coaches": Coaches,
    "engagements": Engagements,
    "sessions": Sessions,
    "responses": Responses,
    "scores": Scores,
}

#: The canonical tables, in the order they are read and validated.
TABLES: tuple[str, ...] = tuple(MODELS)


@dataclass(frozen=True)
class ColumnSpec:
    """What one canonical column holds, for parsing raw text into it.

    ``kind`` is one of ``id`` (kept as text), ``text``, ``int``, ``float``, ``date`` (ISO
    ``YYYY-MM-DD``) and ``bool``; ``required`` columns must be present in the file; a
    column with a ``default`` may be left out, and its empty cells take the default.
    """

    kind: Kind
    required: bool = True
    default: object = None


def _kind(column: pa.Column) -> Kind:
    declared = (column.metadata or {}).get("kind")
    if declared is not None:
        return declared
    dtype = column.dtype
    for test, kind in ((pa_dtypes.is_bool, "bool"), (pa_dtypes.is_int, "int"),
                       (pa_dtypes.is_float, "float"), (pa_dtypes.is_datetime, "date"),
                       (pa_dtypes.is_string, "text")):
        if test(dtype):
            return kind  # type: ignore[return-value]
    raise TypeError(f"schema column {column.name!r} has a type with no parser: {dtype}")


def _spec(column: pa.Column) -> ColumnSpec:
    default = column.default
    return ColumnSpec(_kind(column), required=column.required and default is None,
                      default=default)


def _schema(model: type[_Canonical]) -> Any:
    """``model.to_schema()``, built without importing Dask when Dask is not loaded yet.

    pandera looks for Dask's frame types while it builds a schema, and importing Dask takes
    about a second, which every command would pay; the canonical tables are pandas frames.
    """
    if "dask.dataframe" in sys.modules or "pandera.typing.dask" in sys.modules:
        return model.to_schema()
    absent = types.ModuleType("pandera.typing.dask")
    absent.DASK_INSTALLED = False  # type: ignore[attr-defined]
    sys.modules["pandera.typing.dask"] = absent
    try:
        return model.to_schema()
    finally:
        del sys.modules["pandera.typing.dask"]


def _key(model: type[_Canonical]) -> tuple[str, ...]:
    schema = _schema(model)
    if schema.unique:
        return tuple(schema.unique)
    return tuple(name for name, column in schema.columns.items() if column.unique)


def _allowed() -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = {}
    for model in MODELS.values():
        for name, column in _schema(model).columns.items():
            for check in column.checks:
                if check.name == "isin":
                    found.setdefault(name, tuple(check.statistics["allowed_values"]))
    return found


#: How each column of each table is parsed from raw text, in the models' column order.
COLUMNS: dict[str, dict[str, ColumnSpec]] = {
    kind: {name: _spec(column) for name, column in _schema(model).columns.items()}
    for kind, model in MODELS.items()
}

#: The columns whose combination identifies a row, per table.
KEYS: dict[str, tuple[str, ...]] = {kind: _key(model) for kind, model in MODELS.items()}

#: The vocabulary of each column that has one (``occasion``, ``rater``, ``sponsor``, ...).
ALLOWED: dict[str, tuple[Any, ...]] = _allowed()

#: Every canonical column that holds numbers (whole or not), over all tables.
NUMERIC: tuple[str, ...] = tuple(dict.fromkeys(
    name for columns in COLUMNS.values() for name, spec in columns.items()
    if spec.kind in ("int", "float")))
