"""Which engine holds the data: a pandas frame in memory, or a Dask frame in partitions.

Dask is optional (the ``scale`` extra) and imported only when a Dask frame or
``engine="dask"`` is used, so importing :mod:`outcomes` never imports it. A model function
takes a pandas DataFrame, a Dask DataFrame, or a path or glob of Parquet or CSV files with
``engine=`` saying which engine reads them (:func:`as_frame`).

Examples
--------
>>> import pandas as pd
>>> is_dask(pd.DataFrame({"a": [1.0]}))
False
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pandas as pd

from outcomes._errors import UsageError

__all__ = ["ENGINES", "is_dask", "require_dask", "as_frame", "expand", "partitions"]

ENGINES = ("pandas", "dask")
_INSTALL = 'Install the optional dependencies with pip install "outcomes[scale]".'


def is_dask(data: Any) -> bool:
    """True when ``data`` is a Dask DataFrame (checked without importing Dask)."""
    module = type(data).__module__
    return module.startswith(("dask.", "dask_expr.")) and hasattr(data, "npartitions")


def require_dask(what: str = "this") -> Any:
    """Import and return ``dask.dataframe``, or raise a :class:`UsageError` saying how."""
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - the scale extra is installed in development
        raise UsageError(f"{what} needs Dask, which is not installed. {_INSTALL}") from None
    return dd


def expand(path: str | Path) -> list[str]:
    """The files a path, folder or glob names, sorted; a folder means every file in it."""
    text = str(path)
    if Path(text).is_dir():
        found = sorted(str(p) for p in Path(text).iterdir()
                       if p.suffix.lower() in (".parquet", ".csv", ".gz", ".pq"))
    else:
        found = sorted(glob.glob(text))
    if not found:
        raise UsageError(f"{text} names no files; give a file, a folder or a glob such as "
                         "data/*.parquet.")
    return found


def _format(files: list[str]) -> str:
    names = [f.lower().removesuffix(".gz") for f in files]
    if all(n.endswith((".parquet", ".pq")) for n in names):
        return "parquet"
    if all(n.endswith((".csv", ".txt")) for n in names):
        return "csv"
    raise UsageError(f"{files[0]}: give Parquet (.parquet) or CSV (.csv) files, one format "
                     "at a time.")


def as_frame(data: Any, engine: str | None, caller: str) -> Any:
    """A pandas or Dask DataFrame from a frame, or from a path or glob read by ``engine``.

    A frame passes through (``engine="dask"`` turns a pandas frame into a one-partition
    Dask frame; ``engine="pandas"`` computes a Dask frame). A path is read whole by pandas
    or lazily, partition by partition, by Dask.
    """
    if engine is not None and engine not in ENGINES:
        raise UsageError(f'{caller}(): engine must be "pandas" or "dask"; got {engine!r}.')
    if isinstance(data, str | Path):
        files = expand(data)
        kind = _format(files)
        if engine == "dask":
            dd = require_dask(f"{caller}(engine='dask')")
            return dd.read_parquet(files) if kind == "parquet" else dd.read_csv(files)
        parts = [pd.read_parquet(f) if kind == "parquet" else pd.read_csv(f) for f in files]
        return pd.concat(parts, ignore_index=True)
    if engine == "dask" and isinstance(data, pd.DataFrame):
        dd = require_dask(f"{caller}(engine='dask')")
        return dd.from_pandas(data, npartitions=1)
    if engine == "pandas" and is_dask(data):
        return data.compute()
    return data


def partitions(data: Any) -> list[Any]:
    """The partitions of a Dask frame as delayed objects (one per partition)."""
    return list(data.to_delayed(optimize_graph=True))
