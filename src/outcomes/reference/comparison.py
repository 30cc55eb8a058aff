"""Setting an estimated split beside a reference split, on the reference's denominator.

A comparison first puts the estimate on the reference's denominator (see
:mod:`outcomes.reference.splits`), and says so:

- a split of improvement or of explained variance is compared with the *relative* shares
  (each factor's share of what the matched factors explain together);
- a split of total variance is compared with the *absolute* shares, the estimate's
  unexplained part ``1 - R²`` going to the reference's residual part;
- separate r² are compared factor by factor, with no composition distance.

The distance between the two compositions is Aitchison's (1986, *The Statistical Analysis of
Compositional Data*): the Euclidean distance between centred log-ratio transforms,
``sqrt(sum (log(x_i / g(x)) - log(y_i / g(y)))²)``, which is unchanged when either
composition is rescaled.

Examples
--------
>>> c = compare({"client": 0.2, "relationship": 0.15, "expectancy": 0.05, "technique": 0.1},
...             "asay-lambert-1999")
>>> c.parts.estimate.round(2).tolist()
[0.4, 0.3, 0.1, 0.2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.reference.splits import REFERENCES, ReferenceSplit

__all__ = ["Comparison", "compare", "aitchison_distance"]


def aitchison_distance(x, y) -> float:
    """Aitchison distance between two compositions (NaN unless every part is positive).

    Examples
    --------
    >>> round(aitchison_distance([0.4, 0.3, 0.3], [4, 3, 3]), 12)
    0.0
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.shape != b.shape or np.any(~(a > 0)) or np.any(~(b > 0)):
        return float("nan")
    la, lb = np.log(a), np.log(b)
    return float(np.sqrt(np.sum(((la - la.mean()) - (lb - lb.mean())) ** 2)))


def _distances(rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.where(rows > 0, np.log(np.where(rows > 0, rows, 1.0)), np.nan)
    clr = logs - logs.mean(axis=1, keepdims=True)
    lr = np.log(ref)
    return np.sqrt(np.sum((clr - (lr - lr.mean())) ** 2, axis=1))


@dataclass(frozen=True, eq=False, repr=False)
class Comparison(Result):
    """An estimated split set beside a reference split, on the reference's denominator.

    ``parts`` has one row per matched part: ``part``, ``factors`` (the estimated factors
    it gathers), ``estimate``, ``ci_low``, ``ci_high``, ``reference`` and ``inside``
    (whether the reference lies in the interval). ``scale`` says what the numbers are:
    ``"relative"`` (proportions of what the matched parts explain), ``"total"`` (shares of
    total outcome variance) or ``"separate"`` (separate r² per factor). ``distance`` is
    the Aitchison distance between the two compositions, with a percentile bootstrap
    interval when replicates were given.
    """

    reference: ReferenceSplit
    scale: str
    parts: pd.DataFrame
    distance: float
    distance_ci_low: float | None = None
    distance_ci_high: float | None = None
    ci_level: float = 0.95
    ci_method: str | None = None
    notes: tuple[str, ...] = field(default=())

    def headline(self) -> str:
        """The parts compared, the reference, the distance and the intervals' verdict."""
        n = len(self.parts)
        text = f"{n} part{'s' * (n != 1)} vs {self.reference.key} ({self.scale})"
        if np.isfinite(self.distance):
            text += f", Aitchison distance {self.distance:.3f}"
        if self.parts.ci_low.notna().any():
            inside = int(self.parts.inside.eq(True).sum())
            text += f", {inside} of {n} inside the intervals"
        return text

    def table(self) -> pd.DataFrame:
        """The per-part comparison (tidy)."""
        return self.parts.assign(scale=self.scale, reference_key=self.reference.key)

    def summary(self) -> Summary:
        """Text report, stating what each side is a share of."""
        ref = self.reference
        what = {"relative": "as proportions of what the matched factors explain together",
                "total": "as shares of the total outcome variance",
                "separate": "factor by factor, as separate r²"}[self.scale]
        lines = [f"Compared with {ref.label} — a split of {ref.share_of} — {what}."]
        shown = self.parts.drop(columns=["factors"])
        lines += ["", text_table(shown), ""]
        if np.isfinite(self.distance):
            text = f"Aitchison distance between the compositions: {self.distance:.3f}"
            if self.distance_ci_low is not None:
                text += (f" ({round(100 * self.ci_level, 1):g} % percentile interval "
                         f"{self.distance_ci_low:.3f} to {self.distance_ci_high:.3f})")
            lines.append(text + ".")
        lines += list(self.notes)
        lines.append(f"Source: {ref.citation.rstrip('.')}.")
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        ref = self.reference
        return jsonable({
            "key": ref.key, "label": ref.label, "share_of": ref.share_of, "scale": self.scale,
            "citation": ref.citation, "from_memory": ref.from_memory,
            "parts": {row.part: {"factors": list(row.factors), "estimate": row.estimate,
                                 "ci_low": row.ci_low, "ci_high": row.ci_high,
                                 "reference": row.reference, "inside": row.inside}
                      for row in self.parts.itertuples()},
            "distance": self.distance, "distance_ci_low": self.distance_ci_low,
            "distance_ci_high": self.distance_ci_high, "ci_level": self.ci_level,
            "ci_method": self.ci_method, "notes": list(self.notes),
        })

    def plot(self, ax=None):
        """Estimated bars with interval whiskers beside the reference bars."""
        from outcomes._plotting import share_bars

        p = self.parts
        ylabel = {"relative": "share of explained", "total": "share of outcome variance",
                  "separate": "r²"}[self.scale]
        ci = bool(p.ci_low.notna().all())
        label = f"estimate ({round(100 * self.ci_level, 1):g} % interval)" if ci else "estimate"
        return share_bars(ax, list(p.part), p.estimate, low=p.ci_low if ci else None,
                          high=p.ci_high if ci else None, reference=p.reference,
                          estimate_label=label,
                          reference_label=self.reference.label, ylabel=ylabel,
                          percent=True)


def compare(
    shares,
    reference: str | ReferenceSplit = "asay-lambert-1999",
    *,
    r2: float | None = None,
    replicates=None,
    jackknife=None,
    ci_level: float = 0.95,
    mapping: Mapping[str, Sequence[str]] | None = None,
    additive: bool = True,
    interval=None,
    ci_method: str = "percentile",
) -> Comparison:
    """Set estimated shares beside a reference split.

    Parameters
    ----------
    shares : mapping or Series of float
        Each factor's share of the outcome's total variance (R² units), e.g.
        ``Decomposition.shares``.
    reference : str or ReferenceSplit, default "asay-lambert-1999"
        A key of :data:`REFERENCES` or a split of one's own.
    r2 : float, optional
        R² of the model the shares come from (default: the sum of the shares); its
        complement is the unexplained part of total-variance splits.
    replicates, jackknife : DataFrame, optional
        Bootstrap replicates (and jackknife values) of the shares, one column per factor
        plus optionally ``r2``; they give intervals for each part (percentile unless
        ``interval`` is given) and a percentile interval for the distance.
    ci_level : float, default 0.95
        Interval level.
    mapping : mapping of str to list of str, optional
        Reference part -> estimated factors it gathers (default: the factor of the same
        name), e.g. ``{"treatment": ["relationship", "expectancy", "technique"]}``.
    additive : bool, default True
        Whether the shares add up (False for first, last, betasq): noted in the summary.
    interval : callable, optional
        ``interval(estimate, replicates, jackknife) -> (ci_low, ci_high)`` for the parts,
        e.g. BCa from :mod:`outcomes.shares.bootstrap`; ``ci_method`` names it.

    Returns
    -------
    Comparison
    """
    ref = _lookup(reference)
    est = pd.Series(dict(shares) if isinstance(shares, Mapping) else shares, dtype=float)
    r2_value = float(est.sum() if r2 is None else r2)
    groups = _groups(ref, est, mapping)
    scale = {"improvement": "relative", "explained": "relative", "total": "total",
             "separate": "separate"}[ref.denominator]
    parts = list(groups)
    reference_values = np.array([ref.shares[p] for p in parts])
    if scale == "relative":
        reference_values = reference_values / reference_values.sum()

    def values(rows: np.ndarray, r2_rows: np.ndarray) -> np.ndarray:
        cols = {f: i for i, f in enumerate(est.index)}
        out = np.column_stack([
            rows[:, [cols[f] for f in groups[p]]].sum(axis=1)
            + (1 - r2_rows if scale == "total" and p == ref.residual else 0.0)
            for p in parts
        ])
        if scale == "relative":
            with np.errstate(invalid="ignore", divide="ignore"):
                out = out / out.sum(axis=1, keepdims=True)
        return out

    point = values(est.to_numpy()[None, :], np.array([r2_value]))[0]
    low = high = np.full(len(parts), np.nan)
    dist_low = dist_high = None
    method = None
    composable = ref.additive and len(parts) >= 2
    distance = aitchison_distance(point, reference_values) if composable else float("nan")
    if replicates is not None:
        def rows_of(frame):
            frame = pd.DataFrame(frame)
            r2s = frame["r2"].to_numpy() if "r2" in frame else frame[list(est.index)].sum(axis=1)
            return values(frame[list(est.index)].to_numpy(dtype=float), np.asarray(r2s))

        reps = rows_of(replicates)
        jack = None if jackknife is None else rows_of(jackknife)
        if interval is None:
            method = "percentile"
            a = (1 - ci_level) / 2
            low, high = np.quantile(reps, a, axis=0), np.quantile(reps, 1 - a, axis=0)
        else:
            method = ci_method
            low, high = interval(point, reps, jack)
        if composable:
            dist = _distances(reps, reference_values)
            dist = dist[np.isfinite(dist)]
            if len(dist):
                a = (1 - ci_level) / 2
                dist_low, dist_high = (float(v) for v in np.quantile(dist, [a, 1 - a]))
    table = pd.DataFrame({
        "part": parts, "factors": [tuple(groups[p]) for p in parts], "estimate": point,
        "ci_low": low, "ci_high": high, "reference": reference_values,
    })
    inside = (table.ci_low <= table.reference) & (table.reference <= table.ci_high)
    table["inside"] = inside.where(table.ci_low.notna(), None)
    notes = _notes(ref, est, groups, scale, r2_value, point, additive)
    return Comparison(ref, scale, table, distance, dist_low, dist_high, ci_level, method,
                      tuple(notes))


def _lookup(reference) -> ReferenceSplit:
    if isinstance(reference, ReferenceSplit):
        return reference
    if reference not in REFERENCES:
        raise UsageError(
            f"unknown reference {reference!r}; choose one of: {', '.join(REFERENCES)}."
        )
    return REFERENCES[reference]


def _groups(ref: ReferenceSplit, est: pd.Series, mapping) -> dict[str, list[str]]:
    mapping = dict(mapping or {})
    unknown = [p for p in mapping if p not in ref.shares]
    missing = [f for fs in mapping.values() for f in fs if f not in est.index]
    if unknown or missing:
        raise UsageError(
            f"mapping names parts {unknown} not in {ref.key} or factors {missing} not "
            f"estimated; parts: {list(ref.shares)}, factors: {list(est.index)}."
        )
    mapped = [f for fs in mapping.values() for f in fs]
    if len(mapped) != len(set(mapped)):
        raise UsageError("mapping puts a factor into two reference parts; use each once.")
    groups = {}
    for part in ref.shares:
        if part in mapping:
            groups[part] = list(mapping[part])
        elif part in est.index and part not in mapped:
            groups[part] = [part]
    if not any(groups.values()):
        raise UsageError(
            f"none of the factors ({', '.join(map(str, est.index))}) is a part of {ref.key} "
            f"({', '.join(ref.shares)}); name the factors like the reference or pass "
            "mapping={part: [factors]}."
        )
    if ref.denominator == "total" and ref.residual and ref.residual not in groups:
        groups[ref.residual] = []
        groups = {p: groups[p] for p in ref.shares if p in groups}
    return groups


def _notes(ref, est, groups, scale, r2, point, additive) -> list[str]:
    notes = []
    if ref.denominator == "improvement":
        notes.append(
            f"{ref.label} splits average improvement by judgement, not variance; the "
            f"estimate splits explained variance (R² = {r2:.3f}). Only the proportions are "
            "set side by side."
        )
    if scale == "total" and ref.residual:
        notes.append(f"The estimate's unexplained part (1 - R² = {1 - r2:.3f}) is set "
                     f"against the reference's '{ref.residual}'.")
    left_ref = [p for p in ref.shares if p not in groups]
    used = {f for fs in groups.values() for f in fs}
    left_est = [f for f in est.index if f not in used]
    if left_ref:
        notes.append(f"Reference parts without a matching factor, left out: {left_ref}.")
    if left_est:
        notes.append(f"Estimated factors not in the reference, left out: {left_est}.")
    if (left_ref or left_est) and scale == "relative":
        notes.append("Both sides are rescaled to the matched parts.")
    if not ref.additive:
        notes.append("The reference's parts do not add up, so no composition distance.")
    if not additive:
        notes.append("These shares do not add up to R², so the comparison is only indicative.")
    if np.any(~(point > 0)) and ref.additive:
        notes.append("A part is zero or negative, so the Aitchison distance is undefined.")
    if ref.note:
        notes.append(ref.note)
    return notes
