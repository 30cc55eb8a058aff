"""Report sections on the measures and on change: measurement quality, did clients improve.

Every number goes through the run's disclosure gate (:class:`~outcomes.report._body.Run`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes._errors import OutcomesError
from outcomes.norms.gaps import table_name
from outcomes.report import _blocks as b
from outcomes.report._body import Run, judgement, withheld_note

__all__ = ["measurement", "improvement", "ACCEPTABLE", "GOOD", "EFFECT_SIZE_WORDS",
           "EFFECT_SIZES"]

#: The usual thresholds of a reliability coefficient (named in the text).
ACCEPTABLE, GOOD = 0.70, 0.80
#: Cohen's conventional small, medium and large standardised changes (named in a note).
EFFECT_SIZE_WORDS = {0.2: "small", 0.5: "medium", 0.8: "large"}
#: The effect sizes of a change result, as a reader names them.
EFFECT_SIZES = {
    "pre_post_d": "Standardised change (mean change over the spread of intake scores)",
    "hedges_g_av": "Standardised change (over the average spread of intake and end scores)",
    "severity_adjusted": "Change of clients who started below the cutoff, adjusted for intake",
}


def measurement(run: Run) -> dict[str, Any]:
    """Reliability of every instrument scale in the data (client ratings)."""
    from outcomes.measures.reliability import reliability

    responses = run.consenting(run.study.valid("responses"))
    given = dict(tuple(responses.groupby("instrument", sort=False, observed=True)))
    present = [key for key in registry.available() if key in given and key != "gas"]
    rows, frames, failed, low = [], [], [], []
    names: dict[str, str] = {}
    for key in present:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = reliability(given[key], key, n_boot=min(run.options.n_boot, 200),
                                     seed=run.options.seed)
        except OutcomesError as error:
            failed.append(f"{registry.get(key).name}: {error}")
            continue
        estimates = result.table()
        estimates = estimates[estimates["n"] >= run.k]
        names[key.upper()] = registry.get(key).name
        alpha = estimates[estimates["quantity"] == "alpha"]
        omega = estimates[estimates["quantity"] == "omega"]
        pairs = alpha.merge(omega[["scale", "estimate", "ci_low", "ci_high"]], on="scale",
                            suffixes=("", "_omega"), sort=False)
        for r in pairs.itertuples():
            label = f"{key.upper()} {r.scale.replace('_', ' ')}"
            a = run.stat(r.estimate, r.n, f"alpha of {label}")
            rows.append([key.upper(), r.scale.replace("_", " "), run.count(r.n, label),
                         str(int(r.n_items)),
                         f"{a} {run.interval(r.ci_low, r.ci_high, r.n, f'alpha of {label}')}",
                         f"{run.stat(r.estimate_omega, r.n, f'omega of {label}')} "
                         f"{run.interval(r.ci_low_omega, r.ci_high_omega, r.n, f'omega {label}')}",
                         judgement(r.estimate)])
            if r.estimate < ACCEPTABLE:
                low.append(label)
        frames.append(estimates.assign(label=[f"{key.upper()} {s.replace('_', ' ')}"
                                              for s in estimates["scale"]]))
    run.findings["reliability"] = {"scales": len(rows), "low": low}
    found = (f"{len(rows)} scales of {len(frames)} questionnaires were checked; "
             + (f"{len(low)} fall below .70 and make results on them less certain: "
                + ", ".join(low) + "." if low else "all reach .70 or more."))
    blocks = [b.lead(found if rows else "No questionnaire could be checked."), b.text(
        "Reliability says how consistently a questionnaire's items measure one thing. "
        "Cronbach's alpha and McDonald's omega run from 0 to 1; .70 is usually called "
        "acceptable and .80 good. Low values make every result below less certain for that "
        "scale.")]
    if rows:
        blocks.append(b.table(["questionnaire", "scale", "clients", "items",
                               "Cronbach's alpha [95 % interval]",
                               "McDonald's omega [95 % interval]", "judgement"],
                              rows, caption="Reliability of each scale (client ratings)",
                              numeric=[False, False, True, True, True, True, False],
                              note="; ".join(f"{k}: {v}" for k, v in names.items()) + "."))
        from outcomes.plots import reliability_figure

        blocks.append(run.draw(
            reliability_figure, pd.concat(frames, ignore_index=True),
            alt="Dot plot of alpha and omega with intervals for each scale; "
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


def _change(run: Run) -> Any:
    from outcomes.practice.change import change

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return change(run.table, pre="baseline", post="end_score", instrument="ors")


def _wilson(count: float, total: float, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score interval of a proportion (as statsmodels' ``proportion_confint(...,
    method="wilson")`` gives it, to the last bit, without importing statsmodels here)."""
    from scipy.special import ndtri

    z = -ndtri(alpha / 2)
    p = count / total
    z2 = z * z
    scale = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / scale
    half = z * np.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total ** 2)) / scale
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _category_rows(run: Run, counts: pd.Series) -> tuple[list[list[Any]], pd.DataFrame, Any]:
    """Counts by category, their percentages and Wilson intervals, all from the published
    (suppressed, rounded) counts, so that no exact count can be recovered from a percentage."""
    shown = run.gate.counts(counts.rename("clients"), "clients by change category",
                            totals="columns")
    published = shown.values["clients"]
    total = published["total"]
    rows, categories = [], []
    for name in counts.index:
        value = published[name]
        pct = run.percent(value, total, f"clients {name}", digits=1)
        if pct.withheld:
            cells = [b.SUPPRESSED, b.SUPPRESSED, b.SUPPRESSED]
            categories.append({"category": name, "estimate": float("nan"),
                               "ci_low": float("nan"), "ci_high": float("nan")})
        else:
            low, high = _wilson(value, total)
            cells = [f"{value:,.0f}", pct.text.replace(" %", ""),
                     run.interval(low, high, total, f"clients {name} (%)", 1, 100)]
            categories.append({"category": name, "estimate": value / total, "ci_low": low,
                               "ci_high": high})
        rows.append([name, *cells])
    rows.append(["total", f"{total:,.0f}" if pd.notna(total) else b.SUPPRESSED, "", ""])
    return rows, pd.DataFrame(categories), shown


def _sum_share(run: Run, published: pd.Series, names: tuple[str, ...], what: str) -> str:
    """The percentage of clients in some categories, unless one of them is withheld (a sum
    with a published part would give the withheld one away)."""
    values = [published.get(name) for name in names]
    if any(v is None or pd.isna(v) for v in values):
        return "a share not shown (small counts)"
    return run.percent(sum(values), published["total"], what).text


def improvement(run: Run) -> dict[str, Any]:
    """Did clients improve: reliable change, recovery and effect sizes on the ORS."""
    k, table, title = run.k, run.table, "Did clients improve?"
    if "end_scores" in run.gaps:
        run.log.append(("Change", "not estimated: " + run.gaps["end_scores"]))
        run.findings["change"] = None
        return b.section("improvement", title, [b.lead(
            "Improvement cannot be shown yet: too few clients have an end score."),
            b.warning(run.gaps["end_scores"])])
    result = run.cached("change", lambda: _change(run))
    counts = result.counts.drop("missing")
    both = int(counts.sum())
    if both < k:
        few = (f"Fewer than {k} clients have an ORS at both intake and the end: the change "
               f"figures need at least {k}, so none is shown. Add the missing intake or end "
               f"scores to {table_name(run.study, 'responses')} and run the report again.")
        run.log.append(("Change", "not estimated: " + few))
        run.findings["change"] = None
        return b.section("improvement", title, [b.lead("Improvement cannot be shown yet."),
                                                b.warning(few)])
    rows, categories, shown = _category_rows(run, counts)
    published = shown.values["clients"]
    n_both = run.count(both, "clients with both scores")
    improved = _sum_share(run, published, ("recovered", "improved"), "improved reliably")
    recovered = _sum_share(run, published, ("recovered",), "recovered")
    worse = _sum_share(run, published, ("deteriorated",), "deteriorated")
    mean = run.gate.mean(table.dropna(subset=["baseline", "end_score"])["change"],
                         "mean change", bounds=(-40, 40), precision=0.1)
    run.findings["change"] = {"n": n_both, "improved": improved, "recovered": recovered,
                              "deteriorated": worse, "mean": mean}
    missing = int(result.counts.get("missing", 0))
    run.facts.update(with_both_scores=both, missing_end=missing)
    rc, cutoff = b.number(result.reliable_change, 1), b.number(result.cutoff)
    blocks = [b.lead(f"Of the {n_both} clients rated at intake and at the end, {improved} "
                     f"improved reliably and {worse} deteriorated reliably."), b.text(
        f"Each client's Outcome Rating Scale (ORS, 0 to 40, higher is better) at the end is set "
        f"beside the ORS at intake. On average it rose by {mean} points. A change of more than "
        f"{rc} points counts as reliable: more than the questionnaire's ordinary ups and downs. "
        f"A client has recovered when the change is reliable and the score crossed {cutoff}, "
        f"the score that separates clients from people not seeking help, from below: "
        f"{recovered} recovered.")]
    if missing:
        share = run.percent(missing, len(table), "engagements without both scores")
        blocks.append(b.warning(
            f"{run.count(missing, 'engagements without both scores')} engagements "
            + (f"({share}) " if not share.withheld else "")
            + "have no intake or no end score: they are ongoing, ended early or were not rated "
            "at the end. The figures describe the clients rated at both ends; when many are "
            "missing, recovery among all clients may be lower."))
        run.findings["change"]["missing"] = share
    blocks.append(b.table(["category", "clients", "percent of rated clients",
                           "95 % interval (%)"], rows,
                          caption="Reliable and clinically significant change (ORS)",
                          note=withheld_note(run, bool(shown.mask.to_numpy().any()), "clients")))
    blocks += _effect_sizes(run, result)
    from outcomes.plots import change_figure

    blocks.append(run.draw(
        change_figure, result, categories=categories,
        alt="Bar chart of the percent of rated clients in each change category with "
        "intervals, and a dot plot of the effect sizes: " + "; ".join(
            f"{r[0]} {r[2]} %" for r in rows[:-1]),
        caption="Figure 3. Left: clients by reliable change category, with 95 % intervals. "
                "Right: standardised changes with 95 % intervals."))
    run.log.append(("Change", f"Jacobson-Truax reliable change index with the ORS's published "
                    f"reliable change ({rc} points) and cutoff ({cutoff}); {n_both} clients "
                    "with both scores; clients without one of them counted as missing, never "
                    "dropped."))
    return b.section("improvement", title, blocks)


def _effect_sizes(run: Run, result: Any) -> list[dict[str, Any]]:
    sizes = []
    for m, e, lo, hi, n in result.effect_sizes[
            ["measure", "estimate", "ci_low", "ci_high", "n"]].itertuples(index=False):
        label = EFFECT_SIZES.get(m, m.replace("_", " "))
        sizes.append([label, run.stat(e, n, label), run.interval(lo, hi, n, label),
                      run.count(n, f"clients of {label}")])
    if not sizes:
        return []
    words = ", ".join(f"{v} {w}" for v, w in EFFECT_SIZE_WORDS.items())
    return [b.table(["standardised change", "estimate", "95 % interval", "clients"], sizes,
                    caption="How large the change is, in standard deviations (positive = "
                            "improvement)",
                    note=f"A standardised change divides the mean change by the spread "
                         f"(standard deviation) of the scores; by convention {words}. The "
                         "adjusted change compares clients who started below the cutoff "
                         "after allowing for where they started.")]
