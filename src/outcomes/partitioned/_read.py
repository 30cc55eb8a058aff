"""Canonical tables as Dask frames: read part by part, rows numbered, grouped by engagement.

Every row keeps the number a user finds it under (``_row``: the line of a CSV file, the
record number + 1 of a Parquet file, or the 1-based position of a frame) and its file
(``_file``), so that problems found partition by partition name the same place as in
memory. :func:`bucket` puts the rows of one engagement (or one coach) into one partition,
the same partition in every table, so that rules that need all of an engagement's rows
(unique keys, the order of session dates, references between tables) hold per partition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._engine import expand, require_dask
from outcomes._errors import UsageError
from outcomes.schema import TABLES, ColumnSpec
from outcomes.validation._parsing import parse_column

ROW, FILE, BUCKET = "_row", "_file", "_bucket"
_ID = ColumnSpec("id")
_ROWS_PER_PARTITION = 1_000_000


def _parquet_piece(piece: tuple[str, tuple[int, ...], int],
                   columns: list[str] | None = None) -> pd.DataFrame:
    """Row groups of one Parquet file, read as :func:`outcomes.io.read_table` reads it.

    ``columns`` (set by Dask's optimizer when fewer are needed) limits what is read.
    """
    import pyarrow.parquet as pq

    from outcomes.io._common import clean_header, id_to_text, is_id_column, tidy_text

    path, groups, start = piece
    handle = pq.ParquetFile(path)
    stored = handle.schema_arrow.names
    wanted = None if columns is None else [c for c in stored if c.strip() in columns]
    frame = handle.read_row_groups(list(groups), columns=wanted).to_pandas()
    if not isinstance(frame.index, pd.RangeIndex) and columns is None:
        frame = frame.reset_index()
    frame.columns = clean_header(list(frame.columns), file=path, row=1)
    frame = tidy_text(frame)
    for position, name in enumerate(frame.columns):
        if is_id_column(name):
            frame.isetitem(position, id_to_text(frame.iloc[:, position]).array)
    frame = frame.reset_index(drop=True)
    if columns is None or ROW in columns:
        frame[ROW] = np.arange(start + 2, start + 2 + len(frame), dtype=np.int64)
    if columns is None or FILE in columns:
        frame[FILE] = repeated_text(path, len(frame))
    return frame if columns is None else frame[list(columns)]


def repeated_text(text: str, n: int) -> Any:
    """``n`` copies of ``text`` as a ``str`` array, built by Arrow (no Python strings)."""
    import pyarrow as pa

    cells = pa.repeat(pa.scalar(text, pa.large_string()), n)
    return pd.arrays.ArrowStringArray(pa.chunked_array([cells], type=pa.large_string()),
                                      dtype=pd.StringDtype("pyarrow", np.nan))


def _csv_piece(path: str, kind: str | None, columns: list[str] | None = None) -> pd.DataFrame:
    from outcomes.io import read_table as read_one

    frame = read_one(path, kind=kind)
    rows = frame.index.to_numpy(dtype=np.int64)
    frame = frame.reset_index(drop=True)
    frame[ROW] = rows
    frame[FILE] = repeated_text(path, len(frame))
    return frame if columns is None else frame[list(columns)]


def _parquet_pieces(files: list[str], rows_per_partition: int) -> list[tuple]:
    import pyarrow.parquet as pq

    pieces = []
    for path in files:
        meta = pq.ParquetFile(path).metadata
        groups: list[int] = []
        start = taken = 0
        for g in range(meta.num_row_groups):
            groups.append(g)
            taken += meta.row_group(g).num_rows
            if taken - start >= rows_per_partition:
                pieces.append((path, tuple(groups), start))
                groups, start = [], taken
        if groups or not pieces or pieces[-1][0] != path:
            pieces.append((path, tuple(groups), start))
    return pieces


def read_table(path: str | Path, *, kind: str | None = None,
               rows_per_partition: int = _ROWS_PER_PARTITION) -> Any:
    """A canonical table from Parquet or CSV files, as a Dask DataFrame of text/typed cells.

    Parameters
    ----------
    path : str or Path
        A file, a folder of files, or a glob (``sessions/*.parquet``).
    kind : str, optional
        The canonical table, for the CSV reader's column rules (ids stay text).
    rows_per_partition : int, default 1_000_000
        Parquet row groups are gathered into partitions of about this many rows. A CSV
        file is one partition: split big exports into several files, or convert to Parquet.

    Returns
    -------
    dask.dataframe.DataFrame
        The columns of the files, plus ``_row`` (line of a CSV record; record number + 1 in
        a Parquet file) and ``_file``; cells are read as :func:`outcomes.io.read_table`
        reads them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for i in (1, 2):
    ...     pd.DataFrame({"coach_id": [f"C{i}a", f"C{i}b"]}).to_parquet(
    ...         folder / f"coaches-{i}.parquet", index=False)
    >>> frame = read_table(folder / "coaches-*.parquet")
    >>> frame.npartitions, frame.compute()["_row"].tolist()
    (2, [2, 3, 2, 3])
    """
    dd = require_dask("outcomes.partitioned.read_table")
    files = expand(path)
    if all(f.lower().endswith((".parquet", ".pq")) for f in files):
        pieces = _parquet_pieces(files, rows_per_partition)
        meta = _parquet_piece((pieces[0][0], (), 0)) if pieces else None
        return dd.from_map(_parquet_piece, pieces, meta=meta, enforce_metadata=False)
    if all(f.lower().removesuffix(".gz").endswith((".csv", ".tsv", ".txt")) for f in files):
        first = _csv_piece(files[0], kind)
        return dd.from_map(_csv_piece, files, kind=kind, meta=first.iloc[:0],
                           enforce_metadata=False)
    raise UsageError(f"{path}: give Parquet or CSV files, one format per table.")


def read_study(folder: str | Path, **options: Any) -> dict[str, Any]:
    """The canonical tables of a study folder as Dask frames.

    A table is a file named after it (``sessions.parquet``, ``responses.csv``), a set of
    part files (``responses-0001.parquet``, …) or a sub-folder of parts (``responses/``).
    """
    folder = Path(folder)
    tables = {}
    for kind in TABLES:
        candidates = [folder / kind] if (folder / kind).is_dir() else sorted(
            p for p in folder.glob(f"{kind}*")
            if p.is_file() and p.name.lower().split(".")[0].split("-")[0] == kind)
        files = [str(p) for p in candidates]
        if files:
            tables[kind] = read_table(files[0] if len(files) == 1 else _as_glob(files),
                                      kind=kind, **options)
    if not tables:
        raise UsageError(f"{folder} holds no table files; name them after the tables "
                         f"({', '.join(TABLES)}).")
    return tables


def _as_glob(files: list[str]) -> str:
    stem = Path(files[0])
    suffix = "".join(stem.suffixes)
    kind = stem.name.split(".")[0].split("-")[0]
    return str(stem.parent / f"{kind}*{suffix}")


def _numbered(part: pd.DataFrame, offset: int, source: str) -> pd.DataFrame:
    out = part.reset_index(drop=part.index.name != "row")
    if "row" in out.columns and part.index.name == "row":
        out = out.rename(columns={"row": ROW})
    else:
        out[ROW] = np.arange(offset + 1, offset + 1 + len(out), dtype=np.int64)
    if FILE not in out.columns:
        out[FILE] = pd.array([source] * len(out), dtype="str")
    return out


def numbered(frame: Any, kind: str) -> Any:
    """The frame with ``_row`` and ``_file`` columns (kept when :func:`read_table` set them).

    An index named ``row`` gives the row numbers; otherwise rows are numbered 1, 2, … in
    partition order, as the in-memory validation numbers a frame.
    """
    import dask
    import dask.dataframe as dd

    if ROW in frame.columns and FILE in frame.columns:
        return frame
    source = str(frame.attrs.get("source_file") or f"<{kind} table>") if hasattr(
        frame, "attrs") else f"<{kind} table>"
    lengths = np.asarray(frame.map_partitions(len).compute(), dtype=np.int64)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    meta = _numbered(frame._meta, 0, source)
    parts = [dask.delayed(_numbered)(p, int(o), source)
             for p, o in zip(frame.to_delayed(), offsets, strict=True)]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _hashes(part: pd.DataFrame, column: str) -> np.ndarray:
    """A 64-bit hash of each row's parsed id (missing ids hash as the empty text)."""
    if column not in part.columns:
        return np.zeros(len(part), dtype=np.uint64)
    ids, _ = parse_column(part[column], _ID)
    codes, uniques = pd.factorize(ids)  # each distinct id is hashed once
    text = np.append(np.asarray(uniques, dtype=object).astype(str).astype(object), "")
    return pd.util.hash_array(text, categorize=False)[codes]  # code -1 (missing) is ""


def _with_bucket(part: pd.DataFrame, column: str, n: int,
                 layout: pd.Series | None = None) -> pd.DataFrame:
    out = part.copy()
    hashed = _hashes(part, column)  # a layout (bucket of each hash) overrides the modulo
    buckets = (hashed % np.uint64(n)).astype(np.int64)
    if layout is not None and len(layout):
        placed = layout.reindex(hashed).to_numpy()
        buckets = np.where(np.isnan(placed), buckets, np.nan_to_num(placed)).astype(np.int64)
    out[BUCKET] = buckets
    return out


def bucket(frame: Any, column: str, n: int) -> Any:
    """Partition ``frame`` into ``n`` partitions by a hash of its (parsed) ``column``.

    Partition ``i`` of every table bucketed with the same ``n`` holds the same ids, so
    partitions of different tables can be checked and joined side by side.
    """
    meta = _with_bucket(frame._meta, column, n)
    tagged = frame.map_partitions(_with_bucket, column, n, meta=meta)
    divisions = [*range(n), n - 1] if n > 1 else [0, 0]
    return tagged.set_index(BUCKET, divisions=divisions)


def unique_hashes(part: pd.DataFrame, column: str) -> np.ndarray:
    """The sorted distinct hashes of a partition's ids (as :func:`_hashes` gives them).

    Each distinct cell is parsed once: parsing an id depends on the cell alone (and, for a
    column of numbers, on whether all are whole, which the distinct cells tell as well).
    """
    if column not in part.columns:
        return np.unique(_hashes(part, column))
    cells = pd.DataFrame({column: part[column].unique()})
    return np.unique(_hashes(cells, column))

