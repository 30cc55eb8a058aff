"""What drives outcome: factor shares beside the reference splits, dominance, the coach
component. Each model is fitted once per report and kept on the run for the summary."""

from __future__ import annotations

from typing import Any

import pandas as pd

from outcomes._errors import OutcomesError
from outcomes.analysis import FACTORS
from outcomes.report import _blocks as b
from outcomes.report._body import FACTOR_NAMES, Run, factor_label, quiet
from outcomes.report._itt import basis_sentences, intention_to_treat, missing_note

__all__ = ["drivers", "quiet", "FACTOR_NAMES", "factor_label", "column_label", "factors_of"]

def column_label(column: str) -> str:
    """A column of the analysis table as words (``n_techniques`` -> "number of techniques")."""
    words = {"n_techniques": "number of techniques", "sessions_attended": "sessions attended",
             "end_score": "end score", "baseline": "intake score",
             "session_rating": "session rating"}
    return words.get(column, column.replace("_", " "))


def factors_of(run: Run) -> dict[str, list[str]]:
    """The factor groups of the shares: the columns measured for at least k clients."""
    chosen = run.options.factors or FACTORS
    table = run.table
    out = {name: [c for c in cols if c in table and table[c].notna().sum() >= run.k]
           for name, cols in chosen.items()}
    return {name: cols for name, cols in out.items() if cols}


def _left_out(run: Run, factors: dict[str, list[str]]) -> str:
    """Which columns of the factor map had too few clients to take part, and why."""
    chosen = run.options.factors or FACTORS
    used = {c for cols in factors.values() for c in cols}
    dropped = [c for cols in chosen.values() for c in cols if c not in used]
    if not dropped:
        return ""
    text = (f"Left out of the factor shares, measured for fewer than {run.k} clients: "
            + ", ".join(column_label(c) for c in dropped) + ".")
    if "session_ratings" in run.gaps and "session_rating" in dropped:
        text += " " + run.gaps["session_ratings"]
    return text


def models(run: Run, factors: dict[str, list[str]]) -> dict[str, Any]:
    """The decomposition, its comparison and the multilevel models, fitted once per report.

    Everything that does not need the intention-to-treat shares is fitted before waiting
    for them (they come from the worker); notes and failures keep the order of the steps.
    """
    from outcomes.shares.decomposition import decompose

    opts, table, covariates = run.options, run.table, list(run.options.covariates)
    out: dict[str, Any] = {"notes": [], "failed": []}
    fit, out["notes"] = quiet(decompose, table, opts.outcome, factors, covariates=covariates,
                              n_boot=opts.n_boot, cluster="coach_id" if opts.n_boot else None,
                              seed=opts.seed)
    out.update(fit=fit, comparison=fit.compare(opts.reference))
    multilevel_found = _multilevel_models(run, factors)
    itt = intention_to_treat(run, factors, fit)
    out.update(itt=itt["itt"], sensitivity=itt["sensitivity"])
    out["notes"] += itt["notes"] + multilevel_found.pop("notes")
    out["failed"] += itt["failed"] + multilevel_found.pop("failed")
    out.update(multilevel_found)
    basis = out["itt"] or fit  # the shares the conclusions rest on
    out.update(basis=basis, basis_comparison=basis.compare(opts.reference)
               if basis is not fit else out["comparison"])
    return out


def _multilevel_models(run: Run, factors: dict[str, list[str]]) -> dict[str, Any]:
    """The coach component (``ml_null``) and the multilevel shares (``ml_shares``), with their
    notes and failures."""
    from outcomes.mixed.fit import multilevel
    from outcomes.mixed.shares import multilevel_shares

    opts, table, covariates = run.options, run.table, list(run.options.covariates)
    out: dict[str, Any] = {"notes": [], "failed": [], "ml_null": None, "ml_shares": None}
    try:
        out["ml_null"], more = quiet(multilevel, table, opts.outcome, [])
        out["notes"] += more
    except OutcomesError as error:
        out["failed"].append(f"The coach component could not be estimated: {error}")
    for centring in ("within", "none"):
        try:
            out["ml_shares"], more = quiet(multilevel_shares, table, opts.outcome, factors,
                                           covariates=covariates, centring=centring)
            out["notes"] += more
            if centring == "none":
                out["notes"].append("The multilevel shares use uncentred predictors: with this "
                                    "few coaches the coach means of the predictors are not "
                                    "estimable.")
            return out
        except OutcomesError as error:
            failure = error
    out["failed"].append(f"The multilevel shares could not be estimated: {failure}")
    return out


def _agreement(row: Any, interval: str, reference: str) -> tuple[str, str]:
    """A word for the table and a clause for the sentence: does the reference lie inside?"""
    if pd.isna(row.ci_low) or interval in ("withheld", "–"):
        return "not judged", "no interval, so agreement is not judged"
    if row.ci_low <= row.reference <= row.ci_high:
        return "consistent", f"the reference's {reference} lies inside the interval"
    word = "higher" if row.ci_low > row.reference else "lower"
    return word, f"{word} than the reference's {reference}, which lies outside the interval"


def _shares_table(run: Run, found: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One unit: percent of what the factors explain. The first pair of estimate columns is
    the one the conclusions rest on (every client kept, missing values imputed, when any
    client misses a value); the complete-case shares stand beside it as a check."""
    fit, comparison = found["basis"], found["basis_comparison"]
    parts = comparison.parts.set_index("part")
    estimates = [("clients with every value", fit, parts)]
    if found.get("itt") is not None:
        estimates = [("every client, missing values imputed", fit, parts),
                     ("only clients with every value", found["fit"],
                      found["comparison"].parts.set_index("part"))]
    columns = ["factor", "measured by"]
    for label, _, _ in estimates:
        columns += [f"percent of explained ({label})", "95 % interval"]
    columns += ["reference", "agreement"]
    rows, sentences = [], []
    for name in fit.shares.index:
        row = [factor_label(name), ", ".join(column_label(c) for c in fit.factors[name])]
        if name not in parts.index:
            rows.append(row + ["–"] * (2 * len(estimates) + 2))
            continue
        for label, model, frame in estimates:
            r = frame.loc[name]
            share = run.share(r.estimate, model.n, f"share of {name} ({label})")
            low = run.interval(r.ci_low, r.ci_high, model.n, f"share of {name} ({label})", 0,
                               100)
            row += [share.text.replace(" %", ""), low]
        main = parts.loc[name]
        reference = f"{100 * main.reference:.0f} %"
        word, clause = _agreement(main, row[3], reference)
        rows.append(row + [reference.replace(" %", ""), word])
        shown = "withheld" if row[2] == "withheld" else f"{row[2]} % {row[3]}"
        sentences.append(f"{factor_label(name).capitalize()}: {shown}; {clause}.")
    both = (" The first pair of columns keeps every client, missing values filled in by "
            "multiple imputation (intention to treat): the conclusions and the agreement with "
            "the reference rest on it. The second uses only the clients with every value "
            "(complete cases), as a check." if len(estimates) > 1 else "")
    table = b.table(columns, rows,
                    caption="Each factor's share of what the factors explain, beside "
                            f"{comparison.reference.label}",
                    numeric=[False, False] + [True, True] * len(estimates) + [True, False],
                    note="Percent of explained: each factor's part of the end-score variance "
                         "that the factors explain together (the parts add up to the whole). "
                         "The interval shows how far the share could be from the estimate "
                         "given the number of clients and coaches." + both)
    return table, sentences


def drivers(run: Run) -> dict[str, Any]:
    """Factor shares beside the reference split, dominance, other splits, coach component."""
    from outcomes.plots import shares_figure

    opts = run.options
    factors = factors_of(run)
    title = "What drives outcome"
    intro = b.text(
        "Which groups of common factors go with a better end score, once the intake score is "
        "taken into account? Each factor's share is its average contribution over every order "
        "in which the factors can enter a regression (a Shapley value). Shares describe this "
        "body's clients; they do not prove that a factor causes change.")
    run.findings["drivers"] = None
    if "end_scores" in run.gaps:
        run.log.append(("Factor shares", "not estimated: " + run.gaps["end_scores"]))
        return b.section("drivers", title, [b.lead("The factor shares need end scores."),
                                            intro, b.warning(run.gaps["end_scores"])])
    try:
        found = run.cached("models", lambda: models(run, factors))
    except OutcomesError as error:
        return b.section("drivers", title, [b.lead("The factor shares could not be "
                                                   "estimated."), intro,
                                            b.warning(f"The estimation failed: {error}")])
    fit, comparison = found["basis"], found["basis_comparison"]
    complete, itt = found["fit"], found["itt"]
    run.facts.update(r2=complete.r2, r2_covariates=complete.r2_covariates, n_shares=complete.n)
    table, sentences = _shares_table(run, found)
    top = fit.shares.idxmax()
    explained = run.share(fit.r2 - fit.r2_covariates, fit.n, "variance explained by factors")
    run.findings["drivers"] = {"sentences": sentences, "explained": explained,
                               "top": factor_label(top), "reference": comparison.reference,
                               "basis": None}
    blocks = [b.lead(f"Of what the factors explain, {factor_label(top)} take the largest "
                     f"share; " + _count_consistent(sentences)), intro]
    left_out = _left_out(run, factors)
    if left_out:
        blocks.append(b.note(left_out))
    blocks += [b.text(_explained(run, found, explained)), table]
    if itt is not None:
        run.facts.update(r2_imputed=itt.r2, n_shares_imputed=itt.n)
        basis = basis_sentences(run, itt, complete, found["sensitivity"])
        run.findings["drivers"]["basis"] = basis_sentences(run, itt, complete,
                                                           found["sensitivity"], short=True)
        blocks += [b.note(missing_note(run, itt, opts.outcome)), b.text(" ".join(basis))]
        if found["sensitivity"] is not None:
            run.facts["dropout_tipping_point"] = found["sensitivity"].tipping_point
    blocks.append(_dominance(run, factors))
    blocks += _icc(run, found["ml_null"])
    blocks += [b.note(text) for text in found["failed"]]
    blocks.append(run.draw(
        shares_figure, comparison, found["ml_shares"],
        alt="Bar chart of each factor's share of what the factors explain with 95 % "
        "intervals beside the reference split: " + "; ".join(
            f"{r[0]} {r[2]} % against {r[-2]} %" for r in table["rows"]),
        caption="Figure 4. Left: factor shares (blue"
                + (", every client kept, missing values imputed" if itt is not None else "")
                + (f", {round(100 * fit.ci_level)} % intervals" if fit.ci is not None else "")
                + f") beside {comparison.reference.label} (grey)."
                + (" Right: parts of the whole variance of the end score, with clients "
                   "nested in coaches (a different unit: percent of total variance)."
                   if found["ml_shares"] is not None else "")))
    from outcomes.report._appendix import other_splits

    blocks.append(other_splits(run, fit, found["ml_shares"], opts.reference))
    _log(run, factors, complete, itt)
    run.log += [("Warning", n) for n in dict.fromkeys(found["notes"])]
    return b.section("drivers", title, blocks)


def _explained(run: Run, found: dict[str, Any], explained: Any) -> str:
    """The variance the intake score and the factors explain, stated once."""
    fit, complete = found["basis"], found["fit"]
    intake = run.share(fit.r2_covariates, fit.n, "variance explained by intake")
    if found["itt"] is None:
        return (f"With {run.count(fit.n, 'clients in the factor shares')} clients measured on "
                f"every factor, the intake score alone explains {intake} of the variance of "
                f"the end score and the factors a further {explained}. The shares below split "
                f"that {explained} (percent of explained, the unit of every share table here).")
    n_all = run.count(fit.n, "clients in the shares with missing values imputed")
    n_complete = run.count(complete.n, "clients in the factor shares")
    r2, r2_intake, n = complete.r2, complete.r2_covariates, complete.n
    return (f"Keeping all {n_all} clients, with missing values imputed, the intake score alone "
            f"explains {intake} of the variance of the end score and the factors a further "
            f"{explained} (among the {n_complete} clients with every value: "
            f"{run.share(r2_intake, n, 'variance explained by intake')} and "
            f"{run.share(r2 - r2_intake, n, 'variance explained by factors')}). The shares "
            f"below split that {explained} (percent of explained, the unit of every share "
            "table here).")


def _log(run: Run, factors: dict[str, list[str]], complete: Any, itt: Any) -> None:
    """How the shares were estimated, for the technical appendix."""
    opts = run.options
    columns = [opts.outcome, *opts.covariates, *[c for cols in factors.values() for c in cols]]
    method = {"bca": "bias-corrected and accelerated", "percentile": "percentile"}
    boot = (f"{method.get(complete.ci_method, complete.ci_method)} intervals from "
            f"{complete.n_boot} bootstrap replicates resampling whole coaches"
            if complete.n_boot else "no bootstrap intervals")
    n_complete = run.count(complete.n, "clients in the factor shares")
    run.log.append(("Factor shares", f"Shapley shares (Lindeman, Merenda and Gold's method) of "
                    f"the variance explained (R²) of the end score (ordinary least squares, "
                    f"intake score always in) over {len(factors)} factor groups, {n_complete} "
                    f"clients with every value; clients missing each value: "
                    f"{_missing(run, columns)}; {boot}."))
    if itt is None:
        return
    n_all = run.count(itt.n, "clients in the shares with missing values imputed")
    imputations = run.gate.statistic(itt.missingness.n_imputations, itt.n, "imputations",
                                     digits=0)
    run.log.append(("Factor shares, intention to treat", (
        f"the same model on all {n_all} clients: missing values imputed by chained equations "
        f"(Bayesian linear regression of each column on the others), {imputations} "
        "imputations (one per percent of incomplete clients, at least 5; White, Royston and "
        "Wood, 2011), shares pooled by their mean; "
        + (f"{method.get(itt.ci_method, itt.ci_method)} intervals from {itt.n_boot} bootstrap "
           "replicates resampling whole coaches, each replicate imputed afresh (Schomaker "
           "and Heumann, 2018); " if itt.n_boot else "no bootstrap intervals; ")
        + "dropout sensitivity by delta adjustment of the imputed end scores (Carpenter and "
        "Kenward, 2013).")))


def _missing(run: Run, columns: list[str]) -> str:
    """How many clients miss each column, through the gate (a small count reads withheld)."""
    parts = [f"{column_label(c)} {run.count(int(run.table[c].isna().sum()), f'missing {c}')}"
             for c in dict.fromkeys(columns) if c in run.table and run.table[c].isna().any()]
    return ", ".join(parts) if parts else "none"


def _count_consistent(sentences: list[str]) -> str:
    agree = sum("lies inside" in s for s in sentences)
    return (f"{agree} of the {len(sentences)} shares are consistent with the reference split."
            if sentences else "")


def _dominance(run: Run, factors: dict[str, list[str]]) -> dict[str, Any]:
    from outcomes.shares.dominance import dominance

    opts = run.options
    dom, _ = run.cached("dominance", lambda: quiet(dominance, run.table, opts.outcome, factors,
                                                    covariates=list(opts.covariates)))
    designations = dom.designations()
    complete = designations[designations["kind"] == "complete"]
    pairs = [f"{factor_label(r.dominant)} over "
             f"{factor_label(r.other if r.dominant == r.factor else r.factor)}"
             for r in complete.itertuples() if isinstance(r.dominant, str)]
    return b.text("Dominance: a factor completely dominates another when it adds more to "
                  "every combination of the other factors; " + (
                      "among the clients with every value, " if dom.n_dropped else "here ")
                  + (", ".join(pairs) + "." if pairs else
                     "no factor adds more than another in every combination."))


def _icc(run: Run, ml_null: Any) -> list[dict[str, Any]]:
    if ml_null is None:
        run.findings["icc"] = None
        return []
    low, high = ml_null.icc_interval
    run.facts.update(icc=ml_null.icc)
    icc = run.share(ml_null.icc, ml_null.n, "share of variance between coaches", 1)
    ends = run.gate.interval(100 * low, 100 * high, ml_null.n, "share between coaches",
                             digits=1)
    interval = ("interval withheld" if any(e.withheld for e in ends) else
                f"95 % interval {ends[0]} % to {ends[1]} %")
    run.findings["icc"] = {"value": icc, "interval": interval}
    state = "converged" if ml_null.converged else "did not converge"
    run.log.append(("Multilevel model", f"Random-intercept models of the end score "
                    f"(restricted maximum likelihood, "
                    f"{run.count(ml_null.n, 'clients in the multilevel model')} clients of "
                    f"{run.count(ml_null.n_clusters, 'coaches in the multilevel model')} "
                    f"coaches), {state}"
                    + ("; the coach variance is at its boundary (a singular fit)"
                       if ml_null.singular else "") + "; the coach component with a "
                    "profile-likelihood interval."))
    return [b.heading("The coach component"), b.text(
        f"{icc} of the variance of the end score lies between coaches ({interval}): the rest "
        "lies between clients of the same coach. Psychotherapy studies report about 5 % for "
        "therapists in practice (Johns and colleagues, 2019).")]
