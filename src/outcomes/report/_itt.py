"""The factor shares with every client kept (intention to treat), beside the shares of the
clients with every value (complete cases), and how far the conclusion rests on dropouts
being missing at random.

Complete cases describe only the clients who had every value; when a quarter of the clients
lack an end score, and whether they have one depends on what was observed (intake score,
early alliance), their shares are biased. So the report's conclusions rest on the
intention-to-treat shares (multiple imputation, pooled over the imputations, with
bootstrap intervals that re-impute within every replicate of whole coaches), the
complete-case shares stand beside them as a check, and a delta-adjustment sensitivity
analysis gives how much worse the clients without an end score would have had to do than
their other answers predict for the central comparison (relationship against technique) to
flip. Every number goes through the run's disclosure gate with the number of clients the
model rests on.
"""

from __future__ import annotations

from typing import Any

from outcomes._errors import OutcomesError
from outcomes.report._body import Run, factor_label, quiet

__all__ = ["intention_to_treat", "imputed_models", "basis_sentences", "missing_note",
           "CONCLUSION"]

#: The comparison whose robustness to dropout is asked (the larger of the two, by the
#: intention-to-treat shares, comes first): Asay and Lambert's relationship (30 %) against
#: model and technique (15 %).
CONCLUSION = ("relationship", "technique")


def intention_to_treat(run: Run, factors: dict[str, list[str]], fit: Any) -> dict[str, Any]:
    """The multiple-imputation shares (with the same bootstrap settings as the complete-case
    ones) and the dropout sensitivity; empty when no client misses a value."""
    out: dict[str, Any] = {"itt": None, "sensitivity": None, "notes": [], "failed": []}
    if fit.n_dropped == 0:
        return out
    found, out["notes"] = run.cached("itt", lambda: quiet(
        imputed_models, run.table, run.options.outcome, factors, **_imputed_shares(run)))
    if found["itt_error"] is not None:
        out["failed"].append("The shares with every client kept (missing values imputed) "
                             f"could not be estimated: {found['itt_error']}")
        return out
    out["itt"], out["sensitivity"] = found["itt"], found["sensitivity"]
    if found["sensitivity_error"] is not None:
        out["failed"].append("The dropout sensitivity analysis could not be run: "
                             f"{found['sensitivity_error']}")
    return out


def imputed_models(table: Any, outcome: str, factors: dict[str, list[str]], *,
                   covariates: list[str], n_boot: int, cluster: str | None,
                   seed: Any) -> dict[str, Any]:
    """The multiple-imputation shares, then the dropout sensitivity when the end score is
    missing for some clients (made from the same imputations, which are kept); a model that
    cannot be estimated gives its reason instead (``itt_error``, ``sensitivity_error``)."""
    from outcomes.shares.decomposition import decompose
    from outcomes.shares.sensitivity import sensitivity

    out: dict[str, Any] = {"itt": None, "itt_error": None, "sensitivity": None,
                           "sensitivity_error": None}
    try:
        out["itt"] = decompose(table, outcome, factors, covariates=covariates, missing="mi",
                               n_boot=n_boot, cluster=cluster, seed=seed)
    except OutcomesError as error:
        out["itt_error"] = str(error)
        return out
    order = _conclusion(out["itt"])
    if order is None or not table[outcome].isna().any():
        return out
    try:
        out["sensitivity"] = sensitivity(table, outcome, factors, covariates=covariates,
                                         conclusion=order, cluster=cluster, seed=seed)
    except OutcomesError as error:
        out["sensitivity_error"] = str(error)
    return out


def fit_ahead(run: Run, factors: dict[str, list[str]]) -> None:
    """Start the multiple-imputation shares and the dropout sensitivity (the slowest models
    of the factor shares) in the worker, before the session models, when a value they use is
    missing, so that they are ready when the section needs them."""
    opts = run.options
    columns = [opts.outcome, *opts.covariates, *(c for cols in factors.values() for c in cols)]
    if run.table[[c for c in dict.fromkeys(columns) if c in run.table]].isna().to_numpy().any():
        run.ahead("itt", imputed_models, run.table, opts.outcome, factors, on="worker",
                  **_imputed_shares(run))


def _imputed_shares(run: Run) -> dict[str, Any]:
    """The options of ``decompose`` for the intention-to-treat shares."""
    opts = run.options
    return {"covariates": list(opts.covariates), "n_boot": opts.n_boot,
            "cluster": "coach_id" if opts.n_boot else None, "seed": opts.seed}


def _conclusion(itt: Any) -> tuple[str, str] | None:
    """Relationship against technique, the larger first; None without both."""
    shares = itt.shares
    if not all(name in shares.index for name in CONCLUSION):
        return None
    first, second = CONCLUSION
    return (first, second) if shares[first] >= shares[second] else (second, first)


def basis_sentences(run: Run, itt: Any, complete: Any, sensitivity: Any, *,
                    short: bool = False) -> list[str]:
    """Which shares the conclusions rest on, how far the complete-case shares differ, and
    the dropout shift at which the central comparison would flip (all through the gate);
    ``short`` for the summary."""
    n_all = run.count(itt.n, "clients in the shares with missing values imputed")
    n_complete = run.count(complete.n, "clients with every value")
    gap = float((itt.relative - complete.relative.reindex(itt.relative.index)).abs().max())
    same = list(itt.relative.sort_values(ascending=False).index) == list(
        complete.relative.sort_values(ascending=False).index)
    points = run.stat(100 * gap, complete.n, "largest gap between the two sets of shares",
                      digits=0)
    order = "in the same order" if same else "in a different order"
    if short:
        out = [f"These shares keep all {n_all} clients, missing values imputed (intention to "
               f"treat); the {n_complete} clients with every value give shares within {points} "
               f"percentage points, {order} (a check)."]
    else:
        out = [f"The conclusions rest on the shares that keep all {n_all} clients, with "
               f"missing values filled in by multiple imputation (intention to treat): the "
               f"{n_complete} clients with every value are not a random part of the clients, "
               f"so their shares alone could mislead. As a check, their shares rank the "
               f"factors {order} and differ by at most {points} percentage points."]
    if sensitivity is not None:
        out.append(_tipping(run, sensitivity))
    return out


def _tipping(run: Run, sensitivity: Any) -> str:
    first, second = (factor_label(name) for name in sensitivity.conclusion)
    n = sensitivity.n
    claim = f"The share of {first} exceeds that of {second}"
    point = sensitivity.tipping_point
    top = float(sensitivity.shares["delta"].max())
    if point is None:
        shift = run.stat(top, n, "largest dropout shift examined", digits=1)
        return (f"{claim} even if the clients without an end score had ended {shift} points "
                "lower than their other answers predict (one standard deviation of the end "
                "score, the largest shift examined).")
    if point != point:  # NaN: the comparison does not hold even under missing at random
        return f"{claim.replace('exceeds', 'does not exceed')} once missing values are imputed."
    shift = run.stat(point, n, "dropout shift at which the comparison flips", digits=1)
    sd = run.stat(point / top, n, "that shift in standard deviations of the end score",
                  digits=1)
    return (f"{claim} unless the clients without an end score ended {shift} points lower "
            f"({sd} of a standard deviation of the end score) than their intake, ratings and "
            "other answers predict: only then would the order flip.")


def missing_note(run: Run, itt: Any, outcome: str) -> str:
    """What was missing and what was done about it, in plain words, through the gate."""
    report = itt.missingness
    n = run.count(itt.n, "clients in the shares with missing values imputed")
    incomplete = run.count(report.n_incomplete, "clients missing a value of the shares")
    share = run.percent(report.n_incomplete, itt.n, "clients missing a value of the shares")
    columns = report.table().set_index("column")
    end = int(columns.loc[outcome, "n_missing"]) if outcome in columns.index else 0
    ends = run.count(end, "clients without an end score in the shares")
    imputations = run.gate.statistic(report.n_imputations, itt.n, "imputations", digits=0)
    return (f"Of the {n} clients, {incomplete} ({share}) miss at least one value, most often "
            f"the end score ({ends} clients: ongoing, ended early or not rated at the end). "
            f"Each missing value was filled in {imputations} times by multiple imputation "
            "from the client's other answers (chained equations, one imputation per percent "
            "of clients with a missing value); the shares were computed in each completed "
            "copy and averaged, and the intervals re-impute within every bootstrap resample "
            "of whole coaches. This assumes that what is missing is predictable from what "
            "was observed (missing at random); the sensitivity analysis below asks what "
            "follows if it is not.")
