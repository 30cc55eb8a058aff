"""The page of a coach's benchmark (see :mod:`outcomes.benchmarking`): a headline decided by one
stated rule, then the detail, every number explained where it stands and released through the
benchmark's disclosure gate (:class:`~outcomes.benchmarking.gate.BenchmarkGate`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes.benchmarking._words import VERDICTS, ordinal, verdict_of, verdict_rule
from outcomes.benchmarking.gate import BenchmarkGate
from outcomes.privacy.disclosure import Released
from outcomes.report import _blocks as b
from outcomes.report._coach_detail import (
    alliance_section,
    client_cards,
    flags_section,
    limits_section,
    reliable_section,
)
from outcomes.report._render import figure_uri

__all__ = ["benchmark_page", "CoachRun"]


@dataclass
class CoachRun:
    """What a benchmark page was made of: its gate (and log), figures, key numbers."""

    gate: BenchmarkGate
    figures: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)

    def figure(self, fig: Any, *, alt: str, caption: str) -> dict[str, Any]:
        block = b.figure(figure_uri(fig), alt=alt, caption=caption)
        self.figures.append(block)
        return block


def _words(value: Released, unit: str = "points") -> str:
    """A signed difference as "0.5 points more" / "less" (or "withheld")."""
    if value.withheld or value.value is None:
        return value.text
    if value.value == 0:
        return f"{value.text} {unit}, no more and no less"
    return f"{value.text.lstrip('−')} {unit} " + ("less" if value.value < 0 else "more")


def band_names(result: Any, gate: BenchmarkGate) -> dict[str, str]:
    """Short labels of the norms' intake bands ("14–19": from 14 up to, not including, 19)."""
    bands = result.norms.get("bands") or {}
    edges = [gate.from_norms(e, "intake band edge").text for e in bands.get("edges", [])]
    labels = list(bands.get("labels", []))
    if not edges or len(labels) < len(edges) + 1:
        return {label: label for label in labels}
    short = [f"under {edges[0]}"] + [f"{lo}–{hi}" for lo, hi in zip(edges, edges[1:],
                                                                      strict=False)]
    short.append(f"{edges[-1]} and over")
    return {**{label: label for label in labels}, **dict(zip(labels, short, strict=False))}


def _headline(result: Any, run: CoachRun, level: Released) -> dict[str, Any]:
    gate, s, k = run.gate, result.standing, result.norms["k"]
    body = result.norms["title"]
    ors = (f"Points are points of the Outcome Rating Scale (ORS), which runs from "
           f"{gate.setting(0, 'lowest ORS score')} to {gate.setting(40, 'highest ORS score')}; "
           "higher is better.")
    if s is None or s["n"] < k:
        why = ("these norms hold no spread of coach effects or no model of expected change"
               if s is not None or result.n_complete >= k else
               f"the comparison needs at least {gate.setting(k, 'k')} clients with an intake "
               "and an end score")
        return {"kind": "verdict", "headline": "Not enough yet to set your clients beside "
                f"other coaches of {body}.", "detail": [f"No overall comparison: {why}. The "
                "sections below show what can be shown."], "rule": ""}
    n = s["n"]
    raw = gate.statistic(s["raw"], n, "mean difference from expected", digits=1)
    est = gate.statistic(s["estimate"], n, "estimate allowing for chance", digits=1)
    low, high = gate.interval(s["ci_low"], s["ci_high"], n, "interval of the estimate",
                              digits=1)
    run.facts["verdict"] = verdict_of({"ci_low": low.value, "ci_high": high.value})
    detail = [
        f"On average your {gate.count(n, 'finished clients')} finished clients changed "
        f"{_words(raw)} than clients who started at the same score usually do. "
        + _chance(est, low, high, level), ors]
    return {"kind": "verdict", "headline": VERDICTS[run.facts["verdict"]].format(body=body),
            "detail": detail, "rule": verdict_rule(f"{level} %")}


def _chance(est: Any, low: Any, high: Any, level: Any) -> str:
    """The estimate allowing for chance, in words; said plainly when it cannot move."""
    if low.value is not None and low.value == high.value:
        return ("The coaches of this body differ so little beyond chance that no coach's own "
                "effect can yet be told apart from the body's average: allowing for chance, "
                f"your own effect is put at {_words(est)}, with no room either way.")
    return (f"Allowing for chance, your own effect is {_words(est)}, and it could lie anywhere "
            f"from {_words(low)} to {_words(high)} ({level} % interval: the range that holds "
            f"the true value in {level} of 100 such comparisons).")


def _glance(result: Any, run: CoachRun) -> dict[str, Any]:
    gate, k = run.gate, result.norms["k"]
    items = [f"{gate.count(result.n_complete, 'finished clients')} of your "
             f"{gate.count(result.n_clients, 'clients')} clients have an intake and an end "
             "score; the others are still working with you or ended without an end score."]
    counts = result.change.counts if result.change is not None else None
    if counts is not None:
        better = int(counts.get("recovered", 0) + counts.get("improved", 0))
        rated = int(counts.drop("missing", errors="ignore").sum())
        share = gate.percent(better, rated, "improved reliably")
        items.append(f"Improved reliably (by more than the measure's ordinary ups and downs): "
                     f"{share.text}" + (" of them." if not share.withheld else
                                       f" (fewer than {k} clients, or all but a few)."))
    items.append(f"Clients to look at: {gate.count(len(result.flags), 'flagged clients')} "
                 "(see \"Clients to look at\").")
    return b.items(items)


def _gated(result: Any, run: CoachRun) -> tuple[Any, pd.DataFrame]:
    """The result as the page may draw it, and the band table as the page writes it."""
    gate, k = run.gate, result.norms["k"]
    names = band_names(result, gate)
    rows, means = [], []
    for r in result.by_band.itertuples(index=False):
        changes = result.clients.loc[result.clients["band"] == r.band, "change"].dropna()
        count = gate.count(len(changes), f"finished clients in band {r.band}")
        mean = gate.statistic(changes.mean() if len(changes) else None, len(changes),
                              f"mean change in band {r.band}", digits=1)
        body_n = r.body_n if r.body_n is not None and not pd.isna(r.body_n) else None
        cells = [gate.from_norms(getattr(r, c), f"body {c} in band {r.band}", n=body_n)
                 for c in ("body_median", "body_q25", "body_q75")]
        middle = "withheld" if cells[1].withheld or cells[2].withheld else \
            f"{cells[1].text} to {cells[2].text}"
        rows.append([names.get(r.band, r.band), count.text, mean.text, cells[0].text, middle,
                     gate.from_norms(body_n, f"body clients in band {r.band}", digits=0).text])
        means.append(mean.value)
    by_band = result.by_band.assign(mean_change=means, band=[row[0] for row in rows])
    standing = result.standing if result.standing is not None and \
        result.standing["n"] >= k else None
    shown = dataclasses.replace(result, by_band=by_band, standing=standing)
    return shown, pd.DataFrame(rows, columns=["band", "yours", "your mean", "median",
                                              "middle", "body"])


def _change_section(result: Any, run: CoachRun) -> dict[str, Any]:
    from outcomes.plots import benchmark_figure

    gate, k = run.gate, result.norms["k"]
    shown, bands = _gated(result, run)
    coverage = gate.setting(100 * result.coverage, "coverage of the usual range")
    found = ("Band by band, your finished clients' mean change is set beside the change of "
             "the body's clients who started in the same band." if (bands["your mean"] !=
                                                                      "withheld").any() else
             f"No intake band holds {gate.setting(k, 'k')} or more of your finished clients "
             "yet, so your change is shown client by client.")
    blocks = [b.text(found)]
    missing = getattr(result, "missing", {})
    blocks += [b.warning(missing[part]) for part in ("end_scores", "norms") if part in missing]
    blocks.append(b.table(["intake band", "your clients", "your mean change",
                           "body: median change", "body: middle half", "body: clients"],
                          bands.to_numpy().tolist(), caption="Change by intake band: you and "
                          "the body", note=(
                              "Intake bands group clients by their first ORS score (14–19: "
                              "from 14 up to, not including, 19). Middle half: half of the "
                              "body's clients changed by an amount in this range. \"withheld\": "
                              f"fewer than {gate.setting(k, 'k')} of your clients, or a cell "
                              "that would give such a number away; no number here rests on "
                              "fewer.")))
    blocks.append(client_cards(result, run.gate, coverage))
    fig = benchmark_figure(shown)
    alt = "Your mean change per intake band (diamonds) beside the body's median (bar) and " \
          "middle half: " + "; ".join(f"{r[0]}: you {r[2]}, body {r[3]}"
                                      for r in bands.to_numpy().tolist())
    if shown.standing is not None and result.norms.get("funnel"):
        raw = gate.statistic(shown.standing["raw"], shown.standing["n"],
                             "mean difference from expected", digits=1)
        alt = ("Left: the body's funnel limits with your clients' mean difference from "
               f"expected ({raw.text} points) as a diamond. Right: " + alt)
    blocks.append(run.figure(fig, alt=alt, caption=(
        "Left: where your clients' mean difference from expected lies among the limits that "
        "chance alone gives coaches with as many clients (dashed: the limits most coaches "
        "stay inside; dotted: the limits nearly every coach stays inside). Right: your mean "
        "change per intake band beside the body's."
        if shown.standing is not None else "Your mean change per intake band beside the "
        "body's median and middle half.")))
    return b.section("change", "How your clients changed", blocks)


def _standing_section(result: Any, run: CoachRun, level: Released) -> dict[str, Any]:
    gate, s, k = run.gate, result.standing, result.norms["k"]
    if s is None or s["n"] < k:
        missing = getattr(result, "missing", {})
        why = [missing[part] for part in ("end_scores", "norms") if part in missing]
        return b.section("standing", "Your standing among coaches", [b.text(
            "No standing among coaches can be estimated yet.")] + [b.warning(text) for text in
                                                                    why or [
            f"It needs at least {gate.setting(k, 'k')} clients with an intake and an end "
            "score, and norms that hold the spread of coach effects."]])
    n = s["n"]
    raw = gate.statistic(s["raw"], n, "mean difference from expected", digits=1)
    est = gate.statistic(s["estimate"], n, "estimate allowing for chance", digits=1)
    low, high = gate.interval(s["ci_low"], s["ci_high"], n, "interval of the estimate",
                              digits=1)
    weight = gate.statistic(100 * s["weight"], n, "weight of your own clients", digits=0)
    place = "the norms show no spread between coaches, so no coach can be placed"
    if s["percentile_low"] is not None:
        from outcomes.benchmarking._words import place_in_words

        lo = gate.statistic(s["percentile_low"], n, "lowest percentile", digits=0)
        hi = gate.statistic(s["percentile_high"], n, "highest percentile", digits=0)
        place = "withheld" if lo.withheld or hi.withheld else \
            place_in_words(float(lo.value or 0), float(hi.value or 0))
    rows = [
        ["finished clients", gate.count(n, "finished clients").text,
         "clients with an intake and an end score; only they count here"],
        ["difference from expected", f"{raw.text} points", "your clients' mean change minus "
         "the change expected for clients who started at the same score with the same kind "
         "of sponsor (negative: less)"],
        ["estimate allowing for chance", f"{est.text} points", "the difference pulled towards "
         f"the body's average: your own clients carry {weight.text} % of the weight, the "
         "body the rest; the more clients, the more the estimate is yours"],
        [f"{level} % interval", f"{low.text} to {high.text}", "where your true effect very "
         "likely lies; the headline follows it (see the rule above)"],
        ["place among coaches", _percentiles(s, n, gate), place]]
    return b.section("standing", "Your standing among coaches", [
        b.text(f"Allowing for chance, your effect is {_words(est)} than expected, with a "
               f"{level} % interval from {_words(low)} to {_words(high)}."),
        b.table(["quantity", "value", "what it means"], rows, caption="Your standing",
                numeric=[False, True, False])])


def _percentiles(s: dict[str, Any], n: int, gate: BenchmarkGate) -> str:
    if s["percentile_low"] is None:
        return "–"
    lo = gate.statistic(s["percentile_low"], n, "lowest percentile", digits=0)
    hi = gate.statistic(s["percentile_high"], n, "highest percentile", digits=0)
    return "withheld" if lo.withheld or hi.withheld else \
        f"{ordinal_text(lo)} to {ordinal_text(hi)} percentile"


def benchmark_page(result: Any) -> tuple[CoachRun, dict[str, Any], list[dict[str, Any]]]:
    """The run (gate, figures, key numbers), the headline and the sections of a benchmark."""
    run = CoachRun(gate=BenchmarkGate(k=int(result.norms["k"])))
    level = run.gate.setting(100 * result.ci_level, "interval level")
    run.gate.setting(100, "a hundred: percentiles and intervals in words")
    headline = _headline(result, run, level)
    glance = _glance(result, run)
    sections = [_change_section(result, run), _standing_section(result, run, level),
                reliable_section(result, run.gate, level), alliance_section(result, run.gate),
                flags_section(result, run.gate), limits_section(result, run.gate, level)]
    run.facts.update(clients=result.n_clients, finished=result.n_complete,
                     flagged=len(result.flags), withheld=run.gate.n_withheld)
    if result.standing is not None and np.isfinite(result.standing["raw"]):
        run.facts.update({key: result.standing[key] for key in ("raw", "estimate", "ci_low",
                                                                 "ci_high", "position")})
    run.log.append(("Benchmark", "Expected change from the norms' case-mix model; standing by "
                    "empirical-Bayes shrinkage with the norms' spread of coach effects."))
    headline["glance"] = glance
    return run, headline, sections


def ordinal_text(value: Released) -> str:
    """A released percentile as "63rd", or "withheld"."""
    return value.text if value.withheld else ordinal(float(value.value or 0))
