"""Coach effects: case-mix adjusted, shrunken, in a funnel plot, never a bare league table.

:func:`coach_effects` compares each coach's clients with what was expected for clients like
them and shows the comparison the way Spiegelhalter (2005) recommends for institutional
comparisons: a funnel plot of each coach's indicator against the number of clients, with
control limits that narrow as the number grows, and empirical-Bayes estimates with
intervals instead of a ranking (the limits and the shrinkage are
:mod:`outcomes.practice.funnel`).

The indicator. The outcome is regressed on the case-mix covariates (OLS over all clients,
e.g. change on intake score and sponsor). A client's residual is how much better or worse
the client did than expected; a coach's indicator ``y_j`` is the mean residual of the coach's
``n_j`` clients, so the target is ``theta0 = 0``. Within coaches the residual SD is
``sigma`` (pooled, on ``N - J - p`` degrees of freedom), so ``s_j = sigma / sqrt(n_j)``.

The spread between coaches. Coaches differ by more than chance in most real data, so the
funnel limits are widened by the *additive* over-dispersion of Spiegelhalter (2005, *Qual
Saf Health Care* 14:347-351): with ``z_j = y_j / s_j`` winsorised at the 10th and 90th
percentiles (``winsor=0.1``, his default), ``phi = mean(z_j²)`` and weights
``w_j = 1 / s_j²``,

    tau² = max(0, (J phi - (J - 1)) / (sum w - sum w² / sum w)),
    limits = theta0 +- z sqrt(s²(n) + tau²).

Winsorising guards against a few extreme coaches inflating ``tau²`` but also trims the
genuine spread: with normal coach effects and a few dozen coaches it underestimates ``tau``
(the estimate is conservative: limits a little narrow, estimates shrunken a little more);
``winsor=0`` gives the untrimmed moment estimator (DerSimonian & Laird 1986). The shrunken
estimate of a coach's effect is ``lambda_j y_j`` with ``lambda_j = tau² / (tau² + s_j²)``;
ranks come as intervals from draws of these posterior distributions.

Privacy: coaches with fewer than ``k`` clients are estimated (they inform ``tau²``) but their
numbers are withheld in every face of the result, and so are those of further coaches whose
counts, with the published total, would give a small coach's count away (complementary
suppression). Every withheld coach reads the same, whatever the reason, so that nobody can
tell which coach was the small one.

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
>>> fx                                                   # doctest: +ELLIPSIS
<CoachEffects: 60 coaches, 1200 clients: tau 1.7..., sigma 5.0..., ICC 0.1...>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import (
    check_ci_level,
    check_covariates,
    check_positive_int,
    check_seed,
    old_attribute,
    renamed,
    shared_parameters,
)
from outcomes._errors import DataError, ModelError, UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.practice.funnel import POSITIONS, draw_funnel, funnel_limits, position_of, shrink
from outcomes.privacy import DEFAULT_K, check_k, suppress_counts

__all__ = ["coach_effects", "CoachEffects", "WITHHELD_REASON"]

#: The one reason every withheld coach carries: a coach with fewer than ``k`` clients and a
#: coach withheld so that the total cannot give that coach away read the same.
WITHHELD_REASON = ("too few clients to publish, or held back so that a small coach's count "
                   "cannot be worked out from the total")


@dataclass(frozen=True, eq=False, repr=False)
class CoachEffects(Result):
    """Case-mix adjusted coach effects: raw indicators, funnel limits, shrunken estimates.

    ``coaches`` has one row per coach: ``cluster`` (the coach id), ``n``, ``observed`` (mean
    outcome), ``expected`` (mean case-mix prediction), ``raw`` (their difference), ``z``, the
    shrunken ``estimate`` with ``std_error``, ``ci_low``, ``ci_high``, a rank interval
    (``rank_low``, ``rank_high``; 1 is best), ``position`` against the funnel limits, and
    ``suppressed`` with its ``reason`` (coaches with fewer than ``k`` clients, and those
    withheld so that the total cannot give one away, have every number withheld; ``reason``
    is the same words for each, so it never says which was the small one). ``cluster``
    names the coach column of the data, ``n_clusters`` counts the coaches.
    """

    outcome: str
    cluster: str
    covariates: tuple[str, ...]
    coefficients: pd.Series
    sigma: float
    tau2: float
    phi: float
    n: int
    n_clusters: int
    coaches: pd.DataFrame
    k: int = DEFAULT_K
    ci_level: float = 0.95
    higher_is_better: bool = True
    theta0: float = 0.0
    r2: float = float("nan")
    n_dropped: int = 0
    notes: tuple[str, ...] = field(default=())

    group = old_attribute("group", "cluster")
    n_groups = old_attribute("n_groups", "n_clusters")

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
        """Coaches whose numbers are withheld (too few clients, or complementary)."""
        return int(self.coaches["suppressed"].sum())

    def limits(self, n: Any) -> pd.DataFrame:
        """The funnel limits at ``n`` clients, with and without over-dispersion.

        One row per number of clients and limit: ``n``, ``ci_level`` (0.95, 0.998), ``low``,
        ``high`` and the limits without over-dispersion, ``low_unadjusted``,
        ``high_unadjusted``.
        """
        rows = []
        for level in (0.95, 0.998):
            low, high = funnel_limits(n, sigma=self.sigma, tau2=self.tau2, theta0=self.theta0,
                                      ci_level=level)
            plain = funnel_limits(n, sigma=self.sigma, theta0=self.theta0, ci_level=level)
            rows.append(pd.DataFrame({"n": np.atleast_1d(np.asarray(n, dtype=float)),
                                      "ci_level": level, "low": low, "high": high,
                                      "low_unadjusted": plain[0], "high_unadjusted": plain[1]}))
        return pd.concat(rows, ignore_index=True)

    def table(self) -> pd.DataFrame:
        """One row per coach, in the order of the coach ids (never by rank)."""
        return self.coaches.copy()

    def headline(self) -> str:
        """Coaches and clients, the spread of coach effects, and coaches off the funnel."""
        shown = self.coaches[~self.coaches["suppressed"]]
        outside = int((shown["position"] != "within limits").sum())
        return (f"{self.n_clusters} coaches, {self.n} clients: tau {self.tau:.2f}, "
                f"sigma {self.sigma:.2f}, ICC {self.icc:.3f}; {outside} of {len(shown)} "
                "outside the 95 % limits")

    def summary(self) -> Summary:
        """What was compared, the spread of coach effects and where the coaches fall."""
        shown = self.coaches[~self.coaches["suppressed"]]
        lines = [
            f"Coach effects on {self.outcome!r}: {self.n} clients of {self.n_clusters} coaches"
            + (f", adjusted for {', '.join(self.covariates)}" if self.covariates else "")
            + f" (R² of the case-mix model {self.r2:.3f}).",
            f"Within-coach SD sigma = {self.sigma:.3f}; between-coach SD tau = {self.tau:.3f}"
            f" (additive over-dispersion, phi = {self.phi:.2f}); ICC = {self.icc:.3f}.",
            f"{len(shown)} coaches shown; {self.n_suppressed} withheld ({WITHHELD_REASON}).",
            "",
            "Coaches by position against the funnel limits:",
        ]
        counts = shown["position"].value_counts().reindex(POSITIONS, fill_value=0)
        lines += [f"  {name}: {int(c)}" for name, c in counts.items()]
        columns = ["cluster", "n", "raw", "estimate", "ci_low", "ci_high", "rank_low",
                   "rank_high", "position"]
        lines += ["", text_table(shown[columns], digits=2), "",
                  f"Estimates are shrunken towards 0 (empirical Bayes) with "
                  f"{round(100 * self.ci_level, 1):g} % intervals; ranks are intervals, "
                  "not places.", *self.notes]
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the model, the spread and one entry per coach (withheld ones null)."""
        return jsonable({
            "outcome": self.outcome, "cluster": self.cluster, "covariates": list(self.covariates),
            "coefficients": self.coefficients, "sigma": self.sigma, "tau": self.tau,
            "tau2": self.tau2, "phi": self.phi, "icc": self.icc, "theta0": self.theta0,
            "n": self.n, "n_clusters": self.n_clusters, "n_suppressed": self.n_suppressed,
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
                ax.annotate(str(row.cluster), (row.n, row.raw), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")
        return ax


def _design(data: pd.DataFrame, outcome: str, cluster: str, covariates: Sequence[str]
            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str], int]:
    wanted = [outcome, cluster, *covariates]
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


def _withhold(coaches: pd.DataFrame, n_j: np.ndarray, k: int) -> None:
    """Blank the numbers of coaches with fewer than ``k`` clients, and of those whose count
    would give a withheld one away; add ``suppressed`` and ``reason`` (in place)."""
    small = n_j < k
    # With the total number of clients published, the other coaches' counts would give a
    # withheld count away by subtraction: complementary suppression withholds more.
    masked = suppress_counts(pd.Series(n_j, dtype=float), k=k, totals="columns").mask
    hidden = masked.iloc[: len(n_j), 0].to_numpy(bool) | small
    numeric = [c for c in coaches.columns if c not in ("cluster", "position")]
    coaches.loc[hidden, numeric] = np.nan
    coaches["position"] = coaches["position"].where(~hidden, None)
    coaches["suppressed"] = hidden
    coaches["reason"] = np.where(hidden, WITHHELD_REASON, "")


@renamed(group="cluster")
@shared_parameters
def coach_effects(
    data: pd.DataFrame,
    *,
    outcome: str,
    cluster: str = "coach_id",
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
    cluster : str, default "coach_id"
        The column that names each client's coach: one indicator, one funnel point and one
        shrunken estimate per coach (``group=`` is its former name).
    covariates : sequence of str, default ()
        Case-mix adjusters (e.g. ``baseline``, ``sponsor``); text columns become indicators.
    k : int, default 5
        Coaches with fewer clients have their numbers withheld (at least 3).
    {ci_level}
        It sets the intervals of the shrunken estimates and the rank intervals.
    higher_is_better : bool, default True
        Direction of the outcome (for positions and ranks).
    winsor : float, default 0.1
        Share winsorised at each end of the z-scores when estimating over-dispersion.
    {seed}
        It drives the draws behind the rank intervals.
    n_draws : int, default 2000
        Draws from the posterior distributions for the rank intervals.

    Returns
    -------
    CoachEffects
    """
    k = check_k(k)
    ci_level = check_ci_level(ci_level, "coach_effects")
    covariates = check_covariates(covariates, "coach_effects")
    seed = check_seed(seed, "coach_effects")
    n_draws = check_positive_int(n_draws, "n_draws", "coach_effects", minimum=1)
    if not 0 <= winsor < 0.5:
        raise UsageError(f"winsor = {winsor} must be at least 0 and below 0.5.")
    frame, X, y, names, dropped = _design(data, outcome, cluster, covariates)
    groups = frame[cluster].astype(str).to_numpy()
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
        "cluster": labels, "n": n_j, "observed": np.bincount(codes, y) / n_j,
        "expected": np.bincount(codes, fitted) / n_j, "raw": raw, "z": raw / np.sqrt(s2),
        **{c: post[c].to_numpy() for c in ("estimate", "std_error", "ci_low", "ci_high")},
        "rank_low": rank_low, "rank_high": rank_high,
        "position": position_of(raw, n_j, sigma=sigma, tau2=tau2),
    })
    _withhold(coaches, n_j, k)
    notes = []
    if tau2 == 0:
        notes.append("The coaches differ no more than chance would make them (tau = 0): every "
                     "shrunken estimate is 0 and the data cannot tell coaches apart.")
    if dropped:
        notes.append(f"{dropped} clients without {outcome!r} or a covariate were left out.")
    return CoachEffects(
        outcome=outcome, cluster=cluster, covariates=covariates,
        coefficients=pd.Series(beta, index=names), sigma=sigma, tau2=float(tau2), phi=phi,
        n=N, n_clusters=J, coaches=coaches, k=k, ci_level=ci_level,
        higher_is_better=higher_is_better, r2=1 - float(residual @ residual) / total
        if total > 0 else float("nan"), n_dropped=dropped, notes=tuple(notes),
    )
