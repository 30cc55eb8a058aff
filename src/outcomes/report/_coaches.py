"""The coach section: a funnel plot, the coaches who stand out by one stated rule, and the
full table in the technical appendix and in a CSV file beside the report.

The rule: a coach stands out when the 95 % interval of their case-mix adjusted, shrunken
effect lies wholly above or wholly below the body's average (0). The text names exactly
those coaches; nothing else marks a coach.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from outcomes._errors import OutcomesError
from outcomes.report import _blocks as b
from outcomes.report._body import Run

__all__ = ["coaches", "draw_ahead", "RULE", "CSV_NAME"]

#: The file of every coach's published numbers, written beside the report.
CSV_NAME = "coach-effects.csv"
RULE = ("A coach stands out only when the whole 95 % interval of their effect lies above, or "
        "below, the body's average.")
_COLUMNS = ["coach", "clients", "effect (ORS points)", "95 % interval", "rank interval"]


def _effects(run: Run) -> Any:
    from outcomes.practice.coach_effects import coach_effects

    table = run.table
    covariates = ["baseline"] + (["sponsor"] if table["sponsor"].nunique() > 1 else [])
    return coach_effects(table.assign(coach_id=table["coach_id"].astype(str)),
                         outcome="change", covariates=covariates, k=run.k,
                         seed=run.options.seed)


def _rows(run: Run, effects: Any) -> tuple[list[list[str]], list[list[str]], bool]:
    """Every coach's published row (withheld ones read "withheld", with no reason), and the
    rows of the coaches who stand out by the rule."""
    coaches = effects.table().assign(name=lambda f: [run.names.get(c, c) for c in f["cluster"]])
    counts = pd.Series([float(n) for n in _exact_counts(run, coaches)], index=coaches["name"])
    shown = run.gate.counts(counts.rename("clients"), "clients per coach", totals="columns")
    published = shown.values["clients"]
    hidden = False
    rows, standing = [], []
    for r in coaches.itertuples():
        what = f"coach {r.name}"
        if r.suppressed or pd.isna(published.get(r.name)):
            run.stat(None, None, f"{what}: effect")
            rows.append([r.name, "withheld", "withheld", "withheld", "withheld"])
            hidden = True
            continue
        n = published[r.name]
        estimate = run.stat(r.estimate, r.n, f"{what}: effect")
        interval = run.interval(r.ci_low, r.ci_high, r.n, f"{what}: effect")
        ranks = run.gate.interval(r.rank_low, r.rank_high, r.n, f"{what}: rank", digits=0)
        row = [r.name, f"{n:,.0f}", estimate.text, interval,
               f"{ranks[0]} to {ranks[1]}" if not ranks[0].withheld else "withheld"]
        rows.append(row)
        if r.ci_low > 0 or r.ci_high < 0:
            standing.append(row[:4] + ["above the average" if r.ci_low > 0 else
                                       "below the average"])
    rows.sort(key=lambda row: row[0])
    return rows, standing, hidden


def _exact_counts(run: Run, table: pd.DataFrame) -> list[int]:
    """Each coach's number of clients with a change score (the table withholds some)."""
    data = run.table.dropna(subset=["change", "baseline"])
    sizes = data["coach_id"].astype(str).value_counts()
    return [int(sizes.get(c, 0)) for c in table["cluster"]]


def draw_ahead(run: Run) -> None:
    """Fit the coach effects and send their figure to the drawer before the sections that
    wait for the worker's models, so that it is drawn meanwhile (nothing is published)."""
    from outcomes.plots import coaches_figure

    if "end_scores" in run.gaps:
        return
    try:
        effects = run.cached("coach_effects", lambda: _effects(run))
    except OutcomesError:
        return  # the section says why
    run.draw_ahead(coaches_figure, effects)


def coaches(run: Run) -> dict[str, Any]:
    """Coach effects: funnel plot, the coaches who stand out, the full table elsewhere."""
    from outcomes.plots import coaches_figure

    title = "Coaches"
    run.findings["coaches"] = None
    if "end_scores" in run.gaps:
        return b.section("coaches", title, [b.lead("Coach effects need end scores."),
                                            b.warning(run.gaps["end_scores"])])
    try:
        effects = run.cached("coach_effects", lambda: _effects(run))
    except OutcomesError as error:
        return b.section("coaches", title, [b.lead("Coach effects could not be estimated."),
                                            b.note(f"The estimation failed: {error}")])
    rows, standing, hidden = _rows(run, effects)
    published = len(rows) - sum(row[1] == "withheld" for row in rows)
    n_coaches = run.count(published, "coaches published")
    tau = run.stat(effects.tau, effects.n, "spread between coaches")
    sigma = run.stat(effects.sigma, effects.n, "spread within coaches")
    run.facts.update(tau=effects.tau, coaches_withheld=effects.n_suppressed)
    run.findings["coaches"] = {"standing": len(standing), "of": n_coaches}
    above = sum(r[-1] == "above the average" for r in standing)
    lead = (f"{len(standing)} of {n_coaches} coaches stand out from the body's average "
            f"({above} above, {len(standing) - above} below)." if standing else
            f"None of the {n_coaches} coaches stands out from the body's average: the "
            "differences between them are within what the numbers of clients allow.")
    covariates = ", ".join(["intake score"] + (["sponsor"] if "sponsor" in effects.covariates
                                               else []))
    blocks = [b.lead(lead), b.text(
        f"Each coach's clients are compared with the change expected for clients like them "
        f"(adjusted for {covariates}). The effect is how many ORS points more (or fewer) "
        f"their clients changed than expected, pulled towards the average in proportion to "
        f"how little the coach's clients can tell. Coaches differ beyond chance by a standard "
        f"deviation of {tau} ORS points; clients of the same coach differ by {sigma}. " + RULE),
        run.draw(coaches_figure, effects, alt="Funnel plot of each published coach's mean "
                   "difference from expected change against their number of clients, with "
                   "95 % and 99.8 % limits; beside it each coach's effect with its 95 % "
                   f"interval in order of estimate. {len(standing)} intervals lie wholly "
                   "above or below 0.",
                   caption="Figure 5. Left: funnel plot: each dot is a coach; the lines show "
                           "where 95 % and 99.8 % of coaches would fall by chance, widened "
                           "for the real spread between coaches. Right: each coach's effect "
                           "with its 95 % interval, in order; a coach stands out when the "
                           "whole interval lies above or below the line at 0.")]
    if standing:
        blocks.append(b.table(["coach", "clients", "effect (ORS points)", "95 % interval",
                               "compared with the average"], standing,
                              caption="Coaches who stand out by the rule above",
                              numeric=[False, True, True, True, False]))
    if hidden:
        blocks.append(b.note(f"Some coaches are withheld: those with fewer than {run.k} "
                             "clients, and as few others as needed so that their number cannot "
                             "be worked out from the total. They still inform the spread "
                             "between coaches."))
    blocks.append(b.note(f"Every coach's figures are in the technical appendix and in "
                         f"{CSV_NAME} beside this report."))
    run.appendix += [b.heading("Every coach"), b.table(
        _COLUMNS, rows, caption="Coach effects on change, adjusted for case mix (ordered by "
                                "name, not a league table)",
        numeric=[False, True, True, True, True],
        note="Rank interval: the places the coach could hold among the published coaches "
             "(1 = largest effect), given the uncertainty of every estimate.")]
    run.files[CSV_NAME] = pd.DataFrame(rows, columns=_COLUMNS)
    run.log.append(("Coach effects", f"Mean residual of change given {covariates} per coach; "
                    f"funnel limits widened for the spread between coaches (Spiegelhalter's "
                    f"additive over-dispersion, its estimate robust to the most extreme tenth "
                    f"of coaches at each end); empirical-Bayes shrinkage; rank intervals from "
                    f"draws of every coach's estimate. {RULE}"))
    return b.section("coaches", title, blocks)
