"""Report sections on the sessions: alliance over sessions, and the monitoring flags, each
flag defined where it is shown with its rule and the rate to expect."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import OutcomesError
from outcomes.report import _blocks as b
from outcomes.report._body import Run, withheld_note
from outcomes.report._drivers import quiet

__all__ = ["alliance", "monitoring", "monitoring_models", "flag_rules", "MIN_SESSION_CLIENTS",
           "BAND"]

#: Fewest clients behind a session's mean rating drawn in the alliance figure.
MIN_SESSION_CLIENTS = 30
#: The expected range of the monitoring: the middle 90 % of the body's clients.
BAND = 0.90


def flag_rules(flags: Any) -> dict[str, str]:
    """Each flag's rule, as a reader reads it, with the thresholds the monitoring used."""
    rc, cutoff = b.number(flags.reliable_change), b.number(flags.alliance_cutoff)
    return {
        "not on track": f"the ORS is below the range of the middle {100 * BAND:.0f} % of this "
                        "body's clients who started at the same score, at that session",
        "reliable deterioration": f"the ORS has fallen by more than {rc} points (the reliable "
                                  "change) since intake",
        "alliance concern": f"the session rating (SRS) is below {cutoff}, its authors' cutoff",
        "review for referral or ending": "reliable deterioration, or no reliable improvement "
                                         f"after {flags.review_after} sessions",
    }


def _session_means(run: Run, rated: pd.DataFrame) -> pd.DataFrame:
    """Mean ratings by session, released through the gate (sessions with enough clients)."""
    rows = []
    for session, part in rated.groupby("session"):
        clients = part["engagement_id"].nunique()
        if clients < max(run.k, MIN_SESSION_CLIENTS):
            continue
        means = {c: run.gate.mean(part[c], f"mean {c} at session {session}", bounds=(0, 40))
                 for c in ("alliance", "outcome")}
        if any(m.withheld for m in means.values()):
            continue
        rows.append({"session": int(session), "n": clients,
                     **{c: m.value for c, m in means.items()},
                     **{f"{c}_text": m.text for c, m in means.items()}})
    return pd.DataFrame(rows, columns=["session", "n", "alliance", "outcome", "alliance_text",
                                       "outcome_text"])


def _effects_text(run: Run, fit: Any) -> tuple[pd.DataFrame | None, list[list[str]], str]:
    effects = fit.effects.reset_index(names="effect") if "effect" not in fit.effects else \
        fit.effects
    labels = {"within": "within client", "between": "between clients",
              "between_minus_within": "difference (between minus within)"}
    effects = effects.assign(effect=[labels.get(e, e) for e in effects["effect"]])
    n = fit.n_clients
    rows = [[r.effect, run.stat(r.estimate, n, f"alliance {r.effect}").text,
             run.interval(r.ci_low, r.ci_high, n, f"alliance {r.effect}")]
            for r in effects.itertuples()]
    within = effects.iloc[0]
    if rows[0][1] == "withheld":
        return None, [], (f"The session model rests on fewer than {run.k} clients: its "
                          "results are withheld.")
    clear = within.ci_low > 0 or within.ci_high < 0
    link = ("a better session goes with a better next rating." if clear and
            within.estimate > 0 else "a better session goes with a worse next rating."
            if clear else "no clear link within clients.")
    run.findings["alliance"] = (
        f"Clients who rate their sessions higher tend to have higher outcome ratings "
        f"({rows[1][1]} ORS points per SRS point); for the same client, "
        + ("a better session is followed by a better next rating." if clear and
           within.estimate > 0 else "a better session is followed by a worse next rating."
           if clear else "a better session is not clearly followed by a better next rating."))
    return effects, rows, (
        "For the same client, a session rated one SRS point above the client's own average is "
        f"followed by an ORS {rows[0][1]} points different (95 % interval {rows[0][2]}): "
        f"{link} Across clients, each point of a client's average SRS goes with {rows[1][1]} "
        f"ORS points {rows[1][2]}.")


def fit_ahead(run: Run) -> None:
    """Start the session model, then the monitoring's expected course, in the worker (after
    the imputed shares), so that they are fitted while the sections before them are
    built."""
    from outcomes.mixed.alliance import alliance_outcome

    if "session_ratings" in run.gaps:
        return
    try:
        sessions = _session_table(run)
    except OutcomesError:
        return  # the section says why
    run.ahead("alliance", alliance_outcome, sessions, alliance="alliance", outcome="outcome")
    try:
        monitored = _monitored(run)
    except OutcomesError:
        return  # the section says why
    run.ahead("monitoring", monitoring_models, monitored)


def _session_table(run: Run) -> pd.DataFrame:
    from outcomes.mixed.sessions import session_table

    return run.cached("sessions", lambda: session_table(
        run.consenting(run.study.scores()), run.consenting(run.study.valid("engagements"))))


def alliance(run: Run) -> dict[str, Any]:
    """Alliance over sessions: mean ratings by session and within/between-client effects."""
    from outcomes.mixed.alliance import alliance_outcome
    from outcomes.plots import alliance_figure

    title = "Alliance over sessions"
    intro = b.text("Clients rated each session on the Session Rating Scale (SRS, 0 to 40, at "
                   "its end) and how they were doing on the ORS (at the start of the next). "
                   "Does a better session go with a better next rating, for the same client "
                   "(within) or across clients (between)?")
    run.findings["alliance"] = None
    if "session_ratings" in run.gaps:
        run.log.append(("Alliance", "not estimated: " + run.gaps["session_ratings"]))
        return b.section("alliance", title, [b.lead("There are no session ratings to study."),
                                             intro, b.warning(run.gaps["session_ratings"])])
    try:
        sessions = _session_table(run)
    except OutcomesError as error:
        return b.section("alliance", title, [b.lead("The session ratings could not be "
                                                    "paired."), intro, b.note(str(error))])
    by_session = _session_means(run, sessions.dropna(subset=["alliance", "outcome"]))
    blocks: list[dict[str, Any]] = [intro]
    effects = None
    try:
        fit, notes = run.cached("alliance", lambda: quiet(
            alliance_outcome, sessions, alliance="alliance", outcome="outcome"))
        effects, rows, sentence = _effects_text(run, fit)
        blocks.append(b.text(sentence))
        if rows:
            blocks.append(b.table(["effect", "ORS points per SRS point", "95 % interval"],
                                  rows, caption="Alliance and next-session outcome"))
        run.log.append(("Alliance", "Lagged mixed model (Falkenström and colleagues, 2017): "
                        "ORS at the next session on ORS and SRS at this one, the SRS split "
                        "into the client's own average and the deviation from it; "
                        f"{run.count(fit.n, 'session pairs')} session pairs of "
                        f"{run.count(fit.n_clients, 'clients in the session model')} clients; "
                        f"{'converged' if fit.converged else 'did not converge'}."))
        run.log += [("Warning", n) for n in dict.fromkeys(notes)]
    except OutcomesError as error:
        blocks.append(b.note(f"The session model could not be fitted: {error}"))
    lead = run.findings["alliance"]
    blocks.insert(0, b.lead(lead or "The link between session ratings and outcome is not "
                                    "shown."))
    if len(by_session):
        first, last = by_session.iloc[0], by_session.iloc[-1]
        blocks.append(run.draw(
            alliance_figure, by_session, effects,
            alt=f"Line chart of mean ORS and mean SRS over sessions {first.session} to "
                f"{last.session} on one scale from 0 to 40; ORS from {first.outcome_text} to "
                f"{last.outcome_text}, SRS from {first.alliance_text} to "
                f"{last.alliance_text}",
            caption=f"Figure 6. Left: mean ratings by session, both on their 0 to 40 scale "
                    f"(sessions with at least {max(run.k, MIN_SESSION_CLIENTS)} clients). "
                    + ("Right: within- and between-client effects with 95 % intervals."
                       if effects is not None else "")))
    return b.section("alliance", title, blocks)


def _monitored(run: Run) -> pd.DataFrame:
    from outcomes.practice.trajectories import session_scores

    return session_scores(run.consenting(run.study.scores()))


def monitoring_models(sessions: pd.DataFrame) -> tuple[Any, Any]:
    """The expected course of the ORS (quantile regression) and the flags it gives."""
    from outcomes.practice.monitoring import monitor
    from outcomes.practice.trajectories import expected_trajectories

    fit = expected_trajectories(sessions, outcome="ors", intake="intake")
    return fit, monitor(sessions, fit, outcome="ors", alliance="srs")


def monitoring(run: Run) -> dict[str, Any]:
    """How many engagements were flagged, each flag defined with its rule and what to expect."""
    from outcomes.plots import monitoring_figure

    title = "Monitoring"
    intro = b.text("Monitoring compares each session's ORS with the range expected for "
                   "clients who started at the same score, and each SRS with its cutoff. A "
                   "flag prompts a conversation with the client; it never judges the client's "
                   "health.")
    run.findings["monitoring"] = None
    try:
        (fit, flags), _ = run.cached("monitoring", lambda: quiet(monitoring_models,
                                                                 _monitored(run)))
    except OutcomesError as error:
        gap = run.gaps.get("session_ratings")
        if gap:
            run.log.append(("Monitoring", "not run: " + gap))
        return b.section("monitoring", title, [b.lead("Monitoring could not be run."), intro,
                                               b.warning(gap) if gap else
                                               b.note(f"It failed: {error}")])
    counts = flags.counts().set_index("flag").drop(index="on track", errors="ignore")
    judged = flags.table()
    total = int(judged["engagement_id"].nunique())
    n_sessions = int((~judged["flag"].isin(["starting point", "not assessed"])).sum())
    rules = flag_rules(flags)
    shown = run.gate.counts(counts["engagements"].rename("engagements"),
                            "engagements ever flagged", totals="none")
    values = shown.values["engagements"]
    released_total = run.count(total, "engagements monitored")
    rows, shares = [], []
    for name in counts.index:
        share = run.percent(values[name], total, f"engagements flagged {name}")
        per_session = run.percent(counts.loc[name, "sessions"], n_sessions,
                                  f"sessions flagged {name}")
        rows.append([name, rules.get(name, ""), _count_cell(values[name]),
                     share.text.replace(" %", "") if not share.withheld else b.SUPPRESSED,
                     per_session.text.replace(" %", "") if not per_session.withheld
                     else b.SUPPRESSED])
        shares.append(share.value if not share.withheld else np.nan)
    shown_rows = [r for r in rows if r[3] != b.SUPPRESSED]
    common = max(shown_rows, key=lambda r: float(r[3])) if shown_rows else None
    run.findings["monitoring"] = common and {"flag": common[0], "share": common[3],
                                             "total": released_total}
    lead = (f"The most common flag is {common[0]}: {common[3]} % of the {released_total} "
            "monitored engagements had it at least once." if common else
            "Few engagements were flagged: the counts are withheld.")
    low = f"{50 * (1 - BAND):.0f} %"
    blocks = [b.lead(lead), intro,
              b.table(["flag", "rule", "engagements flagged at least once", "percent of "
                       "engagements", "percent of sessions"], rows,
                      caption="Engagements and sessions flagged, by reason",
                      numeric=[False, False, True, True, True],
                      note=withheld_note(run, bool(shown.mask.to_numpy().any()))),
              b.text(f"What to expect: by construction, about {low} of sessions fall below the "
                     f"range that holds the middle {100 * BAND:.0f} % of clients, so a few "
                     "percent of "
                     "sessions not on track is normal; more suggests clients fare worse than "
                     "this body's own past clients. A flag at least once over an engagement is "
                     "far more common than a flag at any one session, because every session "
                     "is a new chance: compare the two right-hand columns. The other flags "
                     "have no published benchmark for coaching: compare them with this "
                     "body's next report.")]
    blocks.append(run.draw(
        monitoring_figure, pd.DataFrame({"flag": counts.index, "share": shares}),
        alt="Bar chart of the percent of engagements ever flagged: "
        + "; ".join(f"{r[0]} {r[3]} %" for r in rows),
        caption="Figure 7. Percent of engagements flagged at least once, by reason."))
    run.log.append(("Monitoring", f"Expected course by quantile regression on intake and the "
                    f"logarithm of the session number "
                    f"({run.count(fit.n_clients, 'clients in the expected course')} clients); "
                    f"flags with the ORS's reliable change ({b.number(flags.reliable_change)} "
                    f"points) and the SRS cutoff ({b.number(flags.alliance_cutoff)})."))
    return b.section("monitoring", title, blocks)


def _count_cell(value: Any) -> str:
    return b.SUPPRESSED if value is None or pd.isna(value) else f"{value:,.0f}"
