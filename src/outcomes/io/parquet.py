"""Parquet files: the stored column types are kept, except that ids become text.

A Parquet file has no lines, so the index, named ``row``, holds the record number + 1:
the first record is row 2, as it would be in a spreadsheet with a header row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from os import PathLike

import numpy as np
import pandas as pd

from outcomes._errors import DataError
from outcomes.io._common import (
    clean_header,
    id_to_text,
    is_id_column,
    number_rows,
    rename,
    tidy_text,
)
from outcomes.io._limits import check_shape

__all__ = ["read_parquet"]


def read_parquet(
    path: str | PathLike[str], *, file: str, columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Read a Parquet file; id columns (``id``, ``*_id``) become text, ``7.0`` -> ``"7"``.

    Text cells are stripped and empty text becomes missing; other types pass through.

    Parameters
    ----------
    path : str or path-like
        The file.
    file : str
        The name used in messages.
    columns : mapping, optional
        Rename {name in the file: new name}, applied after reading.

    Returns
    -------
    pandas.DataFrame
        Index ``row`` = record number + 1 (2, 3, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "coaches.parquet"
    >>> pd.DataFrame({"coach_id": [7.0, 8.0], "years_experience": [3.5, 10.0]}).to_parquet(p)
    >>> read_parquet(p, file="coaches.parquet")
        coach_id  years_experience
    row
    2          7               3.5
    3          8              10.0
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        clean_header(pq.read_schema(path).names, file=file, row=1)
        meta = pq.read_metadata(path)
        check_shape(meta.num_rows, meta.num_columns, file=file, size=os.path.getsize(path))
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DataError(
            f"the file cannot be read as Parquet ({error})",
            file=file,
            fix="Check that it is a Parquet file, or give it the suffix of its real format.",
        ) from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    frame.columns = clean_header(list(frame.columns), file=file, row=1)
    frame = number_rows(tidy_text(frame), np.arange(2, len(frame) + 2))
    frame = rename(frame, columns, file=file)
    for position, name in enumerate(frame.columns):
        if is_id_column(name):
            frame.isetitem(position, id_to_text(frame.iloc[:, position]).array)
    return frame
