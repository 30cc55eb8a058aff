"""Helpers shared by the result objects: JSON-safe conversion and text tables.

Every result in `outcomes` is a frozen dataclass with four faces: ``.table()`` (a tidy
DataFrame), ``.summary()`` (text), ``.plot(ax=None)`` (a matplotlib Axes) and
``.to_dict()`` (JSON-safe). The column vocabulary is shared: ``estimate``,
``std_error``, ``ci_low``, ``ci_high``, ``p_value``, ``n``; the interval level lives in
metadata (``ci_level``), never in a column name.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable", "frame_records", "text_table", "COLUMNS"]

COLUMNS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "n")


def jsonable(value: Any) -> Any:
    """Turn numbers, arrays, Series and frames into plain JSON-safe Python.

    Non-finite floats become ``None`` so that the output is strict JSON.

    Examples
    --------
    >>> jsonable({"a": np.float64(0.5), "b": np.array([1, 2]), "c": float("nan")})
    {'a': 0.5, 'b': [1, 2], 'c': None}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return frame_records(value)
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | _dt.date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as a list of JSON-safe records (the index is dropped).

    Examples
    --------
    >>> frame_records(pd.DataFrame({"x": [1.0, np.nan]}))
    [{'x': 1.0}, {'x': None}]
    """
    return [
        {str(k): jsonable(v) for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def text_table(frame: pd.DataFrame, *, digits: int = 3, index: bool = False) -> str:
    """A plain-text rendering of a frame for ``.summary()``.

    Examples
    --------
    >>> print(text_table(pd.DataFrame({"scale": ["goal"], "alpha": [0.81234]})))
    scale  alpha
     goal  0.812
    """
    return frame.to_string(index=index, float_format=lambda x: f"{x:.{digits}f}")
