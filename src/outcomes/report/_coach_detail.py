"""The detail sections of a coach's benchmark page: the clients one by one, reliable change,
the alliance, the clients to look at, and what the numbers can and cannot say. Every number
is released through the page's :class:`~outcomes.benchmarking.gate.BenchmarkGate`."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from outcomes.benchmarking._words import place_in_words
from outcomes.benchmarking.gate import BenchmarkGate
from outcomes.privacy.disclosure import Released
from outcomes.report import _blocks as b

__all__ = ["client_cards", "reliable_section", "alliance_section", "flags_section",
           "limits_section"]

_CATEGORIES = {"recovered": "recovered", "improved": "improved", "unchanged": "unchanged",
               "deteriorated": "deteriorated", "missing": "no end score",
               "not classified": "not classified"}
_VERBS = {"recovered": "recovered", "improved": "improved reliably without recovering",
          "unchanged": "did not change reliably", "deteriorated": "deteriorated reliably"}
_EFFECTS = {"severity_adjusted": "severity-adjusted effect size",
            "pre_post_d": "standardised change (Cohen's d)",
            "hedges_g_av": "Hedges' g (average spread)"}


def _instrument(result: Any) -> dict[str, Any]:
    return result.norms.get("instrument") or {}


def _own(gate: BenchmarkGate, value: Any, what: str, digits: int = 1) -> Released:
    """A client's own value, or an en dash (not logged) where the workbook leaves it empty."""
    if value is None or pd.isna(value):
        return Released(what, None, "–", 1, "not given")
    return gate.own(value, what, digits=digits)


def client_cards(result: Any, gate: BenchmarkGate, coverage: Released) -> dict[str, Any]:
    """The clients one by one: a table on paper and wide screens, one card each on a phone."""
    rows = []
    for r in result.clients.itertuples():
        row = gate.own(r.row, "workbook row", digits=0).text
        cells = [_own(gate, getattr(r, c), f"row {row}: {c}") for c in
                 ("intake_ors", "end_ors", "change", "expected", "low", "high")]
        against = "–"
        if pd.notna(r.change) and pd.notna(r.low):
            against = "below" if r.change < r.low else "above" if r.change > r.high else \
                "within"
        usual = "–" if cells[4].withheld else f"{cells[4].text} to {cells[5].text}"
        rows.append([row, *(c.text for c in cells[:4]), usual, against,
                     _CATEGORIES.get(str(r.category), str(r.category))])
    inst = _instrument(result)
    rc = gate.from_norms(inst.get("reliable_change"), "reliable change")
    cutoff = gate.from_norms(inst.get("clinical_cutoff"), "clinical cutoff")
    return {"kind": "cards", "caption": "Your clients, by row of your workbook",
            "columns": ["row", "intake", "end", "change", "expected", "usual range",
                        "against the range", "reliable change"],
            "rows": rows, "numeric": [True] * 6 + [False, False],
            "note": (f"Expected: the change the body's clients made who started at the same "
                     f"score, with the same kind of sponsor. Usual range: where {coverage} % "
                     f"of such clients' changes fall. Reliable change: a change of more than "
                     f"{rc} points, beyond the measure's ordinary ups and downs; recovered: "
                     f"improved reliably and ended above {cutoff}. Scores are ORS points; "
                     "\"–\": not given or not yet known.")}


def reliable_section(result: Any, gate: BenchmarkGate, level: Released) -> dict[str, Any]:
    """Your finished clients by reliable-change category, and your effect sizes."""
    change = result.change
    if change is None:
        gap = getattr(result, "missing", {}).get("end_scores")
        return b.section("reliable", "Reliable change", [b.warning(gap) if gap else b.text(
            "Fewer than two clients have an intake and an end score: fill in intake_ors and "
            "end_ors of the finished clients and run `outcomes benchmark` again.")])
    rated = change.counts.drop("missing", errors="ignore").astype(int)
    shown = gate.counts(rated.rename("clients"), "reliable change", totals="columns")
    values = shown.values["clients"]
    total = values.get("total")
    rows, share = [], {}
    for category in rated.index:
        count = values.get(category)
        pct = gate.percent(int(count), int(total), f"share {category}") if pd.notna(count) \
            and pd.notna(total) else gate._withhold(f"share {category}", None, "withheld cell")
        share[category] = pct.text
        rows.append([_CATEGORIES[category], "withheld" if pd.isna(count) else f"{count:,.0f}",
                     pct.text])
    rows.append(["all finished clients", "withheld" if pd.isna(total) else f"{total:,.0f}",
                 ""])
    n = int(rated.sum())
    inst = _instrument(result)
    body = result.norms.get("effect_sizes") or {}
    sizes = []
    for m, e, lo, hi in change.effect_sizes[["measure", "estimate", "ci_low",
                                             "ci_high"]].itertuples(index=False):
        low, high = gate.interval(lo, hi, n, f"effect size {m}")
        theirs = (body.get(m) or {}).get("estimate")
        sizes.append([_EFFECTS.get(m, m.replace("_", " ")),
                      gate.statistic(e, n, f"effect size {m}").text,
                      "–" if low.withheld else f"{low.text} to {high.text}",
                      gate.from_norms(theirs, f"body effect size {m}", digits=2).text])
    told = [f"{share[c]} {_VERBS[c]}" for c in rated.index if share.get(c, "withheld")
            != "withheld"]
    untold = [_VERBS[c] for c in rated.index if share.get(c, "withheld") == "withheld"]
    found = (f"Of your {gate.count(n, 'finished clients')} finished clients, "
             + (", ".join(told) if told else "no share can be shown")
             + (f"; how many {' or '.join(untold)} is withheld (too few to show)" if untold
                else "") + ".")
    return b.section("reliable", "Reliable change", [
        b.text(found),
        b.table(["category", "clients", "share"], rows,
                caption="Your finished clients by reliable change",
                note=(f"Reliable: a change of more than "
                      f"{gate.from_norms(inst.get('reliable_change'), 'reliable change')} "
                      "ORS points. Recovered: improved reliably and ended above the cutoff of "
                      f"{gate.from_norms(inst.get('clinical_cutoff'), 'clinical cutoff')}, "
                      "the score that separates clients who feel well from those who do not. "
                      "\"withheld\": fewer than "
                      f"{gate.setting(result.norms['k'], 'k')} clients, or a cell that would "
                      "give such a number away.")),
        b.table(["effect size", "yours", f"{level} % interval", "the body's"], sizes,
                caption="Your effect sizes beside the body's", note=(
                    "An effect size is the average change in standard deviations of the "
                    "scores: the larger, the more clients improved. The "
                    "severity-adjusted one compares your clients with the body's clients who "
                    "started at the same score."))])


def alliance_section(result: Any, gate: BenchmarkGate) -> dict[str, Any]:
    """Your clients' early session ratings beside the body's."""
    a = result.alliance
    title = "Your alliance profile"
    if not a.get("n"):
        gap = getattr(result, "missing", {}).get("session_ratings")
        return b.section("alliance", title, [b.warning(gap) if gap else b.text(
            "No early session ratings (early_srs) were given.")])
    ratings = result.clients["early_srs"].dropna()
    n = len(ratings)
    median = gate.quantile(ratings, 0.5, "median early SRS")
    cutoff = gate.from_norms(a.get("cutoff"), "alliance cutoff")
    below = gate.percent(int((ratings < a["cutoff"]).sum()) if a.get("cutoff") else None, n,
                         "rated below the cutoff")
    body = a.get("body") or {"quantiles": {}, "n": None}
    q = {key: gate.from_norms(value, f"body SRS quantile {key}", n=body.get("n"))
         for key, value in body["quantiles"].items()}
    at = gate.statistic(a.get("percentile") if not median.withheld else None, n,
                        "percentile of your median", digits=0)
    theirs = a.get("body_below_cutoff")
    body_below = gate.from_norms(None if theirs is None else 100 * theirs,
                                 "body share below the cutoff", digits=0)
    found = (f"Your {gate.count(n, 'clients with session ratings')} clients' mean SRS over "
             f"their first sessions has a median of {median}"
             + ("" if at.withheld else f", at the {_ordinal(at)} percentile of the body's "
                f"clients ({at.text} in 100 of them rated lower)")
             + f"; {below} of them rated below {cutoff}"
             + ("" if body_below.withheld else f" (the body's clients: {body_below} %)") + ".")

    def body_range(lo: str, hi: str) -> str:
        return "–" if lo not in q or hi not in q or q[lo].withheld or q[hi].withheld else \
            f"{q[lo].text} to {q[hi].text}"

    return b.section("alliance", title, [
        b.text("The Session Rating Scale (SRS) is the client's rating of each session, from "
               f"{gate.setting(0, 'lowest SRS')} to {gate.setting(40, 'highest SRS')}; a mean "
               f"below {cutoff} in the first sessions suggests the working relationship needs "
               "attention. " + found),
        b.table(["", "median", "middle half",
                 f"middle {gate.setting(80, 'share of the body in the middle range')} %"], [
            ["your clients", median.text, "–", "–"],
            ["the body's clients", q["0.5"].text if "0.5" in q else "–",
             body_range("0.25", "0.75"), body_range("0.1", "0.9")]],
            caption="Early session ratings (SRS)")])


def _ordinal(value: Released) -> str:
    from outcomes.benchmarking._words import ordinal

    return value.text if value.withheld else ordinal(float(value.value or 0))


_ACTION = {
    "review for referral or ending": "Review with the client whether the coaching is helping: "
                                     "carry on, change the approach, refer, or end.",
    "reliable deterioration": "Review with the client what happened.",
    "not on track": "Talk with the client about progress and what would help.",
    "below the expected range": "Talk with the client about progress and what would help.",
    "alliance concern": "Ask the client how the sessions are going and what to change.",
}


def _why(flag: Any, client: Any, gate: BenchmarkGate, inst: dict[str, Any]) -> str:
    """Why a client is flagged, in words, from the flag's own numbers."""
    def own(value: Any, what: str, digits: int = 1) -> str:
        return _own(gate, value, f"row {int(flag.row)}: {what}", digits).text

    cutoff = gate.from_norms(inst.get("alliance_cutoff"), "alliance cutoff")
    rc = gate.from_norms(inst.get("reliable_change"), "reliable change")
    if pd.notna(getattr(flag, "session", None)):
        moved = flag.score - flag.start if pd.notna(flag.score) and pd.notna(flag.start) \
            else None
        text = (f"ORS {own(flag.score, 'score')} at session {own(flag.session, 'session', 0)}"
                f", from {own(flag.start, 'start')} at the start; clients who started there "
                f"usually score {own(flag.low, 'low')} to {own(flag.high, 'high')} by then.")
        if flag.flag in ("review for referral or ending", "reliable deterioration") \
                and moved is not None:
            text += (f" That is a fall of {own(-moved, 'fall')} points, more than the {rc} of "
                     "ordinary ups and downs." if moved < 0 and -moved > (
                         inst.get("reliable_change") or 0) else
                     f" A reliable improvement needs more than {rc} points; so far it is "
                     f"{own(moved, 'change so far')}.")
        if pd.notna(flag.alliance) and inst.get("alliance_cutoff") is not None \
                and flag.alliance < inst["alliance_cutoff"]:
            text += f" SRS {own(flag.alliance, 'SRS')} is below {cutoff}."
    elif flag.flag == "alliance concern":
        text = (f"Mean SRS {own(client.early_srs, 'early SRS')} in the first sessions is below "
                f"{cutoff}.")
    elif flag.flag == "reliable deterioration":
        text = (f"ORS fell {own(-client.change, 'fall')} points, from "
                f"{own(client.intake_ors, 'intake')} to {own(client.end_ors, 'end')}: more "
                f"than the {rc} points of ordinary ups and downs.")
    else:
        text = (f"Change {own(client.change, 'change')} is below the usual range "
                f"{own(client.low, 'low')} to {own(client.high, 'high')} of clients who "
                f"started at {own(client.intake_ors, 'intake')}.")
    return f"{text} {_ACTION.get(flag.flag, '')}".strip()


def flags_section(result: Any, gate: BenchmarkGate) -> dict[str, Any]:
    """The clients to look at, each with why and what to do."""
    flags, inst = result.flags, _instrument(result)
    how = ("each session's ORS against the range usual for clients who started at the same "
           "score, the reliable change and the SRS cutoff"
           if result.flag_source == "session by session" else
           "each finished client's change against the usual range and the reliable change, "
           "and the early SRS against its cutoff")
    count = gate.count(len(flags), "flagged clients")
    blocks = [b.text(("No client is flagged." if flags.empty else
                      f"{count} of your clients are flagged.") + f" Checked: {how}. A flag "
                     "prompts a conversation with the client; it never judges the client's "
                     "health.")]
    if not flags.empty:
        clients = result.clients.set_index("row")
        rows = [[gate.own(r.row, "workbook row", digits=0).text, r.flag,
                 _why(r, clients.loc[r.row], gate, inst)] for r in flags.itertuples()]
        blocks.append(b.table(["row", "flag", "why, and what to do"], rows,
                              caption="Clients to look at", numeric=[True, False, False]))
    return b.section("flags", "Clients to look at", blocks)


def limits_section(result: Any, gate: BenchmarkGate, level: Released) -> dict[str, Any]:
    """What the numbers can and cannot say with this many clients."""
    s, k = result.standing, result.norms["k"]
    n = result.n_complete
    inst = _instrument(result)
    out = [f"Only clients with an intake and an end score count in the change figures: "
           f"{gate.count(n, 'finished clients')} of your "
           f"{gate.count(result.n_clients, 'clients')}."]
    if s is not None and s["n"] >= k:
        weight = gate.statistic(100 * s["weight"], s["n"], "weight of your own clients",
                                digits=0)
        out.append(f"Your own clients carry {weight} % of the weight of your estimate; the "
                   "rest is the body's average. The more clients, the more it is yours.")
        if s["percentile_low"] is not None:
            lo = gate.statistic(s["percentile_low"], s["n"], "lowest percentile", digits=0)
            hi = gate.statistic(s["percentile_high"], s["n"], "highest percentile", digits=0)
            if not (lo.withheld or hi.withheld):
                out.append(f"Where you stand among the body's coaches ({level} % interval): "
                           f"{place_in_words(float(lo.value or 0), float(hi.value or 0))}.")
        if s["n"] < 10:
            out.append(f"With fewer than {gate.setting(10, 'few clients')} finished clients, "
                       "one client more or less can move your figures a long way: read them "
                       "as a first impression.")
    rc = gate.from_norms(inst.get("reliable_change"), "reliable change")
    out += [f"One client's change is noisy: a change of {rc} points or less is within the "
            "measure's ordinary ups and downs.",
            "Expected change allows for the intake score and the sponsor only; clients differ "
            "in ways the norms cannot see, such as their circumstances.",
            f"The norms describe {_norms_count(result, gate, 'engagements')} engagements "
            f"with {_norms_count(result, gate, 'coaches')} "
            f"coaches of {result.norms['title']}: they say how you compare with that body's "
            "coaches, not with all coaches."]
    notes = [_own_numbers(note, gate) for note in result.notes]
    return b.section("limits", "What the numbers can and cannot say",
                     [b.items(out)] + [b.note(text) for text in notes])


def _norms_count(result: Any, gate: BenchmarkGate, name: str) -> str:
    return gate.from_norms(result.norms[name], name, digits=0).text


def _own_numbers(note: str, gate: BenchmarkGate) -> str:
    """A note about the coach's own workbook (rows left out, clients without a sponsor): its
    numbers are the coach's own rows and counts."""
    for token in re.findall(r"\d+(?:\.\d+)?", note):
        gate.own(float(token), "a note on your workbook",
                 digits=len(token.partition(".")[2]))
    return note
