"""The sections of a coach's benchmark report (see :mod:`outcomes.benchmarking`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outcomes.benchmarking.compare import _PLAIN, ordinal
from outcomes.report import _blocks as b
from outcomes.report._render import figure_uri

__all__ = ["benchmark_sections"]


@dataclass
class _Run:
    figures: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)

    def figure(self, fig: Any, *, alt: str, caption: str) -> dict[str, Any]:
        block = b.figure(figure_uri(fig), alt=alt, caption=caption)
        self.figures.append(block)
        return block


def _clients(result: Any) -> dict[str, Any]:
    rows = []
    for r in result.clients.itertuples():
        rows.append([str(int(r.row)), r.band or "–", b.number(r.intake_ors, 1),
                     b.number(r.end_ors, 1), b.number(r.change, 1), b.number(r.expected, 1),
                     b.interval(r.low, r.high, 1), b.number(r.difference, 1),
                     r.category or "–"])
    return b.table(["row", "intake band", "intake", "end", "change", "expected",
                    f"range for {round(100 * result.coverage)} % of clients like them",
                    "difference", "category"], rows,
                   caption="Your clients, by row of your workbook",
                   numeric=[True, False, True, True, True, True, True, True, False])


def _change_section(result: Any, run: _Run) -> dict[str, Any]:
    from outcomes.plots import benchmark_figure

    blocks = [b.text(
        "For each client with an intake and an end ORS, the change is set beside the change "
        "the body's clients who started at the same score (and had the same kind of sponsor) "
        "usually made.")]
    missing = getattr(result, "missing", {})
    blocks += [b.warning(missing[part]) for part in ("end_scores", "norms") if part in missing]
    bands = result.by_band
    rows = [[r[0], str(r[1]), b.number(r[2], 1), b.number(r[3], 1),
             b.interval(r[4], r[5], 1), b.count(r[6], result.norms["k"])]
            for r in bands.itertuples(index=False)]
    blocks.append(b.table(["intake band", "your clients", "your mean change",
                           "body median change", "body middle half", "body clients"], rows,
                          caption="Change by intake band: you and the body"))
    blocks.append(_clients(result))
    fig = benchmark_figure(result)
    standing = result.standing
    alt = ("Funnel plot of the body's limits with your clients' mean difference from expected "
           f"({b.number(standing['raw'])} points, {standing['n']} clients) as a diamond; "
           if standing is not None and result.norms.get("funnel") else "")
    alt += "and your mean change per intake band beside the body's median and middle half: " + \
        "; ".join(f"{r[0]}: you {r[2]}, body {r[3]}" for r in rows)
    blocks.append(run.figure(fig, alt=alt, caption=(
        "Figure 1. Left: where your clients' mean difference from expected lies among the "
        "limits that chance gives coaches with as many clients (dashed 95 %, dotted 99.8 %). "
        "Right: your mean change per intake band (diamonds) beside the body's median (bar) and "
        "middle half (hatched).")))
    return b.section("change", "Your clients' change against clients like them", blocks)


def _standing_section(result: Any) -> dict[str, Any]:
    s = result.standing
    if s is None:
        missing = getattr(result, "missing", {})
        why = [missing[part] for part in ("end_scores", "norms") if part in missing]
        return b.section("standing", "Your standing among coaches", [b.text(
            "No standing can be estimated.")] + [b.warning(text) for text in why or [
                "No client has both an intake and an end score, or the norms hold no spread "
                "of coach effects."]])
    level = f"{round(100 * result.ci_level)} %"
    blocks = [b.text(
        f"Your {s['n']} finished clients changed {b.number(s['raw'])} points more than "
        f"expected on average (negative: less); that is {_PLAIN[s['position']]}. Allowing "
        f"for chance, the best estimate of your effect is {b.number(s['estimate'])} points "
        f"({level} interval {b.interval(s['ci_low'], s['ci_high'])}).")]
    if s["percentile_low"] is not None:
        blocks.append(b.text(
            f"Among the body's coaches, that places you between the "
            f"{ordinal(s['percentile_low'])} and the {ordinal(s['percentile_high'])} "
            "percentile."))
    blocks.append(b.table(["quantity", "value"], [
        ["finished clients", str(s["n"])],
        ["mean difference from expected (points)", b.number(s["raw"])],
        ["estimate after allowing for chance", b.number(s["estimate"])],
        [f"{level} interval", b.interval(s["ci_low"], s["ci_high"])],
        ["weight of your own clients", b.percent(s["weight"])],
        ["percentile among coaches", "–" if s["percentile_low"] is None else
         f"{ordinal(s['percentile_low'])} to {ordinal(s['percentile_high'])}"]],
        caption="Your standing", numeric=[False, True]))
    return b.section("standing", "Your standing among coaches", blocks)


def _rci_section(result: Any) -> dict[str, Any]:
    change = result.change
    if change is None:
        gap = getattr(result, "missing", {}).get("end_scores")
        return b.section("reliable", "Reliable change", [b.warning(gap) if gap else b.text(
            "Fewer than two clients have an intake and an end score: fill in intake_ors and "
            "end_ors of the finished clients and run `outcomes benchmark` again.")])
    counts = change.counts
    rated = int(counts.drop("missing").sum())
    rows = [[c, str(int(n)), b.percent(n / rated) if rated and c != "missing" else "–"]
            for c, n in counts.items()]
    sizes = [[m.replace("_", " "), b.number(e), b.interval(lo, hi)]
             for m, e, lo, hi in change.effect_sizes[["measure", "estimate", "ci_low",
                                                      "ci_high"]].itertuples(index=False)]
    return b.section("reliable", "Reliable change", [
        b.text(f"A change of more than {b.number(change.reliable_change)} ORS points is "
               "reliable; a client recovered who improved reliably and crossed the cutoff of "
               f"{b.number(change.cutoff)}."),
        b.table(["category", "clients", "share of rated"], rows,
                caption="Your clients by reliable change category"),
        b.table(["effect size", "estimate", f"{round(100 * result.ci_level)} % interval"],
                sizes, caption="Your effect sizes (severity adjusted: against the body's "
                               "reference line)")])


def _alliance_section(result: Any) -> dict[str, Any]:
    a = result.alliance
    if not a.get("n"):
        gap = getattr(result, "missing", {}).get("session_ratings")
        return b.section("alliance", "Your alliance profile", [b.warning(gap) if gap else b.text(
            "No early session ratings (early_srs) were given.")])
    body = a.get("body") or {"quantiles": {}}
    q = body["quantiles"]
    blocks = [b.text(
        f"Your {a['n']} clients' mean SRS over the first sessions has a median of "
        f"{b.number(a['median'], 1)}"
        + (f", at the {ordinal(a['percentile'])} percentile of the body's clients"
           if a.get("percentile") is not None else "")
        + f". {b.percent(a.get('below_cutoff'))} of them rated below {b.number(a['cutoff'])}"
        + (f" (body: {b.percent(a['body_below_cutoff'])})" if a.get("body_below_cutoff")
           is not None else "") + ".")]
    blocks.append(b.table(["", "median", "middle half", "10th to 90th percentile"], [
        ["your clients", b.number(a["median"], 1), "–", "–"],
        ["the body's clients", b.number(q.get("0.5"), 1),
         b.interval(q.get("0.25"), q.get("0.75"), 1),
         b.interval(q.get("0.1"), q.get("0.9"), 1)]], caption="Early session ratings (SRS)"))
    return b.section("alliance", "Your alliance profile", blocks)


def _flags_section(result: Any) -> dict[str, Any]:
    flags = result.flags
    how = ("each session's ORS against the range expected for clients who started at the "
           "same score, the reliable change and the SRS cutoff"
           if result.flag_source == "session by session" else
           "each finished client's change against the expected range and the reliable "
           "change, and the early SRS against its cutoff")
    blocks = [b.text(f"Checked: {how}. A flag prompts a conversation with the client; it never "
                     "judges the client's health.")]
    if flags.empty:
        blocks.append(b.text("No client is flagged."))
    else:
        rows = [[str(int(r.row)), r.flag, r.reason] for r in flags.itertuples()]
        blocks.append(b.table(["row", "flag", "why"], rows,
                              caption=f"Flagged clients ({len(rows)})",
                              numeric=[True, False, False]))
    return b.section("flags", "Clients to look at", blocks)


def benchmark_sections(result: Any) -> tuple[_Run, list[dict[str, Any]]]:
    """The run record (figures) and the sections of a benchmark report."""
    run = _Run()
    run.facts.update(clients=result.n_clients, finished=result.n_complete,
                     flagged=len(result.flags))
    if result.standing is not None:
        run.facts.update({k: result.standing[k] for k in ("raw", "estimate", "ci_low",
                                                           "ci_high", "position")})
    sections = [_change_section(result, run), _standing_section(result), _rci_section(result),
                _alliance_section(result), _flags_section(result),
                b.section("limits", "What the numbers can and cannot say",
                          [b.items(result.statements)] + ([b.note(n) for n in result.notes]))]
    run.log.append(("Benchmark", "Expected change from the norms' case-mix model; standing by "
                    "empirical-Bayes shrinkage with the norms' spread of coach effects."))
    return run, sections

