"""Validation partition by partition, with the in-memory rules and the same accounting.

Each table is cut into buckets by engagement (coaches by coach), the same bucket of every
table holding the same engagements. A bucket is then checked by the in-memory code of
:mod:`outcomes.validation.rules`, which makes every rule exact: a key's copies, an engagement's
sessions and the rows a reference points to all sit in one bucket; only the coach ids are
gathered first, over the whole coaches table. Valid rows go to Parquet and rejected rows,
with their reasons, to CSV, one file per bucket, so memory is bounded by the bucket size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import OutcomesError, UsageError
from outcomes._plotting import OKABE_ITO, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.io.writing import neutralise_formulas, restore_cell, restore_formulas
from outcomes.measures.scoring import _check_columns as check_columns
from outcomes.partitioned._derive import pooled_moments, zsum_moments
from outcomes.partitioned._read import FILE, ROW, bucket, numbered
from outcomes.partitioned._route import closed_buckets, closed_parts, coach_ids, concat
from outcomes.schema import TABLES
from outcomes.validation.report import (
    COUNT_COLUMNS,
    PROBLEM_COLUMNS,
    TableCheck,
    ValidationReport,
    counts_headline,
    rejected_rows,
)
from outcomes.validation.rules import check_links, check_table

__all__ = ["validate_tables", "ScaledValidation"]

_ENGAGEMENT_TABLES = ("engagements", "sessions", "responses", "scores")
# zstd at its fastest level: about a fifth less CPU than the default (snappy) to write the
# valid rows, half the bytes on disk, and as fast to read back
_PARQUET = {"compression": "zstd", "compression_level": 1}


def _check(part: pd.DataFrame, kind: str) -> tuple[TableCheck, np.ndarray, np.ndarray]:
    """The in-memory checks of one table's bucket; each row's file as a code, and the files.

    The rows are checked in the order of their files and lines; a bucket that is one part
    of one file, as read, is in that order already and is not sorted again.
    """
    rows = part[ROW].to_numpy(dtype=np.int64)
    codes, names = pd.factorize(part[FILE], sort=True)
    if len(names) > 1 or (len(rows) > 1 and not (np.diff(rows) > 0).all()):
        order = np.lexsort((rows, codes))
        part, rows, codes = part.iloc[order], rows[order], codes[order]
    names = np.asarray(names, dtype=object)
    raw = part.drop(columns=[ROW, FILE]).reset_index(drop=True)
    raw.attrs = {"source_file": names[0]} if len(names) == 1 else {}
    check = check_table(raw, kind)
    check.rows = rows
    return check, codes, names


class _Parent:
    """The coaches table as the reference rule sees it: its ids, gathered beforehand."""

    def __init__(self, ids: set[str] | None) -> None:
        self.typed = pd.DataFrame({"coach_id": sorted(ids)}) if ids is not None else \
            pd.DataFrame()
        self.missing_columns: list[str] = []


def _outputs(check: TableCheck, codes: np.ndarray, names: np.ndarray) -> dict[str, Any]:
    found = check.problems()
    is_bad = np.zeros(len(check.raw), bool)
    is_bad[found["_pos"].to_numpy(dtype=int)] = True
    # a new frame either way (copy on write): rows taken only when some are rejected
    valid = check.typed.loc[~is_bad] if is_bad.any() else check.typed.copy(deep=False)
    valid.index = pd.Index(check.rows[~is_bad], name="row")
    rejected = rejected_rows(check, found, is_bad)
    rejected.insert(0, "file", names[codes[is_bad]] if len(codes) else [])
    found["file"] = names[codes[found["_pos"].to_numpy(dtype=int)]] if len(found) else []
    problems = found.drop(columns="_pos")[PROBLEM_COLUMNS]
    return {"valid": valid, "rejected": rejected, "problems": problems,
            "counts": (len(check.raw), int((~is_bad).sum()), int(is_bad.sum()))}


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as text (or missing), so that every part file of a table has one schema."""
    out = frame.copy()
    for column in out.columns:
        if column not in ("row",) and not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype("str").where(out[column].notna(), None)
    return out


def _write(results: dict[str, dict[str, Any]], folder: Path, index: int) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for kind, result in results.items():
        name = f"part-{index:05d}"
        if len(result["valid"]):
            target = folder / "valid" / kind
            target.mkdir(parents=True, exist_ok=True)
            result["valid"].to_parquet(target / f"{name}.parquet", **_PARQUET)
        if len(result["rejected"]):
            target = folder / "rejected" / kind
            target.mkdir(parents=True, exist_ok=True)
            neutralise_formulas(result["rejected"]).to_csv(target / f"{name}.csv", index=False)
        if len(result["problems"]):
            target = folder / "problems"
            target.mkdir(parents=True, exist_ok=True)
            neutralise_formulas(_text(result["problems"])).to_csv(
                target / f"{kind}-{name}.csv", index=False)
        summary[kind] = {"counts": result["counts"], "problems": len(result["problems"]),
                         "meta": result["valid"].iloc[:0]}
    return summary


def _bucket_task(index: int, pieces: dict[str, list[pd.DataFrame]],
                 metas: dict[str, pd.DataFrame], coach_ids: set[str] | None,
                 folder: str) -> dict[str, Any]:
    """Check one bucket of every table (its pieces put together), write its valid and
    rejected rows."""
    done = {kind: _check(concat(found, metas[kind]), kind) for kind, found in pieces.items()}
    checks: dict[str, Any] = {kind: found[0] for kind, found in done.items()}
    if coach_ids is not None and "coaches" not in checks:
        checks["coaches"] = _Parent(coach_ids)
    check_links(checks)
    results = {kind: _outputs(*found) for kind, found in done.items()}
    summary = _write(results, Path(folder), index)
    if "responses" in results:  # for scoring the valid rows without reading them once more
        summary["responses"]["moments"] = _moments(results["responses"]["valid"])
    return summary


def _moments(valid: pd.DataFrame) -> dict[str, tuple] | None:
    """The item moments of the valid responses' ``zsum`` instruments (None if unscorable)."""
    try:
        check_columns(valid)
        return zsum_moments(valid)
    except OutcomesError:
        return None


def _linked(frames: dict[str, Any], n: int, may_anchor: bool) -> dict[str, list[list]]:
    """The pieces of the engagement tables in each bucket, bucket ``i`` of each holding the
    same engagements: the largest table stays as it is when each engagement's rows already
    sit in one of its partitions, and the others are sent there (:mod:`._route`);
    otherwise all are hashed."""
    if not frames:
        return {}
    anchor = "responses" if "responses" in frames else max(
        frames, key=lambda k: frames[k].npartitions)
    routed = closed_buckets(frames, anchor) if may_anchor else None
    if routed is not None:
        return routed
    return {k: [[p] for p in bucket(f, "engagement_id", n).to_delayed()]
            for k, f in frames.items()}


def _coach_buckets(coaches: Any, n: int, may_keep: bool) -> tuple[list[list], set[str] | None]:
    """``n`` buckets of coaches (each coach id in one) and the coach ids, gathered first."""
    import dask

    kept = closed_parts(coaches, n) if may_keep else None
    if kept is not None:
        return kept
    buckets = bucket(coaches, "coach_id", n).to_delayed()
    if "coach_id" not in coaches.columns:
        return [[p] for p in buckets], None
    found = dask.compute(*[dask.delayed(coach_ids)(p) for p in buckets])
    return [[p] for p in buckets], set().union(*found)


def validate_tables(tables: Mapping[str, Any], *, out: str | Path | None = None,
                    npartitions: int | None = None) -> ScaledValidation:
    """Validate Dask tables partition by partition; ``valid + rejected = input`` per table.

    Parameters
    ----------
    tables : mapping of table kind to Dask DataFrame
        As :func:`read_table` gives them (rows keep their file and line), or any Dask frame
        (rows are then numbered 1, 2, … like the in-memory validation numbers a frame).
    out : str or Path, optional
        Folder for the results: ``valid/<table>/part-*.parquet`` (typed valid rows, index
        ``row``), ``rejected/<table>/part-*.csv`` (rows as given, with ``file``, ``row`` and
        ``reasons``) and ``problems/*.csv``. Default: a new temporary folder. A folder that
        already holds these from an earlier run is refused (nothing is deleted). In the CSV
        files, a cell a spreadsheet would run as a formula gets a leading ``'``
        (:func:`outcomes.io.safe_cell`); :meth:`ScaledValidation.rejected` takes it off.
    npartitions : int, optional
        Buckets per table. By default, when each engagement's responses already sit in one
        partition (a table exported engagement by engagement or site by site), the
        responses are not moved and the other tables are sent to their partitions;
        otherwise every table is hashed into as many buckets as the most partitions of
        any table given.

    Returns
    -------
    ScaledValidation
    """
    import dask

    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise UsageError(f"unknown table kind {unknown[0]!r}; the canonical tables are "
                         f"{', '.join(TABLES)}.")
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="outcomes-"))
    earlier = [sub for sub in ("valid", "rejected", "problems")
               if (folder / sub).exists() and any((folder / sub).iterdir())]
    if earlier:  # an old run would mislead, and nothing is deleted that this run did not write
        raise UsageError(f"out={folder} already holds {', '.join(f'{s}/' for s in earlier)} "
                         "from an earlier run. Give an empty or new folder, or delete "
                         "those folders yourself.")
    folder.mkdir(parents=True, exist_ok=True)
    frames = {k: numbered(tables[k], k) for k in TABLES if k in tables}
    n = int(npartitions or max(f.npartitions for f in frames.values()))
    linked = _linked({k: frames[k] for k in _ENGAGEMENT_TABLES if k in frames}, n,
                     npartitions is None)
    n = len(next(iter(linked.values()))) if linked else n
    ids = None
    tasks = []
    metas = dask.delayed({k: f._meta for k, f in frames.items()})  # one copy, shared
    if "coaches" in frames:
        coaches, ids = _coach_buckets(frames["coaches"], n, npartitions is None)
        tasks += [dask.delayed(_bucket_task)(n + i, {"coaches": p}, metas, None, str(folder))
                  for i, p in enumerate(coaches)]
    shared = dask.delayed(ids)
    for i in range(n if linked else 0):
        parts = {k: v[i] for k, v in linked.items()}
        tasks.append(dask.delayed(_bucket_task)(i, parts, metas, shared, str(folder)))
    results = dask.compute(*tasks)
    return ScaledValidation.collect(results, folder, [k for k in TABLES if k in frames], n)


@dataclass(frozen=True, repr=False)
class ScaledValidation(Result):
    """What partition-by-partition validation found; the rows themselves are on disk.

    Attributes
    ----------
    counts : DataFrame
        Per table: ``input``, ``valid``, ``rejected`` (summed over partitions;
        ``input == valid + rejected``).
    folder : Path
        Where ``valid/``, ``rejected/`` and ``problems/`` were written.
    n_problems : int
        Problems found (one row each in ``problems/``).
    item_moments : dict or None
        The pooled item moments of the valid responses' ``zsum`` instruments, for
        :func:`score` (``item_moments=``) to standardise them without another pass.
    """

    counts: pd.DataFrame
    folder: Path
    n_problems: int
    metas: dict[str, pd.DataFrame]
    npartitions: int = 1
    item_moments: dict[str, tuple] | None = None

    @classmethod
    def collect(cls, results, folder: Path, kinds: list[str], n: int) -> ScaledValidation:
        totals = {k: np.zeros(3, dtype=np.int64) for k in kinds}
        metas: dict[str, pd.DataFrame] = {}
        n_problems = 0
        moments = []  # bucket by bucket, in order
        for result in results:
            for kind, entry in result.items():
                totals[kind] += np.asarray(entry["counts"], dtype=np.int64)
                n_problems += entry["problems"]
                metas.setdefault(kind, entry["meta"])
                if kind == "responses":
                    moments.append(entry["moments"])
        rows = [(k, *map(int, totals[k])) for k in kinds]
        pooled = pooled_moments(moments) if moments and None not in moments else None
        return cls(pd.DataFrame(rows, columns=COUNT_COLUMNS),
                   folder, n_problems, metas, n, pooled)

    @property
    def ok(self) -> bool:
        """True when no row of any table was rejected."""
        return bool(self.counts["rejected"].sum() == 0)

    def valid(self, kind: str) -> Any:
        """The valid rows of one table (lazy Dask frame; partition ``i`` = bucket ``i``).

        Partition ``i`` of every table holds the same engagements, so the valid tables can
        be scored and joined partition by partition (``grouped=True``).
        """
        import dask.dataframe as dd

        meta = self.metas.get(kind, pd.DataFrame())
        offset = self.npartitions if kind == "coaches" else 0
        paths = [self.folder / "valid" / kind / f"part-{offset + i:05d}.parquet"
                 for i in range(self.npartitions)]
        return dd.from_map(_read_part, paths, meta=meta, enforce_metadata=False,
                           meta_frame=meta)

    def rejected(self, kind: str) -> pd.DataFrame:
        """The rejected rows of one table with their reasons (read from ``rejected/``)."""
        return _read_csvs(sorted((self.folder / "rejected" / kind).glob("part-*.csv")),
                          columns=["file", "row", "reasons"])

    def problems(self) -> pd.DataFrame:
        """Every problem, one per row: ``table, file, row, column, value, rule, message, fix``."""
        frame = _read_csvs(sorted((self.folder / "problems").glob("*.csv")),
                           columns=PROBLEM_COLUMNS)
        order = frame["table"].map({k: i for i, k in enumerate(TABLES)})
        frame = frame.assign(_order=order).sort_values(["_order", "file", "row"], kind="stable")
        return frame.drop(columns="_order").reset_index(drop=True)

    def headline(self) -> str:
        """Tables, rows in and rows rejected, e.g. ``4 tables, 227,740 rows in, 0 rejected``."""
        return f"{counts_headline(self.counts)}, {self.npartitions} partitions"

    def table(self) -> pd.DataFrame:
        """Rows in, valid and rejected per table."""
        return self.counts.copy()

    def summary(self) -> Summary:
        """Plain text: rows per table and where the rows were written."""
        head = "Validation: " + ("every row is valid." if self.ok else "some rows were rejected.")
        return Summary("\n".join([head, "", text_table(self.counts), "",
                                  f"{self.n_problems} problems; valid, rejected rows and "
                                  f"problems are in {self.folder}."]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``ok``, the folder and the counts per table."""
        tables = {r.table: {"input": r.input, "valid": r.valid, "rejected": r.rejected}
                  for r in self.counts.itertuples(index=False)}
        return jsonable({"ok": self.ok, "folder": str(self.folder), "tables": tables,
                         "problems": self.n_problems})

    def plot(self, ax=None):  # noqa: ANN001, ANN201
        """Bars of valid and rejected rows per table; returns the Axes."""
        ax = axes_or_new(ax)
        ax.barh(self.counts["table"], self.counts["valid"], color=OKABE_ITO["blue"],
                label="valid")
        ax.barh(self.counts["table"], self.counts["rejected"], left=self.counts["valid"],
                color=OKABE_ITO["vermillion"], label="rejected")
        ax.set_xlabel("rows")
        ax.legend(frameon=False)
        return ax

    def to_report(self) -> ValidationReport:
        """The whole result in memory as a :class:`ValidationReport` (small data only)."""
        valid = {k: self.valid(k).compute().sort_index() for k in self.counts["table"]}
        rejected = {k: self.rejected(k) for k in self.counts["table"]}
        return ValidationReport(valid, rejected, self.problems(), self.counts.copy())


def _read_part(path: Path, meta_frame: pd.DataFrame) -> pd.DataFrame:
    """One bucket's valid rows; an empty bucket wrote no file."""
    return pd.read_parquet(path) if path.exists() else meta_frame


def _read_csvs(paths: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]) for p in paths]
    if not frames:
        return pd.DataFrame(columns=columns or [])
    frame = pd.concat(frames, ignore_index=True)
    frame.columns = [restore_cell(name) for name in frame.columns]
    for position in range(frame.shape[1]):  # the quotes written before formulas go
        frame.isetitem(position, restore_formulas(frame.iloc[:, position]))
    if "row" in frame.columns:
        frame["row"] = pd.to_numeric(frame["row"]).astype("int64")
    return frame
