"""Funnel plots and empirical-Bayes shrinkage for comparing coaches (or any units).

The pieces :func:`outcomes.practice.coach_effects.coach_effects` and the benchmark of one
practice (:mod:`outcomes.benchmarking`) share, given a unit's indicator ``y`` (its mean
difference from expected), its number of clients ``n``, the within-unit SD ``sigma``, the
target ``theta0`` and the between-unit variance ``tau2``:

- funnel limits (Spiegelhalter 2005, *Stat Med* 24(8):1185-1202), widened by additive
  over-dispersion (Spiegelhalter 2005, *Qual Saf Health Care* 14:347-351)::

      limits = theta0 +- z sqrt(sigma² / n + tau²)

  with ``z = 1.96`` (95 %) and ``3.09`` (99.8 %) (:func:`funnel_limits`, :func:`position_of`,
  :func:`draw_funnel`);
- shrinkage (empirical Bayes; Goldstein & Spiegelhalter 1996, *JRSS A* 159(3):385-443): the
  estimate of a unit's effect is ``lambda (y - theta0)`` with
  ``lambda = tau² / (tau² + sigma² / n)``, its standard error ``sqrt(lambda sigma² / n)``
  (:func:`shrink`). ``tau``, ``sigma`` and ``theta0`` are taken as known, so the intervals
  are a little narrow when there are few units.

Examples
--------
>>> position_of([0.5, 4.0], [25, 25], sigma=5.0, tau2=0.0).tolist()
['within limits', 'above 99.8 % limit']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from outcomes._checks import check_ci_level, renamed

__all__ = ["funnel_limits", "shrink", "position_of", "draw_funnel", "POSITIONS"]

POSITIONS = ("above 99.8 % limit", "above 95 % limit", "within limits", "below 95 % limit",
             "below 99.8 % limit")


def _z(ci_level: float) -> float:
    return float(ndtri(0.5 + ci_level / 2))


@renamed(level="ci_level")
def funnel_limits(n: Any, *, sigma: float, tau2: float = 0.0, theta0: float = 0.0,
                  ci_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper funnel limits at ``n`` clients: ``theta0 +- z sqrt(sigma²/n + tau²)``.

    ``ci_level`` is the share of coaches on the target a limit holds (0.95 and 0.998 are
    drawn); ``level=`` is its former name.

    Examples
    --------
    >>> low, high = funnel_limits([25], sigma=5.0, ci_level=0.95)
    >>> round(float(high[0]), 2)
    1.96
    """
    size = np.asarray(n, dtype=float)
    half = _z(check_ci_level(ci_level, "funnel_limits")) * np.sqrt(sigma ** 2 / size + tau2)
    return theta0 - half, theta0 + half


def shrink(raw: Any, n: Any, *, sigma: float, tau2: float, theta0: float = 0.0,
           ci_level: float = 0.95) -> pd.DataFrame:
    """Empirical-Bayes estimates of coach effects from raw indicators.

    Returns a frame with ``estimate = lambda (raw - theta0)``, ``std_error``, ``ci_low``,
    ``ci_high`` and the shrinkage factor ``weight`` (lambda).

    Examples
    --------
    >>> shrink([4.0], [10], sigma=6.0, tau2=1.0).round(3).to_dict("records")
    [{'estimate': 0.87, 'std_error': 0.885, 'ci_low': -0.864, 'ci_high': 2.603, 'weight': 0.217}]
    """
    raw_values = np.asarray(raw, dtype=float) - theta0
    s2 = sigma ** 2 / np.asarray(n, dtype=float)
    weight = tau2 / (tau2 + s2) if tau2 > 0 else np.zeros_like(s2)
    estimate = weight * raw_values
    se = np.sqrt(weight * s2)
    z = _z(check_ci_level(ci_level, "shrink"))
    return pd.DataFrame({"estimate": estimate, "std_error": se, "ci_low": estimate - z * se,
                         "ci_high": estimate + z * se, "weight": weight})


def position_of(raw: Any, n: Any, *, sigma: float, tau2: float, theta0: float = 0.0
                ) -> np.ndarray:
    """Where each indicator falls against the 95 % and 99.8 % limits (:data:`POSITIONS`).

    Examples
    --------
    >>> position_of([0.5, 4.0, -2.5], [25, 25, 25], sigma=5.0, tau2=0.0).tolist()
    ['within limits', 'above 99.8 % limit', 'below 95 % limit']
    """
    values = np.asarray(raw, dtype=float)
    out = np.full(values.shape, "within limits", dtype=object)
    for level, tag in ((0.95, "95 %"), (0.998, "99.8 %")):
        low, high = funnel_limits(n, sigma=sigma, tau2=tau2, theta0=theta0, ci_level=level)
        out[values > high] = f"above {tag} limit"
        out[values < low] = f"below {tag} limit"
    return out


def draw_funnel(ax=None, *, sigma: float, tau2: float, theta0: float = 0.0, n_max: float = 50,
                points: pd.DataFrame | None = None, highlight: pd.DataFrame | None = None,
                ylabel: str = "difference from expected", xlabel: str = "clients"):
    """Draw funnel limits (95 % dashed, 99.8 % dotted; widened by ``tau2``) and points.

    ``points`` and ``highlight`` have columns ``n`` and ``raw`` (and optionally ``label``);
    highlighted points are drawn large and labelled. Returns the Axes.
    """
    from outcomes._plotting import OKABE_ITO, PALETTE, axes_or_new

    ax = axes_or_new(ax, figsize=(6.4, 4.2))
    grid = np.linspace(1.0, max(float(n_max), 5.0) * 1.05, 200)
    for level, style in ((0.95, "--"), (0.998, ":")):
        low, high = funnel_limits(grid, sigma=sigma, tau2=tau2, theta0=theta0,
                                  ci_level=level)
        label = f"{round(100 * level, 1):g} % limits"
        ax.plot(grid, high, style, color="black", linewidth=1.0, label=label)
        ax.plot(grid, low, style, color="black", linewidth=1.0)
    ax.axhline(theta0, color="#777777", linewidth=0.8)
    if points is not None and len(points):
        ax.scatter(points["n"], points["raw"], s=22, color=PALETTE[0], alpha=0.8,
                   label="coaches", zorder=3)
    if highlight is not None and len(highlight):
        ax.scatter(highlight["n"], highlight["raw"], s=90, marker="D",
                   color=OKABE_ITO["vermillion"], edgecolor="black", zorder=4,
                   label=str(highlight["label"].iloc[0]) if "label" in highlight else "you")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, grid[-1])
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax
