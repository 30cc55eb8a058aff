"""The item responses behind a scored column, and its reliability from their covariances.

The correction for unreliability (:mod:`outcomes.shares.attenuation`) can estimate a
column's reliability from the study's own items. Two ways of saying where they are:

- a mapping from the column to the columns of ``data`` that hold its items (already keyed
  so that every item rises with the score), one row per client like the column itself;
- the canonical ``responses`` table of a study: the analysis table declares, for each of
  its columns, the instrument, scale, occasion and rater that feed it
  (:data:`outcomes.analysis.VARIABLES`), so each client's items are read from there,
  reverse-keyed as the registry says, and for the early-session alliance and session ratings
  averaged item by item over the early sessions, as the score is.

Reliabilities are computed from an item covariance matrix, so the bootstrap re-estimates
them from the same resampled clients: :func:`coefficient` takes a batch of cross-product
matrices. Alpha is Cronbach's (1951); omega total McDonald's (1999) from the one-factor
maximum-likelihood model fitted to the item correlations, as
:func:`outcomes.measures.reliability.reliability` reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes._errors import UsageError
from outcomes.measures._factor_analysis import LOWEST_UNIQUENESS, one_factor, one_factor_batch

__all__ = ["ItemBlock", "item_blocks", "coefficient", "starting_loadings", "COEFFICIENTS"]

#: The ways of estimating a reliability from items (``"estimate"``: omega with three or
#: more items, alpha with two).
COEFFICIENTS = ("estimate", "omega", "alpha")
_RESPONSE_COLUMNS = {"engagement_id", "instrument", "item", "value", "occasion"}


@dataclass(frozen=True, eq=False)
class ItemBlock:
    """The items of one column, one row per row of the design (NaN where not answered)."""

    column: str
    values: np.ndarray  # (n, k)
    coefficient: str  # "omega" or "alpha"
    standardised: bool  # items z-scored before summing (CEQ): coefficients on correlations
    source: str  # where the items came from, for the report

    @property
    def complete(self) -> np.ndarray:
        """Rows with every item answered (the rows the reliability is estimated from)."""
        return ~np.isnan(self.values).any(axis=1)


def item_blocks(data: pd.DataFrame, rows: pd.Index, wanted: Mapping[str, str], items,
                caller: str) -> tuple[dict[str, ItemBlock], dict[str, str]]:
    """The item block of every column in ``wanted`` (column -> coefficient asked for).

    Returns the blocks found and, for the columns without items, why not.
    """
    if isinstance(items, pd.DataFrame):
        if not _RESPONSE_COLUMNS <= set(items.columns):
            raise UsageError(
                f"{caller}(): items= is a table without the columns of canonical responses "
                f"({', '.join(sorted(_RESPONSE_COLUMNS))}). Give the study's responses "
                "(study.valid('responses')) or a mapping of each column to its item columns.")
        if "engagement_id" not in data.columns:
            raise UsageError(f"{caller}(): items from a responses table are matched on "
                             "engagement_id, which the data lack. Use the analysis table.")
        return _from_responses(data, rows, wanted, items)
    if not isinstance(items, Mapping):
        raise UsageError(
            f"{caller}(): reliability='estimate' needs the items: items= a mapping of each "
            "column to the columns holding its items, or the study's responses table.")
    blocks, missing = {}, {}
    for column, coefficient in wanted.items():
        names = items.get(column)
        if names is None:
            missing[column] = "no items given"
            continue
        names = [names] if isinstance(names, str) else list(names)
        absent = [c for c in names if c not in data.columns]
        if absent or len(names) < 2:
            raise UsageError(
                f"{caller}(): items of {column!r}: " + (
                    f"column {absent[0]!r} is not in the data" if absent else
                    "one item has no internal consistency") + ". Give two or more item "
                "columns of the data.")
        values = data.loc[rows, names].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        blocks[column] = ItemBlock(column, values, _which(coefficient, len(names)), False,
                                   f"items {', '.join(map(str, names))}")
    return blocks, missing


def _which(asked: str, k: int) -> str:
    if asked == "omega" and k < 3:
        return "alpha"
    return ("omega" if k >= 3 else "alpha") if asked == "estimate" else asked


def _from_responses(data, rows, wanted, responses):
    from outcomes import instruments as registry
    from outcomes.analysis import VARIABLES
    from outcomes.measures.scoring import item_matrix

    declared = {v.name: v for v in VARIABLES}
    early = tuple(data.attrs.get("early_sessions", (1, 2, 3)))
    engagements = data.loc[rows, "engagement_id"].astype(str).to_numpy()
    wide_of: dict[str, pd.DataFrame] = {}
    blocks, missing = {}, {}
    for column, asked in wanted.items():
        variable = declared.get(column)
        if variable is None:
            missing[column] = "not a questionnaire scale of the analysis table"
            continue
        instrument = registry.get(variable.instrument)
        scale = instrument.scales.get(variable.scale)
        if scale is None or scale.rule in ("composite", "gas-tscore") or len(scale.items) < 2:
            missing[column] = f"{variable.instrument} {variable.scale} is not an item sum"
            continue
        if variable.instrument not in wide_of:
            wide_of[variable.instrument] = item_matrix(responses, instrument)
        wide = wide_of[variable.instrument]
        keys = wide.index.to_frame(index=False)
        keep = (keys["rater"] == variable.rater).to_numpy().copy()
        if variable.occasion == "early":
            keep &= (keys["occasion"] == "session").to_numpy() & keys["session"].isin(
                early).to_numpy()
        else:
            keep &= (keys["occasion"] == variable.occasion).to_numpy()
        chosen = wide.loc[keep, list(scale.items)]
        per_client = chosen.groupby(keys.loc[keep, "engagement_id"].astype(str).to_numpy()).mean()
        values = per_client.reindex(engagements).to_numpy(dtype=float)
        if not (~np.isnan(values).any(axis=1)).sum() > len(scale.items):
            missing[column] = f"too few clients answered every {variable.instrument} item"
            continue
        occasion = (f"sessions {', '.join(map(str, early))}" if variable.occasion == "early"
                    else variable.occasion)
        blocks[column] = ItemBlock(
            column, values, _which(asked, len(scale.items)), scale.rule == "zsum",
            f"{variable.instrument} {variable.scale} ({variable.rater}, {occasion})")
    return blocks, missing


def coefficient(cross: np.ndarray, block: ItemBlock, start: np.ndarray | None = None
                ) -> np.ndarray:
    """The reliability of ``block``'s score from item cross-products ``(b, k, k)``.

    A matrix whose items do not all vary gives NaN.

    Examples
    --------
    >>> c = np.array([[[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]])
    >>> b = ItemBlock("x", np.zeros((1, 3)), "alpha", False, "")
    >>> coefficient(c, b).round(4).tolist()  # k/(k-1) (1 - 6/12)
    [0.75]
    """
    cross = np.asarray(cross, dtype=float)
    k = cross.shape[-1]
    diag = np.diagonal(cross, axis1=-2, axis2=-1)
    ok = np.all(diag > 0, axis=-1)
    out = np.full(len(cross), np.nan)
    if not ok.any():
        return out
    matrix = cross[ok]
    if block.standardised or block.coefficient == "omega":
        sd = np.sqrt(diag[ok])
        matrix = matrix / sd[:, :, None] / sd[:, None, :]
    if block.coefficient == "alpha":
        out[ok] = k / (k - 1) * (1 - np.trace(matrix, axis1=-2, axis2=-1) / matrix.sum((-2, -1)))
        return out
    loading = _loadings(matrix, start)
    common = loading.sum(axis=1) ** 2
    out[ok] = common / (common + np.maximum(1 - loading**2, 0.0).sum(axis=1))
    return out


def _loadings(corrs: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """One-factor ML loadings of each correlation matrix (the batch solver, then one by one
    for those that did not converge)."""
    if start is None:
        return np.stack([one_factor(c) for c in corrs])
    uniqueness = np.clip(1 - start**2, LOWEST_UNIQUENESS, 1.0)
    loading, converged = one_factor_batch(corrs, uniqueness)
    for b in np.flatnonzero(~converged):
        loading[b] = one_factor(corrs[b], start=uniqueness)
    return loading


def starting_loadings(cross: np.ndarray, block: ItemBlock) -> np.ndarray | None:
    """Loadings of the full-sample items, the start of every replicate's fit (omega)."""
    if block.coefficient != "omega":
        return None
    sd = np.sqrt(np.diag(cross))
    return one_factor(cross / sd[:, None] / sd[None, :])

