"""The canonical tables of a coaching study, as pandera models.

A study has up to five tables (DESIGN.md, "Canonical tables"): ``coaches``, ``engagements``,
``sessions``, ``responses`` (item level, long) and the derived ``scores``. This module says
what each column must hold: its type, its range, its allowed values and which keys are
unique. The rules that need more than one row or more than one table (an engagement's coach
exists, dates do not decrease with session number, an item's value lies in its instrument's
range) live in :mod:`outcomes.validation.rules`, which also turns every failure into a row-level
problem with a fix.

Every table may carry extra columns; they pass through untouched.

Examples
--------
>>> sorted(COLUMNS["sessions"])
['adherence', 'date', 'duration_min', 'engagement_id', 'session', 'techniques']
>>> COLUMNS["engagements"]["status"].required
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
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
]

#: The canonical tables, in the order they are read and validated.
TABLES = ("coaches", "engagements", "sessions", "responses", "scores")

OCCASIONS = ("intake", "session", "end", "followup")
RATERS = ("client", "coach", "sponsor")
SPONSORS = ("self", "organisation")
STATUSES = ("completed", "ongoing", "dropped", "referred")

Kind = Literal["id", "text", "int", "float", "date", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    """What one canonical column holds, for parsing raw text into it.

    ``kind`` is one of ``id`` (kept as text), ``text``, ``int``, ``float``, ``date`` (ISO
    ``YYYY-MM-DD``) and ``bool``; ``required`` columns must be present in the file.
    """

    kind: Kind
    required: bool = True
    default: object = None


COLUMNS: dict[str, dict[str, ColumnSpec]] = {
    "coaches": {
        "coach_id": ColumnSpec("id"),
        "years_experience": ColumnSpec("float", required=False),
        "accreditation": ColumnSpec("text", required=False),
        "orientation": ColumnSpec("text", required=False),
    },
    "engagements": {
        "engagement_id": ColumnSpec("id"),
        "client_id": ColumnSpec("id"),
        "coach_id": ColumnSpec("id"),
        "start_date": ColumnSpec("date"),
        "end_date": ColumnSpec("date"),
        "sponsor": ColumnSpec("text"),
        "status": ColumnSpec("text"),
        "research_consent": ColumnSpec("bool", required=False),
    },
    "sessions": {
        "engagement_id": ColumnSpec("id"),
        "session": ColumnSpec("int"),
        "date": ColumnSpec("date"),
        "duration_min": ColumnSpec("float", required=False),
        "techniques": ColumnSpec("text", required=False),
        "adherence": ColumnSpec("float", required=False),
    },
    "responses": {
        "engagement_id": ColumnSpec("id"),
        "occasion": ColumnSpec("text"),
        "session": ColumnSpec("int"),
        "instrument": ColumnSpec("text"),
        "item": ColumnSpec("int"),
        "value": ColumnSpec("float"),
        "rater": ColumnSpec("text", required=False, default="client"),
    },
    "scores": {
        "engagement_id": ColumnSpec("id"),
        "occasion": ColumnSpec("text"),
        "session": ColumnSpec("int"),
        "instrument": ColumnSpec("text"),
        "scale": ColumnSpec("text"),
        "score": ColumnSpec("float"),
        "n_items": ColumnSpec("int"),
        "rater": ColumnSpec("text", required=False, default="client"),
    },
}

#: The columns whose combination identifies a row, per table.
KEYS: dict[str, tuple[str, ...]] = {
    "coaches": ("coach_id",),
    "engagements": ("engagement_id",),
    "sessions": ("engagement_id", "session"),
    "responses": ("engagement_id", "occasion", "session", "instrument", "item", "rater"),
    "scores": ("engagement_id", "occasion", "session", "instrument", "scale", "rater"),
}


class _Canonical(pa.DataFrameModel):
    class Config:
        strict = False  # extra columns pass through
        coerce = False  # parsing is done row by row in outcomes.validate


class Coaches(_Canonical):
    """A coach: ``coach_id`` unique; optional experience, accreditation, orientation."""

    coach_id: Series[str] = pa.Field(unique=True)
    years_experience: Series[float] | None = pa.Field(ge=0, le=80, nullable=True)
    accreditation: Series[str] | None = pa.Field(nullable=True)
    orientation: Series[str] | None = pa.Field(nullable=True)


class Engagements(_Canonical):
    """One coaching engagement of one client with one coach."""

    engagement_id: Series[str] = pa.Field(unique=True)
    client_id: Series[str]
    coach_id: Series[str]
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

    engagement_id: Series[str]
    session: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500)
    date: Series[pd.Timestamp]
    duration_min: Series[float] | None = pa.Field(gt=0, le=600, nullable=True)
    techniques: Series[str] | None = pa.Field(nullable=True)
    adherence: Series[float] | None = pa.Field(ge=1, le=5, nullable=True)


class Responses(_Canonical):
    """One item response: who, when, which instrument and item, and the value."""

    engagement_id: Series[str]
    occasion: Series[str] = pa.Field(isin=OCCASIONS)
    session: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500, nullable=True)
    instrument: Series[str]
    item: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500)
    value: Series[float] = pa.Field(nullable=True)  # empty: the item was not answered
    rater: Series[str] = pa.Field(isin=RATERS)

    @pa.dataframe_check(error="a per-session response needs its session number")
    def session_given_for_sessions(cls, df: pd.DataFrame) -> Series[bool]:
        return ~((df["occasion"] == "session") & df["session"].isna())


class Scores(_Canonical):
    """One scale score of one administration of an instrument."""

    engagement_id: Series[str]
    occasion: Series[str] = pa.Field(isin=OCCASIONS)
    session: Series[pd.Int64Dtype] = pa.Field(ge=1, le=500, nullable=True)
    instrument: Series[str]
    scale: Series[str]
    score: Series[float] = pa.Field(nullable=True)
    n_items: Series[pd.Int64Dtype] = pa.Field(ge=0)
    rater: Series[str] = pa.Field(isin=RATERS)


MODELS: dict[str, type[_Canonical]] = {
    "coaches": Coaches,
    "engagements": Engagements,
    "sessions": Sessions,
    "responses": Responses,
    "scores": Scores,
}
