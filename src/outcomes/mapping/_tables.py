"""Canonical tables from mapped records: their column order, their rows, the rejected records.

A mapped export keeps engagement, session and coach fields one per row (the field *cells*,
each with the record it came from); :func:`assemble` turns them into one row per key of a
canonical table, :func:`order_columns` puts the schema's columns first, and
:func:`rejected_frame` lays out the rejected records with their reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes.schema import COLUMNS, KEYS, UNKNOWN

__all__ = ["assemble", "order_columns", "rejected_frame", "UNKNOWN_FIELDS"]

#: Engagement fields written as ``unknown`` when the export does not give them.
UNKNOWN_FIELDS = ("sponsor", "status")


def order_columns(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Canonical columns first (in the schema's order; required ones added empty when
    absent), then the rest as they come."""
    frame = frame.copy()
    for name, spec in COLUMNS[kind].items():
        if spec.required and spec.default is None and name not in frame.columns:
            frame[name] = np.nan
    first = [c for c in COLUMNS[kind] if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def assemble(cells: pd.DataFrame, table: str, export: str) -> pd.DataFrame:
    """One row per record key of ``table`` from the long field cells.

    An engagement's ``sponsor`` or ``status`` that no cell gives is ``unknown``: a survey
    export rarely says who pays or how the engagement ended, and a guess would be published
    as fact.

    Examples
    --------
    >>> cells = pd.DataFrame({"table": "engagements", "key": ["E1", "E1"],
    ...     "engagement_id": ["E1", "E1"], "session": pd.array([pd.NA, pd.NA], "Int64"),
    ...     "coach_id": ["C1", "C1"], "field": ["coach_id", "sponsor"],
    ...     "value": ["C1", "self"], "export_row": [2, 5], "column": ["coach", "pay"]})
    >>> assemble(cells, "engagements", "intake").iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'engagement_id': 'E1', 'client_id': nan, 'coach_id': 'C1', 'start_date': nan,
     'end_date': nan, 'sponsor': 'self', 'status': 'unknown', 'export': 'intake',
     'export_row': 2}
    """
    keys = list(KEYS[table])
    part = cells[cells["table"] == table]
    if not len(part):
        return pd.DataFrame(columns=[*keys, "export", "export_row"])
    index = part[keys[0]].astype(str)
    for key in keys[1:]:
        index = index + " | " + part[key].astype(str)
    part = part.assign(_key=index.to_numpy())
    wide = part.pivot_table(index="_key", columns="field", values="value", aggfunc="first",
                            sort=False)
    first = part.groupby("_key", sort=False).agg({**{k: "first" for k in keys},
                                                  "export_row": "min"})
    out = first[keys].join(wide.drop(columns=[k for k in keys if k in wide.columns]))
    out["export"] = export
    out["export_row"] = first["export_row"]
    out.columns.name = None
    if "session" in out.columns:
        out["session"] = out["session"].astype("Int64")
    out = order_columns(out.reset_index(drop=True), table)
    if table == "engagements":
        for name in UNKNOWN_FIELDS:
            out[name] = out[name].astype(object).where(out[name].notna(), UNKNOWN)
    return out


def rejected_frame(data: pd.DataFrame, rejected: dict[int, list[tuple[str, str]]]) -> pd.DataFrame:
    """The rejected records: line, first reason, every message, then the record's cells."""
    rows = sorted(rejected)
    cells = data.loc[data.index.isin(rows)]
    out = pd.DataFrame({
        "row": np.asarray(rows, dtype=np.int64),
        "reason": pd.Series([rejected[r][0][0] for r in rows], dtype="str"),
        "message": pd.Series(["; ".join(m for _, m in rejected[r]) for r in rows], dtype="str"),
    })
    body = cells.reindex(rows).reset_index(drop=True)
    return pd.concat([out, body], axis=1) if len(body.columns) else out
