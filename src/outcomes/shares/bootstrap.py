"""Case and cluster bootstrap of statistics computed from sufficient statistics.

A replicate draws units (rows, or whole clusters such as coaches) with replacement. Rather
than copying rows, each replicate is a vector of counts per unit, and its cross-product
matrix is a weighted sum of the per-unit sums in :class:`outcomes.shares.moments.UnitMoments`; all
replicates are formed at once with matrix products. Resampling coaches whole is consistent
when clients are nested in coaches (Field & Welsh 2007, *JRSS B* 69(3):369-390).

Intervals are percentile or bias-corrected and accelerated (BCa; Efron 1987, *JASA*
82:171-185): ``z0 = Phi^-1(#{theta* < theta_hat} / B)`` (ties count one half), acceleration
``a = sum (mean - theta_(i))^3 / (6 [sum (mean - theta_(i))^2]^(3/2))`` from the jackknife over
the resampled units (leave one cluster out when clustered), and the interval ends are the
``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))`` quantiles of the replicates.

Examples
--------
>>> x = np.random.default_rng(3).normal(size=(40, 2))
>>> units = UnitMoments.from_arrays(x)
>>> corr = lambda cross: (cross[:, 0, 1] / np.sqrt(cross[:, 0, 0] * cross[:, 1, 1]))[:, None]
>>> d = bootstrap(units, corr, n_boot=500, seed=1)
>>> d.replicates.shape, d.jackknife.shape
((500, 1), (40, 1))
>>> low, high = d.interval("bca", 0.95)
>>> bool(low[0] < d.estimate[0] < high[0])
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from outcomes._checks import check_choice, check_ci_level, check_n_boot, check_seed
from outcomes._errors import UsageError
from outcomes.shares.moments import UnitMoments

__all__ = [
    "Draws",
    "bootstrap",
    "resample_counts",
    "percentile_interval",
    "bca_interval",
    "rank_probabilities",
    "MAX_JACKKNIFE",
    "CI_METHODS",
    "CiMethod",
]

#: The ways of reading an interval from the replicates (``ci_method``).
CI_METHODS = ("bca", "percentile")
#: The interval methods, as a type.
CiMethod = Literal["bca", "percentile"]

MAX_JACKKNIFE = 1000  # above this many units, the jackknife leaves out groups of units
_CHUNK = 250  # replicates evaluated together


@dataclass(frozen=True, eq=False)
class Draws:
    """A statistic's estimate with its bootstrap replicates and jackknife values.

    Parameters
    ----------
    estimate : ndarray of shape (m,)
        The statistic on the full data.
    replicates : ndarray of shape (B, m)
        The statistic on each bootstrap replicate (failed replicates removed).
    jackknife : ndarray of shape (G, m) or None
        The statistic with each unit (or group of units) left out; needed for BCa.
    n_failed : int
        Replicates dropped because the statistic could not be computed on them.
    """

    estimate: np.ndarray
    replicates: np.ndarray
    jackknife: np.ndarray | None = None
    n_failed: int = 0

    def map(self, fn: Callable[[np.ndarray], np.ndarray]) -> Draws:
        """Apply ``fn`` (rows of statistics -> rows of derived statistics) to every draw."""
        jack = None if self.jackknife is None else fn(self.jackknife)
        return Draws(fn(self.estimate[None, :])[0], fn(self.replicates), jack, self.n_failed)

    def std_error(self) -> np.ndarray:
        """Bootstrap standard error of each statistic."""
        return self.replicates.std(axis=0, ddof=1)

    def interval(self, method: str, ci_level: float) -> tuple[np.ndarray, np.ndarray]:
        """``(ci_low, ci_high)`` by ``"percentile"`` or ``"bca"`` (the ``ci_method``)."""
        check_choice(method, "ci_method", CI_METHODS, "Draws.interval")
        ci_level = check_ci_level(ci_level, "Draws.interval")
        if method == "percentile":
            return percentile_interval(self.replicates, ci_level)
        if self.jackknife is None:
            raise UsageError("BCa intervals need jackknife values; use "
                             "ci_method='percentile'.")
        return bca_interval(self.estimate, self.replicates, self.jackknife, ci_level)


def resample_counts(n_units: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each unit is drawn in each of ``n_boot`` replicates (``(n_boot, n_units)``).

    Examples
    --------
    >>> c = resample_counts(5, 3, np.random.default_rng(0))
    >>> c.shape, c.sum(axis=1).tolist()
    ((3, 5), [5, 5, 5])
    """
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot)


def bootstrap(
    units: UnitMoments,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int,
    seed=None,
    jackknife: bool = True,
) -> Draws:
    """Bootstrap ``statistic`` over the units of ``units``.

    Parameters
    ----------
    units : UnitMoments
        Per-unit sums (one unit per row for a case bootstrap, per cluster otherwise).
    statistic : callable
        Maps centred cross-product matrices ``(b, k, k)`` to statistics ``(b, m)``; a row
        that cannot be computed should hold NaN.
    n_boot : int
        Number of replicates.
    seed : int or numpy Generator, optional
        Seed for ``np.random.default_rng``; the same seed gives the same draws.
    jackknife : bool, default True
        Also compute leave-one-unit-out values (for BCa). With more than
        ``MAX_JACKKNIFE`` units, units are split at random into that many groups and a
        group is left out at a time.

    Returns
    -------
    Draws
    """
    n_boot = check_n_boot(n_boot, "bootstrap")
    rng = np.random.default_rng(check_seed(seed, "bootstrap"))
    estimate = statistic(units.combine(np.ones((1, units.n_units))))[0]
    counts = resample_counts(units.n_units, n_boot, rng)
    reps = np.concatenate(
        [statistic(units.combine(counts[i : i + _CHUNK])) for i in range(0, n_boot, _CHUNK)]
    )
    ok = np.all(np.isfinite(reps), axis=1)
    jack = None
    if jackknife:
        pooled = units
        if units.n_units > MAX_JACKKNIFE:
            group = rng.permutation(units.n_units) % MAX_JACKKNIFE
            pooled = _regroup(units, group)
        loo = pooled.leave_one_out()
        jack = np.concatenate(
            [statistic(loo[i : i + _CHUNK]) for i in range(0, len(loo), _CHUNK)]
        )
        jack = jack[np.all(np.isfinite(jack), axis=1)]
    return Draws(estimate, reps[ok], jack, int((~ok).sum()))


def _regroup(units: UnitMoments, group: np.ndarray) -> UnitMoments:
    n = group.max() + 1
    k = units.first.shape[1]
    weight = np.bincount(group, units.weight, minlength=n)
    first = np.zeros((n, k))
    np.add.at(first, group, units.first)
    second = np.zeros((n, k, k))
    np.add.at(second, group, units.second)
    return UnitMoments(weight, first, second, units.centre)


def percentile_interval(replicates, ci_level: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``(1 - ci_level) / 2`` and ``(1 + ci_level) / 2`` quantiles of the replicates.

    Examples
    --------
    >>> low, high = percentile_interval(np.arange(101.0)[:, None], 0.9)
    >>> round(float(low[0]), 6), round(float(high[0]), 6)
    (5.0, 95.0)
    """
    reps = np.asarray(replicates, dtype=float)
    alpha = (1 - ci_level) / 2
    if len(reps) == 0:
        nan = np.full(reps.shape[1:], np.nan)
        return nan, nan.copy()
    return np.quantile(reps, alpha, axis=0), np.quantile(reps, 1 - alpha, axis=0)


def bca_interval(estimate, replicates, jackknife, ci_level: float):
    """Bias-corrected and accelerated interval (Efron 1987), per column.

    Examples
    --------
    >>> reps = np.random.default_rng(0).normal(size=(4000, 1))
    >>> jack = np.linspace(-0.1, 0.1, 50)[:, None]
    >>> low, high = bca_interval(np.zeros(1), reps, jack, 0.95)
    >>> bool(abs(low[0] + 1.96) < 0.15 and abs(high[0] - 1.96) < 0.15)
    True
    """
    theta = np.asarray(estimate, dtype=float)
    reps = np.asarray(replicates, dtype=float)
    jack = np.asarray(jackknife, dtype=float)
    b = len(reps)
    if b == 0:
        nan = np.full(theta.shape, np.nan)
        return nan, nan.copy()
    from scipy.special import ndtr, ndtri  # here, so that importing the package stays quick

    below = (reps < theta).sum(axis=0) + 0.5 * (reps == theta).sum(axis=0)
    z0 = ndtri(np.clip(below / b, 0.5 / b, 1 - 0.5 / b))
    dev = jack.mean(axis=0) - jack
    num = (dev**3).sum(axis=0)
    den = 6 * ((dev**2).sum(axis=0)) ** 1.5
    with np.errstate(invalid="ignore", divide="ignore"):
        accel = np.where(den > 0, num / den, 0.0)
    z = ndtri(np.array([(1 - ci_level) / 2, (1 + ci_level) / 2]))[:, None]
    shifted = z0 + z
    with np.errstate(invalid="ignore", divide="ignore"):
        levels = ndtr(z0 + shifted / (1 - accel * shifted))
    levels = np.nan_to_num(levels, nan=0.5)
    low = np.array([np.quantile(reps[:, j], levels[0, j]) for j in range(reps.shape[1])])
    high = np.array([np.quantile(reps[:, j], levels[1, j]) for j in range(reps.shape[1])])
    return low, high


def rank_probabilities(replicates) -> np.ndarray:
    """Share of replicates in which each statistic takes each rank (1 = largest).

    Returns an array ``(m, m)``: row = statistic, column = rank - 1. Ties share the lower
    rank in order of position.

    Examples
    --------
    >>> rank_probabilities(np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 1.0]])).round(3).tolist()
    [[0.667, 0.333], [0.333, 0.667]]
    """
    reps = np.asarray(replicates, dtype=float)
    m = reps.shape[1]
    if len(reps) == 0:
        return np.full((m, m), np.nan)
    order = np.argsort(-reps, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(m)[None, :].repeat(len(reps), 0), axis=1)
    out = np.zeros((m, m))
    for j in range(m):
        out[j] = np.bincount(ranks[:, j], minlength=m) / len(reps)
    return out
