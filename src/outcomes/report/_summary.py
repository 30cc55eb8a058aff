"""The summary that opens a body's report, and the methods written for a board.

The summary is built last, from what each section found (``run.findings``), and placed
first. It reuses the numbers the sections released, so it adds nothing to the gate's log
that a section did not already publish.
"""

from __future__ import annotations

from typing import Any

from outcomes.report import _blocks as b
from outcomes.report._body import Run

__all__ = ["summary", "methods"]


def _where(order: list[tuple[str, str]], key: str) -> str:
    for number, (identifier, title) in enumerate(order, start=1):
        if identifier == key:
            return f"section {number}, {title}"
    return "below"


def _actions(run: Run, order: list[tuple[str, str]]) -> list[str]:
    """The things worth acting on, most pressing first, each pointing to its section."""
    found, out = run.findings, []
    flags = found.get("monitoring")
    if flags:
        out.append(f"Talk through the flagged engagements: {flags['share']} % of engagements "
                   f"were flagged for {flags['flag']} at least once; the flags say what to "
                   f"raise with each client ({_where(order, 'monitoring')}).")
    change = found.get("change")
    if change and change.get("missing") is not None:
        out.append(f"Collect end scores: {change['missing']} of engagements have no intake or "
                   "no end score, and the results hold only for the clients who have both "
                   f"({_where(order, 'improvement')}).")
    reliability = found.get("reliability") or {}
    if reliability.get("low"):
        out.append("Review the questionnaires that measure poorly: "
                   + ", ".join(reliability["low"]) + f" ({_where(order, 'measurement')}).")
    coaches = found.get("coaches")
    if coaches and coaches["standing"]:
        out.append(f"Look at the {coaches['standing']} coaches who stand out from the "
                   f"average, above and below, to learn from them and support them "
                   f"({_where(order, 'coaches')}).")
    drivers = found.get("drivers")
    if drivers:
        out.append(f"Keep measuring the common factors: {drivers['top']} weigh most in "
                   f"outcome here, and a repeat next year will show whether that holds "
                   f"({_where(order, 'drivers')}).")
    if not out:
        out.append("Add end scores and session ratings so that the next report can say more.")
    return out[:3]


def summary(run: Run, order: list[tuple[str, str]]) -> dict[str, Any]:
    """A one-page summary in plain words: who, improvement, what drives outcome, coaches,
    and the three things worth acting on."""
    found = run.findings
    who = found["who"]
    blocks = [b.lead(f"This report describes {who['engagements']} coaching engagements with "
                     f"{who['coaches']} coaches. Every number rests on at least {run.k} "
                     "clients.")]
    change = found.get("change")
    if change:
        rose = change["mean"].value is not None and change["mean"].value > 0
        blocks.append(b.text(
            f"Did clients improve? {'Yes' if rose else 'Not'}, on average: among the "
            f"{change['n']} clients rated at "
            f"the start and at the end, scores {'rose' if rose else 'changed'} by "
            f"{change['mean']} points on a 0 to 40 "
            f"scale. {change['improved'].capitalize()} improved by more than the "
            f"questionnaire's ordinary ups and downs (reliably), {change['recovered']} "
            f"recovered and {change['deteriorated']} became reliably worse "
            f"({_where(order, 'improvement')})."))
    else:
        blocks.append(b.text("Whether clients improved cannot be said yet: too few have an "
                             f"end score ({_where(order, 'improvement')})."))
    drivers = found.get("drivers")
    if drivers:
        blocks.append(b.text(
            f"What drives outcome? The intake score predicts most of the end score; the four "
            f"common factors explain a further {drivers['explained']} of its variance. Of that "
            f"part, set beside {drivers['reference'].label} ({_where(order, 'drivers')}):"))
        blocks.append(b.items(drivers["sentences"]))
        if drivers.get("basis"):
            blocks.append(b.text(" ".join(drivers["basis"])))
    icc, coaches = found.get("icc"), found.get("coaches")
    if icc or coaches:
        parts = []
        if icc:
            parts.append(f"{icc['value']} of the variance in end scores lies between coaches "
                         f"({icc['interval']})")
        if coaches:
            parts.append(f"{coaches['standing']} of {coaches['of']} coaches stand out from "
                         "the body's average by the rule stated in the coach section"
                         if coaches["standing"] else
                         f"none of {coaches['of']} coaches stands out from the body's average")
        blocks.append(b.text("The coach component: " + "; ".join(parts)
                             + f" ({_where(order, 'coaches')})."))
    blocks += [b.heading("Three things worth acting on"), b.items(_actions(run, order))]
    return b.section("summary", "Summary", blocks)


def _missing_caveat(run: Run) -> str:
    drivers = run.findings.get("drivers")
    if drivers and drivers.get("basis"):
        return ("Missing data: the factor shares keep every client, filling in missing values "
                "from each client's other answers (multiple imputation), which assumes that "
                "what is missing is predictable from what was observed; the shares of the "
                "clients with every value are shown beside them as a check, and a sensitivity "
                "analysis says how much worse the clients without an end score would have to "
                "have done for the conclusion to change. Every other analysis uses the "
                "clients who have every value it needs.")
    return ("Missing data: each analysis uses the clients who have every value it needs; "
            "nothing was imputed.")


def methods(run: Run) -> dict[str, Any]:
    """Methods and caveats in words a board reads; the estimation detail is in the appendix."""
    opts = run.options
    blocks = [b.lead("The figures come from the body's own records, analysed with standard, "
                     "published methods; they show associations, not causes."),
              b.items([
                  "Improvement: each client's Outcome Rating Scale at the end is compared with "
                  "the start, using the questionnaire's published thresholds for a real change "
                  "and for recovery (Jacobson and Truax, 1991).",
                  "What drives outcome: each group of factors gets its fair share of what the "
                  "factors explain together, averaged over every order in which they could be "
                  "added (a Shapley value). Intervals come from re-running the analysis on "
                  "many resamples of whole coaches (a bootstrap).",
                  "Coaches: each coach's clients are compared with clients like them; "
                  "estimates from few clients are pulled towards the average, and the funnel "
                  "plot shows how far coaches would spread by chance.",
                  "Monitoring: each session's rating is compared with the range this body's "
                  "clients usually move in, given where they started.",
                  "Every step, model and setting is listed in the technical appendix."]),
              b.heading("Caveats"), b.items([
                  "These are observational data: the factor shares and coach effects describe "
                  "associations among this body's clients, not what causes change.",
                  "Asay and Lambert's 40/30/15/15 is an expert judgement of what improvement is "
                  "due to, not a split of variance; the comparison puts the estimate on the "
                  "reference's own footing, and close agreement is not a confirmation.",
                  _missing_caveat(run),
                  f"Privacy: no number rests on fewer than {run.k} clients; small counts are "
                  "withheld together with further cells so that totals cannot reveal them; "
                  + ("counts are rounded to the nearest 5; " if run.base else "")
                  + ("coaches are named as the body asked." if opts.coach_names else
                     "coaches appear under pseudonyms made with a secret key kept apart from "
                     "this report.") + " No client or engagement identifier appears."])]
    return b.section("methods", "Methods and caveats", blocks)
