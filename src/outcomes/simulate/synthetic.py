"""Synthetic coaching studies whose true factor shares are known.

:func:`simulate_study` draws a whole study (coaches, engagements, sessions and item-level
responses, in the canonical tables) from a generative model whose parameters *are* the
answer a decomposition should find. It serves method checks (does an estimator recover the
truth, how wide are its intervals), teaching, and the bundled sample.

The generative model
--------------------
For engagement i with coach j, four latent factor scores (client, relationship, expectancy,
technique) are drawn as ``F_i ~ N(0, R)`` with ``R`` = 1 on the diagonal and
``factor_correlation`` elsewhere. The true change on the ORS metric (0–40 points) is::

    Y_ij = μ + Σ_k b_k F_ik + u_j + e_ij,    u_j ~ N(0, τ²),   e_ij ~ N(0, σ²)

with ``μ = 5`` and total variance ``V = b'Rb + τ² + σ² = 6²``. The coefficients are solved so
that the latent R², ``b'Rb / V``, equals ``r2``; the coach intra-class correlation
``τ² / V`` equals ``icc``; and the exact Shapley (LMG) decomposition of the population R² of
Y on the four factors (Lindeman, Merenda & Gold 1980; Grömping 2007), computed from R and
``Rb`` over all 16 subsets, gives each factor its target share of R² to 1e-10. With
correlated factors a factor's Shapley share is not ``b_k²``: a correlated factor takes part
of its neighbours' share, so ``b`` is found by root-finding. Very small target shares are
out of reach when the factors correlate strongly (a :class:`~outcomes._errors.UsageError`
says so).

Observed data follow from the latent scores: the client factor drives the LOT-R, MSPSS, GSE
and URICA; the relationship factor the WAI-SR (client and coach) and the SRS; expectancy the
AHS and CEQ; technique the coherence of the technique codes and the adherence rating of each
session. Each instrument's true score is ``T = a F + √(1 − a²) S`` (S specific to the
instrument) and each item ``μ_i + s_i(λT + √(1 − λ²) ε)``, rounded to the item's response
steps and clipped to its range. ORS at intake is ``19 + 6.8 z`` plus item noise; at the start
of session s it has moved a fraction ``(1 − e^{−0.4(s−1)}) / (1 − e^{−0.4N})`` of the way
to ``intake + Y`` (N planned sessions); at the end it is ``intake + Y`` plus item noise,
clipped to 0–40. Dropout is more likely when the relationship factor is low. The full
account, with every constant, is ``docs/simulation.md``.

**Attenuation.** The truth is about latent factors. Any decomposition of observed scale
scores recovers shares attenuated by measurement error (each scale correlates with its
factor below 1, see ``truth["reliability"]``), by rounding and clipping, by the ORS noise in
the change score and by dropout, which removes end scores selectively. Expect observed
shares to be pulled toward each other and observed R² to fall below ``r2``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import check_seed
from outcomes._errors import UsageError
from outcomes._plotting import axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.io.writing import neutralise_formulas
from outcomes.simulate.generative import (
    CHANGE_MEAN,
    CHANGE_SD,
    DEFAULT_SHARES,
    FACTORS,
    ITEM_MODELS,
    expected_reliability,
    generative_model,
    item_structure,
)
from outcomes.simulate.tables import ADHERENCE_LOADING, ORS_INTAKE_SD, ORS_ITEM_NOISE, build_tables

__all__ = ["SimulatedStudy", "simulate_study"]

TABLES = ("coaches", "engagements", "sessions", "responses")


@dataclass(frozen=True, repr=False)
class SimulatedStudy(Result):
    """A synthetic study and the truth it was drawn from.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The canonical tables ``coaches``, ``engagements``, ``sessions`` and ``responses``.
    truth : dict
        True shares of explained variance, latent ``r2`` and ``icc``, the coefficients, the
        latent correlation matrix, variance components, expected reliability of each
        simulated scale, the seed and every parameter of the call.
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The truth, JSON-safe (the tables are not included)."""
        return jsonable(self.truth)

    def table(self) -> pd.DataFrame:
        """The true shares of explained variance: columns ``factor``, ``share``."""
        shares = self.truth["shares"]
        return pd.DataFrame({"factor": list(shares), "share": [float(v) for v in shares.values()]})

    def headline(self) -> str:
        """Size of the study and its true model."""
        t, counts = self.truth, self.truth["counts"]
        return (f"{counts['coaches']:,} coaches, {counts['engagements']:,} engagements, "
                f"{counts['sessions']:,} sessions; true R² {t['r2']:.3f}, coach ICC "
                f"{t['icc']:.3f} (seed {t['seed']})")

    def summary(self) -> Summary:
        """A short text account of the study and its truth."""
        t, counts = self.truth, self.truth["counts"]
        frame = self.table().assign(coefficient=[t["coefficients"][f] for f in t["shares"]])
        status = ", ".join(f"{counts[s]} {s}" for s in ("completed", "dropped", "ongoing",
                                                         "referred"))
        return Summary("\n".join([
            f"Simulated coaching study (seed {t['seed']})",
            f"{counts['coaches']} coaches, {counts['engagements']} engagements ({status}), "
            f"{counts['sessions']} sessions, {counts['responses']} item responses.",
            f"True model of ORS change: latent R² = {t['r2']:.3f}, coach ICC = {t['icc']:.3f}, "
            f"factor correlation = {t['parameters']['factor_correlation']:.2f}.",
            "Shares of explained variance (Shapley/LMG over the latent factors):",
            text_table(frame, digits=3),
            "Observed-score decompositions recover attenuated shares (measurement error).",
        ]))

    def plot(self, ax: Any = None) -> Any:
        """Bar chart of the true shares; returns the matplotlib Axes."""
        ax = axes_or_new(ax)
        frame = self.table()
        ax.barh(frame["factor"], frame["share"])
        ax.invert_yaxis()
        ax.set_xlabel("true share of explained variance")
        ax.set_xlim(0, 1)
        return ax

    def write(self, folder: str | Path) -> Path:
        """Write the four tables as CSV (UTF-8, ISO dates, no index) and ``truth.json``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            neutralise_formulas(self.tables[name]).to_csv(
                folder / f"{name}.csv", index=False, date_format="%Y-%m-%d", encoding="utf-8")
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        (folder / "truth.json").write_text(text + "\n", encoding="utf-8")
        return folder


def _number(name: str, value: Any, low: float, high: float, *, integer: bool = False,
            open_low: bool = False, open_high: bool = False, fix: str = "") -> float:
    ok_type = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool)
    if integer and ok_type:
        ok_type = float(value) == int(value)
    ok = ok_type and np.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and (
            value < high if open_high else value <= high)
    if not ok:
        lo, hi = ("(" if open_low else "["), (")" if open_high else "]")
        kind = "a whole number" if integer else "a number"
        raise UsageError(f"{name}={value!r} is not {kind} in {lo}{low}, {high}{hi}. "
                         + (fix or f"Give {name} within that range."))
    return int(value) if integer else float(value)


def _shares(shares: Any) -> dict[str, float]:
    if shares is None:
        return dict(DEFAULT_SHARES)
    if not isinstance(shares, Mapping | pd.Series):
        raise UsageError(f"shares={shares!r} is not a mapping. Give a dict such as "
                         f"{DEFAULT_SHARES}.")
    given = {str(k): v for k, v in shares.items()}
    if set(given) != set(FACTORS):
        missing = sorted(set(FACTORS) - set(given))
        unknown = sorted(set(given) - set(FACTORS))
        raise UsageError(f"shares has keys {sorted(given)} (missing {missing}, unknown "
                         f"{unknown}). Give exactly the keys {list(FACTORS)}.")
    for key in FACTORS:
        _number(f"shares[{key!r}]", given[key], 0.0, 1.0,
                fix="Give each share of explained variance between 0 and 1.")
    total = sum(float(given[k]) for k in FACTORS)
    if abs(total - 1.0) > 1e-6:
        raise UsageError(f"shares sum to {total:.6g}, not 1. They are shares of the explained "
                         "variance: divide each by their sum, or set r2 for the size of R².")
    return {k: float(given[k]) / total for k in FACTORS}


def _check(arguments: dict[str, Any]) -> dict[str, Any]:
    a = dict(arguments)
    a["n_coaches"] = _number("n_coaches", a["n_coaches"], 1, 10_000, integer=True)
    a["clients_per_coach"] = _number("clients_per_coach", a["clients_per_coach"], 1, 1_000,
                                     integer=True)
    a["sessions_mean"] = _number("sessions_mean", a["sessions_mean"], 1, 20)
    a["shares"] = _shares(a["shares"])
    a["r2"] = _number("r2", a["r2"], 0, 1, open_low=True, open_high=True)
    a["icc"] = _number("icc", a["icc"], 0, 1, open_high=True)
    if a["r2"] + a["icc"] >= 1:
        raise UsageError(f"r2={a['r2']} and icc={a['icc']} leave no residual variance "
                         "(r2 + icc must be below 1). Lower one of them.")
    a["factor_correlation"] = _number(
        "factor_correlation", a["factor_correlation"], -1 / 3, 1, open_low=True,
        open_high=True, fix="Four factors with one common correlation need it in "
        "(-1/3, 1) for the correlation matrix to be positive definite.")
    a["dropout"] = _number("dropout", a["dropout"], 0, 0.9)
    a["missing_items"] = _number("missing_items", a["missing_items"], 0, 0.5)
    try:
        a["start"] = pd.Timestamp(a["start"]).normalize().date().isoformat()
    except (ValueError, TypeError):
        raise UsageError(f"start={a['start']!r} is not a date. Use YYYY-MM-DD.") from None
    if a["seed"] is None:
        a["seed"] = int(np.random.SeedSequence().generate_state(1)[0])  # fresh, recorded
    elif not isinstance(check_seed(a["seed"], "simulate_study"), int):
        raise UsageError(f"simulate_study: seed must be a whole number, not {a['seed']!r}: "
                         "it is recorded in the truth. Give an integer seed, or None for a "
                         "fresh one (recorded too).")
    return a


def simulate_study(
    *,
    n_coaches: int = 60,
    clients_per_coach: int = 20,
    sessions_mean: float = 8.0,
    shares: Mapping[str, float] | None = None,
    r2: float = 0.35,
    icc: float = 0.05,
    factor_correlation: float = 0.3,
    dropout: float = 0.12,
    missing_items: float = 0.02,
    seed: int | None = None,
    start: str = "2024-01-08",
) -> SimulatedStudy:
    """Draw a synthetic coaching study whose true factor shares are known.

    Parameters
    ----------
    n_coaches, clients_per_coach : int, default 60 and 20
        Coaches, and engagements (one client each) per coach.
    sessions_mean : float, default 8.0
        Mean planned sessions: ``1 + Poisson(sessions_mean − 1)``, clipped to 1–20.
    shares : mapping, optional
        True share of the explained variance per factor group (``client``,
        ``relationship``, ``expectancy``, ``technique``), summing to 1. Default 40/30/15/15
        (Asay & Lambert 1999).
    r2 : float, default 0.35
        Latent R²: the share of the variance of true change the four factors explain.
    icc : float, default 0.05
        Coach intra-class correlation of true change (therapist effects are about 5 %:
        Wampold & Brown 2005; Johns et al. 2019).
    factor_correlation : float, default 0.3
        The common correlation of the four latent factors, in (−1/3, 1).
    dropout : float, default 0.12
        Mean probability that an engagement is dropped (higher when the alliance is weak).
    missing_items : float, default 0.02
        Probability that any one item response is missing (its row is absent).
    seed : int, optional
        Seed of the random generator; the same seed gives identical tables. When None, a
        fresh seed is drawn and recorded in ``truth["seed"]``.
    start : str, default "2024-01-08"
        First possible start date; engagements start over the following year.

    Returns
    -------
    SimulatedStudy

    Examples
    --------
    >>> study = simulate_study(n_coaches=4, clients_per_coach=5, seed=1)
    >>> sorted(study.tables)
    ['coaches', 'engagements', 'responses', 'sessions']
    >>> len(study.tables["engagements"])
    20
    >>> study.table()
             factor  share
    0        client   0.40
    1  relationship   0.30
    2    expectancy   0.15
    3     technique   0.15
    """
    a = _check(dict(n_coaches=n_coaches, clients_per_coach=clients_per_coach,
                    sessions_mean=sessions_mean, shares=shares, r2=r2, icc=icc,
                    factor_correlation=factor_correlation, dropout=dropout,
                    missing_items=missing_items, seed=seed, start=start))
    model = generative_model(shares=a["shares"], r2=a["r2"], icc=a["icc"],
                             factor_correlation=a["factor_correlation"])
    rng = np.random.default_rng(a["seed"])
    tables, counts = build_tables(model, a, rng)
    return SimulatedStudy(tables=tables, truth=_truth(model, a, counts))


def _truth(model, a: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    reliability: dict[str, dict[str, Any]] = {
        key: expected_reliability(item_structure(key.split(":")[0]), item_model)
        for key, item_model in ITEM_MODELS.items()
    }
    noise = 4 * ORS_ITEM_NOISE**2  # four ORS items, each with its own noise
    reliability["ors"] = {"factor": "outcome", "n_items": 4,
                          "reliability": ORS_INTAKE_SD**2 / (ORS_INTAKE_SD**2 + noise)}
    reliability["ors-change"] = {"factor": "outcome", "n_items": 8,
                                 "reliability": CHANGE_SD**2 / (CHANGE_SD**2 + 2 * noise)}
    reliability["adherence"] = {"factor": "technique", "n_items": 1,
                                "factor_validity": ADHERENCE_LOADING**2}  # one session
    corr = {f: dict(zip(FACTORS, row.tolist(), strict=True))
            for f, row in zip(FACTORS, model.correlation, strict=True)}
    return {
        "outcome": "true change in ORS total (end minus intake), 0-40 metric",
        "factors": list(FACTORS),
        "shares": dict(model.shares),
        "r2": model.r2,
        "icc": model.icc,
        "coefficients": dict(zip(FACTORS, model.coefficients.tolist(), strict=True)),
        "latent_correlation": corr,
        "variance": {"explained": model.explained_variance, "coach": model.coach_variance,
                     "residual": model.residual_variance, "total": model.total_variance},
        "change_mean": CHANGE_MEAN,
        "change_sd": CHANGE_SD,
        "reliability": reliability,
        "seed": a["seed"],
        "parameters": a,
        "counts": counts,
    }
