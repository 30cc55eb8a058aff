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

    path, groups, start = piece
    handle = pq.ParquetFile(path)
    stored = handle.schema_arrow.names
    wanted = None if columns is None else [c for c in stored if c.strip() in columns]
    frame = _tidy(handle.read_row_groups(list(groups), columns=wanted).to_pandas(), path,
                  columns is None)
    if columns is None or ROW in columns:
        frame[ROW] = np.arange(start + 2, start + 2 + len(frame), dtype=np.int64)
    if columns is None or FILE in columns:
        frame[FILE] = repeated_text(path, len(frame))
    return frame if columns is None else frame[list(columns)]


def _tidy(frame: pd.DataFrame, path: str, whole: bool) -> pd.DataFrame:
    """The cells of a Parquet file as :func:`outcomes.io.read_table` gives them."""
    from outcomes.io._common import clean_header, id_to_text, is_id_column, tidy_text

    if not isinstance(frame.index, pd.RangeIndex) and (whole or frame.index.names != [None]):
        frame = frame.reset_index()  # a column pandas stored as the index is a column here
    frame.columns = clean_header(list(frame.columns), file=path, row=1)
    frame = tidy_text(frame)
    for position, name in enumerate(frame.columns):
        if is_id_column(name):
            frame.isetitem(position, id_to_text(frame.iloc[:, position]).array)
    return frame.reset_index(drop=True)


def _parquet_cells(piece: tuple[str, tuple[int, ...], int], column: str) -> pd.DataFrame | None:
    """The distinct cells of one column of a Parquet piece, tidied as its rows would be
    (tidying a cell depends on the cell and the column's type only); None when the file
    holds no single column of that name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, groups, _ = piece
    handle = pq.ParquetFile(path)
    stored = [c for c in handle.schema_arrow.names if c.strip() == column]
    if len(stored) != 1:
        return None
    table = handle.read_row_groups(list(groups), columns=stored)
    cells = pa.Table.from_arrays([table.column(0).unique()], schema=table.schema)
    return _tidy(cells.to_pandas(), path, False)


class PartLoader:
    """One partition of a table from :func:`read_table`, read inside the task that needs it.

    Calling it gives the partition exactly as the Dask frame's own task does (text turned
    into Arrow strings when Dask does so), so a task can read its parts itself rather than
    receive them from another worker.
    """

    def __init__(self, read: Any, args: tuple, strings: bool) -> None:
        self.read, self.args, self.strings = read, args, strings

    def __call__(self, columns: list[str] | None = None) -> pd.DataFrame:
        return self._strings(self.read(*self.args, columns=columns))

    def _strings(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.strings:
            return frame
        from dask.dataframe._pyarrow import to_pyarrow_string

        return to_pyarrow_string(frame)

    def id_hashes(self, column: str) -> np.ndarray:
        """The sorted distinct hashes of the partition's ids (:func:`unique_hashes`)."""
        if self.read is _parquet_piece:
            cells = _parquet_cells(self.args[0], column)
            if cells is not None:
                return unique_hashes(self._strings(cells), column)
        return unique_hashes(self(), column)


_LOADERS: dict[str, list[PartLoader]] = {}  # by the name of the frame read_table gave


def loaders(frame: Any) -> list[PartLoader] | None:
    """The partitions of a frame that :func:`read_table` gave, as loaders (else None)."""
    found = _LOADERS.get(getattr(frame, "_name", ""))
    return found if found is not None and len(found) == frame.npartitions else None


def _remember(frame: Any, read: Any, args: list[tuple]) -> Any:
    from dask.dataframe.utils import pyarrow_strings_enabled

    strings = pyarrow_strings_enabled()
    _LOADERS[frame._name] = [PartLoader(read, a, strings) for a in args]
    while len(_LOADERS) > 64:  # a long-running process keeps only the recent frames
        del _LOADERS[next(iter(_LOADERS))]
    return frame


def materialise(part: Any) -> pd.DataFrame:
    """A partition: read by its loader, or as given."""
    return part() if isinstance(part, PartLoader) else part


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
        return _remember(dd.from_map(_parquet_piece, pieces, meta=meta, enforce_metadata=False),
                         _parquet_piece, [(p,) for p in pieces])
    if all(f.lower().removesuffix(".gz").endswith((".csv", ".tsv", ".txt")) for f in files):
        first = _csv_piece(files[0], kind)
        return _remember(dd.from_map(_csv_piece, files, kind=kind, meta=first.iloc[:0],
                                     enforce_metadata=False), _csv_piece,
                         [(f, kind) for f in files])
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

