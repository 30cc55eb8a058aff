"""The result of ``decompose``: :class:`Decomposition`, its faces and how it shows itself.

The data faces (``shares``, ``relative``, ``ci``, ``table()``, ``to_dict()``) keep R² units
and the shared column vocabulary. The faces people read (``summary()`` and the notebook
view) use one unit, each share as a percent of what the factors explain together, with the
variance explained stated once, and words for every name (see
:mod:`outcomes.shares._share_words`). ``decompose`` and ``Decomposition`` are imported from
:mod:`outcomes.shares.decomposition` (or ``outcomes``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import old_attribute
from outcomes._errors import UsageError
from outcomes._results import Result, Summary, jsonable
from outcomes.shares._share_words import (
    basis_lines,
    bootstrap_line,
    lay_out,
    model_lines,
    share_frame,
)
from outcomes.shares.attenuation import corrected_factors, reliability_lines
from outcomes.shares.bootstrap import Draws
from outcomes.shares.metrics import ADDITIVE
from outcomes.shares.missingness import MissingnessReport

__all__ = ["Decomposition"]


@dataclass(frozen=True, eq=False, repr=False)
class Decomposition(Result):
    """Each factor's share of the outcome's variance, with optional bootstrap intervals.

    ``.r2`` is the R² of the full model (covariates included) and ``.r2_covariates`` the R²
    of the covariates alone. ``.shares`` (by factor, in the order given) are in R² units;
    for the additive methods (lmg, dominance, pratt, relative_weights, car) they sum to
    ``.r2 - .r2_covariates``. ``.relative`` is shares divided by their sum. ``.ci`` is a
    tidy frame (factor, quantity = share | relative | r2, estimate, std_error, ci_low,
    ci_high) when bootstrapped; ``.differences`` gives pairwise share differences and
    ``.rank_probabilities`` the share of replicates in which each factor takes each rank.
    With ``missing="mi"`` or ``"em"`` (intention to treat), ``.complete_cases`` holds the
    same model's point estimates on the clients with every value, for comparison (None
    when every client is complete, or under listwise deletion).
    """

    outcome: str
    method: str
    factors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...]
    shares: pd.Series
    r2: float
    r2_covariates: float
    n: int
    n_dropped: int
    ci_level: float = 0.95
    ci_method: str | None = None
    n_boot: int = 0
    n_clusters: int | None = None
    ci: pd.DataFrame | None = None
    differences: pd.DataFrame | None = None
    rank_probabilities: pd.DataFrame | None = None
    draws: Draws | None = field(default=None, repr=False)
    reliability: pd.DataFrame | None = None
    missingness: MissingnessReport | None = field(default=None, repr=False)
    complete_cases: Decomposition | None = field(default=None, repr=False)

    @property
    def corrected(self) -> tuple[str, ...]:
        """The factors whose shares are corrected for unreliability (true-score shares)."""
        return corrected_factors(self.reliability, list(self.shares.index))

    cluster_count = old_attribute("cluster_count", "n_clusters")

    def headline(self) -> str:
        """R², the number of factors and method, n, and the intervals if any."""
        p = len(self.shares)
        text = (f"R² {self.r2:.3f} shared by {p} factor{'s' * (p != 1)} ({self.method}), "
                f"n = {self.n}")
        if self.covariates:
            text += f", covariates take {self.r2_covariates:.3f}"
        if self.ci is not None:
            text += f", {round(100 * self.ci_level, 1):g} % {self.ci_method} intervals"
        if self.reliability is not None:
            text += f", {len(self.corrected)} of {p} corrected for unreliability"
        if self.missingness is not None and self.missingness.method != "listwise":
            text += f", missing values by {self.missingness.method}"
        return text

    @property
    def relative(self) -> pd.Series:
        """Shares divided by their sum (sums to 1)."""
        return (self.shares / self.shares.sum()).rename("relative")

    @property
    def additive(self) -> bool:
        """Whether the shares add up to the split R² (lmg, dominance, pratt, ...)."""
        return self.method in ADDITIVE

    @property
    def intention_to_treat(self) -> bool:
        """Whether every client with any value was kept (``missing="mi"`` or ``"em"``)."""
        return self.missingness is not None and self.missingness.method != "listwise"

    def table(self) -> pd.DataFrame:
        """One row per factor and quantity (share, relative) plus the model R²."""
        names = list(self.shares.index)
        rows = pd.DataFrame({
            "factor": names * 2 + [None],
            "quantity": ["share"] * len(names) + ["relative"] * len(names) + ["r2"],
            "estimate": [*self.shares, *self.relative, self.r2],
        })
        if self.ci is not None:
            ci = self.ci[["std_error", "ci_low", "ci_high"]].reset_index(drop=True)
            rows = pd.concat([rows, ci], axis=1)
        else:
            rows = rows.assign(std_error=np.nan, ci_low=np.nan, ci_high=np.nan)
        return rows.assign(n=self.n)

    def _interval(self, name, quantity="share"):
        if self.ci is None:
            return None, None
        row = self.ci[(self.ci.quantity == quantity) & (self.ci.factor == name)].iloc[0]
        return float(row.ci_low), float(row.ci_high)

    def summary(self, *, reference: str | None = None) -> Summary:
        """The split in words: who was analysed, the variance explained (stated once), each
        factor's percent of what the factors explain together with its interval, the
        complete-case shares beside intention-to-treat ones and which a conclusion rests
        on, and, with ``reference``, a reference split beside them (when it splits what is
        explained)."""
        lines = model_lines(self)
        shown, notes = self._reference_column(reference)
        lines += ["", lay_out(share_frame(self, **shown)), ""]
        if self.ci is not None:
            lines.append(bootstrap_line(self))
        if self.complete_cases is not None:
            lines += basis_lines(self, self.complete_cases)
        lines += notes
        if self.reliability is not None:
            lines += ["", *reliability_lines(self.reliability, list(self.shares.index),
                                             self.ci is not None)]
        if self.missingness is not None and (self.missingness.n_incomplete or self.n_dropped):
            lines += ["", *self.missingness.lines()]
        tidy = [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]
        return Summary("\n".join(tidy).strip("\n"))

    def conclusion_basis(self, other: Decomposition | None = None) -> Summary:
        """Which shares a conclusion rests on, intention to treat or complete cases.

        For intention-to-treat shares (``missing="mi"`` or ``"em"``) ``other`` defaults to
        ``.complete_cases``; for complete-case shares give the intention-to-treat result of
        the same model. The shares not already in this result's summary are listed, then one
        sentence says which a conclusion rests on and how far the two differ (empty when no
        client misses a value).
        """
        itt, complete = (self, other or self.complete_cases) if self.intention_to_treat \
            else (other, self)
        if itt is None or complete is None or itt.missingness is None \
                or not itt.missingness.n_incomplete:
            return Summary("")
        if not itt.intention_to_treat or complete.intention_to_treat:
            raise UsageError("conclusion_basis(): set intention-to-treat shares (missing='mi' "
                             "or 'em') beside complete-case shares of the same model.")
        listed = "itt" if complete is self else "complete"
        return Summary("\n".join(basis_lines(itt, complete, list_other=listed)))

    def _reference_column(self, reference: str | None) -> tuple[dict[str, Any], list[str]]:
        """A reference split as a column of the summary, and its notes; nothing when it
        splits something other than what the factors explain, or names other parts."""
        if reference is None:
            return {}, []
        comparison = self.compare(reference)
        parts = comparison.parts
        if comparison.scale != "relative" or \
                any(tuple(f) != (p,) for p, f in zip(parts.part, parts.factors, strict=True)):
            return {}, ["", str(comparison.summary())]
        split = comparison.reference
        values = pd.Series(list(parts.reference), index=list(parts.part))
        notes = ["", *comparison.notes, f"Source: {split.citation.rstrip('.')}."]
        return {"reference": values, "reference_label": split.label.split(":")[0]}, notes

    def _repr_html_(self) -> str:
        """The headline, the variance explained, and the shares as a table in words."""
        title = (f"<p><strong>Decomposition</strong>: "
                 f"{html.escape(' '.join(model_lines(self)))}</p>")
        body = share_frame(self).to_html(index=False, border=0, escape=True)
        foot = [bootstrap_line(self)] if self.ci is not None else []
        if self.complete_cases is not None:
            foot += basis_lines(self, self.complete_cases)
        return title + body + "".join(f"<p>{html.escape(line)}</p>" for line in foot)

    def to_dict(self, reference: str | None = "asay-lambert-1999") -> dict[str, Any]:
        """JSON-safe dict in the ``outcomes decompose --json`` layout."""
        factors = {}
        for name in self.shares.index:
            entry = {
                "columns": list(self.factors[name]),
                "share": self.shares[name],
                "relative": self.relative[name],
            }
            if self.ci is not None:
                entry["ci_low"], entry["ci_high"] = self._interval(name)
                entry["relative_ci_low"], entry["relative_ci_high"] = self._interval(
                    name, "relative")
            factors[name] = entry
        out: dict[str, Any] = {
            "method": self.method, "n": self.n, "n_dropped": self.n_dropped, "r2": self.r2,
            "r2_covariates": self.r2_covariates, "outcome": self.outcome,
            "covariates": list(self.covariates), "factors": factors,
        }
        if self.ci is not None:
            r2_row = self.ci[self.ci.quantity == "r2"].iloc[0]
            out["r2_ci_low"], out["r2_ci_high"] = r2_row.ci_low, r2_row.ci_high
            out.update(ci_level=self.ci_level, ci_method=self.ci_method, n_boot=self.n_boot)
        if self.reliability is not None:
            for name, entry in factors.items():
                entry["corrected"] = name in self.corrected
            out["reliability"] = self.reliability.to_dict(orient="records")
        if self.missingness is not None:
            out["missing"] = self.missingness.to_dict()
        if self.complete_cases is not None:
            cc = self.complete_cases
            out["complete_cases"] = {"n": cc.n, "r2": cc.r2, "r2_covariates": cc.r2_covariates,
                                     "shares": cc.shares, "relative": cc.relative}
        if reference is not None:
            try:
                out["reference"] = self.compare(reference).to_dict()
            except UsageError as error:
                out["reference"] = {"key": reference, "note": str(error)}
        return jsonable(out)

    def compare(self, reference: str = "asay-lambert-1999", *, mapping=None):
        """Set the shares beside a reference split (see :mod:`outcomes.reference`)."""
        from outcomes.reference import compare

        p = len(self.shares)
        kwargs: dict[str, Any] = {}
        if self.draws is not None:
            names = list(self.shares.index)
            reps = pd.DataFrame(self.draws.replicates[:, :p], columns=names)
            kwargs["replicates"] = reps.assign(r2=self.draws.replicates[:, p])
            if self.draws.jackknife is not None:
                jack = pd.DataFrame(self.draws.jackknife[:, :p], columns=names)
                kwargs["jackknife"] = jack.assign(r2=self.draws.jackknife[:, p])
            method = self.ci_method or "percentile"
            kwargs["ci_method"] = method
            kwargs["interval"] = lambda est, reps, jack: Draws(est, reps, jack).interval(
                method, self.ci_level)
        return compare(self.shares, reference, r2=self.r2, additive=self.additive,
                       ci_level=self.ci_level, mapping=mapping, **kwargs)

    def plot(self, ax=None, *, reference: str | None = None):
        """Bars of the shares with interval whiskers; beside a reference split if given."""
        if reference is not None:
            return self.compare(reference).plot(ax=ax)
        from outcomes._plotting import share_bars

        names = list(self.shares.index)
        low = high = None
        if self.ci is not None:
            pairs = [self._interval(n) for n in names]
            low, high = [a for a, _ in pairs], [b for _, b in pairs]
        return share_bars(ax, names, self.shares.to_numpy(), low=low, high=high,
                          ylabel=f"share of {self.outcome} variance ({self.method})")
