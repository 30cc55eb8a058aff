"""The arithmetic of the ladder of trial arms behind :func:`~.improvement.improvement_split`.

Which parts a set of roles gives (:func:`ladder`: a missing rung's increment is merged into
the next rung present), the increments and shares from arm means
(:func:`increments_and_shares`), their standard errors by the delta method for independent
arms (:func:`delta_errors`), and the bootstrap of clients within arms
(:func:`bootstrap_arms`).

Examples
--------
>>> merged, steps = ladder(["none", "placebo", "full"])
>>> list(merged)
['client', 'expectancy', 'relationship + technique']
>>> steps
[('none', ''), ('placebo', 'none'), ('full', 'placebo')]
>>> means = np.array([[4.0, 5.5, 10.0]])
>>> increments_and_shares(means, steps, ["none", "placebo", "full"]).round(2).tolist()
[[4.0, 1.5, 4.5, 0.4, 0.15, 0.45]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import UsageError

__all__ = ["ROLES", "FACTOR_OF_ROLE", "roles_of", "ladder", "increments_and_shares",
           "delta_errors", "bootstrap_arms"]

ROLES = ("none", "placebo", "common", "full")
FACTOR_OF_ROLE = {"none": "client", "placebo": "expectancy", "common": "relationship",
                  "full": "technique"}


def roles_of(arms: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    if not isinstance(arms, Mapping) or not arms:
        raise UsageError("improvement_split: arms must map roles (none, placebo, common, full) "
                         "to arm labels, e.g. {'none': 'wait-list', 'full': 'coaching'}.")
    unknown = [r for r in arms if r not in ROLES]
    if unknown or "full" not in arms or len(arms) < 2:
        raise UsageError(f"improvement_split: arms has roles {list(arms)}; use {list(ROLES)}, "
                         "always 'full' and at least one other.")
    out = {}
    for role in ROLES:
        if role in arms:
            labels = arms[role]
            labels = (labels,) if isinstance(labels, str | int | float) else tuple(labels)
            out[role] = tuple(str(v) for v in labels)
    return out


def ladder(roles: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str]]]:
    """Parts (name -> factors) and, per part, the (role, previous role) it is the step of."""
    merged: dict[str, tuple[str, ...]] = {}
    steps = []
    previous = ""
    for role in roles:
        start = ROLES.index(previous) + 1 if previous else 0
        factors = tuple(FACTOR_OF_ROLE[r] for r in ROLES[start:ROLES.index(role) + 1])
        merged[" + ".join(factors)] = factors
        steps.append((role, previous))
        previous = role
    return merged, steps


def increments_and_shares(means: np.ndarray, steps: list[tuple[str, str]], roles: list[str]
                          ) -> np.ndarray:
    """Increments then shares, for rows of arm means (columns in ``roles`` order)."""
    col = {r: i for i, r in enumerate(roles)}
    inc = np.column_stack([means[:, col[r]] - (means[:, col[p]] if p else 0.0)
                           for r, p in steps])
    full = means[:, [col["full"]]]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(full > 0, inc / np.where(full > 0, full, 1.0), np.nan)
    return np.hstack([inc, share])


def delta_errors(means: np.ndarray, variances: np.ndarray, steps, roles) -> np.ndarray:
    """Standard errors of increments and shares by the delta method (independent arms)."""
    col = {r: i for i, r in enumerate(roles)}
    k = len(roles)
    full = means[col["full"]]
    ses = []
    grads = []
    for r, p in steps:
        g = np.zeros(k)
        g[col[r]] += 1
        if p:
            g[col[p]] -= 1
        grads.append(g)
    for g in grads:
        ses.append(np.sqrt(np.sum(g**2 * variances)))
    for g in grads:
        c = g @ means
        e_full = np.zeros(k)
        e_full[col["full"]] = 1
        grad = g / full - c * e_full / full**2 if full > 0 else np.full(k, np.nan)
        ses.append(np.sqrt(np.sum(grad**2 * variances)))
    return np.asarray(ses)


def bootstrap_arms(gains: Mapping[str, np.ndarray], order: list[str],
                   roles: Mapping[str, tuple[str, ...]], steps: list[tuple[str, str]],
                   merged: Mapping[str, tuple[str, ...]], n_boot: int, seed: Any,
                   ci_level: float) -> tuple[Any, ...]:
    """The arms and their parts from each client's improvement, with bootstrap intervals.

    Clients are resampled within arms. Returns the arm table (role, labels, n, mean, sd,
    std_error), the parts (increments then shares), their standard errors, percentile
    interval ends, the interval method ("percentile", or None when ``n_boot`` is 0 and the
    errors are NaN) and the replicates of the shares (None without a bootstrap).
    """
    table = pd.DataFrame({"role": order, "labels": [", ".join(roles[r]) for r in order],
                          "n": [len(gains[r]) for r in order],
                          "mean": [gains[r].mean() for r in order],
                          "sd": [gains[r].std(ddof=1) for r in order]})
    table["std_error"] = table["sd"] / np.sqrt(table["n"])
    point = increments_and_shares(table["mean"].to_numpy()[None, :], steps, order)[0]
    if n_boot == 0:
        missing = np.full(point.shape, np.nan)
        return table, point, missing, missing, missing, None, None
    rng = np.random.default_rng(seed)
    boot = np.column_stack([g[rng.integers(0, len(g), (n_boot, len(g)))].mean(axis=1)
                            for g in (gains[r] for r in order)])
    draws = increments_and_shares(boot, steps, order)
    se = np.nanstd(draws, axis=0, ddof=1)
    a = (1 - ci_level) / 2
    low, high = np.nanquantile(draws, a, axis=0), np.nanquantile(draws, 1 - a, axis=0)
    replicates = pd.DataFrame(draws[:, len(steps):], columns=list(merged))
    return table, point, se, low, high, "percentile", replicates
