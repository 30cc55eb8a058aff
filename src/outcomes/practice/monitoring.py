"""Session-by-session flags for coaches: on track, not on track, deterioration, alliance.

:func:`monitor` reads each engagement's per-session outcome and alliance ratings against the
body's expected course (:func:`outcomes.practice.trajectories.expected_trajectories`) and flags, at
every session:

- ``on track`` — the outcome is within (or above) the expected range for clients who
  started where this client started;
- ``not on track`` — it is below that range (Lambert's "not on track" signal; Finch,
  Lambert & Schaalje 2001);
- ``reliable deterioration`` — it has fallen by more than the reliable change since the
  start (Jacobson & Truax 1991; ORS: 5 points);
- ``alliance concern`` — the session rating is below its cutoff (SRS below 36; Duncan et
  al. 2003);
- ``review for referral or ending`` — reliable deterioration, or no reliable improvement
  after ``review_after`` sessions.

The last flag serves the International Association of Coaching's ethics (section 3): refer
on when another professional may help, and end the relationship when the client no longer
benefits. A flag is a prompt to talk with the client, in plain words; it never judges the
client's health, and its reason says only what the numbers show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes._checks import check_positive_int
from outcomes._errors import DataError, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.practice.trajectories import Trajectories

__all__ = ["monitor", "Monitoring", "FLAGS", "AS_FITTED"]

#: Default of ``intake=``: the intake column the trajectories were fitted with.
AS_FITTED = "<as fitted>"

#: Flags from most to least pressing; ``flag`` holds the first that applies.
FLAGS = ("review for referral or ending", "reliable deterioration", "not on track",
         "alliance concern", "on track", "starting point", "not assessed")
_COLUMNS = {"review for referral or ending": "review", "reliable deterioration":
            "deterioration", "not on track": "not_on_track", "alliance concern": "alliance_concern",
            "on track": "on_track"}


def _n(value: float | None) -> str:
    return "" if value is None else f"{float(value):.1f}".removesuffix(".0")


@dataclass(frozen=True, repr=False)
class Monitoring(Result):
    """Flags per engagement and session (see :func:`monitor`).

    ``flags`` has one row per engagement and session: ``engagement_id``, ``session``, the
    outcome ``score``, ``start``, ``change``, ``expected``, ``low``, ``high``, ``alliance``,
    a boolean column per flag (``review``, ``deterioration``, ``not_on_track``,
    ``alliance_concern``, ``on_track``), the most pressing ``flag`` and ``reason`` (every
    flag that applies, in words).
    """

    flags: pd.DataFrame
    outcome: str
    alliance: str | None
    reliable_change: float
    alliance_cutoff: float | None
    review_after: int
    notes: tuple[str, ...] = field(default=())

    def table(self) -> pd.DataFrame:
        """One row per engagement and session."""
        return self.flags.copy()

    def counts(self) -> pd.DataFrame:
        """Per flag: sessions flagged, engagements ever flagged, and their share."""
        frame = self.flags
        engagements = frame["engagement_id"].nunique()
        rows = []
        for name, column in _COLUMNS.items():
            hit = frame[column].fillna(False).astype(bool)
            ever = frame.loc[hit, "engagement_id"].nunique()
            rows.append((name, int(hit.sum()), int(ever), ever / engagements if engagements
                         else np.nan))
        return pd.DataFrame(rows, columns=["flag", "sessions", "engagements",
                                           "share_of_engagements"])

    def headline(self) -> str:
        """Engagements and sessions, and the share of engagements ever flagged."""
        counts = self.counts().set_index("flag")["share_of_engagements"]
        n = self.flags["engagement_id"].nunique()
        return (f"{self.outcome}: {n} engagements, {len(self.flags)} sessions; ever flagged: "
                f"{100 * counts['not on track']:.0f} % not on track, "
                f"{100 * counts['reliable deterioration']:.0f} % reliable deterioration")

    def summary(self) -> Summary:
        """Counts by flag and what the thresholds were."""
        n = self.flags["engagement_id"].nunique()
        lines = [f"Monitoring {self.outcome}: {n} engagements, {len(self.flags)} sessions.",
                 f"Reliable change {_n(self.reliable_change)} points; review after "
                 f"{self.review_after} sessions without reliable improvement."]
        if self.alliance:
            lines.append(f"Alliance concern: {self.alliance} below {_n(self.alliance_cutoff)}.")
        primary = self.flags["flag"].value_counts().reindex(FLAGS, fill_value=0)
        lines += ["", text_table(self.counts()), "",
                  "Most pressing flag per session: "
                  + ", ".join(f"{k} {v}" for k, v in primary.items() if v), *self.notes]
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: thresholds, counts and the flags table."""
        return jsonable({"outcome": self.outcome, "alliance": self.alliance,
                         "reliable_change": self.reliable_change,
                         "alliance_cutoff": self.alliance_cutoff,
                         "review_after": self.review_after, "counts": self.counts(),
                         "notes": list(self.notes), "flags": self.flags})

    def plot(self, ax: Any = None, *, engagement: str | None = None) -> Any:
        """One engagement's ratings against its expected band, or (by default) the share of
        engagements ever given each flag."""
        ax = axes_or_new(ax)
        if engagement is None:
            counts = self.counts()
            ax.barh(counts["flag"], 100 * counts["share_of_engagements"], color=PALETTE[0])
            ax.invert_yaxis()
            ax.set_xlabel("engagements ever flagged (%)")
            return ax
        rows = self.flags[self.flags["engagement_id"] == engagement]
        if rows.empty:
            raise UsageError(f"plot: no engagement {engagement!r} in the flags.")
        ax.fill_between(rows["session"], rows["low"], rows["high"], color="#DDDDDD",
                        label="expected range")
        ax.plot(rows["session"], rows["expected"], color="black", linewidth=0.8,
                label="expected")
        ax.plot(rows["session"], rows["score"], "o-", color=PALETTE[0], label=self.outcome)
        flagged = rows[rows["not_on_track"].fillna(False).astype(bool)
                       | rows["deterioration"].fillna(False).astype(bool)]
        ax.scatter(flagged["session"], flagged["score"], s=80, facecolors="none",
                   edgecolors=PALETTE[3], label="flagged")
        ax.set_xlabel("session")
        ax.set_ylabel(self.outcome)
        ax.legend(frameon=False)
        return ax


def _lookup(key: str | None, kind: str) -> float | None:
    if key is None or key not in registry.available():
        return None
    figure = registry.get(key).figure(kind)
    return None if figure is None else float(figure.value)


def _reasons(row: Any, label: str, alliance_label: str, rc: float, cutoff: float | None,
             review_after: int, who: str) -> list[str]:
    at = f"at session {int(row.session)}"
    out = []
    if pd.notna(row.score) and pd.notna(row.start) and not row.is_start:
        where = ("below" if row.not_on_track else "above" if row.score > row.high
                 else "within")
        out.append(f"{label} {_n(row.score)} {at} is {where} the expected range "
                   f"{_n(row.low)}-{_n(row.high)} for clients {who}.")
        if row.deterioration:
            out.append(f"It is {_n(-row.change)} points below the start ({_n(row.start)}); a "
                       f"fall of more than {_n(rc)} points is more than the measure's "
                       "ordinary ups and downs.")
        if row.review:
            if not row.deterioration:
                out.append(f"After {int(row.session)} sessions it is {_n(row.change)} points "
                           f"from the start ({_n(row.start)}); a reliable improvement needs "
                           f"more than {_n(rc)}.")
            out.append("Review with the client whether the coaching is helping: carry on, "
                       "change the approach, refer to another professional, or end.")
    if row.alliance_concern:
        out.append(f"{alliance_label} {_n(row.alliance)} {at} is below {_n(cutoff)}: ask the "
                   "client how the sessions are going and what to change.")
    return out


def monitor(
    sessions: pd.DataFrame,
    trajectories: Trajectories,
    *,
    outcome: str,
    alliance: str | None = None,
    alliance_cutoff: float | None = None,
    rci: float | None = None,
    review_after: int = 6,
    intake: str | None = AS_FITTED,
    session: str | None = None,
    client: str | None = None,
    instrument: str | None = None,
    alliance_instrument: str | None = None,
) -> Monitoring:
    """Flag each engagement at each session against the expected course.

    Parameters
    ----------
    sessions : DataFrame
        One row per engagement and session (see
        :func:`outcomes.practice.trajectories.session_scores`).
    trajectories : Trajectories
        The expected course, from :func:`outcomes.practice.trajectories.expected_trajectories`.
    outcome : str
        Column of the per-session outcome.
    alliance : str, optional
        Column of the per-session alliance rating (e.g. the SRS).
    alliance_cutoff : float, optional
        A rating below this is an alliance concern. Default: the alliance instrument's
        published ``concern_below`` (SRS: 36).
    rci : float, optional
        Reliable change in score points. Default: the outcome instrument's published
        reliable change (ORS: 5).
    review_after : int, default 6
        Sessions after which no reliable improvement prompts a review.
    intake : str or None, optional
        Column of the intake score; None takes each engagement's first rated session.
        Default: as the trajectories were fitted.
    session, client : str, optional
        Columns; default as the trajectories were fitted.
    instrument, alliance_instrument : str, optional
        Registry keys for the defaults above; default the column names when they are keys
        (``"ors"``, ``"srs"``).

    Returns
    -------
    Monitoring

    Examples
    --------
    >>> from outcomes.practice.trajectories import expected_trajectories
    >>> rng = np.random.default_rng(1)
    >>> start = rng.uniform(8, 30, 150)
    >>> rows = [(f"E{i}", s, start[i] + 0.3 * (32 - start[i]) * np.log(s) + rng.normal(0, 2),
    ...          38.0) for i in range(150) for s in range(1, 8)]
    >>> data = pd.DataFrame(rows, columns=["engagement_id", "session", "ors", "srs"])
    >>> data.loc[data.engagement_id == "E0", "ors"] = [15, 14, 12, 9, 8, 8, 7]
    >>> data.loc[data.engagement_id == "E1", "srs"] = 30.0
    >>> trajectories = expected_trajectories(data, outcome="ors")
    >>> flags = monitor(data, trajectories, outcome="ors", alliance="srs").table()
    >>> flags.query("engagement_id == 'E0'")["flag"].tolist()[:4]
    ['starting point', 'not on track', 'not on track', 'review for referral or ending']
    >>> print(flags.query("engagement_id == 'E0'")["reason"].iloc[1])
    ORS 14 at session 2 is below the expected range 14.6-22.9 for clients who started at 15.
    >>> flags.query("engagement_id == 'E1'")["flag"].iloc[1]
    'alliance concern'
    """
    if not isinstance(trajectories, Trajectories):
        raise UsageError("monitor: trajectories must come from expected_trajectories().")
    cols = trajectories.columns
    intake = cols.get("intake") if intake == AS_FITTED else intake
    session = session or cols.get("session") or "session"
    client = client or cols.get("client") or "engagement_id"
    rc = rci if rci is not None else _lookup(instrument or outcome, "reliable_change")
    if rc is None:
        raise UsageError(f"monitor: give rci= (the reliable change in {outcome} points) or "
                         f"instrument= (a registry key such as 'ors').")
    if alliance is not None and alliance_cutoff is None:
        alliance_cutoff = _lookup(alliance_instrument or alliance, "concern_below")
        if alliance_cutoff is None:
            raise UsageError(f"monitor: give alliance_cutoff= for {alliance!r} (SRS: 36).")
    review_after = check_positive_int(review_after, "review_after", "monitor", minimum=1)
    for name in (outcome, alliance, intake, session, client):
        if name is not None and name not in sessions.columns:
            raise DataError(f"the session table has no column {name!r}", column=name,
                            fix=f"The columns are {', '.join(map(str, sessions.columns))}.")
    frame = pd.DataFrame({
        "engagement_id": sessions[client].to_numpy(),
        "session": pd.to_numeric(sessions[session], errors="coerce").to_numpy(),
        "score": pd.to_numeric(sessions[outcome], errors="coerce").to_numpy(dtype=float),
        "alliance": (pd.to_numeric(sessions[alliance], errors="coerce").to_numpy(dtype=float)
                     if alliance else np.nan),
    }).sort_values(["engagement_id", "session"], ignore_index=True)
    first = frame.dropna(subset=["score"]).groupby("engagement_id")["session"].min()
    if intake is not None:
        starts = sessions.groupby(client)[intake].first()
        frame["start"] = pd.to_numeric(frame["engagement_id"].map(starts), errors="coerce")
        frame["is_start"] = False
    else:
        firsts = frame.dropna(subset=["score"]).groupby("engagement_id")["score"].first()
        frame["start"] = frame["engagement_id"].map(firsts).astype(float)
        frame["is_start"] = frame["session"] == frame["engagement_id"].map(first)
    band = trajectories.expected(frame["start"].fillna(0), frame["session"].fillna(1))
    frame[["expected", "low", "high"]] = band[["expected", "low", "high"]].to_numpy()
    frame["change"] = frame["score"] - frame["start"]
    judged = frame["score"].notna() & frame["start"].notna() & ~frame["is_start"]
    frame.loc[~judged, ["expected", "low", "high"]] = np.nan
    frame["not_on_track"] = judged & (frame["score"] < frame["low"])
    frame["deterioration"] = judged & (frame["change"] < -rc)
    frame["review"] = frame["deterioration"] | (
        judged & (frame["session"] >= review_after) & ~(frame["change"] > rc))
    frame["alliance_concern"] = (frame["alliance"] < alliance_cutoff) if alliance else False
    frame["on_track"] = judged & ~frame["not_on_track"] & ~frame["deterioration"]
    label = (instrument or outcome).upper() if (instrument or outcome) in registry.available() \
        else outcome
    alliance_label = str(alliance_instrument or alliance or "")
    if alliance_label in registry.available():
        alliance_label = alliance_label.upper()
    flags, reasons = [], []
    for row in frame.itertuples(index=False):
        applies = [name for name, col in _COLUMNS.items() if getattr(row, col)]
        if not applies:
            applies = ["starting point" if row.is_start and pd.notna(row.score)
                       else "not assessed"]
        flags.append(applies[0])
        text = _reasons(row, label, alliance_label, rc, alliance_cutoff, review_after,
                        trajectories.describe_intake(row.start) if pd.notna(row.start) else "")
        if applies[0] == "starting point":
            text.insert(0, f"{label} {_n(row.score)} at session {int(row.session)} is the "
                           "starting point.")
        elif pd.isna(row.score) or pd.isna(row.start):
            text.insert(0, f"No {label} rating at session {int(row.session)}."
                           if pd.isna(row.score) else f"No {label} at the start, so progress "
                           "cannot be judged.")
        reasons.append(" ".join(text))
    frame["flag"], frame["reason"] = flags, reasons
    notes = []
    if intake is None:
        notes.append(f"The first rated session is each engagement's starting {label}.")
    frame = frame.drop(columns="is_start")
    return Monitoring(frame, outcome, alliance, float(rc), alliance_cutoff, review_after,
                      tuple(notes))
