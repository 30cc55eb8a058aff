"""Building a coaching body's norms from its study: aggregates only, each behind ``k`` clients.

:func:`build_norms` turns a study into a norms document (:mod:`outcomes.norms.document`)
that holds aggregates only, each with the number of clients behind it and the suppression
threshold ``k`` applied:

- the distributions (n, mean, SD, quantiles) of intake, end and change scores, the session
  rating and the working alliance, overall and by intake band;
- the case-mix model of expected change: change regressed on the intake score and the
  sponsor (coefficients, the within-coach residual SD ``sigma`` and the client-level residual
  SD), and the severity-adjusted effect size's reference line;
- the spread of coach effects beyond chance (``tau``, ICC) with the funnel-limit settings
  (:mod:`outcomes.practice.coach_effects`), published only when at least ``k`` coaches have
  ``k`` clients;
- reliable and clinically significant change (counts suppressed below ``k``), effect sizes;
- the factor shares of the end score (LMG, intake always in) with bootstrap intervals;
- the expected session-by-session course of the outcome (:mod:`outcomes.practice.trajectories`).

Engagements without research consent are left out (the analysis table already leaves them
out).

Examples
--------
>>> import outcomes as oc
>>> norms = build_norms(oc.load_sample(), n_boot=0, seed=1)
>>> norms.document["format"], norms.document["version"], norms.k
('outcomes-norms', 1, 5)
>>> round(float(norms.expected_change([15.0], sponsor=["self"])[0]), 1)   # points of ORS
5.1
"""

from __future__ import annotations

import datetime as _dt
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes._checks import check_n_boot, check_seed, shared_parameters
from outcomes._errors import DataError, ModelError, OutcomesError, UsageError
from outcomes._results import jsonable
from outcomes.norms.document import FORMAT, VERSION, Norms, check_norms, input_digest
from outcomes.norms.gaps import study_gaps
from outcomes.privacy import DEFAULT_K, check_k, quantile_allowed, suppress_counts

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.study import Study

__all__ = ["QUANTILES", "MEASURES", "MAX_N_BOOT", "build_norms"]

#: The most bootstrap replicates norms or a report run: far more than any real study needs
#: (1,000 to 2,000 give stable 95 % intervals), few enough to end in reasonable time.
MAX_N_BOOT = 100_000

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: norms measure -> analysis-table column
MEASURES = {"intake": "baseline", "end": "end_score", "change": "change",
            "session_rating": "session_rating", "alliance": "alliance",
            "sessions": "sessions_attended"}


def _distribution(values: pd.Series, k: int) -> dict[str, Any]:
    x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    n = int(x.size)
    if n < k:
        return {"n": None, "mean": None, "sd": None, "quantiles": {},
                "reason": f"fewer than {k} clients: not published"}
    return {"n": n, "mean": float(x.mean()), "sd": float(x.std(ddof=1)) if n > 1 else None,
            "quantiles": {f"{q:g}": float(np.quantile(x, q)) if quantile_allowed(n, q, k=k)
                          else None for q in QUANTILES}}


def _bands(intake: pd.Series, n_bands: int) -> tuple[list[float], list[str]]:
    values = pd.to_numeric(intake, errors="coerce").dropna()
    probs = np.linspace(0, 1, n_bands + 1)[1:-1]
    edges = sorted({round(float(v), 1) for v in np.quantile(values, probs)}) if len(values) \
        else []
    if not edges:
        return [], ["all intakes"]
    labels = [f"below {edges[0]:g}"]
    labels += [f"{a:g} to below {b:g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"{edges[-1]:g} or above")
    return edges, labels


def _distributions(table: pd.DataFrame, edges: list[float], labels: list[str], k: int
                   ) -> list[dict[str, Any]]:
    """Each measure's distribution over all clients, then within each intake band."""
    band = np.searchsorted(np.asarray(edges), table["baseline"].to_numpy(dtype=float),
                           side="right")
    distributions = []
    for label_index, label in [(-1, "all"), *enumerate(labels)]:
        rows = table if label_index < 0 else table[(band == label_index)
                                                   & table["baseline"].notna()]
        for measure, column in MEASURES.items():
            if column in rows:
                distributions.append({"band": label, "measure": measure,
                                      **_distribution(rows[column], k)})
    return distributions


def _case_mix(table: pd.DataFrame, k: int, seed: Any) -> tuple[dict, dict]:
    from outcomes.practice.coach_effects import coach_effects

    covariates = ["baseline"]
    sponsor = table.loc[table["change"].notna(), "sponsor"].astype(str).value_counts() \
        if "sponsor" in table else pd.Series(dtype=int)
    if len(sponsor) >= 2 and (sponsor >= k).all():
        covariates.append("sponsor")
    data = table.assign(coach_id=table["coach_id"].astype(str))
    fx = coach_effects(data, outcome="change", covariates=covariates, k=k, seed=seed)
    intake = data.loc[data["change"].notna(), "baseline"].dropna()
    described: list[dict[str, Any]] = [{"name": "baseline", "kind": "number",
                  "low": float(np.quantile(intake, 0.05))
                  if quantile_allowed(len(intake), 0.05, k=k) else None,
                  "high": float(np.quantile(intake, 0.95))
                  if quantile_allowed(len(intake), 0.95, k=k) else None}]
    if "sponsor" in covariates:
        described.append({"name": "sponsor", "kind": "category",
                          "levels": sorted(sponsor.index.tolist())})
    case_mix = {"outcome": "change", "terms": fx.coefficients.to_dict(),
                "covariates": described, "sigma": fx.sigma,
                "residual_sd": float(np.sqrt(fx.sigma ** 2 + fx.tau2)), "n": fx.n, "r2": fx.r2}
    shown = fx.coaches[~fx.coaches["suppressed"]]
    if len(shown) < k:
        effects: dict[str, Any] = {"withheld": f"fewer than {k} coaches with {k} or more "
                                               "clients: the spread of coach effects is not "
                                               "published"}
    else:
        sizes = shown["n"].to_numpy(dtype=float)
        effects = {"tau": fx.tau, "tau2": fx.tau2, "sigma": fx.sigma, "phi": fx.phi,
                   "icc": fx.icc, "theta0": fx.theta0, "winsor": 0.1,
                   "n_coaches": fx.n_clusters, "n_clients": fx.n,
                   "clients_per_coach": {f"{q:g}": float(np.quantile(sizes, q))
                                         for q in (0.25, 0.5, 0.75)
                                         if quantile_allowed(len(sizes), q, k=k)},
                   "limits": [0.95, 0.998]}
        effects["icc_null"] = _null_icc(data)
    return case_mix, effects


def _null_icc(data: pd.DataFrame) -> dict[str, Any]:
    from outcomes.mixed.fit import multilevel

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = multilevel(data, "end_score", [])
    except OutcomesError:
        return {"estimate": None, "ci_low": None, "ci_high": None}
    return {"estimate": fit.icc, "ci_low": fit.icc_interval[0], "ci_high": fit.icc_interval[1],
            "n": fit.n}


def _severity(table: pd.DataFrame, cutoff: float | None) -> dict[str, Any]:
    both = table[["baseline", "change"]].dropna()
    clinical = both[both["baseline"] < cutoff] if cutoff is not None else both
    use, only = (clinical, True) if len(clinical) >= 10 else (both, False)
    if len(use) < 10 or use["baseline"].std() == 0:
        return {"withheld": "fewer than 10 clients with an intake and an end score"}
    slope, intercept = np.polyfit(use["baseline"], use["change"], 1)
    return {"intercept": float(intercept), "slope": float(slope),
            "mean_change": float(use["change"].mean()), "sd": float(use["baseline"].std()),
            "n": len(use), "clinical_only": only}


def _alliance_concern(table: pd.DataFrame, k: int, alliance_cutoff: float | None
                      ) -> float | None:
    rating = table["session_rating"].dropna() if "session_rating" in table else pd.Series()
    concern = int((rating < alliance_cutoff).sum()) if alliance_cutoff is not None else 0
    return concern / len(rating) if len(rating) >= k and \
        k <= concern <= len(rating) - k else None


def _change(table: pd.DataFrame, k: int, alliance_cutoff: float | None,
            missing: str | None = None) -> dict[str, Any]:
    from outcomes.practice.change import change as change_of

    both = int(table[["baseline", "end_score"]].notna().all(axis=1).sum())
    if missing is not None or both < k:
        why = missing or (f"fewer than {k} clients have an intake and an end score: change "
                          "is not published")
        return {"n": None, "counts": {}, "percentages": {}, "effect_sizes": {},
                "alliance_concern": _alliance_concern(table, k, alliance_cutoff),
                "withheld": why}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = change_of(table, pre="baseline", post="end_score", instrument="ors")
    counts = result.counts.drop("missing", errors="ignore")
    shown = suppress_counts(counts.rename("n"), k=k)
    published = shown.values["n"]
    both = int(counts.sum())
    effects = {row.measure: {"estimate": row.estimate, "std_error": row.std_error,
                             "ci_low": row.ci_low, "ci_high": row.ci_high, "n": int(row.n)}
               for row in result.effect_sizes.itertuples()} if both >= k else {}
    out = {"n": both, "counts": {c: None if pd.isna(published[c]) else int(published[c])
                                 for c in counts.index},
           "percentages": {c: published[c] / both if both else None for c in counts.index},
           "effect_sizes": effects}
    out["alliance_concern"] = _alliance_concern(table, k, alliance_cutoff)
    return out


def _shares(table: pd.DataFrame, k: int, n_boot: int, seed: Any) -> dict[str, Any]:
    from outcomes.analysis import FACTORS
    from outcomes.shares.decomposition import decompose

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
    shares = {}
    for name in fit.shares.index:
        entry = {"columns": list(fit.factors[name]), "share": fit.shares[name],
                 "relative": fit.relative[name]}
        if fit.ci is not None:
            row = fit.ci[(fit.ci.factor == name) & (fit.ci.quantity == "relative")].iloc[0]
            entry.update(ci_low=row.ci_low, ci_high=row.ci_high)
        shares[name] = entry
    return {"outcome": "end_score", "method": fit.method, "covariates": ["baseline"],
            "n": fit.n, "r2": fit.r2, "r2_covariates": fit.r2_covariates,
            "ci_level": fit.ci_level, "n_boot": fit.n_boot, "shares": shares}


def _trajectories(study: Study, consenting: set, k: int, missing: str | None = None
                  ) -> dict[str, Any]:
    from outcomes.practice.trajectories import expected_trajectories, session_scores

    scores = study.scores()
    scores = scores[scores["engagement_id"].isin(consenting)]
    try:
        sessions = session_scores(scores)
        fit = expected_trajectories(sessions, outcome="ors", intake="intake")
    except OutcomesError as error:
        return {"withheld": missing or f"the expected course could not be fitted: {error}"}
    quartiles = [float(q) if quantile_allowed(fit.n_clients, p, k=k) else None
                 for q, p in zip(fit.intake_quartiles, (0.25, 0.5, 0.75), strict=True)]
    return {"outcome": fit.outcome, "coverage": fit.coverage,
            "terms": list(fit.coefficients.columns),
            "coefficients": {str(i): [float(v) for v in row]
                             for i, row in fit.coefficients.iterrows()},
            "sessions": _sessions_reached(sessions, fit.sessions, k),
            "intake_quartiles": quartiles,
            "n_clients": fit.n_clients, "n_observations": fit.n_observations}


def _sessions_reached(sessions: pd.DataFrame, span, k: int) -> list[int]:
    """The session range to publish: up to the last session that at least k clients reached."""
    per_session = sessions.groupby("session")["engagement_id"].nunique()
    reached = per_session.index[per_session.to_numpy() >= k]
    last = int(min(span[1], reached.max())) if len(reached) else int(span[0])
    return [int(span[0]), last]


@shared_parameters
def build_norms(study: Study, *, k: int = DEFAULT_K, bands: int = 4, n_boot: int = 200,
                seed: int | np.random.Generator | None = None, title: str | None = None
                ) -> Norms:
    """Aggregate a study into norms that hold no client's data.

    Parameters
    ----------
    study : Study
        The body's study (valid rows are used; engagements without consent are left out).
    k : int, default 5
        Fewest clients behind any number (and coaches behind coach-level numbers); >= 3.
    bands : int, default 4
        Intake bands (cut at the quantiles of the intake score, rounded to 0.1).
    n_boot : int, default 200
        Cluster-bootstrap replicates (coaches resampled) for the factor-share intervals.
    {seed}
    title : str, optional
        The body's name for its norms (default: the study folder's name).

    Returns
    -------
    Norms
    """
    k = check_k(k)
    n_boot = check_n_boot(n_boot, "build_norms")
    if n_boot > MAX_N_BOOT:
        raise UsageError(f"build_norms: n_boot = {n_boot:,} is more than {MAX_N_BOOT:,}, the "
                         "most allowed; 1,000 to 2,000 give stable 95 % intervals.")
    seed = check_seed(seed, "build_norms")
    table = study.analysis_table()
    if len(table) < k:
        raise DataError(f"the study has {len(table)} consenting engagements; norms need at "
                        f"least k = {k}", file=study.source,
                        fix="Norms come from a body's many engagements, not a handful.")
    ors, srs = registry.get("ors"), registry.get("srs")
    figure = {name: (f.value if f is not None else None) for name, f in
              (("rc", ors.figure("reliable_change")), ("cut", ors.figure("clinical_cutoff")),
               ("alpha", ors.figure("alpha")), ("concern", srs.figure("concern_below")))}
    gaps = study_gaps(study, table, k=k, rerun="make the norms again")
    ends = gaps.get("end_scores")
    edges, labels = _bands(table["baseline"], bands)
    try:
        case_mix, effects = ({"withheld": ends}, {"withheld": ends}) if ends else \
            _case_mix(table, k, seed)
    except ModelError as error:
        case_mix = effects = {"withheld": str(error)}
    coaches = table["coach_id"].astype(str).value_counts()
    ended = int(table["end_score"].notna().sum())
    document = {
        "format": FORMAT, "version": VERSION, "created": _dt.date.today().isoformat(),
        "generator": f"outcomes {_version()}", "k": k,
        "source": {"title": title or Path(study.source or "study").stem,
                   "digest": input_digest(study.source)},
        "instrument": {"outcome": "ors", "alliance": "srs", "reliable_change": figure["rc"],
                       "clinical_cutoff": figure["cut"], "reliability": figure["alpha"],
                       "higher_is_better": bool(ors.higher_is_better),
                       "alliance_cutoff": figure["concern"],
                       "early_sessions": list(study.early_sessions)},
        "sample": {"engagements": len(table), "coaches": int(coaches.size),
                   "coaches_with_k_clients": int((coaches >= k).sum()),
                   "with_end_score": ended if ended == 0 or ended >= k else None,
                   "excluded_no_consent": int(table.attrs.get("excluded_no_consent", 0))},
        "bands": {"measure": "intake", "edges": edges, "labels": labels},
        "distributions": _distributions(table, edges, labels, k), "case_mix": case_mix,
        "severity_reference": {"withheld": ends} if ends else _severity(table, figure["cut"]),
        "coach_effects": effects, "change": _change(table, k, figure["concern"], ends),
        "factor_shares": {"withheld": ends} if ends else _shares(table, k, n_boot, seed),
        "trajectories": _trajectories(study, set(table["engagement_id"]), k,
                                      gaps.get("session_ratings")),
    }
    document = jsonable(document)
    check_norms(document)
    return Norms(document)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("outcomes")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"
