"""The first sections of a body's report: who is in the data, measurement, improvement.

Every function takes the run (data, options, the log of what was done) and returns a
section; nothing shown rests on fewer than ``k`` clients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes._errors import OutcomesError
from outcomes.norms.gaps import table_name
from outcomes.practice.change import Change
from outcomes.privacy import quantile_allowed, suppress_counts
from outcomes.report import _blocks as b
from outcomes.report._render import figure_uri
from outcomes.schema import ALLOWED
from outcomes.study import Study

__all__ = ["Run", "who", "measurement", "improvement"]

STATUSES = ALLOWED["status"]  # in the schema's order, "unknown" last


@dataclass
class Run:
    """What a report is made from, and the record of what was done (for the methods)."""

    study: Study
    table: pd.DataFrame
    options: Any
    names: dict[str, str]
    log: list[tuple[str, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)
    gaps: dict[str, str] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.options.k)

    @property
    def base(self) -> int | None:
        return 5 if self.options.round_counts else None

    def consenting(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of engagements in the analysis (consenting ones)."""
        return frame[frame["engagement_id"].isin(set(self.table["engagement_id"]))]

    def figure(self, fig: Any, *, alt: str, caption: str) -> dict[str, Any]:
        block = b.figure(figure_uri(fig), alt=alt, caption=caption)
        self.figures.append(block)
        return block

    def quantiles(self, values: pd.Series, probs=(0.25, 0.5, 0.75)) -> list[float | None]:
        x = pd.to_numeric(values, errors="coerce").dropna()
        return [float(np.quantile(x, q)) if quantile_allowed(len(x), q, k=self.k) else None
                for q in probs]


def _spread(run: Run, values: pd.Series, unit: str) -> str:
    q25, q50, q75 = (None if q is None else round(q) for q in run.quantiles(values))
    if q50 is None:
        return f"too few to describe (fewer than {2 * run.k} {unit})"
    if q25 is None:
        return f"a median of {q50}"
    return f"a median of {q50} (middle half {q25} to {q75})"


def who(run: Run) -> dict[str, Any]:
    """Who is in the data: coaches, engagements, sessions, completion, sponsors."""
    k, table = run.k, run.table
    engagements = run.study.valid("engagements")
    used = run.consenting(engagements)
    sessions = run.consenting(run.study.valid("sessions"))
    excluded = int(table.attrs.get("excluded_no_consent", 0))
    coaches = used["coach_id"].astype(str).value_counts()
    crossed = pd.crosstab(used["status"], used["sponsor"])
    crossed = crossed.reindex([s for s in STATUSES if s in crossed.index])
    shown = suppress_counts(crossed, k=k, base=run.base)
    totals = shown.values.loc["total"]
    n = totals["total"]
    run.facts.update(engagements=len(used), coaches=int(coaches.size), sessions=len(sessions),
                     excluded_no_consent=excluded)
    blocks = [b.text(
        f"The data hold {b.count(len(used), k)} engagements with {coaches.size} coaches and "
        f"{b.count(len(sessions), k)} sessions. "
        + (f"{b.count(excluded, k).capitalize()} engagements without research consent are left "
           "out of everything in this report." if excluded else
           "Every engagement has research consent (or the data carry no consent flag)."))]
    if "coaches" in run.gaps:
        blocks.append(b.note(run.gaps["coaches"]))
    rejected = {kind: len(frame) for kind, frame in run.study.validate().rejected.items()
                if len(frame)}
    if rejected:
        blocks.append(b.warning(
            "Rows that failed validation are left out: " + ", ".join(
                f"{n:,} of the {kind} table" for kind, n in rejected.items())
            + ". `outcomes validate` lists each with its reason."))
    status = shown.values["total"].drop("total")
    parts = [f"{b.percent(v / n)} {s}" for s, v in status.items() if pd.notna(v) and n]
    if parts:
        blocks.append(b.text("Of the engagements, " + ", ".join(parts) + ". "
                             + _sponsor_sentence(totals, n)))
    blocks.append(b.text(
        f"Engagements lasted {_spread(run, table['sessions_attended'], 'engagements')} "
        f"sessions. Coaches saw {_spread(run, coaches, 'coaches')} clients each."))
    rows = [[str(status_name), *shown.display().loc[status_name].tolist()]
            for status_name in shown.values.index]
    blocks.append(b.table(["status", *map(str, shown.values.columns)], rows,
                          caption="Engagements by status and sponsor",
                          note=_suppression_note(run, shown.mask.to_numpy().any())))
    fig = _engagements_figure(shown.values.drop(index="total", columns="total"))
    blocks.append(run.figure(
        fig, alt="Horizontal stacked bars of engagements by status, split by sponsor: "
        + "; ".join(f"{s}: {b.count(v, k)}" for s, v in status.items()),
        caption="Figure 1. Engagements by status, split by who pays (sponsor). Cells of fewer "
                f"than {k} engagements are not drawn."))
    run.log.append(("Data", f"{b.count(len(used), k)} consenting engagements of {coaches.size} "
                    f"coaches and {b.count(len(sessions), k)} sessions from the valid rows of the "
                    f"input; {b.count(excluded, k)} engagements without research consent left "
                    "out."))
    return b.section("who", "Who is in the data", blocks)


def _engagements_figure(values: pd.DataFrame) -> Any:
    from outcomes.plots import engagements_figure

    return engagements_figure(values)


def _sponsor_sentence(totals: pd.Series, n: float) -> str:
    parts = [f"{b.percent(v / n)} by {'the client' if s == 'self' else 'an organisation'}"
             for s, v in totals.drop("total").items() if pd.notna(v) and n]
    return ("They were paid for " + " and ".join(parts) + ".") if parts else ""


def _suppression_note(run: Run, any_hidden: bool) -> str:
    out = ""
    if any_hidden:
        out = (f"* not shown: fewer than {run.k} engagements, or hidden so that a total "
               "cannot reveal such a cell.")
    if run.base:
        out += f" Counts are rounded to the nearest {run.base}."
    return out.strip()


def _judgement(alpha: float) -> str:
    if not np.isfinite(alpha):
        return "–"
    return ("excellent" if alpha >= 0.9 else "good" if alpha >= 0.8 else "acceptable"
            if alpha >= 0.7 else "questionable" if alpha >= 0.6 else "poor")


def measurement(run: Run) -> dict[str, Any]:
    """Reliability of every instrument scale in the data (client ratings)."""
    from outcomes.measures.reliability import reliability

    responses = run.consenting(run.study.valid("responses"))
    present = [key for key in registry.available()
               if key in set(responses["instrument"]) and key != "gas"]
    rows, frames, failed = [], [], []
    names: dict[str, str] = {}
    for key in present:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = reliability(responses, key, n_boot=min(run.options.n_boot, 200),
                                     seed=run.options.seed)
        except OutcomesError as error:
            failed.append(f"{key}: {error}")
            continue
        estimates = result.table()
        estimates = estimates[estimates["n"] >= run.k]
        names[key.upper()] = registry.get(key).name
        alpha = estimates[estimates["quantity"] == "alpha"]
        omega = estimates[estimates["quantity"] == "omega"]
        pairs = alpha.merge(omega[["scale", "estimate", "ci_low", "ci_high"]], on="scale",
                            suffixes=("", "_omega"), sort=False)
        for r in pairs.itertuples():
            rows.append([key.upper(), r.scale.replace("_", " "), b.count(r.n, run.k),
                         str(int(r.n_items)),
                         f"{b.number(r.estimate)} {b.interval(r.ci_low, r.ci_high)}",
                         f"{b.number(r.estimate_omega)} "
                         f"{b.interval(r.ci_low_omega, r.ci_high_omega)}",
                         _judgement(r.estimate)])
        frames.append(estimates.assign(label=[f"{key.upper()} {s.replace('_', ' ')}"
                                              for s in estimates["scale"]]))
    blocks = [b.text("Reliability says how consistently a questionnaire's items measure one "
                     "thing. Cronbach's alpha and McDonald's omega run from 0 to 1; .70 is "
                     "usually called acceptable and .80 good. Low values make every result "
                     "below less certain for that scale.")]
    if rows:
        low = [r for r in rows if r[-1] in ("questionable", "poor")]
        blocks.append(b.text(f"{len(rows)} scales of {len(frames)} questionnaires were "
                             "checked; " + (f"{len(low)} fall below .70: "
                             + ", ".join(f"{r[0]} {r[1]}" for r in low) + "."
                             if low else "all reach .70 or more.")))
        blocks.append(b.table(["scale", "", "clients", "items", "alpha [95 %]", "omega [95 %]",
                               "judgement"],
                              rows, caption="Reliability of each scale (client ratings)",
                              numeric=[False, False, True, True, True, True, False],
                              note="; ".join(f"{k}: {v}" for k, v in names.items()) + "."))
        from outcomes.plots import reliability_figure

        fig = reliability_figure(pd.concat(frames, ignore_index=True))
        blocks.append(run.figure(
            fig, alt="Dot plot of alpha and omega with intervals for each scale; "
            + "; ".join(f"{r[0]} {r[1]} alpha {r[4].split()[0]}" for r in rows),
            caption="Figure 2. Alpha (circles) and omega (squares) with 95 % intervals. Dotted "
                    "lines mark .70 and .80."))
    if failed:
        blocks.append(b.note("Not checked: " + "; ".join(failed)))
    run.log.append(("Reliability", "Cronbach's alpha with Feldt intervals and omega total "
                    "(one-factor maximum likelihood) with bootstrap intervals, from each "
                    "engagement's first administration of each questionnaire; respondents "
                    "missing an item of a scale left out of that scale."))
    return b.section("measurement", "Measurement quality", blocks)


def _share(published: pd.Series, names: tuple[str, ...], total: int) -> str:
    """The share of clients in some categories, unless one of them is suppressed (a sum
    with a published part would reveal the suppressed one)."""
    values = [published.get(name) for name in names]
    if any(v is None or pd.isna(v) for v in values):
        return "a share not shown (small counts)"
    return b.percent(sum(values) / total)


def improvement(run: Run) -> tuple[dict[str, Any], Change | None]:
    """Did clients improve: reliable change, recovery and effect sizes on the ORS."""
    from outcomes.practice.change import change

    k, table = run.k, run.table
    if "end_scores" in run.gaps:
        run.log.append(("Change", "not estimated: " + run.gaps["end_scores"]))
        return b.section("improvement", "Did clients improve?", [
            b.text("This section sets each client's ORS at the end beside the ORS at "
                   "intake."), b.warning(run.gaps["end_scores"])]), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = change(table, pre="baseline", post="end_score", instrument="ors")
    counts = result.counts.drop("missing")
    both = int(counts.sum())
    if both < k:
        few = (f"Fewer than {k} clients have an ORS at both intake and the end: the change "
               f"figures need at least {k}, so none is shown. Add the missing intake or end "
               f"scores to {table_name(run.study, 'responses')} and run the report again.")
        run.log.append(("Change", "not estimated: " + few))
        return b.section("improvement", "Did clients improve?", [b.warning(few)]), None
    shown = suppress_counts(counts.rename("clients"), k=k, base=run.base)
    published = shown.values["clients"]
    pct = result.percentages.set_index("category")
    rows, categories = [], []
    for name in counts.index:
        value = published[name]
        visible = pd.notna(value)
        rows.append([name, shown.display().loc[name, "clients"],
                     b.percent(pct.loc[name, "estimate"], 1) if visible else "*",
                     b.interval(pct.loc[name, "ci_low"], pct.loc[name, "ci_high"], 1,
                                scale=100) if visible else "*"])
        categories.append({"category": name, **{c: pct.loc[name, c] if visible else np.nan
                                                for c in ("estimate", "ci_low", "ci_high")}})
    missing = int(result.counts.get("missing", 0))
    run.facts.update(with_both_scores=both, missing_end=missing)
    blocks = [b.text(
        f"{b.count(both, k)} clients have an ORS score at intake and at the end. A change of "
        f"more than {b.number(result.reliable_change, 1)} points counts as reliable (more than "
        "the questionnaire's ordinary ups and downs); a client has recovered when the change is "
        f"reliable and the score crossed the cutoff of {b.number(result.cutoff)} from below.")]
    if both >= k:
        blocks.append(b.text(
            f"{_share(published, ('recovered', 'improved'), both)} of them improved reliably "
            f"(recovered or improved), {_share(published, ('recovered',), both)} recovered and "
            f"{_share(published, ('deteriorated',), both)} deteriorated reliably."))
    if missing:
        blocks.append(b.warning(
            f"{b.count(missing, k)} engagements ({b.percent(missing / len(table))}) have no "
            "intake or no end score: they are ongoing, ended early or were not rated at the end. "
            "The figures describe the clients who were rated at both ends; when many are "
            "missing, recovery among all clients may be lower."))
    blocks.append(b.table(["category", "clients", "share of rated", "95 % interval (%)"], rows,
                          caption="Reliable and clinically significant change (ORS)",
                          note=_suppression_note(run, bool(shown.mask.to_numpy().any()))))
    sizes = [[m.replace("_", " "), b.number(e), b.interval(lo, hi), b.count(n, k)]
             for m, e, lo, hi, n in result.effect_sizes[
                 ["measure", "estimate", "ci_low", "ci_high", "n"]].itertuples(index=False)]
    blocks.append(b.table(["effect size", "estimate", "95 % interval", "clients"], sizes,
                          caption="Pre-post effect sizes (positive = improvement)",
                          note="pre post d: mean change over the intake SD; hedges g av: over "
                               "the root mean square of intake and end SDs; severity adjusted: "
                               "change adjusted for intake among clients who started below the "
                               "cutoff (SAES)."))
    from outcomes.plots import change_figure

    fig = change_figure(result, categories=pd.DataFrame(categories))
    blocks.append(run.figure(
        fig, alt="Bar chart of the share of rated clients in each change category with "
        "intervals, and a dot plot of the effect sizes: " + "; ".join(
            f"{r[0]} {r[2]}" for r in rows) + "; " + "; ".join(f"{s[0]} {s[1]}" for s in sizes),
        caption="Figure 3. Left: clients by reliable change category, with 95 % Wilson "
                "intervals. Right: effect sizes with 95 % intervals."))
    run.log.append(("Change", f"Jacobson-Truax reliable change index with the ORS's published "
                    f"reliable change ({b.number(result.reliable_change, 1)} points) and cutoff "
                    f"({b.number(result.cutoff)}); {b.count(both, k)} clients with both scores, "
                    f"{b.count(missing, k)} without one of them (counted as missing, never "
                    "dropped)."))
    return b.section("improvement", "Did clients improve?", blocks), result
