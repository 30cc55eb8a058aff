"""The model parts of a norms file, each number released through the disclosure gate.

The case-mix model of expected change, the spread of coach effects, the severity reference,
the effect sizes of change, the factor shares and the expected course of the ORS. Each is
published only from at least ``k`` clients (coach-level numbers from at least ``k`` coaches
with ``k`` clients each) at a fixed precision; their counts are rounded with the others.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcomes._errors import OutcomesError
from outcomes.privacy import Disclosure, quantile_allowed

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.study import Study

__all__ = ["case_mix", "severity", "alliance_concern", "effect_sizes", "shares",
           "trajectories"]


def _n(gate: Disclosure, n: int, what: str) -> int | None:
    value = gate.count(n, f"{what} (clients)").value
    return None if value is None else int(value)


def case_mix(table: pd.DataFrame, gate: Disclosure, seed: Any) -> tuple[dict, dict]:
    """The case-mix model of expected change and the spread of coach effects."""
    from outcomes.practice.coach_effects import coach_effects

    k = gate.k
    covariates = ["baseline"]
    sponsor = table.loc[table["change"].notna(), "sponsor"].astype(str).value_counts() \
        if "sponsor" in table else pd.Series(dtype=int)
    if len(sponsor) >= 2 and (sponsor >= k).all():
        covariates.append("sponsor")
    data = table.assign(coach_id=table["coach_id"].astype(str))
    fx = coach_effects(data, outcome="change", covariates=covariates, k=k, seed=seed)
    n = fx.n
    intake = data.loc[data["change"].notna(), "baseline"].dropna()
    described: list[dict[str, Any]] = [{
        "name": "baseline", "kind": "number",
        "low": gate.quantile(intake, 0.05, "case mix: intake (5th percentile)").value,
        "high": gate.quantile(intake, 0.95, "case mix: intake (95th percentile)").value}]
    if "sponsor" in covariates:
        described.append({"name": "sponsor", "kind": "category",
                          "levels": sorted(sponsor.index.tolist())})
    stat = gate.statistic
    terms = {name: stat(v, n, f"case mix: {name}", digits=3).value
             for name, v in fx.coefficients.items()}
    model = {"outcome": "change", "terms": terms,
             "covariates": described, "sigma": stat(fx.sigma, n, "case mix: sigma").value,
             "residual_sd": stat(np.sqrt(fx.sigma ** 2 + fx.tau2), n,
                                 "case mix: residual SD").value,
             "n": _n(gate, n, "case mix"), "r2": stat(fx.r2, n, "case mix: R²", digits=3).value}
    if any(v is None for v in terms.values()) or model["sigma"] is None:
        return ({"withheld": f"fewer than {k} clients with an intake and an end score"},) * 2
    shown = fx.coaches[~fx.coaches["suppressed"]]
    if len(shown) < k:
        return model, {"withheld": f"fewer than {k} coaches with {k} or more clients: the "
                                   "spread of coach effects is not published"}
    m = len(shown)
    sizes = shown["n"].to_numpy(dtype=float)
    effects = {"tau": stat(fx.tau, m, "coach effects: tau", digits=3).value,
               "tau2": stat(fx.tau2, m, "coach effects: tau²", digits=3).value,
               "sigma": model["sigma"], "phi": stat(fx.phi, m, "coach effects: phi").value,
               "icc": stat(fx.icc, m, "coach effects: ICC", digits=3).value,
               "theta0": stat(fx.theta0, m, "coach effects: centre").value, "winsor": 0.1,
               "n_coaches": _n(gate, fx.n_clusters, "coach effects: coaches"),
               "n_clients": _n(gate, n, "coach effects"),
               "clients_per_coach": {f"{q:g}": gate.quantile(
                   sizes, q, f"clients per coach ({100 * q:g}th percentile)", precision=1).value
                   for q in (0.25, 0.5, 0.75) if quantile_allowed(len(sizes), q, k=k)},
               "limits": [0.95, 0.998]}
    effects["icc_null"] = _null_icc(data, gate)
    return model, effects


def _null_icc(data: pd.DataFrame, gate: Disclosure) -> dict[str, Any]:
    from outcomes.mixed.fit import multilevel

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = multilevel(data, "end_score", [])
    except OutcomesError:
        return {"estimate": None, "ci_low": None, "ci_high": None}
    low, high = gate.interval(*fit.icc_interval, fit.n, "ICC of end scores", digits=3)
    return {"estimate": gate.statistic(fit.icc, fit.n, "ICC of end scores", digits=3).value,
            "ci_low": low.value, "ci_high": high.value, "n": _n(gate, fit.n, "ICC")}


def severity(table: pd.DataFrame, cutoff: float | None, gate: Disclosure) -> dict[str, Any]:
    """The reference line of the severity-adjusted effect size."""
    both = table[["baseline", "change"]].dropna()
    clinical = both[both["baseline"] < cutoff] if cutoff is not None else both
    use, only = (clinical, True) if len(clinical) >= max(10, gate.k) else (both, False)
    if len(use) < max(10, gate.k) or use["baseline"].std() == 0:
        return {"withheld": f"fewer than {max(10, gate.k)} clients with an intake and an end "
                            "score"}
    slope, intercept = np.polyfit(use["baseline"], use["change"], 1)
    n, stat = len(use), gate.statistic
    return {"intercept": stat(intercept, n, "severity reference: intercept").value,
            "slope": stat(slope, n, "severity reference: slope", digits=3).value,
            "mean_change": stat(use["change"].mean(), n, "severity reference: mean").value,
            "sd": stat(use["baseline"].std(), n, "severity reference: SD").value,
            "n": _n(gate, n, "severity reference"), "clinical_only": only}


def alliance_concern(table: pd.DataFrame, gate: Disclosure, cutoff: float | None
                     ) -> float | None:
    """The share of clients whose early session rating is below the concern cut-off."""
    rating = table["session_rating"].dropna() if "session_rating" in table else pd.Series()
    if cutoff is None or rating.empty:
        return None
    share = gate.percent(int((rating < cutoff).sum()), len(rating),
                         "session rating below the concern cut-off (share)", digits=1).value
    return None if share is None else round(share, 3)


def effect_sizes(result: Any, gate: Disclosure) -> dict[str, Any]:
    """The effect sizes of change, each from at least ``k`` clients."""
    out = {}
    for row in result.effect_sizes.itertuples():
        what = f"effect size {row.measure.replace('_', ' ')}"
        low, high = gate.interval(row.ci_low, row.ci_high, row.n, what)
        out[row.measure] = {
            "estimate": gate.statistic(row.estimate, row.n, what).value,
            "std_error": gate.statistic(row.std_error, row.n, f"{what} (standard error)",
                                        digits=3).value,
            "ci_low": low.value, "ci_high": high.value, "n": _n(gate, int(row.n), what)}
    return out


def shares(table: pd.DataFrame, gate: Disclosure, n_boot: int, seed: Any) -> dict[str, Any]:
    """The factor shares of the end score (LMG, intake always in)."""
    from outcomes.analysis import FACTORS
    from outcomes.shares.decomposition import decompose

    k = gate.k
    factors = {name: [c for c in cols if c in table and table[c].notna().sum() >= k]
               for name, cols in FACTORS.items()}
    factors = {name: cols for name, cols in factors.items() if cols}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = decompose(table, "end_score", factors, covariates=["baseline"],
                            n_boot=n_boot, cluster="coach_id" if n_boot else None, seed=seed)
    except OutcomesError as error:
        return {"withheld": f"the factor shares could not be estimated: {error}"}
    if fit.n < k:
        return {"withheld": f"fewer than {k} clients with every factor measured"}
    n, stat, parts = fit.n, gate.statistic, {}
    for name in fit.shares.index:
        entry = {"columns": list(fit.factors[name]),
                 "share": stat(fit.shares[name], n, f"share of {name}", digits=3).value,
                 "relative": stat(fit.relative[name], n, f"{name}: percent of explained",
                                  digits=3).value}
        if fit.ci is not None:
            row = fit.ci[(fit.ci.factor == name) & (fit.ci.quantity == "relative")].iloc[0]
            low, high = gate.interval(row.ci_low, row.ci_high, n, f"{name}: interval",
                                      digits=3)
            entry.update(ci_low=low.value, ci_high=high.value)
        parts[name] = entry
    return {"outcome": "end_score", "method": fit.method, "covariates": ["baseline"],
            "n": _n(gate, n, "factor shares"), "r2": stat(fit.r2, n, "R²", digits=3).value,
            "r2_covariates": stat(fit.r2_covariates, n, "R² of intake", digits=3).value,
            "ci_level": fit.ci_level, "n_boot": fit.n_boot, "shares": parts}


def trajectories(study: Study, consenting: set, gate: Disclosure, missing: str | None = None
                 ) -> dict[str, Any]:
    """The expected session-by-session course of the ORS."""
    from outcomes.practice.trajectories import expected_trajectories, session_scores

    scores = study.scores()
    scores = scores[scores["engagement_id"].isin(consenting)]
    try:
        sessions = session_scores(scores)
        fit = expected_trajectories(sessions, outcome="ors", intake="intake")
    except OutcomesError as error:
        return {"withheld": missing or f"the expected course could not be fitted: {error}"}
    n = fit.n_clients
    if n < gate.k:
        return {"withheld": f"fewer than {gate.k} clients with session scores"}
    quartiles = [gate.statistic(q, n if quantile_allowed(n, p, k=gate.k) else 0,
                                f"course: intake ({100 * p:g}th percentile)", digits=1).value
                 for q, p in zip(fit.intake_quartiles, (0.25, 0.5, 0.75), strict=True)]
    first, last, reached = _sessions_reached(sessions, fit.sessions, gate.k)
    gate.statistic(last, reached, "course: last session reached by k clients", digits=0)
    return {"outcome": fit.outcome, "coverage": fit.coverage,
            "terms": list(fit.coefficients.columns),
            "coefficients": {str(i): [gate.statistic(v, n, f"course: {i} {term}",
                                                     digits=4).value
                                      for term, v in row.items()]
                             for i, row in fit.coefficients.iterrows()},
            "sessions": [first, last], "intake_quartiles": quartiles,
            "n_clients": _n(gate, n, "course"),
            "n_observations": int(gate.count(fit.n_observations,
                                             "course: session scores").value or 0)}


def _sessions_reached(sessions: pd.DataFrame, span, k: int) -> tuple[int, int, int]:
    """The session range to publish: up to the last session that at least k clients reached
    (and how many reached it)."""
    per_session = sessions.groupby("session")["engagement_id"].nunique()
    reached = per_session.index[per_session.to_numpy() >= k]
    last = int(min(span[1], reached.max())) if len(reached) else int(span[0])
    return int(span[0]), last, int(per_session.get(last, 0))
