"""Buckets without a shuffle, when the parts already keep each engagement (or coach) whole.

A study exported site by site, month by month or in batches of engagements holds each
engagement's responses in one part. One cheap pass gathers the distinct ids of every
partition (parsed as validation parses them, each distinct cell once); when no id of the
largest table (the anchor) sits in two of its partitions, partition ``i`` of the anchor is
bucket ``i`` as it stands, and each partition of another table goes whole to the bucket its
ids live in. Only a partition whose ids live in several buckets is split, row by row, by
the rule of :func:`outcomes.partitioned._read.bucket` with a layout: an id the anchor holds
goes to its partition, any other id to its hash modulo the number of buckets. The buckets
hold the rows that shuffle would give them, but nothing is shuffled: a bucket gathers whole
partitions, and only the partitions whose ids live in several buckets are cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from outcomes.partitioned._read import _with_bucket, loaders, materialise, unique_hashes
from outcomes.schema import COLUMNS
from outcomes.validation._parsing import parse_column

__all__ = ["closed_buckets", "closed_parts", "coach_ids", "concat"]


def concat(pieces: list, meta: pd.DataFrame) -> pd.DataFrame:
    """The rows of one table that belong to one bucket (the empty table when none do);
    a piece given by its loader is read here."""
    pieces = [p for p in map(materialise, pieces) if len(p)]
    if not pieces:
        return meta
    return pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)


def _id_hashes(part: pd.DataFrame, column: str) -> pd.Series:
    return pd.Series(unique_hashes(part, column), dtype="uint64")


def _loaded_hashes(loader: Any, column: str) -> np.ndarray:
    return loader.id_hashes(column)


def _distinct(frame: Any, column: str) -> list:
    """A delayed task per partition giving its distinct id hashes (read and hashed in one;
    from a file, only the distinct cells of the id column are tidied and parsed)."""
    import dask

    found = loaders(frame)
    if found is not None:
        return [dask.delayed(_loaded_hashes)(loader, column) for loader in found]
    ids = frame[[column]] if column in frame.columns else frame
    return ids.map_partitions(_id_hashes, column, meta=pd.Series(dtype="uint64")).to_delayed()


def _split(part: pd.DataFrame, column: str, n: int, home: pd.Series,
           targets: tuple[int, ...]) -> dict[int, pd.DataFrame]:
    """The rows of a partition, by the bucket their id belongs to."""
    part = materialise(part)
    buckets = _with_bucket(part[[column]] if column in part.columns else part.iloc[:, :0],
                           column, n, home)["_bucket"].to_numpy()
    return {t: part.loc[buckets == t].reset_index(drop=True) for t in targets}


def _targets(hashes: np.ndarray, n: int, home: pd.Series) -> np.ndarray:
    placed = home.reindex(hashes).to_numpy()
    fallback = (hashes % np.uint64(n)).astype(np.int64)
    return np.unique(np.where(np.isnan(placed), fallback, np.nan_to_num(placed))
                     .astype(np.int64))


def closed_buckets(frames: Mapping[str, Any], anchor: str,
                   column: str = "engagement_id") -> dict[str, list[list]] | None:
    """The pieces of each table that make bucket ``i``: partition ``i`` of ``anchor`` and the
    rows of the other tables with its ids (those it lacks go by their hash).

    Returns, per table, a list (one per partition of ``anchor``) of lists of pieces to
    concatenate (delayed, or loaders of parts read from files), or None when some id of
    ``anchor`` has rows in two of its partitions (then a shuffle is needed).
    """
    import dask

    ids = {k: _distinct(f, column) for k, f in frames.items()}
    found = {k: [np.asarray(h, dtype=np.uint64) for h in v] for k, v in
             zip(ids, dask.compute(*ids.values()), strict=True)}
    every = np.concatenate(found[anchor]) if found[anchor] else np.zeros(0, np.uint64)
    if len(np.unique(every)) != len(every):
        return None
    n = len(found[anchor])
    where = np.repeat(np.arange(n), [len(f) for f in found[anchor]]).astype(float)
    home = pd.Series(where, index=every)
    shared = dask.delayed(home)
    out: dict[str, list[list]] = {}
    for kind, frame in frames.items():
        parts = _parts(frame)
        if kind == anchor:
            out[kind] = [[part] for part in parts]
            continue
        pieces: list[list] = [[] for _ in range(n)]
        for part, hashes in zip(parts, found[kind], strict=True):
            targets = _targets(hashes, n, home)
            if len(targets) == 1:
                pieces[int(targets[0])].append(part)
            elif len(targets) > 1:
                split = dask.delayed(_split)(part, column, n, shared,
                                             tuple(int(t) for t in targets))
                for t in targets:
                    pieces[int(t)].append(split[int(t)])
        out[kind] = pieces
    return out


def _parts(frame: Any) -> list:
    """The partitions of a frame: read by the task that checks them when the frame came
    from files (nothing is sent between workers), else as Dask's delayed partitions."""
    found = loaders(frame)
    return list(found) if found is not None else frame.to_delayed()


def coach_ids(part: pd.DataFrame) -> set[str]:
    """The parsed coach ids of a partition (missing ones left out)."""
    if "coach_id" not in part.columns:
        return set()
    ids, _ = parse_column(part["coach_id"].rename(None), COLUMNS["coaches"]["coach_id"])
    return set(ids.dropna().astype(str))


def _coach_cells(part: pd.DataFrame) -> pd.Series:
    """The distinct parsed coach ids of a partition, a missing one as ``""``."""
    ids, _ = parse_column(pd.Series(part["coach_id"].unique()), COLUMNS["coaches"]["coach_id"])
    return pd.Series(sorted(set(ids.astype(object).where(ids.notna(), ""))), dtype=object)


def closed_parts(frame: Any, n: int) -> tuple[list[list], set[str]] | None:
    """``n`` buckets of coaches when no coach id repeats across partitions, and the ids.

    Partition ``j`` goes whole to bucket ``j % n``. Returns None when some id (a missing one
    included) sits in two partitions: then the table is shuffled by its ids.
    """
    import dask

    if "coach_id" not in frame.columns:
        return None
    found = dask.compute(*frame[["coach_id"]].map_partitions(
        _coach_cells, meta=pd.Series(dtype=object)).to_delayed())
    union: set[str] = set().union(*(set(f) for f in found))
    if sum(len(f) for f in found) != len(union):
        return None
    pieces: list[list] = [[] for _ in range(n)]
    for j, part in enumerate(_parts(frame)):
        pieces[j % n].append(part)
    return pieces, union - {""}
