"""Reliable change of a Dask frame: the same numbers from sums gathered partition by partition.

:func:`outcomes.practice.change.change` hands a Dask DataFrame here. The data are read in
passes that each return small sums (:class:`outcomes.shares.moments.Moments`), never the
clients themselves: first the moments of (pre, post) that set the index
(:func:`pair_summary`), then, with the rule fixed, each partition's category counts and the
moments of (pre, post, change) behind the effect sizes and the severity model
(:func:`change_partitioned`). The per-client table stays lazy: a Dask frame that computes
each client's index, category and severity-adjusted effect size when it is read.

The arithmetic is that of :mod:`outcomes.practice._change_statistics`, rewritten for sums
where the in-memory path uses the rows (:func:`_severity_line` is
:func:`~outcomes.practice._change_statistics.severity_adjusted` from moments).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from outcomes._engine import partitions
from outcomes.practice._change_statistics import (
    G_AV_NOTE,
    IndexRule,
    PairSummary,
    client_scores,
    effect_rows,
    percentages,
    scores,
)
from outcomes.shares.moments import Moments

__all__ = ["pair_summary", "change_partitioned", "PartitionedChange"]


class PartitionedChange(NamedTuple):
    """What :func:`change_partitioned` finds: the lazy client table and the summaries."""

    clients: Any
    counts: pd.Series
    percentages: pd.DataFrame
    effect_sizes: pd.DataFrame


def _part_moments(part: pd.DataFrame, pre: str, post: str) -> Moments:
    frame = client_scores(part, pre, post, None).dropna(subset=["pre", "post"])
    return Moments.from_frame(frame, ["pre", "post"])


def pair_summary(data: Any, pre: str, post: str) -> PairSummary:
    """Count, pre mean and SD and post mean of the clients with both scores, by partition."""
    import dask

    for name, role in ((pre, "pre"), (post, "post")):
        if name not in data.columns:
            scores(data._meta, name, role)  # raises the message naming the columns
    total = Moments(0.0, np.zeros(2), np.zeros((2, 2)))
    for m in dask.compute(*[dask.delayed(_part_moments)(p, pre, post)
                            for p in partitions(data)]):
        total = total + m
    n = int(round(total.weight))
    sd = float(np.sqrt(total.cross[0, 0] / (n - 1))) if n > 1 else float("nan")
    return PairSummary(n, float(total.mean[0]) if n else float("nan"), sd,
                       float(total.mean[1]) if n else float("nan"))


def _part_clients(part: pd.DataFrame, pre: str, post: str, client: str | None,
                  rule: IndexRule) -> pd.DataFrame:
    """The per-client table of one partition, severity-adjusted sizes still missing."""
    return rule.classify(client_scores(part, pre, post, client))


def _part_sums(part: pd.DataFrame, pre: str, post: str, client: str | None,
               rule: IndexRule) -> dict[str, Any]:
    frame = _part_clients(part, pre, post, client, rule)
    ok = (frame["category"] != "missing").to_numpy()
    pairs = frame.loc[ok].assign(delta=lambda f: f["post"] - f["pre"])
    out = {"counts": frame["category"].value_counts(), "n": len(frame),
           "ok": Moments.from_frame(pairs, ["pre", "post", "delta"])}
    if "clinical_pre" in frame:
        clinical = pairs[frame.loc[ok, "clinical_pre"].to_numpy(bool)]
        out["clinical"] = Moments.from_frame(clinical, ["pre", "post", "delta"])
    return out


def _severity_line(ok: Moments, use: Moments, reference: Mapping[str, float] | None,
                   direction: int, notes: list[str]) -> tuple[tuple, float, float]:
    """(intercept, slope, mean change, sd) of the severity model, the mean SAES and its SE,
    from the moments of (pre, post, change): the arithmetic of ``severity_adjusted``.
    """
    n = ok.weight
    pre_mean, delta_mean = ok.mean[0], ok.mean[2]
    var = ok.cross / (n - 1)
    if reference is not None:
        ref = {k: float(reference[k]) for k in ("intercept", "slope", "mean_change", "sd")}
        notes.append("Severity-adjusted effect sizes use the reference model given.")
        a, b = ref["intercept"], ref["slope"]
        residual_var = var[2, 2] - 2 * b * var[0, 2] + b * b * var[0, 0]
        line = (a, b, ref["mean_change"], ref["sd"])
        mean = direction * (delta_mean - a - b * pre_mean + ref["mean_change"]) / ref["sd"]
        return line, mean, float(np.sqrt(residual_var) / np.sqrt(n) / ref["sd"])
    m = use.weight
    if m < 3 or not use.cross[0, 0] > 0:
        return (np.nan, np.nan, np.nan, np.nan), float("nan"), float("nan")
    sxx, sxy, syy = use.cross[0, 0], use.cross[0, 2], use.cross[2, 2]
    slope = sxy / sxx
    intercept = use.mean[2] - slope * use.mean[0]
    sd = np.sqrt(sxx / (m - 1))
    mean = direction * (delta_mean - intercept - slope * pre_mean + use.mean[2]) / sd
    var_slope = (syy - sxy**2 / sxx) / (m - 2) / sxx if m > 2 else np.nan
    se = np.sqrt(var[2, 2] / n + (pre_mean - use.mean[0]) ** 2 * var_slope) / sd
    return (intercept, slope, use.mean[2], sd), float(mean), float(se)


def _with_severity(part: pd.DataFrame, pre: str, post: str, client: str | None,
                   rule: IndexRule, line: tuple) -> pd.DataFrame:
    frame = _part_clients(part, pre, post, client, rule)
    intercept, slope, mean_change, sd = line
    residual = frame["change"] - (intercept + slope * frame["pre"])
    values = rule.direction * (residual + mean_change) / sd
    frame["severity_adjusted"] = values.where(frame["category"] != "missing")
    return frame


def change_partitioned(data: Any, pre: str, post: str, client: str | None, rule: IndexRule,
                       reference: Mapping[str, float] | None, notes: list[str],
                       ci_level: float) -> PartitionedChange:
    """Counts, percentages and effect sizes of a Dask frame in one pass of sums, and the
    lazy per-client table; ``notes`` gains what the in-memory path would say."""
    import dask

    parts = dask.compute(*[dask.delayed(_part_sums)(p, pre, post, client, rule)
                           for p in partitions(data)])
    empty = Moments(0.0, np.zeros(3), np.zeros((3, 3)))
    ok, clinical = empty, empty
    for part in parts:
        ok = ok + part["ok"]
        clinical = clinical + part.get("clinical", empty)
    use = ok
    if reference is None and rule.cutoff is not None and clinical.weight >= 10:
        use = clinical
        notes.append("Severity adjustment: change regressed on intake among the "
                     f"{int(clinical.weight)} clients who started in the clinical range.")
    line, saes_mean, se = _severity_line(ok, use, reference, rule.direction, notes)
    counts = pd.concat([p["counts"] for p in parts]).groupby(level=0).sum()
    counts = counts.reindex(rule.order(), fill_value=0).astype(int)
    n_ok, n_all = int(round(ok.weight)), sum(p["n"] for p in parts)
    var = ok.cross / (n_ok - 1) if n_ok > 1 else np.full((3, 3), np.nan)
    s_pre, s_post = np.sqrt(var[0, 0]), np.sqrt(var[1, 1])
    corr = float(var[0, 1] / (s_pre * s_post)) if s_pre > 0 and s_post > 0 else 0.0
    effects = effect_rows(n_ok, rule.direction * ok.mean[2], s_pre, s_post, corr, saes_mean,
                          se, ci_level)
    notes.append(G_AV_NOTE)
    meta = _with_severity(data._meta, pre, post, client, rule, line)
    clients = data.map_partitions(_with_severity, pre, post, client, rule, line, meta=meta)
    return PartitionedChange(clients, counts, percentages(counts, n_all, n_ok, ci_level),
                             effects)
