"""The distributions and counts of a norms file, released through the disclosure gate.

Every client falls in exactly one band: an intake band, or the band of clients without an
intake score, so that the ``all`` row minus the bands leaves nothing to subtract. The counts
of all bands and measures are tied together (a band's clients with a session rating and
those without add up to the band; the bands add up to ``all``; ``all`` and the clients
without a value add up to the engagements; change counts add up to the clients with a
change score) and are suppressed together (:meth:`Disclosure.linked_counts`), then rounded
when the gate rounds. Means and SDs are published on the gate's grid with the instrument's
bounds, quantiles at the instrument's precision with ``k`` clients on each side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes.privacy import Disclosure

__all__ = ["QUANTILES", "MEASURES", "NO_INTAKE", "Measure", "measures", "intake_bands",
           "band_index", "release_distributions", "release_change"]

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: norms measure -> analysis-table column
MEASURES = {"intake": "baseline", "end": "end_score", "change": "change",
            "session_rating": "session_rating", "alliance": "alliance",
            "sessions": "sessions_attended"}
#: The band of clients without an intake score.
NO_INTAKE = "no intake score"
#: The most sessions counted for the release grid and the private release (an engagement of
#: more sessions counts as this many there).
MAX_SESSIONS = 40


@dataclass(frozen=True)
class Measure:
    """A norms measure: its column, the bounds of its scores and their precision."""

    name: str
    column: str
    bounds: tuple[float, float]
    precision: float


def _scale(key: str, scale: str = "total") -> tuple[tuple[float, float], float]:
    """The bounds of an instrument's scale score and the precision it is recorded at."""
    inst = registry.get(key)
    found = inst.scales[scale]
    lows, highs = zip(*(inst.item_range(i) for i in found.items), strict=True)
    decimals = any(inst.allows_decimals(i) for i in found.items)
    if found.rule == "mean":
        return (min(lows), max(highs)), 0.01
    return (float(sum(lows)), float(sum(highs))), 0.1 if decimals else 1.0


def measures() -> dict[str, Measure]:
    """The measures of a norms file with bounds from the instrument registry."""
    (low, high), ors_precision = _scale("ors")
    srs_bounds, srs_precision = _scale("srs")
    wai_bounds, wai_precision = _scale("wai-sr")
    spec = {"intake": ((low, high), ors_precision), "end": ((low, high), ors_precision),
            "change": ((low - high, high - low), ors_precision),
            "session_rating": (srs_bounds, srs_precision),
            "alliance": (wai_bounds, wai_precision),
            "sessions": ((0.0, float(MAX_SESSIONS)), 1.0)}
    return {name: Measure(name, MEASURES[name], bounds, precision)
            for name, (bounds, precision) in spec.items()}


def intake_bands(intake: pd.Series, bands: int, gate: Disclosure, *, step: float = 1.0
                 ) -> tuple[list[float], list[str]]:
    """Band edges (rounded quantiles, ``k`` clients per band) and the bands' labels."""
    edges = [float(e.value) for e in gate.band_edges(intake, bands, "intake score",
                                                     step=step) if e.value is not None]
    if not edges:
        return [], ["all intakes"]
    labels = [f"below {edges[0]:g}"]
    labels += [f"{a:g} to below {b:g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"{edges[-1]:g} or above")
    return edges, labels


def band_index(intake: pd.Series, edges: list[float], labels: list[str]) -> pd.Series:
    """Each client's band label; clients without an intake score get :data:`NO_INTAKE`."""
    x = pd.to_numeric(intake, errors="coerce").to_numpy(dtype=float)
    position = np.searchsorted(np.asarray(edges, dtype=float), x, side="right")
    out = np.asarray(labels, dtype=object)[np.minimum(position, len(labels) - 1)]
    return pd.Series(np.where(np.isnan(x), NO_INTAKE, out), index=intake.index, dtype=object)


def _cells(table: pd.DataFrame, band: pd.Series, labels: list[str], specs: dict[str, Measure]
           ) -> tuple[dict[str, float], list[tuple[list[str], str]], dict[str, str], set]:
    """Every count a reader could work out, the ties between them, and the published ones."""
    bands = [*labels, NO_INTAKE]
    values: dict[str, float] = {"engagements": float(len(table))}
    constraints: list[tuple[list[str], str]] = []
    alias: dict[str, str] = {}
    sizes = band.value_counts()
    for b in bands:
        values[f"clients|{b}"] = float(sizes.get(b, 0))
    constraints.append(([f"clients|{b}" for b in bands], "engagements"))
    for name, spec in specs.items():
        if spec.column not in table:
            continue
        present = table[spec.column].notna()
        if name == "intake":
            for b in labels:
                alias[f"{name}|{b}"] = f"clients|{b}"
            values[f"{name}|all"] = float(present.sum())
            constraints.append(([f"clients|{b}" for b in labels], f"{name}|all"))
            constraints.append(([f"{name}|all", f"clients|{NO_INTAKE}"], "engagements"))
            continue
        if name == "change":
            end = {b: alias.get(f"end|{b}", f"end|{b}") for b in ["all", *bands]}
            for b in labels:
                alias[f"{name}|{b}"] = end[b]
            values["change|all"] = float(present.sum())
            constraints.append(([end[b] for b in labels], "change|all"))
            constraints.append((["change|all", end[NO_INTAKE]], end["all"]))
            continue
        if bool(present.all()):
            for b in bands:
                alias[f"{name}|{b}"] = f"clients|{b}"
            alias[f"{name}|all"] = "engagements"
            continue
        for b in bands:
            inside = band == b
            values[f"{name}|{b}"] = float((present & inside).sum())
            values[f"lack {name}|{b}"] = float((~present & inside).sum())
            constraints.append(([f"{name}|{b}", f"lack {name}|{b}"], f"clients|{b}"))
        values[f"{name}|all"] = float(present.sum())
        values[f"lack {name}|all"] = float((~present).sum())
        constraints.append(([f"{name}|{b}" for b in bands], f"{name}|all"))
        constraints.append(([f"lack {name}|{b}" for b in bands], f"lack {name}|all"))
        constraints.append(([f"{name}|all", f"lack {name}|all"], "engagements"))
    # the engagements are the one total every reader needs: never a complement
    never = {"engagements"} | ({f"clients|{NO_INTAKE}"} if values[f"clients|{NO_INTAKE}"] == 0
                               else set())
    return values, constraints, alias, never


def release_distributions(table: pd.DataFrame, gate: Disclosure, edges: list[float],
                          labels: list[str], specs: dict[str, Measure] | None = None,
                          extra: tuple[dict[str, float], list, dict[str, str]] | None = None
                          ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The distributions of every measure by band, and the released counts by cell name.

    ``extra`` adds cells, constraints and published labels (the change counts) to the
    linked suppression.
    """
    specs = specs or measures()
    band = band_index(table["baseline"], edges, labels)
    values, constraints, alias, never = _cells(table, band, labels, specs)
    what = {"engagements": "engagements"}
    for name, spec in specs.items():
        if spec.column in table:
            what.update({alias.get(f"{name}|{b}", f"{name}|{b}"): f"{name}: {b} (clients)"
                         for b in ["all", *labels, NO_INTAKE]
                         if name not in ("intake", "change") or b != NO_INTAKE})
    if extra is not None:
        values.update(extra[0])
        constraints += extra[1]
        what.update(extra[2])
    released = gate.linked_counts(values, constraints, what, never=never)
    out = []
    for b in ["all", *labels, NO_INTAKE]:
        rows = table if b == "all" else table[band == b]
        for name, spec in specs.items():
            if spec.column not in table or (b == NO_INTAKE and name in ("intake", "change")):
                continue
            count = released[alias.get(f"{name}|{b}", f"{name}|{b}")]
            out.append({"band": b, "measure": name, "n": _int(count.value),
                        **_statistics(rows[spec.column], gate, spec, f"{name}: {b}")})
    names = set(released) | set(alias)
    return out, {name: released[alias.get(name, name)] for name in names
                 if alias.get(name, name) in released}


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _statistics(values: pd.Series, gate: Disclosure, spec: Measure, what: str
                ) -> dict[str, Any]:
    values = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    mean = gate.mean(values, f"{what} (mean)", bounds=spec.bounds,
                     precision=max(spec.precision, 0.01))
    sd = gate.sd(values, f"{what} (SD)", bounds=spec.bounds,
                 precision=max(spec.precision, 0.01))
    quantiles = {f"{q:g}": gate.quantile(values, q, f"{what} ({100 * q:g}th percentile)",
                                         precision=spec.precision).value for q in QUANTILES}
    return {"mean": mean.value, "sd": sd.value,
            "quantiles": quantiles if mean.value is not None else {}}


def change_cells(categories: pd.Series) -> tuple[dict[str, float], list, dict[str, str]]:
    """The change counts by category as cells tied to ``change|all`` (clients with both)."""
    values = {f"change count|{c}": float(v) for c, v in categories.items()}
    constraints = [([f"change count|{c}" for c in categories.index], "change|all")]
    return values, constraints, {f"change count|{c}": f"change: {c} (clients)"
                                 for c in categories.index}


def release_change(categories: pd.Series, released: dict[str, Any], gate: Disclosure
                   ) -> dict[str, Any]:
    """Counts and percentages of each change category from the released cells."""
    counts = {c: _int(released[f"change count|{c}"].value) for c in categories.index}
    n = released["change|all"].value if "change|all" in released else None
    percentages: dict[Any, float | None] = {}
    for c in categories.index:
        shown = released[f"change count|{c}"]
        if shown.withheld or n is None:
            percentages[c] = None
            gate.withhold(f"change: {c} (share)")
            continue
        share = gate.percent(int(categories[c]), int(sum(categories)),
                             f"change: {c} (share)", digits=1)
        percentages[c] = None if share.value is None else round(share.value, 3)
    return {"n": _int(n), "counts": counts, "percentages": percentages}
