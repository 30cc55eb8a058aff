"""Goal Attainment Scaling: the Kiresuk–Sherman T-score of a client's goals.

Each goal is rated on a five-point attainment scale, -2 (much less than expected) to +2
(much more), 0 being the level expected when the goal was set; the T-score puts a client's
goals on one scale with mean 50 and SD 10 when goals are met as expected (Kiresuk & Sherman
1968, *Community Mental Health Journal* 4(6):443-453; Turner-Stokes 2009, *Clin Rehabil*
23(4):362-370, whose formula carries an erratum).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError, UsageError

__all__ = ["gas_tscore", "gas_scores"]


def gas_tscore(ratings: Iterable[float], *, weights: Iterable[float] | None = None,
               rho: float = 0.3) -> float:
    """The Goal Attainment Scaling T-score of one client.

    T = 50 + 10 * sum(w x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2), with x the
    attainment of each goal (-2 to +2, 0 the expected level) and w its weight (1 when not
    given) (Kiresuk & Sherman 1968, Community Mental Health Journal 4(6):443-453). Missing
    ratings are left out. Unweighted, the divisor is sqrt(0.7 n + 0.3 n^2).

    Examples
    --------
    Four goals rated +1, 0, -1 and +2: sum 2, divisor sqrt(0.7*4 + 0.3*16) = sqrt(7.6).

    >>> round(gas_tscore([1, 0, -1, 2]), 4)
    57.2548
    """
    x = np.asarray(list(ratings), dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(list(weights), dtype=float)
    if w.shape != x.shape:
        raise UsageError("gas_tscore: give one weight per rating")
    outside = x[~np.isnan(x) & ((x < -2) | (x > 2))]
    if outside.size:
        raise DataError(f"{outside[0]:g} is not a goal attainment level",
                        fix="Rate each goal -2, -1, 0, +1 or +2 (0 = the expected level).")
    keep = ~(np.isnan(x) | np.isnan(w))
    x, w = x[keep], w[keep]
    if x.size == 0:
        return float("nan")
    divisor = np.sqrt((1 - rho) * np.sum(w**2) + rho * np.sum(w) ** 2)
    return float(50 + 10 * np.sum(w * x) / divisor)


def _weights(rows: pd.DataFrame, weights: Any) -> np.ndarray:
    if weights is None:
        return np.ones(len(rows))
    if isinstance(weights, str):
        if weights not in rows.columns:
            raise DataError(f"the responses have no weight column {weights!r}", column=weights,
                            fix="Name an existing column, or pass a mapping goal -> weight.")
        return pd.to_numeric(rows[weights], errors="coerce").to_numpy(dtype=float)
    if isinstance(weights, Mapping):
        out = []
        for eid, item in zip(rows["engagement_id"], rows["item"], strict=True):
            key = (eid, int(item)) if (eid, int(item)) in weights else int(item)
            if key not in weights:
                raise UsageError(f"gas_scores: no weight for goal {int(item)} of engagement "
                                 f"{eid}; give one per goal number or per (engagement, goal).")
            out.append(float(weights[key]))
        return np.asarray(out)
    raise UsageError("gas_scores: weights must be a column name or a mapping goal -> weight.")


def gas_scores(responses: pd.DataFrame, *, weights: str | Mapping[Any, float] | None = None,
               rho: float = 0.3) -> pd.DataFrame:
    """Goal Attainment Scaling T-scores, one per engagement (and occasion and rater).

    Built on :func:`gas_tscore` (Kiresuk & Sherman 1968): T = 50 +
    10 Σ w x / sqrt((1 - ρ) Σ w² + ρ (Σ w)²), x the attainment of each goal (-2 to +2).

    Parameters
    ----------
    responses : DataFrame
        The long responses table (``engagement_id``, ``item`` = goal number, ``value``; rows
        of other instruments are ignored when an ``instrument`` column is present).
    weights : str or mapping, optional
        A column holding each goal's weight, or a mapping from goal number (or from
        ``(engagement_id, goal)``) to weight. Default: equal weights.
    rho : float, default 0.3
        The assumed correlation between goal scores.

    Returns
    -------
    DataFrame
        engagement_id, occasion and rater (when present), n_goals, tscore.

    Examples
    --------
    >>> goals = pd.DataFrame({"engagement_id": ["E1"] * 3 + ["E2"] * 2, "item": [1, 2, 3, 1, 2],
    ...                       "value": [1, 0, -1, 2, 2]})
    >>> gas_scores(goals)["tscore"].round(2).tolist()
    [50.0, 74.81]
    """
    missing = [c for c in ("engagement_id", "item", "value") if c not in responses.columns]
    if missing:
        raise DataError(f"the responses have no column {missing[0]!r}", column=missing[0],
                        fix="Give engagement_id, item (goal number) and value (-2 to +2).")
    rows = responses
    if "instrument" in rows.columns:
        rows = rows[rows["instrument"] == "gas"]
    values = pd.to_numeric(rows["value"], errors="coerce")
    bad = values.notna() & ~values.isin([-2, -1, 0, 1, 2])
    if bad.any():
        row = rows.index[bad.to_numpy()][0]
        raise DataError(f"{rows['value'][row]!r} is not a GAS level", row=row, column="value",
                        fix="Rate each goal -2, -1, 0, +1 or +2 (0 = the expected level).")
    rows = rows.assign(value=values, _w=_weights(rows, weights))
    keys = ["engagement_id"] + [c for c in ("occasion", "rater") if c in rows.columns]
    out = []
    for key, group in rows.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        answered = group["value"].notna()
        out.append((*key, int(answered.sum()),
                    gas_tscore(group["value"], weights=group["_w"], rho=rho)))
    return pd.DataFrame(out, columns=[*keys, "n_goals", "tscore"])
