"""The later sections of a body's report: what drives outcome, alliance, monitoring."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import OutcomesError
from outcomes.analysis import FACTORS
from outcomes.privacy import suppress_counts
from outcomes.reference import REFERENCES
from outcomes.report import _blocks as b
from outcomes.report._body import Run

__all__ = ["drivers", "alliance", "monitoring"]


def _quiet(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    """Call ``fn`` and return its result with its warnings, except the ones counting rows
    left out for missing values (they name counts of a few clients; the methods section
    gives those counts through the suppression rule instead)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught
                 if "missing values and were left out" not in str(w.message)]


def missing_counts(run: Run, columns: list[str]) -> str:
    """How many clients miss each column, small counts as "fewer than k"."""
    table = run.table
    parts = [f"{c} {b.count(int(table[c].isna().sum()), run.k)}" for c in columns
             if c in table and table[c].isna().any()]
    return ", ".join(parts) if parts else "none"


def _factors(run: Run) -> dict[str, list[str]]:
    chosen = run.options.factors or FACTORS
    table = run.table
    out = {name: [c for c in cols if c in table and table[c].notna().sum() >= run.k]
           for name, cols in chosen.items()}
    return {name: cols for name, cols in out.items() if cols}


def _count_word(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def _left_out(run: Run, factors: dict[str, list[str]]) -> str:
    """Which columns of the factor map had too few clients to take part, and why."""
    chosen = run.options.factors or FACTORS
    used = {c for cols in factors.values() for c in cols}
    dropped = [c for cols in chosen.values() for c in cols if c not in used]
    if not dropped:
        return ""
    text = (f"Left out of the factor shares, measured for fewer than {run.k} clients: "
            + ", ".join(c.replace("_", " ") for c in dropped) + ".")
    if "session_ratings" in run.gaps and "session_rating" in dropped:
        text += " " + run.gaps["session_ratings"]
    return text


def _shares_table(decomposition, comparison) -> dict[str, Any]:  # noqa: ANN001
    parts = comparison.parts.set_index("part")
    rows = []
    for name in decomposition.shares.index:
        row = parts.loc[name] if name in parts.index else None
        rows.append([name, ", ".join(decomposition.factors[name]).replace("_", " "),
                     b.percent(decomposition.shares[name], 1),
                     b.percent(row.estimate, 0) if row is not None else "–",
                     b.interval(row.ci_low, row.ci_high, 0, scale=100) if row is not None
                     else "–",
                     b.percent(row.reference, 0) if row is not None else "–"])
    return b.table(["factor", "measured by", "of variance", "of explained", "95 % interval",
                    "reference"], rows,
                   caption="Each factor's share of the end score, beside the reference split",
                   numeric=[False, False, True, True, True, True],
                   note=f"Of variance: share of the end score's variance; of explained: share "
                        f"of what the four factors explain together. Reference: "
                        f"{comparison.reference.label}.")


def _other_references(decomposition, multilevel, chosen: str) -> dict[str, Any]:  # noqa: ANN001
    rows = []
    for key, split in REFERENCES.items():
        if key == chosen:
            continue
        source = multilevel if split.denominator == "total" and multilevel is not None \
            else decomposition
        try:
            comparison = source.compare(key)
        except OutcomesError as error:
            rows.append([split.label, split.share_of, "not comparable: " + str(error)[:90], "–"])
            continue
        parts = "; ".join(f"{r.part} {b.percent(r.estimate)} vs {b.percent(r.reference)}"
                          for r in comparison.parts.itertuples())
        rows.append([split.label, split.share_of, parts, b.number(comparison.distance)])
    return b.table(["reference", "what it splits", "estimate vs reference", "distance"], rows,
                   caption="The estimate beside the other published splits",
                   numeric=[False, False, False, True],
                   note="Distance: Aitchison distance between the two compositions (0 = the "
                        "same split). Splits of total variance are compared with the shares "
                        "of the multilevel model, the coach taking the therapist's part; the "
                        "intake score's own share is not a factor's.")


def drivers(run: Run) -> dict[str, Any]:
    """Factor shares beside the reference splits, dominance, the coach component."""
    from outcomes.mixed.fit import multilevel
    from outcomes.mixed.shares import multilevel_shares
    from outcomes.plots import coaches_figure, shares_figure
    from outcomes.shares.decomposition import decompose
    from outcomes.shares.dominance import dominance

    opts, table, k = run.options, run.table, run.k
    factors, covariates = _factors(run), list(opts.covariates)
    blocks: list[dict[str, Any]] = [b.text(
        "Which groups of common factors go with a better end score, once the intake score is "
        "taken into account? Each factor's share is its average contribution to the explained "
        "variance over every order in which the factors can enter (LMG, Shapley). Shares "
        "describe this body's clients; they do not prove that a factor causes change.")]
    if "end_scores" in run.gaps:
        run.log.append(("Factor shares", "not estimated: " + run.gaps["end_scores"]))
        blocks.append(b.warning(run.gaps["end_scores"]))
        return b.section("drivers", "What drives outcome", blocks)
    left_out = _left_out(run, factors)
    if left_out:
        blocks.append(b.note(left_out))
    try:
        fit, notes = _quiet(decompose, table, opts.outcome, factors, covariates=covariates,
                            n_boot=opts.n_boot, cluster="coach_id" if opts.n_boot else None,
                            seed=opts.seed)
        comparison = fit.compare(opts.reference)
    except OutcomesError as error:
        blocks.append(b.warning(f"The factor shares could not be estimated: {error}"))
        return b.section("drivers", "What drives outcome", blocks)
    ml_shares = ml_null = None
    failure: Exception | None = None
    try:
        ml_null, more = _quiet(multilevel, table, opts.outcome, [])
        notes += more
    except OutcomesError as error:
        blocks.append(b.note(f"The coach component could not be estimated: {error}"))
    for centring in ("within", "none"):
        try:
            ml_shares, more = _quiet(multilevel_shares, table, opts.outcome, factors,
                                     covariates=covariates, centring=centring)
            notes += more
            if centring == "none":
                notes.append("The multilevel shares use uncentred predictors: with this few "
                             "coaches the coach means of the predictors are not estimable.")
            break
        except OutcomesError as error:
            failure = error
    if ml_shares is None:
        blocks.append(b.note(f"The multilevel shares could not be estimated: {failure}"))
    run.facts.update(r2=fit.r2, r2_covariates=fit.r2_covariates, n_shares=fit.n)
    blocks.append(b.text(
        f"With {b.count(fit.n, k)} clients measured on every factor, the intake score alone "
        f"explains {b.percent(fit.r2_covariates)} of the variance of the end score and the "
        f"{_count_word(len(factors))} factors a further "
        f"{b.percent(fit.r2 - fit.r2_covariates)}. Of what the factors explain "
        + "; ".join(f"{r.part} takes {b.percent(r.estimate)} (reference "
                    f"{b.percent(r.reference)})" for r in comparison.parts.itertuples()) + "."))
    blocks.append(_shares_table(fit, comparison))
    dom, _ = _quiet(dominance, table, opts.outcome, factors, covariates=covariates)
    designations = dom.designations()
    complete = designations[designations["kind"] == "complete"]
    pairs = [f"{r.dominant} over {r.other if r.dominant == r.factor else r.factor}"
             for r in complete.itertuples() if isinstance(r.dominant, str)]
    blocks.append(b.text(
        "Dominance: " + (("a factor completely dominates another when it adds more in every "
                          "sub-model; here " + ", ".join(pairs) + ".") if pairs else
                         "no factor adds more than another in every sub-model.")))
    blocks.append(_other_references(fit, ml_shares, opts.reference))
    if ml_null is not None:
        low, high = ml_null.icc_interval
        run.facts.update(icc=ml_null.icc)
        blocks.append(b.text(
            f"The coach component: {b.percent(ml_null.icc, 1)} of the variance of the end score "
            f"lies between coaches (intra-class correlation, 95 % interval "
            f"{b.percent(low, 1)} to {b.percent(high, 1)}); psychotherapy studies report about "
            "5 % for therapists in practice."))
    fig = shares_figure(comparison, ml_shares)
    blocks.append(run.figure(
        fig, alt="Bar chart of each factor's share of what the factors explain with 95 % "
        "intervals beside the reference split: " + "; ".join(
            f"{r.part} {b.percent(r.estimate)} vs {b.percent(r.reference)}"
            for r in comparison.parts.itertuples())
        + ("; and bars of each part's share of the outcome variance in the multilevel model: "
           + "; ".join(f"{p} {b.percent(v, 1)}" for p, v in ml_shares.shares.items())
           if ml_shares is not None else ""),
        caption="Figure 4. Left: factor shares (blue"
                + (f", {round(100 * fit.ci_level)} % intervals" if fit.ci is not None else "")
                + f") beside {comparison.reference.label} (grey)."
                + (" Right: shares of the end score's variance with clients nested in coaches."
                   if ml_shares is not None else "")))
    blocks += _coach_blocks(run, coaches_figure)
    columns = [opts.outcome, *covariates, *[c for cols in factors.values() for c in cols]]
    run.log.append(("Factor shares", f"LMG shares of the R² of {opts.outcome} (OLS, "
                    f"{', '.join(covariates)} always in) over {len(factors)} factor groups, "
                    f"{b.count(fit.n, k)} clients with every column; missing: "
                    f"{missing_counts(run, columns)}; "
                    + (f"{fit.ci_method} intervals from {fit.n_boot} bootstrap replicates "
                       f"resampling {fit.n_clusters} coaches whole."
                       if fit.n_boot else "no bootstrap intervals.")))
    if ml_null is not None:
        state = "converged" if ml_null.converged else "did not converge"
        run.log.append(("Multilevel model", f"Random-intercept models of {opts.outcome} "
                        f"(REML, {b.count(ml_null.n, k)} clients in {ml_null.n_clusters} coaches), "
                        f"{state}"
                        + ("; the coach variance is at its boundary (singular fit)"
                           if ml_null.singular else "") + "; ICC with a profile-likelihood "
                        "interval; multilevel shares as Shapley values of the marginal R²."))
    run.log += [("Warning", n) for n in dict.fromkeys(notes)]
    return b.section("drivers", "What drives outcome", blocks)


def _coach_blocks(run: Run, coaches_figure) -> list[dict[str, Any]]:  # noqa: ANN001
    from outcomes.practice.coach_effects import coach_effects

    k, table = run.k, run.table
    covariates = ["baseline"] + (["sponsor"] if table["sponsor"].nunique() > 1 else [])
    try:
        effects = coach_effects(table.assign(coach_id=table["coach_id"].astype(str)),
                                outcome="change", covariates=covariates, k=k,
                                seed=run.options.seed)
    except OutcomesError as error:
        return [b.note(f"Coach effects could not be estimated: {error}")]
    rows = []
    for r in effects.table().itertuples():
        name = run.names.get(r.cluster, r.cluster)
        if r.suppressed:
            rows.append([name, f"fewer than {k}", "–", "–", "–", r.reason])
        else:
            rows.append([name, b.count(r.n, k), b.number(r.estimate),
                         b.interval(r.ci_low, r.ci_high),
                         f"{int(r.rank_low)} to {int(r.rank_high)}", r.position])
    rows.sort(key=lambda row: row[0])
    shown = effects.table()[~effects.table()["suppressed"]]
    counts = shown["position"].value_counts()
    run.facts.update(tau=effects.tau, coaches_withheld=effects.n_suppressed)
    blocks = [b.heading("Coaches"), b.text(
        f"Each coach's clients are compared with the change expected for clients like them "
        f"(intake score{' and sponsor' if 'sponsor' in covariates else ''}). Coaches differ "
        f"beyond chance by a standard deviation of {b.number(effects.tau)} ORS points "
        f"(within coaches, clients vary by {b.number(effects.sigma)}). "
        f"{counts.get('within limits', 0)} of {len(shown)} coaches lie within the 95 % limits "
        "of the funnel plot. Estimates are pulled towards the average in proportion to how "
        "little each coach's clients can tell, and ranks are given as intervals: the data "
        "cannot order coaches more finely than that.")]
    blocks += [b.note(text) for text in effects.notes if "left out" not in text]
    if effects.n_suppressed:
        blocks.append(b.note(f"{effects.n_suppressed} coach(es) not published: fewer than {k} "
                             "clients with both scores, or withheld so that such a coach's "
                             "count cannot be worked out from the total (they still inform "
                             "the spread between coaches)."))
    blocks.append(b.table(["coach", "clients", "effect (points)", "95 % interval",
                           "rank interval", "funnel position"], rows,
                          caption="Coach effects on change, case-mix adjusted (not a league "
                                  "table: ordered by name)",
                          numeric=[False, True, True, True, True, False]))
    fig = coaches_figure(effects)
    blocks.append(run.figure(
        fig, alt=f"Funnel plot of {len(shown)} coaches' mean difference from expected change "
        "against their number of clients, with 95 % and 99.8 % limits; "
        + "; ".join(f"{c}: {n} coaches" for c, n in counts.items())
        + ". Beside it, the shrunken estimates with intervals in order.",
        caption="Figure 5. Left: funnel plot; dashed and dotted lines are the 95 % and 99.8 % "
                "limits, widened for the spread between coaches. Right: each coach's shrunken "
                "effect with its 95 % interval, in order of estimate."))
    run.log.append(("Coach effects", f"Mean residual of change given {', '.join(covariates)} "
                    f"per coach; funnel limits with Spiegelhalter's additive over-dispersion "
                    f"(tau = {b.number(effects.tau)}, 10 % winsorised z-scores); empirical-Bayes "
                    f"shrinkage; {effects.n_suppressed} coaches under k withheld."))
    return blocks


def alliance(run: Run) -> dict[str, Any]:
    """Alliance over sessions: mean ratings by session and within/between-client effects."""
    from outcomes.mixed.alliance import alliance_outcome
    from outcomes.mixed.sessions import session_table
    from outcomes.plots import alliance_figure

    k = run.k
    intro = b.text("Clients rated the session (SRS, at its end) and how they were doing "
                   "(ORS, at the start of the next). Does a better session go with a better "
                   "next rating, for the same client (within) or across clients (between)?")
    if "session_ratings" in run.gaps:
        run.log.append(("Alliance", "not estimated: " + run.gaps["session_ratings"]))
        return b.section("alliance", "Alliance over sessions",
                         [intro, b.warning(run.gaps["session_ratings"])])
    scores = run.consenting(run.study.scores())
    engagements = run.consenting(run.study.valid("engagements"))
    try:
        sessions = session_table(scores, engagements)
    except OutcomesError as error:
        return b.section("alliance", "Alliance over sessions", [
            intro, b.note(f"The session ratings could not be paired: {error}")])
    rated = sessions.dropna(subset=["alliance", "outcome"])
    by_session = rated.groupby("session").agg(alliance=("alliance", "mean"),
                                              outcome=("outcome", "mean"),
                                              n=("engagement_id", "nunique")).reset_index()
    by_session = by_session[by_session["n"] >= max(k, 30)]
    blocks = [intro]
    effects = None
    try:
        fit, notes = _quiet(alliance_outcome, sessions, alliance="alliance", outcome="outcome")
        effects = fit.effects.reset_index(names="effect") if "effect" not in fit.effects else \
            fit.effects
        run.log.append(("Alliance", f"Lagged mixed model (Falkenström et al. 2017): ORS at "
                        f"session t + 1 on ORS and SRS at t, SRS split into the client's mean "
                        f"and the deviation from it; {fit.n} session pairs of {fit.n_clients} "
                        f"clients; {'converged' if fit.converged else 'did not converge'}."))
        run.log += [("Warning", n) for n in dict.fromkeys(notes)]
    except OutcomesError as error:
        blocks.append(b.note(f"The session model could not be fitted: {error}"))
    if effects is not None:
        labels = {"within": "within client", "between": "between clients",
                  "between_minus_within": "difference"}
        effects = effects.assign(effect=[labels.get(e, e) for e in effects["effect"]])
        rows = [[r.effect, b.number(r.estimate, 3), b.interval(r.ci_low, r.ci_high, 3),
                 b.number(r.p_value, 3)] for r in effects.itertuples()]
        within, between = effects.iloc[0], effects.iloc[1]
        clear = within.ci_low > 0 or within.ci_high < 0
        blocks.append(b.text(
            "For the same client, a session rated one SRS point above the client's own average "
            f"is followed by an ORS {b.number(within.estimate, 2)} points different "
            f"(95 % interval {b.interval(within.ci_low, within.ci_high)}): "
            + ("a better session goes with a better next rating."
               if clear and within.estimate > 0 else
               "a better session goes with a worse next rating." if clear else
               "no clear link within clients.")
            + f" Across clients, each point of a client's average SRS goes with "
            f"{b.number(between.estimate, 2)} ORS points "
            f"{b.interval(between.ci_low, between.ci_high)}."))
        blocks.append(b.table(["effect", "ORS points per SRS point", "95 % interval",
                               "p value"], rows, caption="Alliance and next-session outcome"))
    if len(by_session):
        fig = alliance_figure(by_session, effects)
        first, last = by_session.iloc[0], by_session.iloc[-1]
        blocks.append(run.figure(
            fig, alt=f"Line chart of mean ORS and mean SRS over sessions "
            f"{int(first.session)} to {int(last.session)}; ORS from "
            f"{b.number(first.outcome, 1)} to {b.number(last.outcome, 1)}, SRS from "
            f"{b.number(first.alliance, 1)} to {b.number(last.alliance, 1)}",
            caption=f"Figure 6. Mean ratings by session (sessions with at least {max(k, 30)} "
                    "clients). "
                    "Right: within- and between-client effects with 95 % intervals."))
    return b.section("alliance", "Alliance over sessions", blocks)


def monitoring(run: Run) -> dict[str, Any]:
    """How many engagements were flagged, by reason (the body's own expected course)."""
    from outcomes.plots import monitoring_figure
    from outcomes.practice.monitoring import monitor
    from outcomes.practice.trajectories import expected_trajectories, session_scores

    k = run.k
    try:
        sessions = session_scores(run.consenting(run.study.scores()))
        fit, _ = _quiet(expected_trajectories, sessions, outcome="ors", intake="intake")
        flags, _ = _quiet(monitor, sessions, fit, outcome="ors", alliance="srs")
    except OutcomesError as error:
        gap = run.gaps.get("session_ratings")
        if gap:
            run.log.append(("Monitoring", "not run: " + gap))
        return b.section("monitoring", "Monitoring summary", [
            b.text("Monitoring compares each session's ORS with the range expected for "
                   "clients who started at the same score."),
            b.warning(gap) if gap else b.note(f"Monitoring could not be run: {error}")])
    counts = flags.counts().set_index("flag").drop(index="on track", errors="ignore")
    total = int(flags.table()["engagement_id"].nunique())
    shown = suppress_counts(counts["engagements"].rename("engagements"), k=k, totals="none",
                            base=run.base)
    values = shown.values["engagements"]
    rows = [[name, shown.display().loc[name, "engagements"],
             b.percent(values[name] / total) if pd.notna(values[name]) else "*"]
            for name in counts.index]
    blocks = [b.text(
        f"Each session's ORS of {b.count(total, k)} engagements was compared with the range "
        "expected for clients who started at the same score (the middle 90 % of this body's "
        "clients), and each SRS with its cutoff. A flag prompts a conversation with the client; "
        "it never judges the client's health."),
        b.table(["flag", "engagements ever flagged", "share"], rows,
                caption="Engagements flagged at least once, by reason",
                note=_note(run, bool(shown.mask.to_numpy().any())))]
    frame = pd.DataFrame({"flag": counts.index,
                          "share": [values[n] / total if pd.notna(values[n]) else np.nan
                                    for n in counts.index]})
    blocks.append(run.figure(
        monitoring_figure(frame), alt="Bar chart of the share of engagements ever flagged: "
        + "; ".join(f"{r[0]} {r[2]}" for r in rows),
        caption="Figure 7. Share of engagements flagged at least once, by reason."))
    run.log.append(("Monitoring", f"Expected course by quantile regression on intake x "
                    f"log(session) ({fit.n_clients} clients, {fit.n_observations} ratings); "
                    f"flags with the ORS's reliable change ({b.number(flags.reliable_change)}) "
                    f"and the SRS cutoff ({b.number(flags.alliance_cutoff)})."))
    return b.section("monitoring", "Monitoring summary", blocks)


def _note(run: Run, hidden: bool) -> str:
    out = f"* fewer than {run.k} engagements: not shown." if hidden else ""
    return (out + (f" Counts rounded to the nearest {run.base}." if run.base else "")).strip()
