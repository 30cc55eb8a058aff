"""The simulation behind :func:`outcomes.shares.power.power`: one study at the analysis level.

Each simulated study draws latent factor scores, coach effects and true change from the
generative model (:mod:`outcomes.simulate.generative`), measures factors and outcome with error,
and bootstraps the factor shares with coaches resampled whole, using the same engine as
:func:`outcomes.decompose` (:func:`outcomes.shares.metrics.method_shares` on the
correlation matrix of each replicate). :func:`summarise` turns the studies of one size into
Monte Carlo means with their standard errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import UsageError
from outcomes.reference import REFERENCES
from outcomes.shares.bootstrap import bootstrap
from outcomes.shares.metrics import full_r2, method_shares
from outcomes.shares.moments import UnitMoments, correlation
from outcomes.simulate.generative import draw_latent

__all__ = ["CHUNK", "Plan", "QUANTITIES", "reference_values", "population_shares", "run",
           "seed_sequence", "summarise"]

#: The quantities of :meth:`outcomes.shares.power.Power.table`, in order.
QUANTITIES = ("true_share", "population_share", "reference", "mean_share", "bias", "rmse",
              "width", "coverage", "coverage_population", "power")

CHUNK = 25  # simulated studies per task


@dataclass(frozen=True)
class Plan:
    """Everything one simulated study needs, shared by all tasks."""

    coefficients: np.ndarray
    correlation: np.ndarray
    model: Any
    loading: np.ndarray  # √ρ_k
    outcome_noise: float  # SD of δ
    method: str
    n_boot: int
    ci_method: str
    ci_level: float
    matched: tuple[int, ...]  # factors the reference names
    scale: str  # "relative" or "absolute"
    residual: int | None  # factor index that takes 1 − R² (total-variance splits)


def _statistic(method: str, p: int) -> Callable[[np.ndarray], np.ndarray]:
    players = [[k] for k in range(p)]

    def statistic(cross: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            P = correlation(cross)
            out = np.full((len(cross), p + 1), np.nan)
            good = np.all(np.isfinite(P), axis=(-2, -1))
            if good.any():
                try:
                    out[good] = np.column_stack([method_shares(P[good], players, method),
                                                 full_r2(P[good])])
                except np.linalg.LinAlgError:
                    pass
        return out

    return statistic


def _relative(rows: np.ndarray) -> np.ndarray:
    shares = rows[:, :-1]
    with np.errstate(all="ignore"):
        return shares / shares.sum(axis=1, keepdims=True)


def _compared(plan: Plan) -> Callable[[np.ndarray], np.ndarray]:
    """Rows of statistics -> the quantities set beside the reference's values."""
    cols = list(plan.matched)

    def fn(rows: np.ndarray) -> np.ndarray:
        picked = rows[:, cols]
        if plan.scale == "relative":
            with np.errstate(all="ignore"):
                return picked / picked.sum(axis=1, keepdims=True)
        out = picked.copy()
        if plan.residual is not None:
            out[:, cols.index(plan.residual)] += 1 - rows[:, -1]
        return out

    return fn


def one_study(plan: Plan, n_coaches: int, per_coach: int, seed) -> np.ndarray:
    """One simulated study: per factor, estimate and interval; then the reference's interval."""
    rng = np.random.default_rng(seed)
    draw = draw_latent(plan.model, n_coaches, per_coach, rng)
    noise = rng.standard_normal(draw.factors.shape)
    measured = plan.loading * draw.factors + np.sqrt(1 - plan.loading**2) * noise
    outcome = draw.change + plan.outcome_noise * rng.standard_normal(len(draw.change))
    units = UnitMoments.from_arrays(np.column_stack([measured, outcome]), units=draw.coach)
    p = len(plan.loading)
    draws = bootstrap(units, _statistic(plan.method, p), n_boot=plan.n_boot, seed=rng,
                      jackknife=plan.ci_method == "bca")
    out = np.full((p, 5), np.nan)
    if len(draws.replicates) < 2 or not np.all(np.isfinite(draws.estimate)):
        return out
    relative = draws.map(_relative)
    out[:, 0] = relative.estimate
    out[:, 1], out[:, 2] = relative.interval(plan.ci_method, plan.ci_level)
    if plan.matched:
        low, high = draws.map(_compared(plan)).interval(plan.ci_method,
                                                             plan.ci_level)
        out[list(plan.matched), 3], out[list(plan.matched), 4] = low, high
    return out


def _chunk(plan: Plan, n_coaches: int, per_coach: int, seeds) -> np.ndarray:
    return np.stack([one_study(plan, n_coaches, per_coach, s) for s in seeds])


def population_shares(plan: Plan) -> np.ndarray:
    """The estimator's value on the measured scores in the population (relative shares)."""
    load, R, b = plan.loading, plan.correlation, plan.coefficients
    p = len(load)
    cov = np.empty((p + 1, p + 1))
    cov[:p, :p] = np.outer(load, load) * R + np.diag(1 - load**2)
    cov[:p, p] = cov[p, :p] = load * (R @ b)
    cov[p, p] = plan.model.total_variance + plan.outcome_noise**2
    return _relative(_statistic(plan.method, p)(cov[None]))[0]


def reference_values(reference: str | None, names: Sequence[str]):
    """(values, matched indices, scale, residual index) for a reference key."""
    if reference is None:
        return np.array([]), (), "relative", None
    if reference not in REFERENCES:
        raise UsageError(f"reference {reference!r} is not a known split; use one of "
                         f"{', '.join(REFERENCES)} (outcomes references), or None.")
    split = REFERENCES[reference]
    matched = tuple(i for i, f in enumerate(names) if f in split.shares)
    if not matched:
        raise UsageError(f"reference {reference!r} names none of the factors {list(names)} "
                         f"(its parts: {', '.join(split.shares)}); choose another reference "
                         "or None.")
    values = np.array([split.shares[names[i]] for i in matched], dtype=float)
    scale = "relative" if split.denominator in ("improvement", "explained") else "absolute"
    if scale == "relative":
        values = values / values.sum()
    residual = names.index(split.residual) if split.residual in names else None
    return values, matched, scale, residual


def seed_sequence(seed) -> np.random.SeedSequence:
    """The root of every simulated study's seed (a Generator gives one from its stream)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    return np.random.SeedSequence(seed)


def run(plan, tasks, n_jobs, progress, total) -> list[np.ndarray]:
    import joblib

    workers = max(1, min(int(joblib.effective_n_jobs(-1 if n_jobs is None else n_jobs)),
                         len(tasks)))
    if workers == 1:
        stream: Any = (_chunk(plan, c, k, s) for c, k, s in tasks)
    else:
        stream = joblib.Parallel(n_jobs=workers, return_as="generator")(
            joblib.delayed(_chunk)(plan, c, k, s) for c, k, s in tasks)
    results, done = [], 0
    for (_, _, seeds), res in zip(tasks, stream, strict=True):
        results.append(res)
        done += len(seeds)
        if progress is not None:
            progress(done, total)
    return results


def summarise(sims: np.ndarray, size, names, true, population, ref) -> pd.DataFrame:
    """Monte Carlo means and their standard errors, per factor and quantity."""
    ok = np.all(np.isfinite(sims[:, :, :3]), axis=(1, 2))
    est, low, high = sims[ok, :, 0], sims[ok, :, 1], sims[ok, :, 2]
    n = int(ok.sum())
    root = np.sqrt(max(n, 1))

    def mean_se(x):
        return x.mean(axis=0), x.std(axis=0, ddof=1) / root

    def rate(hit):
        p = hit.mean(axis=0)
        return p, np.sqrt(p * (1 - p) / max(n, 1))

    err2 = (est - true) ** 2
    rmse = np.sqrt(err2.mean(axis=0))
    with np.errstate(all="ignore"):
        outside = (sims[ok, :, 3] > ref) | (sims[ok, :, 4] < ref)
        found = {
            "true_share": (true, np.full_like(true, np.nan)),
            "population_share": (population, np.full_like(true, np.nan)),
            "reference": (ref, np.full_like(true, np.nan)),
            "mean_share": mean_se(est),
            "bias": (est.mean(axis=0) - true, mean_se(est)[1]),
            "rmse": (rmse, err2.std(axis=0, ddof=1) / root / (2 * rmse)),
            "width": mean_se(high - low),
            "coverage": rate((low <= true) & (true <= high)),
            "coverage_population": rate((low <= population) & (population <= high)),
            "power": tuple(np.where(np.isnan(ref), np.nan, v) for v in rate(outside)),
        }
    c, k = size
    return pd.DataFrame([
        {"n_coaches": c, "clients_per_coach": k, "n": c * k, "factor": f, "quantity": q,
         "estimate": float(found[q][0][i]), "std_error": float(found[q][1][i]), "n_sim": n}
        for q in QUANTITIES for i, f in enumerate(names)
    ])


