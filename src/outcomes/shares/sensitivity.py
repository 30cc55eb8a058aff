"""How far the shares rest on dropouts being missing at random: delta adjustment.

Multiple imputation assumes that a client whose end score is missing would have scored
what the observed columns predict (missing at random). :func:`sensitivity` asks what
follows if dropouts did worse: each imputed end score is lowered by ``delta`` points below
its MAR imputation (the delta-adjustment or pattern-mixture approach; Carpenter & Kenward
2013, *Multiple Imputation and its Application*, ch. 10; van Buuren 2018, *Flexible
Imputation of Missing Data*, §9.2), the shares are recomputed in every imputation and
pooled, over a range of ``delta``. The same imputations serve every ``delta``, so the
curve is smooth, and the ``delta`` at which a stated conclusion (by default: the
relationship share exceeds the technique share) stops holding is found by root finding.

Examples
--------
>>> import pandas as pd
>>> rng = np.random.default_rng(5)
>>> df = pd.DataFrame(rng.normal(size=(300, 2)), columns=["bond", "hope"])
>>> df["end"] = df.bond + 0.6 * df.hope + rng.normal(size=300)
>>> df.loc[df.bond < -0.5, "end"] = np.nan
>>> s = sensitivity(df, "end", {"relationship": ["bond"], "expectancy": ["hope"]},
...                 conclusion=("relationship", "expectancy"), n_imputations=5, seed=1)
>>> s.table().columns.tolist()[:4]
['delta', 'delta_sd', 'relationship', 'expectancy']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_choice,
    check_covariates,
    check_positive_int,
    check_seed,
    shared_parameters,
)
from outcomes._errors import UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.shares.metrics import METHODS, Method, share_statistic
from outcomes.shares.missing import (
    default_imputations,
    one_thread,
    prepare_incomplete,
    seed_entropy,
)
from outcomes.shares.moments import Moments

__all__ = ["sensitivity", "Sensitivity"]


@shared_parameters
def sensitivity(
    data: pd.DataFrame,
    outcome: str,
    factors: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    covariates: Sequence[str] = (),
    deltas: Sequence[float] | None = None,
    conclusion: tuple[str, str] = ("relationship", "technique"),
    method: Method = "lmg",
    cluster: str | None = None,
    weights: str | Sequence[float] | None = None,
    n_imputations: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> Sensitivity:
    """Shares when dropouts' imputed end scores are ``delta`` points below MAR.

    Parameters
    ----------
    data, outcome, factors, method, weights
        As in :func:`outcomes.shares.decomposition.decompose`.
    {covariates}
    deltas : sequence of float, optional
        Shifts in outcome points (positive = dropouts did worse than MAR predicts); by
        default 0 to one standard deviation of the observed outcome in eleven steps.
    conclusion : (str, str), default ("relationship", "technique")
        The conclusion whose robustness is asked: the first factor's share exceeds the
        second's.
    {cluster}
    {n_imputations}
    {seed}

    Returns
    -------
    Sensitivity
        ``.table()`` gives the pooled shares and R² per ``delta``; ``.tipping_point`` the
        smallest ``delta`` at which the conclusion no longer holds (None when it holds over
        the whole range, NaN when it does not hold even at ``delta = 0``).
    """
    check_choice(method, "method", METHODS, "sensitivity")
    seed = check_seed(seed, "sensitivity")
    covariates = check_covariates(covariates, "sensitivity")
    design = prepare_incomplete(data, outcome, factors, covariates=covariates, weights=weights,
                                cluster=cluster, caller="sensitivity", missing="em")
    names = list(design.names)
    first, second = _conclusion(conclusion, names)
    inc = design.incomplete
    assert inc is not None
    dropped = np.isnan(inc.matrix[:, -1])
    if not dropped.any():
        raise UsageError(f'sensitivity(): "{outcome}" is observed for every client; there are '
                         "no dropouts whose end scores could be shifted.")
    done = _imputations(design, n_imputations, seed)
    spread = float(np.nanstd(inc.matrix[:, -1], ddof=1))
    grid = np.sort(np.linspace(0, spread, 11) if deltas is None
                   else np.asarray(deltas, dtype=float))
    statistic = share_statistic(design, method)

    def at(delta: float) -> np.ndarray:
        crosses = []
        for x in done:
            shifted = x.copy()
            shifted[dropped, -1] -= delta
            crosses.append(Moments.from_arrays(shifted, inc.weights).cross)
        return statistic(np.stack(crosses)).mean(axis=0)

    values = np.vstack([at(d) for d in grid])
    table = pd.DataFrame(values[:, :-1], columns=names)
    table.insert(0, "delta", grid)
    table.insert(1, "delta_sd", grid / float(np.nanstd(inc.matrix[:, -1], ddof=1)))
    table["r2"] = values[:, -1]
    gap = table[first] - table[second]
    holds = (gap > 0).to_numpy()
    table["holds"] = holds
    return Sensitivity(outcome=outcome, method=method, conclusion=(first, second),
                       shares=table, tipping_point=_tipping(grid, holds, at, names, first,
                                                            second),
                       n=design.n, n_dropouts=int(dropped.sum()),
                       n_imputations=len(done))


def _imputations(design, n_imputations: int | None, seed) -> list[np.ndarray]:
    """The completed model matrices: the imputations ``decompose(missing="mi")`` makes of
    the same data with the same seed (the same number, seeds and chains from the EM
    estimate), each made once and kept whole so that dropouts' outcomes can be shifted."""
    inc = design.incomplete
    m = default_imputations(inc.report.fraction_incomplete) if n_imputations is None \
        else check_positive_int(n_imputations, "n_imputations", "sensitivity", minimum=1)
    seeds = np.random.SeedSequence(seed_entropy(seed)).spawn(m + 1)
    rows = np.arange(design.n)
    with one_thread():
        return [design.completed_matrix(rows, s) for s in seeds[:m]]


def _conclusion(conclusion, names) -> tuple[str, str]:
    if len(conclusion) != 2 or any(c not in names for c in conclusion):
        raise UsageError(f"sensitivity(): conclusion must name two of the factors "
                         f"{names}, as (larger, smaller), not {tuple(conclusion)!r}.")
    return str(conclusion[0]), str(conclusion[1])


def _tipping(grid, holds, at, names, first, second) -> float | None:
    """The smallest delta at which the conclusion stops holding (by bisection)."""
    if not holds[0]:
        return float("nan")
    if holds.all():
        return None
    from scipy.optimize import brentq

    i = int(np.argmin(holds))
    a, b = names.index(first), names.index(second)

    def gap(delta: float) -> float:
        shares = at(delta)
        return float(shares[a] - shares[b])

    return float(brentq(gap, grid[i - 1], grid[i], xtol=1e-6))


@dataclass(frozen=True, eq=False, repr=False)
class Sensitivity(Result):
    """Pooled shares over a range of ``delta`` (dropouts' imputed outcome lowered by delta).

    ``shares`` has one row per ``delta`` (also in outcome standard deviations,
    ``delta_sd``), one column per factor, ``r2`` and ``holds`` (whether the first factor of
    ``conclusion`` still has the larger share). ``tipping_point`` is the delta where it
    stops holding (None: holds throughout; NaN: does not hold at delta 0).
    """

    outcome: str
    method: str
    conclusion: tuple[str, str]
    shares: pd.DataFrame
    tipping_point: float | None
    n: int
    n_dropouts: int
    n_imputations: int

    def headline(self) -> str:
        """The conclusion and where it flips."""
        return f"{self._claim()}: {self._verdict()}"

    def _claim(self) -> str:
        return f"{self.conclusion[0]} share > {self.conclusion[1]} share"

    def _verdict(self) -> str:
        top = float(self.shares.delta.max())
        if self.tipping_point is None:
            return f"holds for every delta up to {top:.3g} points"
        if np.isnan(self.tipping_point):
            return "does not hold even under MAR (delta 0)"
        return f"flips at delta = {self.tipping_point:.3g} points"

    def table(self) -> pd.DataFrame:
        """One row per delta: the pooled shares, R² and whether the conclusion holds."""
        return self.shares.copy()

    def summary(self) -> Summary:
        """Plain words: what was shifted, the shares by delta, where the conclusion flips."""
        lines = [
            f"Sensitivity of the {self.method} shares of {self.outcome!r} to dropout not at "
            f"random: the {self.n_dropouts} of {self.n} clients without an end score get "
            f"imputed scores lowered by delta points below what MAR predicts "
            f"({self.n_imputations} imputations pooled at each delta).",
            "", text_table(self.shares.round(4)), "",
            f"Conclusion '{self._claim()}' {self._verdict()}.",
        ]
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the table and the tipping point."""
        return jsonable({"outcome": self.outcome, "method": self.method,
                         "conclusion": list(self.conclusion), "n": self.n,
                         "n_dropouts": self.n_dropouts, "n_imputations": self.n_imputations,
                         "tipping_point": self.tipping_point, "shares": self.shares})

    def plot(self, ax=None):
        """Each factor's share against delta, with the tipping point marked."""
        from outcomes._plotting import axes_or_new

        ax = axes_or_new(ax)
        factors = [c for c in self.shares.columns
                   if c not in ("delta", "delta_sd", "r2", "holds")]
        for name in factors:
            ax.plot(self.shares.delta, self.shares[name], marker="o", label=name)
        if self.tipping_point is not None and np.isfinite(self.tipping_point):
            ax.axvline(self.tipping_point, color="grey", linestyle="--", label="conclusion flips")
        ax.set_xlabel(f"delta: dropouts' {self.outcome} lowered by (points)")
        ax.set_ylabel(f"share of {self.outcome} variance ({self.method})")
        ax.legend()
        return ax
