"""Shares of true scores: the correction of the covariance matrix for unreliability.

A questionnaire score ``X = T + E`` carries measurement error ``E`` uncorrelated with its
true score ``T`` and with everything else. Its variance is then ``var T + var E``, while its
covariances with other columns are those of ``T``. With reliability ``rel = var T / var X``
the covariance matrix of the true scores is the observed one with each corrected column's
variance multiplied by its reliability and every covariance left as it is (Spearman 1904;
Lord & Novick 1968, ch. 3). For two columns this is the classical correction of a
correlation, ``r / sqrt(rel_x rel_y)``. The shares are computed from that matrix by the same
all-subsets engine as the observed shares.

Which columns are corrected is the caller's choice:

- a mapping ``{column: reliability}``: a number in (0, 1] (a published or known value), or
  ``"estimate"`` / ``"omega"`` / ``"alpha"`` to estimate it from the study's own items;
- ``"estimate"``: every factor column whose items are known (``items=``) is corrected with
  its omega total (alpha for two-item scales); the others are left as observed and the
  result lists them.

The outcome and the covariates are corrected only when the mapping names them. Independent
error in the outcome adds variance the factors cannot explain, so it lowers every factor's
share by the same proportion (the outcome's reliability) and leaves the split, the relative
shares and their order as they are; correcting it turns shares of the observed outcome into
shares of its true score, which is a claim about a quantity nobody observed and is left to
the analyst who says so.

When the reliabilities are estimated from items, each bootstrap replicate re-estimates them
from the items of the clients it drew (the same units: rows, or whole clusters), so the
intervals carry the uncertainty of the reliabilities as well as that of the covariances.
A replicate whose corrected matrix is not positive definite is counted as failed.

Examples
--------
>>> cross = np.array([[1.0, 0.3, 0.5], [0.3, 1.0, 0.4], [0.5, 0.4, 1.0]])
>>> true = true_score_cross(cross, np.array([0.8, 0.9, 1.0]))
>>> float(np.round(true[0, 2] / np.sqrt(true[0, 0] * true[2, 2]), 6))  # 0.5 / sqrt(0.8)
0.559017
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes._errors import ModelError, UsageError
from outcomes.shares._items import COEFFICIENTS, ItemBlock, coefficient, item_blocks
from outcomes.shares._items import starting_loadings as _start
from outcomes.shares.bootstrap import MAX_JACKKNIFE, Draws, resample_counts
from outcomes.shares.design import Design
from outcomes.shares.moments import Moments, UnitMoments

__all__ = ["Correction", "correction", "true_score_cross", "positive_definite",
           "reliability_lines", "corrected_factors"]

_CHUNK = 250
#: The columns of :attr:`Correction.table` (and ``Decomposition.reliability``).
COLUMNS = ["column", "factor", "reliability", "source", "items", "n"]


def true_score_cross(cross, reliability) -> np.ndarray:
    """The covariance (or cross-product) matrices of true scores, batched.

    Each diagonal entry is multiplied by its column's reliability; the off-diagonal entries
    are unchanged. ``reliability`` has the shape of the diagonal (1 = not corrected).
    """
    out = np.array(cross, dtype=float, copy=True)
    idx = np.arange(out.shape[-1])
    out[..., idx, idx] = out[..., idx, idx] * np.asarray(reliability, dtype=float)
    return out


def positive_definite(cross, tol: float = 1e-10) -> np.ndarray:
    """Whether each matrix of a batch is positive definite (on the correlation scale)."""
    cross = np.asarray(cross, dtype=float)
    sd = np.sqrt(np.abs(np.diagonal(cross, axis1=-2, axis2=-1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cross / sd[..., :, None] / sd[..., None, :]
    finite = np.all(np.isfinite(corr), axis=(-2, -1))
    out = np.zeros(corr.shape[:-2], dtype=bool)
    if finite.any():
        out[finite] = np.linalg.eigvalsh(corr[finite])[..., 0] > tol
    return out & np.all(np.diagonal(cross, axis1=-2, axis2=-1) > 0, axis=-1)


@dataclass(frozen=True, eq=False)
class Correction:
    """The reliabilities of a design's columns and the true-score covariance they give.

    ``values`` holds one reliability per column of the design (1 where not corrected, the
    point estimate where estimated from items); ``blocks`` the item blocks re-estimated in
    each bootstrap replicate, as ``(column position, block, starting loadings)``.
    """

    design: Design
    values: np.ndarray
    blocks: tuple[tuple[int, ItemBlock, np.ndarray | None], ...]
    table: pd.DataFrame
    cross: np.ndarray

    @property
    def corrected(self) -> tuple[str, ...]:
        """The factors with at least one corrected column, in the design's order."""
        return corrected_factors(self.table, list(self.design.names))

    def wrap(self, statistic: Callable[[np.ndarray], np.ndarray]):
        """``statistic`` of the true-score matrix, from the design's and the items' sums.

        The wrapped statistic takes a list: the design's cross-products ``(b, k, k)`` and
        then one array of item cross-products per block. Rows whose reliabilities cannot be
        estimated or whose corrected matrix is not positive definite are NaN.
        """
        def corrected(crosses: list[np.ndarray]) -> np.ndarray:
            cross = crosses[0]
            rel = np.broadcast_to(self.values, cross.shape[:-1]).copy()
            for (position, block, start), items in zip(self.blocks, crosses[1:], strict=True):
                with np.errstate(all="ignore"):
                    rel[:, position] = coefficient(items, block, start)
            good = np.all(np.isfinite(rel) & (rel > 0), axis=1)
            true = true_score_cross(cross, np.where(good[:, None], rel, 1.0))
            good &= positive_definite(true)
            rows = statistic(np.where(good[:, None, None], true, cross))
            rows[~good] = np.nan
            return rows

        return corrected

    def draws(self, statistic, *, n_boot: int, seed, jackknife: bool,
              by_cluster: bool) -> Draws:
        """Bootstrap the corrected statistic (the signature of ``Design.draws``)."""
        wrapped = self.wrap(statistic)
        if not self.blocks:
            return self.design.draws(lambda cross: wrapped([cross]), n_boot=n_boot,
                                     seed=seed, jackknife=jackknife, by_cluster=by_cluster)
        units = self.units(by_cluster=by_cluster)
        rng = np.random.default_rng(seed)
        n_units = units[0].n_units
        estimate = self.replicate(statistic, np.ones((1, n_units)), units=units)[0]
        counts = resample_counts(n_units, n_boot, rng)
        reps = np.concatenate([self.replicate(statistic, counts[i:i + _CHUNK], units=units)
                               for i in range(0, n_boot, _CHUNK)])
        ok = np.all(np.isfinite(reps), axis=1)
        jack = None
        if jackknife:
            if n_units > MAX_JACKKNIFE:
                group = rng.permutation(n_units) % MAX_JACKKNIFE
                units = [_regroup(u, group) for u in units]
            loo = [u.leave_one_out() for u in units]
            jack = np.concatenate([wrapped([m[i:i + _CHUNK] for m in loo])
                                   for i in range(0, len(loo[0]), _CHUNK)])
            jack = jack[np.all(np.isfinite(jack), axis=1)]
        return Draws(estimate, reps[ok], jack, int((~ok).sum()))

    def units(self, *, by_cluster: bool) -> list[UnitMoments]:
        """Per-unit sums of the design and of each item block, over the same units."""
        design = self.design
        groups = design.clusters if by_cluster else None
        weight = np.ones(design.n) if design.weights is None else design.weights
        out = [design.units(by_cluster=by_cluster)]
        for _, block, _ in self.blocks:
            w = weight * block.complete
            out.append(UnitMoments.from_arrays(np.nan_to_num(block.values), groups, w))
        return out

    def replicate(self, statistic, counts, *, units=None, by_cluster: bool = False):
        """The corrected statistic for given unit counts ``(b, G)``; counts of one for every
        unit reproduce the point estimate."""
        units = self.units(by_cluster=by_cluster) if units is None else units
        counts = np.asarray(counts, dtype=float)
        return self.wrap(statistic)([u.combine(counts) for u in units])


def _regroup(units: UnitMoments, group: np.ndarray) -> UnitMoments:
    n = int(group.max()) + 1
    first = np.zeros((n, units.first.shape[1]))
    second = np.zeros((n, *units.second.shape[1:]))
    np.add.at(first, group, units.first)
    np.add.at(second, group, units.second)
    return UnitMoments(np.bincount(group, units.weight, minlength=n), first, second,
                       units.centre)


def correction(design: Design, data, reliability, *, items=None, weights=None, cluster=None,
               caller: str = "decompose") -> Correction:
    """Resolve ``reliability=`` for a design into a :class:`Correction` (checked)."""
    names = list(design.columns)
    role = _roles(design)
    asked = _asked(reliability, design, role, caller)
    values = np.ones(len(names))
    sources: dict[str, tuple[str, str, int]] = {}
    for column, value in asked.items():
        if not isinstance(value, str):
            values[names.index(column)] = value
            sources[column] = ("given", "", design.n)
    wanted = {c: v for c, v in asked.items() if isinstance(v, str)}
    blocks: list[tuple[int, ItemBlock, np.ndarray | None]] = []
    if wanted:
        if design.matrix is None:
            raise UsageError(f"{caller}(): reliabilities estimated from items need the data "
                             "in memory; give numbers for a Dask frame, or use engine='pandas'.")
        if items is None:
            raise UsageError(
                f"{caller}(): reliability='estimate' needs the items of each corrected "
                "column: items= the study's responses (study.valid('responses')) with the "
                "analysis table, or a mapping {column: [item columns]}.")
        rows = _rows(data, design, weights, cluster, caller)
        found, absent = item_blocks(data, rows, wanted, items, caller)
        for column, why in absent.items():
            if not isinstance(reliability, str):
                raise UsageError(f"{caller}(): the reliability of {column!r} cannot be "
                                 f"estimated ({why}). Give it as a number instead.")
            sources[column] = ("none", why, 0)
        for column, block in found.items():
            position = names.index(column)
            w = block.complete if design.weights is None else design.weights * block.complete
            cross = Moments.from_arrays(np.nan_to_num(block.values), w).cross
            start = _start(cross, block)
            value = float(coefficient(cross[None], block, start)[0])
            if not 0 < value <= 1:
                raise ModelError(
                    f"{caller}(): the {block.coefficient} of {column!r} from its items is "
                    f"{value:.3f}: the items do not measure one thing together. Check their "
                    "keying, or give the column's reliability as a number.")
            values[position] = value
            blocks.append((position, block, start))
            sources[column] = (block.coefficient, block.source, int(block.complete.sum()))
    table = pd.DataFrame(
        [{"column": c, "factor": role[c], "reliability": values[names.index(c)] if s != "none"
          else np.nan, "source": s, "items": note, "n": n}
         for c, (s, note, n) in sorted(sources.items(), key=lambda i: names.index(i[0]))],
        columns=COLUMNS)
    true = true_score_cross(design.cross, values)
    if not positive_definite(true[None])[0]:
        raise ModelError(_not_definite(design.cross, values, names, role, caller))
    return Correction(design, values, tuple(blocks), table, true)


def _roles(design: Design) -> dict[str, str]:
    role = {c: f for f, cols in design.factors.items() for c in cols}
    role.update({c: "covariate" for c in design.covariates})
    role[design.outcome] = "outcome"
    return role


def _asked(reliability, design: Design, role: dict[str, str], caller: str) -> dict:
    """Column -> number or coefficient name, checked."""
    names = list(design.columns)
    out: dict[str, float | str] = {}
    if isinstance(reliability, str):
        if reliability not in COEFFICIENTS:
            raise UsageError(f"{caller}(): reliability={reliability!r} is not one of "
                             f"{', '.join(map(repr, COEFFICIENTS))}; or give a mapping "
                             "{column: reliability}.")
        return {c: reliability for f in design.names for c in design.factors[f] if c in names}
    if not isinstance(reliability, Mapping):
        raise UsageError(f"{caller}(): reliability= must be a mapping {{column: reliability}} "
                         f"or 'estimate', not {type(reliability).__name__}.")
    for column, value in reliability.items():
        if column not in names:
            shown = role.get(column)
            why = ("is categorical; a reliability applies to a numeric score" if shown else
                   "is not a column of the model")
            raise UsageError(f"{caller}(): reliability given for {column!r}, which {why}. "
                             f"Columns that can be corrected: {', '.join(names)}.")
        if isinstance(value, str):
            if value not in COEFFICIENTS:
                raise UsageError(f"{caller}(): reliability of {column!r} is {value!r}; give a "
                                 f"number in (0, 1] or one of {', '.join(COEFFICIENTS)}.")
            out[column] = value
            continue
        number = float(value) if isinstance(value, int | float | np.number) else np.nan
        if not 0 < number <= 1 or isinstance(value, bool):
            raise UsageError(f"{caller}(): reliability of {column!r} is {value!r}; a "
                             "reliability is a number in (0, 1] (1: no correction).")
        out[column] = number
    return out


def _rows(data, design: Design, weights, cluster, caller: str) -> pd.Index:
    """The rows of ``data`` the design kept (complete in every column it uses)."""
    used = [c for cols in design.factors.values() for c in cols]
    keep = data[[*used, *design.covariates, design.outcome]].notna().all(axis=1).to_numpy()
    keep = keep.copy()
    for value in (weights, cluster):
        if value is not None:
            keep &= ~np.asarray(pd.isna(data[value] if isinstance(value, str) else
                                        np.asarray(value)))
    if keep.sum() != design.n:
        raise UsageError(f"{caller}(): the rows with items cannot be matched with the rows "
                         "analysed; estimate reliabilities with missing='listwise'.")
    return data.index[keep]


def _not_definite(cross, values, names, role, caller: str) -> str:
    """Which reliability makes the true-score matrix impossible, and the least it can be."""
    sd = np.sqrt(np.diag(cross))
    corr = cross / sd[:, None] / sd[None, :]
    corrected = [j for j in range(len(names)) if values[j] < 1]
    for j in corrected:
        for k in range(len(names)):
            if k != j and abs(corr[j, k]) / np.sqrt(values[j] * values[k]) > 1:
                said = corr[j, k] / np.sqrt(values[j] * values[k])
                return (f"{caller}(): with the reliability {values[j]:.3f} of {names[j]!r} "
                        f"(factor {role[names[j]]}) and {values[k]:.3f} of {names[k]!r}, their "
                        f"corrected correlation would be {said:.3f}, above 1: the true-score "
                        "covariance matrix is not positive definite. The product of the two "
                        f"reliabilities must exceed {corr[j, k] ** 2:.3f}, their squared "
                        "observed correlation; check the values given.")
    true = true_score_cross(corr, values)
    for j in corrected:
        others = [k for k in range(len(names)) if k != j]
        block = true[np.ix_(others, others)]
        if not positive_definite(block[None])[0]:
            continue
        floor = float(true[j, others] @ np.linalg.solve(block, true[others, j]))
        if values[j] <= floor:
            return (f"{caller}(): with the reliability {values[j]:.3f} of {names[j]!r} (factor "
                    f"{role[names[j]]}), the true-score covariance matrix is not positive "
                    f"definite: the other columns already account for {floor:.3f} of its "
                    f"variance. Give {names[j]!r} a reliability above {floor:.3f}, or check "
                    "the values given.")
    given = ", ".join(f"{names[j]!r} {values[j]:.3f}" for j in corrected)
    return (f"{caller}(): the true-score covariance matrix is not positive definite with the "
            f"reliabilities {given}: together they leave less true-score variance than the "
            "columns share. Check the values, or raise the lowest.")


def corrected_factors(table: pd.DataFrame | None, factors: list[str]) -> tuple[str, ...]:
    """The factors with at least one corrected column, in the order given."""
    if table is None:
        return ()
    done = table[table["source"] != "none"]
    return tuple(f for f in factors if (done["factor"] == f).any())


def reliability_lines(table: pd.DataFrame, factors: list[str], bootstrapped: bool) -> list[str]:
    """Plain sentences for a summary: which shares are true-score shares, and how."""
    corrected = corrected_factors(table, factors)
    lines = [f"Corrected for unreliability (shares of true scores): "
             f"{', '.join(corrected) or 'no factor'}; observed: "
             f"{', '.join(f for f in factors if f not in corrected) or 'no factor'}."]
    for row in table.itertuples(index=False):
        if row.source == "none":
            lines.append(f"  {row.column} ({row.factor}): not corrected, {row.items}.")
            continue
        how = "given" if row.source == "given" else f"{row.source} of {row.items}, n = {row.n}"
        lines.append(f"  {row.column} ({row.factor}): reliability {row.reliability:.3f} ({how}).")
    if bootstrapped and (table["source"].isin(["omega", "alpha"])).any():
        lines.append("Estimated reliabilities were re-estimated in every bootstrap replicate.")
    return lines
