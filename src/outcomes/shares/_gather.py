"""Sufficient statistics of a model matrix gathered partition by partition.

A Dask DataFrame is read one partition at a time; each partition gives its row counts,
the levels of its categorical columns, its :class:`~outcomes.shares.moments.Moments`, column
ranges and, when a cluster column is named, one set of sums per cluster. These combine
exactly (Chan, Golub & LeVeque 1983 for the moments; pooled within- plus between-partition
cross-products for a cluster split over partitions), so the model sees the same numbers it
would see from the whole table in memory.

Case resampling at scale uses the Poisson bootstrap (Hanley & MacGibbon 2006, *Comput
Methods Programs Biomed* 83(1):57-62; Chamandy et al. 2012, Google technical report
"Estimating uncertainty for massive data streams"): every row gets a Poisson(1) count per
replicate, drawn from a stream seeded by the seed and the partition's position, so that
the replicates do not depend on which worker reads which partition or when.

Only numpy, pandas and :mod:`outcomes.shares.moments` are used inside a partition; Dask itself is
imported lazily by the caller's frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes._engine import partitions
from outcomes.shares.bootstrap import MAX_JACKKNIFE, Draws
from outcomes.shares.moments import Moments, UnitMoments

__all__ = ["Spec", "Totals", "scan_levels", "gather", "poisson_draws"]

_BLOCK = 2**22  # floats of working memory per block of rows inside a partition
_REPLICATES = 250  # Poisson replicates drawn together


@dataclass(frozen=True)
class Spec:
    """What to read from each partition: columns by role and how to encode them."""

    columns: tuple[str, ...]  # factor and covariate columns, in player order
    outcome: str
    kinds: dict[str, str]  # column -> "numeric" | "category" | "text"
    weights: str | None = None
    cluster: str | None = None
    levels: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def used(self) -> list[str]:
        extra = [c for c in (self.weights, self.cluster) if c is not None]
        return [*self.columns, self.outcome, *extra]


def _kept(part: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Rows with every used cell present, and the missing counts per used column."""
    frame = part.loc[:, list(dict.fromkeys(spec.used))]
    missing = frame.isna().to_numpy()
    dropped = missing.any(axis=1)
    return frame.loc[~dropped], missing.sum(axis=0), dropped


def _levels_of(part: pd.DataFrame, spec: Spec) -> dict[str, set]:
    frame, _, _ = _kept(part, spec)
    out = {}
    for col in spec.columns:
        if spec.kinds[col] == "text":
            out[col] = set(frame[col].astype(str).unique())
        elif spec.kinds[col] == "category":
            out[col] = set(frame[col].unique().tolist())
    return out


def scan_levels(data: Any, spec: Spec, categories: dict[str, Sequence[Any]]) -> dict[str, tuple]:
    """The levels of each non-numeric column over every partition's complete rows.

    Text columns give their sorted distinct values; category columns the categories that
    occur, in the order of the dtype's (known) categories, as the in-memory path does.
    """
    import dask

    parts = [dask.delayed(_levels_of)(p, spec) for p in partitions(data)]
    found: dict[str, set] = {c: set() for c in spec.columns if spec.kinds[c] != "numeric"}
    for result in dask.compute(*parts):
        for col, values in result.items():
            found[col] |= values
    levels = {}
    for col, values in found.items():
        if spec.kinds[col] == "text":
            levels[col] = tuple(sorted(values))
        else:
            levels[col] = tuple(c for c in categories[col] if c in values)
    return levels


def encode(frame: pd.DataFrame, spec: Spec) -> np.ndarray:
    """The numeric matrix of complete rows: factor and covariate columns, outcome last."""
    blocks = []
    for col in spec.columns:
        kind = spec.kinds[col]
        if kind == "numeric":
            blocks.append(frame[col].to_numpy(dtype=float)[:, None])
            continue
        values = frame[col].astype(str) if kind == "text" else frame[col]
        levels = spec.levels[col]
        blocks.append(np.column_stack([(values == lev).to_numpy(dtype=float)
                                       for lev in levels[1:]]))
    blocks.append(frame[spec.outcome].to_numpy(dtype=float)[:, None])
    return np.hstack(blocks)


@dataclass(frozen=True, eq=False)
class Totals:
    """Everything the partitions told: counts, moments, ranges and per-cluster sums."""

    n_input: int
    n_dropped: int
    missing: np.ndarray  # per used column (Spec.used order, duplicates removed)
    moments: Moments
    low: np.ndarray
    high: np.ndarray
    weight_ok: bool
    units: UnitMoments | None
    n_partitions: int


def _grouped_cross(code: np.ndarray, w: np.ndarray, z: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group ``sum w z z'``, in blocks of rows so that memory stays small."""
    k = z.shape[1]
    out = np.zeros((n_groups, k, k))
    order = np.argsort(code, kind="stable")
    step = max(1, _BLOCK // (k * k))
    for start in range(0, len(order), step):
        idx = order[start : start + step]
        c = code[idx]
        zz = z[idx]
        outer = (zz * w[idx, None])[:, :, None] * zz[:, None, :]
        starts = np.flatnonzero(np.r_[True, np.diff(c) != 0])
        out[c[starts]] += np.add.reduceat(outer, starts, axis=0)
    return out


def _cluster_sums(x: np.ndarray, w: np.ndarray, labels: np.ndarray):
    """Per cluster of one partition: labels, weight, mean and centred cross-products."""
    code, uniques = pd.factorize(labels, sort=False)
    g = len(uniques)
    weight = np.bincount(code, w, minlength=g)
    sums = np.zeros((g, x.shape[1]))
    np.add.at(sums, code, x * w[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(weight[:, None] > 0, sums / weight[:, None], 0.0)
    cross = _grouped_cross(code, w, x - mean[code], g)
    return np.asarray(uniques, dtype=object), weight, mean, cross


def _partition_totals(part: pd.DataFrame, spec: Spec) -> dict[str, Any]:
    frame, missing, dropped = _kept(part, spec)
    x = encode(frame, spec)
    w = (np.ones(len(frame)) if spec.weights is None
         else frame[spec.weights].to_numpy(dtype=float))
    weight_ok = bool(np.all(np.isfinite(w)) and np.all(w >= 0))
    out: dict[str, Any] = {
        "n_input": len(part), "n_dropped": int(dropped.sum()), "missing": missing,
        "weight_ok": weight_ok,
        "moments": Moments.from_arrays(x, w) if len(x) and weight_ok and w.sum() > 0 else None,
        "low": x.min(axis=0) if len(x) else np.full(x.shape[1], np.inf),
        "high": x.max(axis=0) if len(x) else np.full(x.shape[1], -np.inf),
    }
    if spec.cluster is not None and weight_ok:
        out["clusters"] = _cluster_sums(x, w, frame[spec.cluster].astype(str).to_numpy())
    return out


def _pool_clusters(pieces: list[tuple], centre: np.ndarray) -> UnitMoments:
    """Per-cluster sums about ``centre`` from the partitions' per-cluster moments."""
    labels = np.concatenate([p[0] for p in pieces])
    weight = np.concatenate([p[1] for p in pieces])
    mean = np.concatenate([p[2] for p in pieces])
    cross = np.concatenate([p[3] for p in pieces])
    uniques, code = np.unique(labels.astype(str), return_inverse=True)
    g = len(uniques)
    total = np.bincount(code, weight, minlength=g)
    sums = np.zeros((g, mean.shape[1]))
    np.add.at(sums, code, mean * weight[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(total[:, None] > 0, sums / total[:, None], 0.0)
    d = mean - pooled[code]
    within = np.zeros((g, *cross.shape[1:]))
    np.add.at(within, code, cross + weight[:, None, None] * d[:, :, None] * d[:, None, :])
    shift = pooled - centre
    first = total[:, None] * shift
    second = within + total[:, None, None] * shift[:, :, None] * shift[:, None, :]
    return UnitMoments(total, first, second, centre)


def gather(data: Any, spec: Spec) -> Totals:
    """One pass over the partitions: counts, moments, ranges and per-cluster sums."""
    import dask

    parts = [dask.delayed(_partition_totals)(p, spec) for p in partitions(data)]
    results = dask.compute(*parts)
    width = len(spec.columns) + sum(len(spec.levels.get(c, ())) - 2 for c in spec.columns
                                    if spec.kinds[c] != "numeric")
    moments = Moments(0.0, np.zeros(width + 1), np.zeros((width + 1, width + 1)))
    for r in results:
        if r["moments"] is not None:
            moments = moments + r["moments"]
    units = None
    if spec.cluster is not None and all(r["weight_ok"] for r in results):
        pieces = [r["clusters"] for r in results if len(r["clusters"][0])]
        if pieces:
            units = _pool_clusters(pieces, moments.mean)
    return Totals(
        n_input=sum(r["n_input"] for r in results),
        n_dropped=sum(r["n_dropped"] for r in results),
        missing=np.sum([r["missing"] for r in results], axis=0),
        moments=moments,
        low=np.min([r["low"] for r in results], axis=0),
        high=np.max([r["high"] for r in results], axis=0),
        weight_ok=all(r["weight_ok"] for r in results),
        units=units,
        n_partitions=len(results),
    )


def _poisson_partition(part: pd.DataFrame, spec: Spec, centre: np.ndarray, n_boot: int,
                       entropy: int, index: int, n_groups: int) -> dict[str, np.ndarray]:
    """Replicate sums of one partition: Poisson(1) counts per row and replicate.

    The stream is seeded by ``(entropy, index)``, so a partition always draws the same
    counts, whoever computes it. Also returns sums per random jackknife group.
    """
    frame, _, _ = _kept(part, spec)
    z = encode(frame, spec) - centre
    w = (np.ones(len(frame)) if spec.weights is None
         else frame[spec.weights].to_numpy(dtype=float))
    k = z.shape[1]
    upper = np.triu_indices(k)
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(index,)))
    total = np.zeros(n_boot)
    s1 = np.zeros((n_boot, k))
    s2 = np.zeros((n_boot, len(upper[0])))
    step = max(1, _BLOCK // max(n_boot, len(upper[0])))
    for start in range(0, len(z), step):
        zz, ww = z[start : start + step], w[start : start + step]
        counts = rng.poisson(1.0, size=(n_boot, len(zz))).astype(float)
        wz = zz * ww[:, None]
        total += counts @ ww
        s1 += counts @ wz
        s2 += counts @ (wz[:, upper[0]] * zz[:, upper[1]])
    group = rng.integers(0, n_groups, size=len(z))
    g_weight = np.bincount(group, w, minlength=n_groups)
    g_first = np.zeros((n_groups, k))
    np.add.at(g_first, group, z * w[:, None])
    g_second = _grouped_cross(group, w, z, n_groups)
    return {"total": total, "s1": s1, "s2": s2, "g_weight": g_weight, "g_first": g_first,
            "g_second": g_second}


def _cross_from_sums(total, s1, s2_upper, k: int) -> np.ndarray:
    s2 = np.zeros((len(total), k, k))
    upper = np.triu_indices(k)
    s2[:, upper[0], upper[1]] = s2_upper
    s2[:, upper[1], upper[0]] = s2_upper
    with np.errstate(invalid="ignore", divide="ignore"):
        return s2 - s1[:, :, None] * (s1 / total[:, None])[:, None, :]


def poisson_draws(data: Any, spec: Spec, moments: Moments, statistic, *, n_boot: int,
                  seed: Any, jackknife: bool, n_rows: int) -> Draws:
    """Poisson bootstrap of ``statistic`` (rows weighted by Poisson(1) counts).

    The BCa jackknife leaves out one of ``min(MAX_JACKKNIFE, n_rows)`` random groups of
    rows at a time (the grouped jackknife the in-memory bootstrap uses for many units).
    """
    import dask

    rng = np.random.default_rng(seed)
    entropy = int(rng.integers(2**63))
    centre = moments.mean
    n_groups = int(min(MAX_JACKKNIFE, n_rows))
    tasks = [dask.delayed(_poisson_partition)(p, spec, centre, n_boot, entropy, i, n_groups)
             for i, p in enumerate(partitions(data))]
    results = dask.compute(*tasks)
    k = len(centre)

    def summed(key):
        return np.sum([r[key] for r in results], axis=0)

    cross = _cross_from_sums(summed("total"), summed("s1"), summed("s2"), k)
    reps = np.concatenate([statistic(cross[i : i + _REPLICATES])
                           for i in range(0, n_boot, _REPLICATES)])
    groups = UnitMoments(summed("g_weight"), summed("g_first"), summed("g_second"), centre)
    estimate = statistic(moments.cross[None])[0]
    ok = np.all(np.isfinite(reps), axis=1)
    jack = None
    if jackknife:
        keep = groups.weight > 0
        loo = UnitMoments(groups.weight[keep], groups.first[keep], groups.second[keep],
                          centre).leave_one_out()
        jack = np.concatenate([statistic(loo[i : i + _REPLICATES])
                               for i in range(0, len(loo), _REPLICATES)])
        jack = jack[np.all(np.isfinite(jack), axis=1)]
    return Draws(estimate, reps[ok], jack, int((~ok).sum()))
