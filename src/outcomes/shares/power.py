"""How many clients a study needs: the precision and power of factor shares, by simulation.

:func:`power` answers the planning questions of a factor-share study before any data are
gathered. Given the split one expects (``shares`` of the explained variance), the size of
R² and the coach intra-class correlation, it draws many studies of a given size from the
generative model behind :func:`outcomes.simulate.synthetic.simulate_study`, estimates each factor's
share in each with a cluster bootstrap interval (coaches resampled whole), and reports per
factor and study size:

- ``width`` — the expected width of the interval of the factor's share (of the explained
  variance): how precisely a study of this size pins the share down;
- ``power`` — the probability that the interval excludes the reference split's value
  (Asay & Lambert's 40/30/15/15 by default), when the truth is ``shares``;
- ``bias``, ``rmse`` and ``coverage`` of the estimator against the true share, and
  ``coverage_population`` against the share the estimator tends to in large samples of
  *measured* scores (see below).

The simulation works at the analysis level, for speed: one row per client with one score
per factor group, not a full study of item responses. For client i of coach j the latent
factor scores ``F ~ N(0, R)`` and the true change ``Y = μ + b'F + u_j + e`` come from
:func:`outcomes.simulate.generative.generative_model` (``R`` has ``factor_correlation`` off the
diagonal; ``b``, the coach variance ``τ² = icc·V`` and the residual variance are solved so
that the population Shapley shares are ``shares`` and the latent R² is ``r2``; V = 36). Each
factor is measured with error: ``X_k = √ρ_k F_k + √(1 − ρ_k) ε_k``, where ``ρ_k`` is the
squared correlation of the measured score with its factor, and the outcome is
``Y + δ`` with ``Var(δ) = V (1/ρ_y − 1)``. A factor measured less reliably than the others
loses share to them, so the estimator's large-sample value (``population_share``) differs
from the latent truth whenever ``ρ`` differs between factors; the default
``ρ`` are those of the instruments of the sample study (:data:`SIMULATED_RELIABILITY`).
Dropout, rounding of item responses and the intake covariate are left out.

Every simulated study gets its own seed spawned from ``seed``, so a seed gives the same
result on any number of worker processes (joblib).

Examples
--------
>>> p = power(shares={"client": .4, "relationship": .3, "expectancy": .15, "technique": .15},
...           r2=0.35, n_coaches=[10, 40], clients_per_coach=10, n_sim=20, n_boot=50,
...           seed=1, n_jobs=1)
>>> sorted(p.table().quantity.unique())[:4]
['bias', 'coverage', 'coverage_population', 'mean_share']
>>> w = p.grid("width")                      # rows: (n_coaches, clients_per_coach)
>>> bool((w.loc[(40, 10)] < w.loc[(10, 10)]).all())     # more clients, narrower intervals
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_choice,
    check_ci_level,
    check_positive_int,
    check_seed,
    renamed,
    shared_parameters,
)
from outcomes._errors import UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.shares._power_runs import (
    CHUNK,
    QUANTITIES,
    Plan,
    population_shares,
    reference_values,
    run,
    seed_sequence,
    summarise,
)
from outcomes.shares.bootstrap import CI_METHODS, CiMethod
from outcomes.shares.metrics import METHODS
from outcomes.simulate.generative import FACTORS, generative_model

__all__ = ["power", "Power", "SIMULATED_RELIABILITY", "QUANTITIES"]

#: Squared correlation of each factor group's measured score with its latent factor, and
#: the reliability of the measured change (``outcome``), in simulated studies like the sample:
#: the R² of the latent factor regressed on its group's analysis-table columns (oc.FACTORS) in
#: a simulated study of 3,000 engagements. ``benchmarks/recovery_study.py --calibrate``
#: measures them again. Client and expectancy agree with Σρ/(1 + Σρ), ρ = v/(1 − v) over
#: their scales' factor validities v (0.78 and 0.70); relationship and technique gain from
#: averaging alliance and adherence ratings over sessions.
SIMULATED_RELIABILITY: Mapping[str, float] = MappingProxyType({
    "client": 0.77, "relationship": 0.78, "expectancy": 0.70, "technique": 0.86,
    "outcome": 0.81,
})


def _sizes(value, name: str, low: int) -> list[int]:
    values = list(value) if isinstance(value, Sequence | np.ndarray) else [value]
    if not values:
        raise UsageError(f"{name} is empty; give a whole number or a list of them.")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise UsageError(f"{name}={value!r}: each value must be a whole number >= {low}.")
    return [int(v) for v in values]


def _check_shares(shares) -> dict[str, float]:
    if not isinstance(shares, Mapping | pd.Series) or set(shares) != set(FACTORS):
        raise UsageError(f"shares must map exactly {list(FACTORS)} to their share of the "
                         f"explained variance; got {shares!r}.")
    values = {k: float(shares[k]) for k in FACTORS}
    if any(not 0 <= v <= 1 for v in values.values()) or abs(sum(values.values()) - 1) > 1e-6:
        raise UsageError(f"shares must lie between 0 and 1 and sum to 1; got {values}. "
                         "Divide each by their sum.")
    return values


def _check_reliability(reliability) -> dict[str, float]:
    if reliability == "perfect":
        return dict.fromkeys((*FACTORS, "outcome"), 1.0)
    if reliability == "simulated":
        return dict(SIMULATED_RELIABILITY)
    if not isinstance(reliability, Mapping):
        raise UsageError('reliability must be "simulated", "perfect" or a mapping of factor '
                         f'(and "outcome") to a number in (0, 1]; got {reliability!r}.')
    unknown = sorted(set(reliability) - {*FACTORS, "outcome"})
    if unknown:
        raise UsageError(f"reliability names {unknown}; use the keys {[*FACTORS, 'outcome']}.")
    out = {**SIMULATED_RELIABILITY, **{k: float(v) for k, v in reliability.items()}}
    if any(not 0 < v <= 1 for v in out.values()):
        raise UsageError(f"every reliability must lie in (0, 1]; got {out}.")
    return out


def _check_numbers(r2, icc, n_sim, n_boot, ci_method, ci_level, method) -> None:
    if not 0 < r2 < 1 or not 0 <= icc < 1 or r2 + icc >= 1:
        raise UsageError(f"r2={r2!r} and icc={icc!r}: r2 must lie in (0, 1), icc in [0, 1) "
                         "and r2 + icc below 1 (the rest is residual variance).")
    check_positive_int(n_sim, "n_sim", "power", minimum=2)
    check_positive_int(n_boot, "n_boot", "power", minimum=10)  # every study needs intervals
    check_choice(ci_method, "ci_method", CI_METHODS, "power")
    check_ci_level(ci_level, "power")
    check_choice(method, "method", METHODS, "power")


@renamed(ci="ci_method")
@shared_parameters
def power(
    *,
    shares: Mapping[str, float],
    r2: float,
    icc: float = 0.05,
    n_coaches: int | Sequence[int],
    clients_per_coach: int | Sequence[int],
    method: str = "lmg",
    n_sim: int = 200,
    n_boot: int = 200,
    reference: str | None = "asay-lambert-1999",
    ci_level: float = 0.95,
    ci_method: CiMethod = "bca",
    factor_correlation: float = 0.3,
    reliability: Mapping[str, float] | Literal["simulated", "perfect"] = "simulated",
    seed: int | np.random.Generator | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Power:
    """Precision, power, bias and coverage of factor shares for planned study sizes.

    Parameters
    ----------
    shares : mapping of str to float
        The expected true share of the explained variance of each factor group
        (``client``, ``relationship``, ``expectancy``, ``technique``), summing to 1.
    r2 : float
        Latent R²: the share of the variance of true change the four factors explain.
    icc : float, default 0.05
        Coach intra-class correlation of true change.
    n_coaches, clients_per_coach : int or list of int
        Study sizes: every combination is simulated (clients here are the analysed clients,
        those with an outcome).
    method : str, default "lmg"
        Decomposition method, as in :func:`outcomes.shares.decomposition.decompose`; one column per
        factor.
    n_sim : int, default 200
        Simulated studies per size.
    n_boot : int, default 200
        Cluster-bootstrap replicates per simulated study (at least 10).
    reference : str or None, default "asay-lambert-1999"
        Key of :data:`outcomes.REFERENCES` whose values ``power`` tests against: relative
        shares for splits of improvement or explained variance, shares of total variance
        (the unexplained part added to the reference's residual part) for the others.
    {ci_level}
    {ci_method}
    factor_correlation : float, default 0.3
        Common correlation of the latent factors.
    reliability : "simulated", "perfect" or mapping, default "simulated"
        Squared correlation of each factor's measured score with the factor, and the
        reliability of the measured outcome (key ``"outcome"``); a mapping overrides
        :data:`SIMULATED_RELIABILITY` key by key; ``"perfect"`` measures without error.
    {seed}
        Every simulated study draws from its own seed spawned from this one, so the
        number of workers does not change the numbers.
    n_jobs : int, optional
        Worker processes (joblib; default every core).
    progress : callable, optional
        Called as ``progress(done, total)`` with the number of studies simulated so far.

    Returns
    -------
    Power

    Examples
    --------
    >>> p = power(shares={"client": .4, "relationship": .3, "expectancy": .15,
    ...                   "technique": .15}, r2=0.35, n_coaches=30, clients_per_coach=20,
    ...           reliability="perfect", n_sim=20, n_boot=50, seed=3, n_jobs=1)
    >>> p.grid("population_share").round(3).values.tolist()    # the truth, exactly
    [[0.4, 0.3, 0.15, 0.15]]
    """
    truth = _check_shares(shares)
    _check_numbers(r2, icc, n_sim, n_boot, ci_method, ci_level, method)
    rel = _check_reliability(reliability)
    coaches = _sizes(n_coaches, "n_coaches", 3)
    per_coach = _sizes(clients_per_coach, "clients_per_coach", 1)
    grid = list(itertools.product(coaches, per_coach))
    if min(c * k for c, k in grid) < 2 * len(FACTORS) + 2:
        raise UsageError("each study size needs at least 10 clients (n_coaches × "
                         "clients_per_coach) to estimate four shares.")
    model = generative_model(shares=truth, r2=r2, icc=icc,
                             factor_correlation=factor_correlation)
    names = list(FACTORS)
    ref_values, matched, scale, residual = reference_values(reference, names)
    plan = Plan(model.coefficients, model.correlation, model,
                 np.sqrt([rel[f] for f in names]),
                 float(np.sqrt(model.total_variance * (1 / rel["outcome"] - 1))),
                 method, int(n_boot), ci_method, float(ci_level), matched, scale, residual)
    sequence = seed_sequence(check_seed(seed, "power"))
    tasks = []
    for (c, k), child in zip(grid, sequence.spawn(len(grid)), strict=True):
        seeds = child.spawn(int(n_sim))
        tasks += [(c, k, seeds[i : i + CHUNK]) for i in range(0, int(n_sim), CHUNK)]
    results = run(plan, tasks, n_jobs, progress, len(grid) * int(n_sim))
    by_size: dict[tuple[int, int], list[np.ndarray]] = {}
    for (c, k, _), res in zip(tasks, results, strict=True):
        by_size.setdefault((c, k), []).append(res)
    population = population_shares(plan)
    root = sequence.entropy if isinstance(sequence.entropy, int) else None  # to repeat a run
    true = np.array([truth[f] for f in names])
    ref_full = np.full(len(names), np.nan)
    ref_full[list(matched)] = ref_values
    frames = [summarise(np.concatenate(by_size[size]), size, names, true, population,
                         ref_full) for size in grid]
    return Power(
        results=pd.concat(frames, ignore_index=True), shares=truth, r2=float(r2),
        icc=float(icc), method=method, n_sim=int(n_sim), n_boot=int(n_boot),
        reference=reference, reference_scale=scale, ci_method=ci_method,
        ci_level=float(ci_level), factor_correlation=float(factor_correlation),
        reliability=rel, seed=seed if isinstance(seed, int) else root,
    )


_LABELS = {
    "width": "expected interval width", "power": "P(interval excludes the reference)",
    "bias": "bias", "rmse": "RMSE", "coverage": "coverage of the true share",
    "coverage_population": "coverage of the population share", "mean_share": "mean estimate",
}


@dataclass(frozen=True, eq=False, repr=False)
class Power(Result):
    """Precision and power of factor shares over a grid of study sizes.

    ``results`` is the tidy frame of :meth:`table`: one row per study size, factor and
    quantity (see :data:`QUANTITIES`), with the Monte Carlo mean ``estimate``, its Monte Carlo
    ``std_error`` and ``n_sim``, the simulated studies that gave an estimate. All shares are
    relative: shares of the R² the four factors explain together.
    """

    results: pd.DataFrame
    shares: dict[str, float]
    r2: float
    icc: float
    method: str
    n_sim: int
    n_boot: int
    reference: str | None
    reference_scale: str
    ci_method: str
    ci_level: float
    factor_correlation: float
    reliability: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    def headline(self) -> str:
        """The method, the grid of study sizes and the widest expected interval."""
        sizes = self.results.drop_duplicates(["n_coaches", "clients_per_coach"]).n
        width = self.results.loc[self.results.quantity == "width", "estimate"].max()
        return (f"{self.method} shares, {len(sizes)} study size{'s' * (len(sizes) != 1)} of "
                f"{sizes.min()} to {sizes.max()} clients, {self.n_sim} studies each; "
                f"widest interval {width:.2f}")

    def table(self) -> pd.DataFrame:
        """The tidy results (a copy)."""
        return self.results.copy()

    def grid(self, quantity: str = "width") -> pd.DataFrame:
        """One quantity as a wide frame: rows (n_coaches, clients_per_coach), columns factors.

        Examples
        --------
        >>> p = power(shares={"client": .4, "relationship": .3, "expectancy": .15,
        ...                   "technique": .15}, r2=.35, n_coaches=[10, 20],
        ...           clients_per_coach=10, n_sim=10, n_boot=30, seed=1, n_jobs=1)
        >>> p.grid("width").index.names, list(p.grid().columns)
        (FrozenList(['n_coaches', 'clients_per_coach']), ['client', 'relationship', \
        'expectancy', 'technique'])
        """
        if quantity not in QUANTITIES:
            raise UsageError(f"quantity must be one of {', '.join(QUANTITIES)}; got "
                             f"{quantity!r}.")
        rows = self.results[self.results.quantity == quantity]
        wide = rows.pivot(index=["n_coaches", "clients_per_coach"], columns="factor",
                          values="estimate")
        wide.columns.name = None
        return wide[list(self.shares)]

    def summary(self) -> Summary:
        """Text report: per study size, each factor's width, power, bias and coverage."""
        level = f"{round(100 * self.ci_level, 1):g} %"
        rel = ", ".join(f"{k} {v:.2f}" for k, v in self.reliability.items())
        lines = [
            f"Precision of {self.method} factor shares: {self.n_sim} simulated studies per "
            f"size, {self.n_boot} cluster-bootstrap replicates each ({level} {self.ci_method} "
            "intervals).",
            "True shares of the explained variance: "
            + ", ".join(f"{k} {v:.2f}" for k, v in self.shares.items())
            + f"; latent R² {self.r2:.2f}, coach ICC {self.icc:.2f}, factor correlation "
            f"{self.factor_correlation:.2f}.",
            f"Measured with reliability {rel}.",
        ]
        if self.reference:
            lines.append(f"power = probability that the interval excludes {self.reference} "
                         f"({self.reference_scale} shares).")
        shown = ["population_share", "width", "bias", "rmse", "coverage", "power"]
        for (c, k), part in self.results.groupby(["n_coaches", "clients_per_coach"],
                                                 sort=False):
            wide = part.pivot(index="factor", columns="quantity", values="estimate")
            wide = wide.loc[list(self.shares), shown].reset_index()
            wide.columns.name = None
            lines += ["", f"{c} coaches × {k} clients = {c * k} clients "
                      f"({int(part.n_sim.iloc[0])} studies)", text_table(wide)]
        lines += ["", "population_share: what the estimator tends to with many clients "
                  "measured this way; bias and coverage are against the true share."]
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the settings and the tidy results."""
        return jsonable({
            "method": self.method, "shares": self.shares, "r2": self.r2, "icc": self.icc,
            "factor_correlation": self.factor_correlation, "reliability": self.reliability,
            "n_sim": self.n_sim, "n_boot": self.n_boot, "ci_method": self.ci_method,
            "ci_level": self.ci_level, "reference": self.reference,
            "reference_scale": self.reference_scale, "seed": self.seed,
            "results": self.results,
        })

    def plot(self, ax=None, *, quantity: str = "width"):
        """A quantity (default the interval width) against the number of clients, per factor.

        Error bars are ±2 Monte Carlo standard errors; one line per factor (and per
        clients-per-coach when the grid varies it). Returns the Axes.
        """
        from outcomes._plotting import PALETTE, axes_or_new

        if quantity not in QUANTITIES:
            raise UsageError(f"quantity must be one of {', '.join(QUANTITIES)}; got "
                             f"{quantity!r}.")
        ax = axes_or_new(ax)
        rows = self.results[self.results.quantity == quantity].sort_values("n")
        styles = ["-", "--", ":", "-."]
        per = sorted(rows.clients_per_coach.unique())
        for i, name in enumerate(self.shares):
            for j, k in enumerate(per):
                line = rows[(rows.factor == name) & (rows.clients_per_coach == k)]
                label = name if len(per) == 1 else f"{name}, {k} per coach"
                ax.errorbar(line.n, line.estimate, yerr=2 * line.std_error.fillna(0),
                            color=PALETTE[i % len(PALETTE)], linestyle=styles[j % 4],
                            marker="o", capsize=3, label=label)
        if quantity in ("coverage", "coverage_population", "power"):
            ax.set_ylim(0, 1.02)
        if quantity in ("coverage", "coverage_population"):
            ax.axhline(self.ci_level, color="black", linewidth=0.8)
        ax.set_xlabel("clients (coaches × clients per coach)")
        ax.set_ylabel(_LABELS.get(quantity, quantity))
        ax.legend(frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return ax
