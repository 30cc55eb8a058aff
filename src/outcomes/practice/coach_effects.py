"""Coach effects: case-mix adjusted, shrunken, in a funnel plot, never a bare league table.

:func:`coach_effects` compares each coach's clients with what was expected for clients like
them and shows the comparison the way Spiegelhalter (2005) recommends for institutional
comparisons: a funnel plot of each coach's indicator against the number of clients, with
control limits that narrow as the number grows, and empirical-Bayes estimates with
intervals instead of a ranking.

The indicator. The outcome is regressed on the case-mix covariates (OLS over all clients,
e.g. change on intake score and sponsor). A client's residual is how much better or worse
the client did than expected; a coach's indicator ``y_j`` is the mean residual of the coach's
``n_j`` clients, so the target is ``theta0 = 0``. Within coaches the residual SD is
``sigma`` (pooled, on ``N - J - p`` degrees of freedom), so ``s_j = sigma / sqrt(n_j)``.

Funnel limits (Spiegelhalter 2005, *Stat Med* 24(8):1185-1202): ``theta0 +- z sqrt(s²(n))``
with ``z = 1.96`` (95 %) and ``3.09`` (99.8 %). Coaches differ by more than chance in most
real data, so the limits are widened by the *additive* over-dispersion of Spiegelhalter
(2005, *Qual Saf Health Care* 14:347-351): with ``z_j = y_j / s_j`` winsorised at the 10th
and 90th percentiles (``winsor=0.1``, his default), ``phi = mean(z_j²)`` and weights
``w_j = 1 / s_j²``,

    tau² = max(0, (J phi - (J - 1)) / (sum w - sum w² / sum w)),
    limits = theta0 +- z sqrt(s²(n) + tau²).

Winsorising guards against a few extreme coaches inflating ``tau²`` but also trims the
genuine spread: with normal coach effects and a few dozen coaches it underestimates ``tau``
(the estimate is conservative: limits a little narrow, estimates shrunken a little more);
``winsor=0`` gives the untrimmed moment estimator (DerSimonian & Laird 1986).

Shrinkage (empirical Bayes; Goldstein & Spiegelhalter 1996, *JRSS A* 159(3):385-443): the
estimate of a coach's effect is ``lambda_j y_j`` with ``lambda_j = tau² / (tau² + s_j²)``,
its standard error ``sqrt(lambda_j) s_j``; ranks come as intervals from draws of these
posterior distributions. ``tau``, ``sigma`` and ``theta0`` are taken as known, so the
intervals are a little narrow when there are few coaches.

Privacy: coaches with fewer than ``k`` clients are estimated (they inform ``tau²``) but their
numbers are withheld, with the reason, in every face of the result.

Examples
--------
>>> rng = np.random.default_rng(1)
>>> coach = np.repeat([f"C{i:02d}" for i in range(60)], 20)
>>> effect = np.repeat(rng.normal(0, 2, 60), 20)          # true tau = 2
>>> df = pd.DataFrame({"coach_id": coach, "intake": rng.normal(20, 6, 1200)})
>>> df["change"] = 12 - 0.5 * df.intake + effect + rng.normal(0, 5, 1200)
>>> fx = coach_effects(df, outcome="change", covariates=["intake"], seed=1, winsor=0)
>>> round(fx.sigma, 1), round(fx.tau, 1), fx.coefficients.round(1).tolist()
(5.1, 1.7, [12.0, -0.5])
>>> bool(fx.table()["estimate"].abs().le(fx.table()["raw"].abs()).all())   # shrunken
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from outcomes._errors import DataError, ModelError, UsageError
from outcomes._results import jsonable, text_table
from outcomes.privacy.suppression import DEFAULT_K, check_k, suppress_counts

__all__ = ["coach_effects", "CoachEffects", "funnel_limits", "shrink", "draw_funnel",
           "position_of", "POSITIONS"]

POSITIONS = ("above 99.8 % limit", "above 95 % limit", "within limits", "below 95 % limit",
             "below 99.8 % limit")


def _z(level: float) -> float:
    return float(ndtri(0.5 + level / 2))


def funnel_limits(n: Any, *, sigma: float, tau2: float = 0.0, theta0: float = 0.0,
                  level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper funnel limits at ``n`` clients: ``theta0 +- z sqrt(sigma²/n + tau²)``.

    Examples
    --------
    >>> low, high = funnel_limits([25], sigma=5.0, level=0.95)
    >>> round(float(high[0]), 2)
    1.96
    """
    size = np.asarray(n, dtype=float)
    half = _z(level) * np.sqrt(sigma ** 2 / size + tau2)
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
    z = _z(ci_level)
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
        low, high = funnel_limits(n, sigma=sigma, tau2=tau2, theta0=theta0, level=level)
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
        low, high = funnel_limits(grid, sigma=sigma, tau2=tau2, theta0=theta0, level=level)
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


@dataclass(frozen=True, eq=False)
class CoachEffects:
    """Case-mix adjusted coach effects: raw indicators, funnel limits, shrunken estimates.

    ``coaches`` has one row per coach: ``group``, ``n``, ``observed`` (mean outcome),
    ``expected`` (mean case-mix prediction), ``raw`` (their difference), ``z``, the shrunken
    ``estimate`` with ``std_error``, ``ci_low``, ``ci_high``, a rank interval (``rank_low``,
    ``rank_high``; 1 is best), ``position`` against the funnel limits, and ``suppressed`` with
    its ``reason`` (coaches with fewer than ``k`` clients have every number withheld).
    """

    outcome: str
    group: str
    covariates: tuple[str, ...]
    coefficients: pd.Series
    sigma: float
    tau2: float
    phi: float
    n: int
    n_groups: int
    coaches: pd.DataFrame
    k: int = DEFAULT_K
    ci_level: float = 0.95
    higher_is_better: bool = True
    theta0: float = 0.0
    r2: float = float("nan")
    n_dropped: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def tau(self) -> float:
        """SD of the coaches' true effects beyond chance (additive over-dispersion)."""
        return float(np.sqrt(self.tau2))

    @property
    def icc(self) -> float:
        """Share of the adjusted outcome's variance lying between coaches."""
        return self.tau2 / (self.tau2 + self.sigma ** 2)

    @property
    def n_suppressed(self) -> int:
        """Coaches whose numbers are withheld (fewer than ``k`` clients)."""
        return int(self.coaches["suppressed"].sum())

    def limits(self, n: Any) -> pd.DataFrame:
        """The funnel limits at ``n`` clients, with and without over-dispersion."""
        rows = []
        for level in (0.95, 0.998):
            low, high = funnel_limits(n, sigma=self.sigma, tau2=self.tau2, theta0=self.theta0,
                                      level=level)
            plain = funnel_limits(n, sigma=self.sigma, theta0=self.theta0, level=level)
            rows.append(pd.DataFrame({"n": np.atleast_1d(np.asarray(n, dtype=float)),
                                      "level": level, "low": low, "high": high,
                                      "low_unadjusted": plain[0], "high_unadjusted": plain[1]}))
        return pd.concat(rows, ignore_index=True)

    def table(self) -> pd.DataFrame:
        """One row per coach, in the order of the coach ids (never by rank)."""
        return self.coaches.copy()

    def summary(self) -> str:
        """What was compared, the spread of coach effects and where the coaches fall."""
        shown = self.coaches[~self.coaches["suppressed"]]
        lines = [
            f"Coach effects on {self.outcome!r}: {self.n} clients of {self.n_groups} coaches"
            + (f", adjusted for {', '.join(self.covariates)}" if self.covariates else "")
            + f" (R² of the case-mix model {self.r2:.3f}).",
            f"Within-coach SD sigma = {self.sigma:.3f}; between-coach SD tau = {self.tau:.3f}"
            f" (additive over-dispersion, phi = {self.phi:.2f}); ICC = {self.icc:.3f}.",
            f"{len(shown)} coaches shown; {self.n_suppressed} with fewer than {self.k} "
            "clients withheld.", "",
            "Coaches by position against the funnel limits:",
        ]
        counts = shown["position"].value_counts().reindex(POSITIONS, fill_value=0)
        lines += [f"  {name}: {int(c)}" for name, c in counts.items()]
        columns = ["group", "n", "raw", "estimate", "ci_low", "ci_high", "rank_low",
                   "rank_high", "position"]
        lines += ["", text_table(shown[columns], digits=2), "",
                  f"Estimates are shrunken towards 0 (empirical Bayes) with "
                  f"{round(100 * self.ci_level, 1):g} % intervals; ranks are intervals, "
                  "not places.", *self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the model, the spread and one entry per coach (withheld ones null)."""
        return jsonable({
            "outcome": self.outcome, "group": self.group, "covariates": list(self.covariates),
            "coefficients": self.coefficients, "sigma": self.sigma, "tau": self.tau,
            "tau2": self.tau2, "phi": self.phi, "icc": self.icc, "theta0": self.theta0,
            "n": self.n, "n_groups": self.n_groups, "n_suppressed": self.n_suppressed,
            "k": self.k, "ci_level": self.ci_level, "r2": self.r2,
            "higher_is_better": self.higher_is_better, "coaches": self.coaches,
            "notes": list(self.notes),
        })

    def plot(self, ax=None, *, label: bool = False):
        """The funnel plot: each coach's raw indicator against the number of clients."""
        shown = self.coaches[~self.coaches["suppressed"]]
        ax = draw_funnel(ax, sigma=self.sigma, tau2=self.tau2, theta0=self.theta0,
                         n_max=float(shown["n"].max()) if len(shown) else 10.0, points=shown,
                         ylabel=f"{self.outcome}: difference from expected")
        if label:
            outside = shown[shown["position"] != "within limits"]
            for row in outside.itertuples():
                ax.annotate(str(row.group), (row.n, row.raw), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        return ax


def _design(data: pd.DataFrame, outcome: str, group: str, covariates: Sequence[str]
            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str], int]:
    wanted = [outcome, group, *covariates]
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise DataError(f"the data have no column {missing[0]!r}", column=missing[0],
                        fix=f"Use one of: {', '.join(map(str, data.columns))}.")
    frame = data[wanted].copy()
    frame[outcome] = pd.to_numeric(frame[outcome], errors="coerce")
    complete = frame.notna().all(axis=1)
    frame = frame[complete]
    parts = [np.ones((len(frame), 1))]
    names = ["intercept"]
    for column in covariates:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            parts.append(values.to_numpy(dtype=float)[:, None])
            names.append(column)
        else:
            levels = sorted(values.astype(str).unique())
            for level in levels[1:]:
                parts.append((values.astype(str) == level).to_numpy(dtype=float)[:, None])
                names.append(f"{column}[{level}]")
    return frame, np.hstack(parts), frame[outcome].to_numpy(dtype=float), names, int(
        (~complete).sum())


def _rank_intervals(estimate: np.ndarray, se: np.ndarray, higher_is_better: bool,
                    ci_level: float, seed: Any, draws: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sample = estimate + se * rng.standard_normal((draws, estimate.size))
    order = -sample if higher_is_better else sample
    ranks = order.argsort(axis=1).argsort(axis=1) + 1
    tail = (1 - ci_level) / 2
    return (np.floor(np.quantile(ranks, tail, axis=0)),
            np.ceil(np.quantile(ranks, 1 - tail, axis=0)))


def coach_effects(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str = "coach_id",
    covariates: Sequence[str] = (),
    k: int = DEFAULT_K,
    ci_level: float = 0.95,
    higher_is_better: bool = True,
    winsor: float = 0.1,
    seed: int | np.random.Generator | None = None,
    n_draws: int = 2000,
) -> CoachEffects:
    """Case-mix adjusted coach effects with funnel limits and empirical-Bayes shrinkage.

    Parameters
    ----------
    data : DataFrame
        One row per client (engagement); not modified.
    outcome : str
        Outcome column (e.g. ``change`` or ``end_score``).
    group : str, default "coach_id"
        Column of coach ids.
    covariates : sequence of str, default ()
        Case-mix adjusters (e.g. ``baseline``, ``sponsor``); text columns become indicators.
    k : int, default 5
        Coaches with fewer clients have their numbers withheld (at least 3).
    ci_level : float, default 0.95
        Level of the intervals of the shrunken estimates and of the rank intervals.
    higher_is_better : bool, default True
        Direction of the outcome (for positions and ranks).
    winsor : float, default 0.1
        Share winsorised at each end of the z-scores when estimating over-dispersion.
    seed : int or Generator, optional
        Seed of the draws behind the rank intervals.
    n_draws : int, default 2000
        Draws from the posterior distributions for the rank intervals.

    Returns
    -------
    CoachEffects
    """
    k = check_k(k)
    if not 0 <= winsor < 0.5:
        raise UsageError(f"winsor = {winsor} must be at least 0 and below 0.5.")
    frame, X, y, names, dropped = _design(data, outcome, group, covariates)
    groups = frame[group].astype(str).to_numpy()
    labels, codes = np.unique(groups, return_inverse=True)
    J, N, p = len(labels), len(y), X.shape[1]
    if J < 3 or N - J - (p - 1) < 2:
        raise ModelError(f"coach effects need at least 3 coaches and more clients than "
                         f"coaches; found {N} clients of {J} coaches with {outcome!r}.")
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    fitted = X @ beta
    residual = y - fitted
    n_j = np.bincount(codes).astype(float)
    raw = np.bincount(codes, residual) / n_j
    within = residual - raw[codes]
    sigma = float(np.sqrt(within @ within / (N - J - (p - 1))))
    s2 = sigma ** 2 / n_j
    z = raw / np.sqrt(s2)
    if winsor > 0:
        z = np.clip(z, *np.quantile(z, [winsor, 1 - winsor]))
    phi = float(np.mean(z ** 2))
    w = 1 / s2
    tau2 = max(0.0, (J * phi - (J - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    post = shrink(raw, n_j, sigma=sigma, tau2=tau2, ci_level=ci_level)
    if tau2 > 0:
        rank_low, rank_high = _rank_intervals(post.estimate.to_numpy(),
                                              post.std_error.to_numpy(), higher_is_better,
                                              ci_level, seed, n_draws)
    else:  # every coach is estimated at the average: any order is as likely as any other
        rank_low, rank_high = np.ones(J), np.full(J, float(J))
    total = float(((y - y.mean()) ** 2).sum())
    coaches = pd.DataFrame({
        "group": labels, "n": n_j, "observed": np.bincount(codes, y) / n_j,
        "expected": np.bincount(codes, fitted) / n_j, "raw": raw, "z": raw / np.sqrt(s2),
        **{c: post[c].to_numpy() for c in ("estimate", "std_error", "ci_low", "ci_high")},
        "rank_low": rank_low, "rank_high": rank_high,
        "position": position_of(raw, n_j, sigma=sigma, tau2=tau2),
    })
    small = n_j < k
    # With the total number of clients published, the other coaches' counts would give a
    # withheld count away by subtraction: complementary suppression withholds more.
    masked = suppress_counts(pd.Series(n_j, dtype=float), k=k, totals="columns").mask
    hidden = masked.iloc[: len(n_j), 0].to_numpy(bool) | small
    numeric = [c for c in coaches.columns if c not in ("group", "position")]
    coaches.loc[hidden, numeric] = np.nan
    coaches["position"] = coaches["position"].where(~hidden, None)
    coaches["suppressed"] = hidden
    coaches["reason"] = np.select(
        [small, hidden],
        [f"fewer than {k} clients: not published",
         "withheld so that a smaller coach's count cannot be worked out from the total"],
        "",
    )
    notes = []
    if tau2 == 0:
        notes.append("The coaches differ no more than chance would make them (tau = 0): every "
                     "shrunken estimate is 0 and the data cannot tell coaches apart.")
    if dropped:
        notes.append(f"{dropped} clients without {outcome!r} or a covariate were left out.")
    return CoachEffects(
        outcome=outcome, group=group, covariates=tuple(covariates),
        coefficients=pd.Series(beta, index=names), sigma=sigma, tau2=float(tau2), phi=phi,
        n=N, n_groups=J, coaches=coaches, k=k, ci_level=ci_level,
        higher_is_better=higher_is_better, r2=1 - float(residual @ residual) / total
        if total > 0 else float("nan"), n_dropped=dropped, notes=tuple(notes),
    )
