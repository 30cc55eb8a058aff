"""The latent model behind :func:`outcomes.simulate_study`, and its item generator.

Two halves. The first is the population model of outcome change: four correlated latent
factor scores per engagement, a coach random intercept and a residual, with coefficients
solved so that the exact Shapley (LMG) decomposition of the population R² hits the target
shares. The second turns latent true scores into item responses on each instrument's
response range (discretised, reverse-keyed items stored reversed, fillers as noise).

The maths is written out in ``docs/simulation.md`` and in :mod:`outcomes.simulate.synthetic`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from math import factorial
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize

from outcomes import instruments
from outcomes._errors import UsageError

__all__ = [
    "FACTORS",
    "DEFAULT_SHARES",
    "CHANGE_MEAN",
    "CHANGE_SD",
    "GenerativeModel",
    "generative_model",
    "shapley_r2",
    "Latent",
    "draw_latent",
]

#: The four common-factor groups, in the order used for every vector and matrix.
FACTORS = ("client", "relationship", "expectancy", "technique")

#: Asay & Lambert (1999): 40/30/15/15.
DEFAULT_SHARES = {"client": 0.40, "relationship": 0.30, "expectancy": 0.15, "technique": 0.15}

#: Mean and standard deviation of the true change on the ORS metric (0–40 points). An ORS
#: gain of about 5 points is the reliable-change size of Miller et al. (2003); coaching
#: samples gain about half a standard deviation of intake scores (de Haan & Nilsson 2023,
#: g ≈ .59), which on an intake SD of 7 is 4 points; 5 is a round value between the two.
CHANGE_MEAN = 5.0
CHANGE_SD = 6.0


def _subset_r2(sigma: np.ndarray, cov_y: np.ndarray, var_y: float, members: list[int]) -> float:
    if not members:
        return 0.0
    block = sigma[np.ix_(members, members)]
    c = cov_y[members]
    return float(c @ np.linalg.solve(block, c)) / var_y


def shapley_r2(sigma_xx: np.ndarray, sigma_xy: np.ndarray, var_y: float) -> np.ndarray:
    """Exact Shapley (LMG) decomposition of the population R², from covariances.

    Each predictor is one player. R² of a subset S is
    ``σ_Sy' Σ_SS⁻¹ σ_Sy / var_y``; the value of player k is the weighted mean of its
    increments over all subsets S without k, with weight ``|S|! (p − |S| − 1)! / p!``
    (Lindeman, Merenda & Gold 1980; Grömping 2007). All 2^p subsets are visited, so keep
    p small (four factors: 16 subsets).

    Examples
    --------
    >>> sigma = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> phi = shapley_r2(sigma, sigma @ np.array([1.0, 0.0]), 2.0)
    >>> [round(float(v), 6) for v in phi], round(float(phi.sum()), 6)  # R² = 1/2
    ([0.4375, 0.0625], 0.5)
    """
    sigma_xx = np.asarray(sigma_xx, float)
    sigma_xy = np.asarray(sigma_xy, float)
    p = len(sigma_xy)
    r2 = [
        _subset_r2(sigma_xx, sigma_xy, var_y, [i for i in range(p) if mask >> i & 1])
        for mask in range(1 << p)
    ]
    phi = np.zeros(p)
    for k in range(p):
        for mask in range(1 << p):
            if mask >> k & 1:
                continue
            size = bin(mask).count("1")
            weight = factorial(size) * factorial(p - size - 1) / factorial(p)
            phi[k] += weight * (r2[mask | 1 << k] - r2[mask])
    return phi


def _relative_shares(b: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    phi = shapley_r2(sigma, sigma @ b, 1.0)
    return phi / phi.sum()


def _solve_direction(target: np.ndarray, sigma: np.ndarray) -> np.ndarray | None:
    """Coefficients b with b'Σb = 1 whose Shapley shares of R² equal ``target``."""
    b = np.sqrt(np.maximum(target, 1e-6))
    b /= np.sqrt(b @ sigma @ b)
    for _ in range(200):  # multiplicative fixed point: a good start for the root finder
        rel = _relative_shares(b, sigma)
        if np.max(np.abs(rel - target)) < 1e-13:
            break
        b = b * np.sqrt(np.maximum(target, 1e-12) / np.maximum(rel, 1e-12))
        b /= np.sqrt(b @ sigma @ b)

    def equations(x: np.ndarray) -> np.ndarray:
        rel = _relative_shares(x, sigma)
        return np.append(rel[:-1] - target[:-1], x @ sigma @ x - 1.0)

    solution = optimize.root(equations, b, method="hybr", options={"xtol": 1e-15})
    b = solution.x if np.all(np.isfinite(solution.x)) else b
    b = b / np.sqrt(b @ sigma @ b)
    if np.max(np.abs(_relative_shares(b, sigma) - target)) > 1e-10:
        return None
    return b if b.sum() >= 0 else -b


@dataclass(frozen=True)
class GenerativeModel:
    """The population model of true outcome change (ORS points).

    ``change = CHANGE_MEAN + Σ_k b_k F_k + u_coach + e`` with ``F ~ N(0, R)``,
    ``u ~ N(0, τ²)``, ``e ~ N(0, σ²)``; ``b'Rb = r2·V``, ``τ² = icc·V``,
    ``σ² = (1 − r2 − icc)·V`` and ``V = CHANGE_SD²``.
    """

    shares: dict[str, float]
    r2: float
    icc: float
    factor_correlation: float
    coefficients: np.ndarray
    correlation: np.ndarray
    change_mean: float = CHANGE_MEAN
    change_sd: float = CHANGE_SD
    factors: tuple[str, ...] = field(default=FACTORS)

    @property
    def total_variance(self) -> float:
        return self.change_sd**2

    @property
    def explained_variance(self) -> float:
        return float(self.coefficients @ self.correlation @ self.coefficients)

    @property
    def coach_variance(self) -> float:
        return self.icc * self.total_variance

    @property
    def residual_variance(self) -> float:
        return self.total_variance - self.explained_variance - self.coach_variance

    def population_shares(self) -> dict[str, float]:
        """Shapley shares of the population R², recomputed from the coefficients."""
        sigma = self.correlation
        phi = shapley_r2(sigma, sigma @ self.coefficients, self.total_variance)
        return dict(zip(self.factors, (phi / phi.sum()).tolist(), strict=True))

    def population_r2(self) -> float:
        """R² of change on the four factors in the population (coach effect as error)."""
        return self.explained_variance / self.total_variance


def generative_model(
    *,
    shares: Mapping[str, float],
    r2: float,
    icc: float,
    factor_correlation: float,
) -> GenerativeModel:
    """Solve the coefficients of the latent model for the target shares, R² and ICC.

    ``shares`` must hold the four factors (checked by the caller) and sum to 1.

    Examples
    --------
    >>> m = generative_model(shares=DEFAULT_SHARES, r2=0.35, icc=0.05, factor_correlation=0.3)
    >>> {k: round(v, 8) for k, v in m.population_shares().items()}
    {'client': 0.4, 'relationship': 0.3, 'expectancy': 0.15, 'technique': 0.15}
    >>> round(m.population_r2(), 10)
    0.35
    """
    p = len(FACTORS)
    correlation = np.full((p, p), float(factor_correlation))
    np.fill_diagonal(correlation, 1.0)
    target = np.array([float(shares[k]) for k in FACTORS])
    direction = _solve_direction(target, correlation)
    if direction is None:
        raise UsageError(
            f"shares {dict(shares)} cannot be reached with factor_correlation="
            f"{factor_correlation}: correlated factors take part of each other's share, "
            "so a very small share needs a weaker correlation. Raise the smallest share "
            "or lower factor_correlation (0 reaches any split)."
        )
    coefficients = direction * np.sqrt(r2) * CHANGE_SD
    return GenerativeModel(
        shares={k: float(v) for k, v in zip(FACTORS, target, strict=True)},
        r2=float(r2),
        icc=float(icc),
        factor_correlation=float(factor_correlation),
        coefficients=coefficients,
        correlation=correlation,
    )


class Latent(NamedTuple):
    """One draw of the latent model: one row per engagement."""

    coach: np.ndarray  # coach index per engagement
    factors: np.ndarray  # (n, 4) factor scores, columns in FACTORS order
    coach_effect: np.ndarray  # u of the engagement's coach
    residual: np.ndarray
    change: np.ndarray  # true change in ORS points


def draw_latent(
    model: GenerativeModel, n_coaches: int, clients_per_coach: int, rng: np.random.Generator
) -> Latent:
    """Draw factor scores, coach effects, residuals and true change.

    Examples
    --------
    >>> m = generative_model(shares=DEFAULT_SHARES, r2=0.35, icc=0.05, factor_correlation=0.3)
    >>> draw = draw_latent(m, 3, 4, np.random.default_rng(1))
    >>> draw.factors.shape, draw.coach.tolist()
    ((12, 4), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    """
    n = n_coaches * clients_per_coach
    coach = np.repeat(np.arange(n_coaches), clients_per_coach)
    chol = np.linalg.cholesky(model.correlation)
    factors = rng.standard_normal((n, len(model.factors))) @ chol.T
    u = rng.standard_normal(n_coaches) * np.sqrt(model.coach_variance)
    residual = rng.standard_normal(n) * np.sqrt(max(model.residual_variance, 0.0))
    change = model.change_mean + factors @ model.coefficients + u[coach] + residual
    return Latent(coach, factors, u[coach], residual, change)


# --------------------------------------------------------------------------- items


class Structure(NamedTuple):
    """What the item generator needs to know of an instrument's form."""

    key: str
    items: tuple[int, ...]
    low: np.ndarray  # per item
    high: np.ndarray
    step: np.ndarray  # distance between possible answers (0.1 where decimals are allowed)
    reverse: frozenset[int]
    unscored: frozenset[int]
    scales: Mapping[str, tuple[int, ...]]


def _from_registry(instrument) -> Structure:
    items = tuple(instrument.items)
    ranges = [instrument.range_of(i) for i in items]
    step = [r.step if r.step else (0.1 if r.decimals else 1.0) for r in ranges]
    scales = {name: tuple(scale.items) for name, scale in instrument.scales.items()
              if scale.rule != "composite"}
    return Structure(
        instrument.key, items, np.array([r.min for r in ranges], float),
        np.array([r.max for r in ranges], float), np.array(step, float),
        frozenset(instrument.reverse), frozenset(instrument.unscored), scales,
    )


def item_structure(key: str) -> Structure:
    """The form of instrument ``key``, as the instrument registry describes it.

    Examples
    --------
    >>> s = item_structure("ceq")
    >>> s.high.tolist(), s.step.tolist()
    ([9.0, 9.0, 9.0, 100.0, 9.0, 100.0], [1.0, 1.0, 1.0, 10.0, 1.0, 10.0])
    """
    return _from_registry(instruments.get(key))


def technique_codes() -> tuple[str, ...]:
    """The technique registry's codes, in the registry's order."""
    return tuple(instruments.techniques()["code"].tolist())


class ItemModel(NamedTuple):
    """How the items of one instrument follow their latent true score.

    ``position`` is the mean item response as a fraction of the response range and
    ``spread`` the item SD as a fraction of the range; both carry over to items with a wider
    range (CEQ items 4 and 6). ``positions`` overrides ``position`` per scale and the items
    of ``negative`` scales fall as the true score rises (URICA precontemplation).
    """

    factor: str
    validity: float  # a: correlation of the instrument's true score with its factor
    loading: float  # λ: loading of each scored item on the instrument's true score
    position: float
    spread: float
    positions: Mapping[str, float] = {}
    negative: tuple[str, ...] = ()


#: Loadings and levels of the simulated instruments (means from the published norms where
#: the instruments' files give them: GSE M ≈ 29, MSPSS in its "high" band, SRS near its
#: ceiling: median about 38 of 40, so that about one session in five falls below the 36
#: alliance cutoff).
ITEM_MODELS: dict[str, ItemModel] = {
    "lot-r": ItemModel("client", 0.75, 0.65, 0.62, 0.24),
    "mspss": ItemModel("client", 0.60, 0.75, 0.73, 0.22),
    "gse": ItemModel("client", 0.80, 0.65, 0.65, 0.20),
    "urica": ItemModel("client", 0.70, 0.60, 0.60, 0.21, positions={
        "precontemplation": 0.23, "contemplation": 0.75, "action": 0.70, "maintenance": 0.58,
    }, negative=("precontemplation",)),
    "ahs": ItemModel("expectancy", 0.80, 0.70, 0.71, 0.20),
    "ceq": ItemModel("expectancy", 0.75, 0.75, 0.66, 0.22),
    "wai-sr": ItemModel("relationship", 0.85, 0.75, 0.72, 0.20),
    "wai-sr:coach": ItemModel("relationship", 0.55, 0.70, 0.70, 0.18),
    "srs": ItemModel("relationship", 0.70, 0.85, 0.95, 0.08),
}


def item_values(
    structure: Structure, model: ItemModel, true_score: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Item responses, one row per respondent, one column per item of ``structure``.

    Each scored item is ``μ_i + s_i (±λ T + √(1 − λ²) ε)``, rounded to the item's step and
    clipped to its range; unscored items (fillers) are ``μ_i + s_i ε``; reverse-keyed items
    are stored as ``min + max − x`` so that scoring must reverse them back.

    Examples
    --------
    >>> s = item_structure("lot-r")
    >>> x = item_values(s, ITEM_MODELS["lot-r"], np.zeros(5), np.random.default_rng(0))
    >>> x.shape, bool(((x >= 0) & (x <= 4) & (x == np.round(x))).all())
    ((5, 10), True)
    """
    items = structure.items
    width = structure.high - structure.low
    position = np.full(len(items), model.position)
    sign = np.ones(len(items))
    for name, members in structure.scales.items():
        where = np.isin(items, members)
        position[where] = model.positions.get(name, model.position)
        if name in model.negative:
            sign[where] = -1.0
    unscored = np.isin(items, list(structure.unscored))
    position[unscored] = 0.5
    loading = np.where(unscored, 0.0, model.loading) * sign
    noise = rng.standard_normal((len(true_score), len(items)))
    z = np.asarray(true_score)[:, None] * loading + np.sqrt(1.0 - loading**2) * noise
    raw = structure.low + width * (position + model.spread * z)
    values = np.clip(np.round(raw / structure.step) * structure.step, structure.low,
                     structure.high)
    reverse = np.isin(items, list(structure.reverse))
    values[:, reverse] = (structure.low + structure.high)[reverse] - values[:, reverse]
    return np.round(values, 6)


def true_score(model: ItemModel, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``T = a F + √(1 − a²) S``: an instrument's true score from its group factor."""
    a = model.validity
    return a * factor + np.sqrt(1.0 - a**2) * rng.standard_normal(len(factor))


def expected_reliability(structure: Structure, model: ItemModel) -> dict[str, Any]:
    """Reliability and factor validity of the unit-weighted scored-item composite.

    With ``m`` scored items of loading λ, McDonald's ω = (mλ)² / ((mλ)² + m(1 − λ²)); the
    squared correlation of the composite with the group factor is a²·ω. Both are for the
    continuous responses before rounding and clipping, which lower them a little.
    """
    m = len(set(structure.items) - structure.unscored)
    lam = model.loading
    omega = (m * lam) ** 2 / ((m * lam) ** 2 + m * (1.0 - lam**2))
    return {"factor": model.factor, "n_items": m, "reliability": omega,
            "factor_validity": model.validity**2 * omega}
