"""Session by session: ratings laid out per session, and sessions paired with later ones.

:func:`session_table` lays out the canonical scores as one row per engagement and session:
the outcome rating given at the *start* of the session (ORS in PCOMS practice) and the
alliance rating given at its *end* (SRS), so that the alliance of session t comes after the
outcome of session t and before the outcome of session t + 1 (Miller, Duncan et al. 2003).

:func:`lagged_pairs` joins each session of a client with the outcome ``lag`` sessions later
and splits the alliance into the client's mean over the sessions used (``alliance_between``,
trait-like) and the session's deviation from it (``alliance_within``, state-like): the data
of the lagged model of :func:`outcomes.mixed.alliance.alliance_outcome`.

Examples
--------
>>> sessions = pd.DataFrame({"engagement_id": ["E1"] * 3, "session": [1, 2, 3],
...                          "srs": [34.0, 36.0, 38.0], "ors": [20.0, 22.0, 25.0]})
>>> pairs = lagged_pairs(sessions, alliance="srs", outcome="ors", client="engagement_id",
...                      cluster=None, session="session", lag=1)
>>> pairs[["session", "ors", "outcome_next", "alliance_within"]].to_numpy().tolist()
[[1.0, 20.0, 22.0, -1.0], [2.0, 22.0, 25.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from outcomes._errors import DataError

__all__ = ["session_table", "lagged_pairs"]

SCORE_COLUMNS = ("engagement_id", "occasion", "session", "instrument", "scale", "score")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in frame.columns:
            raise DataError(f"the {what} need this column but have no such column",
                            column=col, fix=f"Columns present: "
                            f"{', '.join(map(str, frame.columns[:20]))}.")


def session_table(
    scores: pd.DataFrame,
    engagements: pd.DataFrame,
    *,
    alliance: tuple[str, str] = ("srs", "total"),
    outcome: tuple[str, str] = ("ors", "total"),
    rater: str = "client",
    cluster: str = "coach_id",
) -> pd.DataFrame:
    """One row per engagement and session: coach, session, alliance and outcome.

    Parameters
    ----------
    scores : DataFrame
        The canonical scores table (engagement_id, occasion, session, instrument, scale,
        score; optionally rater). Only ``occasion == "session"`` rows are used.
    engagements : DataFrame
        The canonical engagements table (engagement_id, coach_id; engagements whose
        ``research_consent`` is false are left out).
    alliance, outcome : (instrument, scale)
        Which scores are the alliance (default the SRS total, given at the end of each
        session) and the outcome (default the ORS total, given at its start).
    rater : str, default "client"
        Whose ratings to use when the scores carry a ``rater`` column.
    cluster : str, default "coach_id"
        The column of ``engagements`` that names each client's coach; the table keeps it
        under the same name.

    Returns
    -------
    DataFrame
        Columns engagement_id, the coach column, session, alliance, outcome, sorted by
        coach, engagement and session; a missing rating is NaN.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "engagement_id": ["E1"] * 4, "occasion": "session", "session": [1, 1, 2, 2],
    ...     "instrument": ["ors", "srs"] * 2, "scale": "total",
    ...     "score": [20.0, 35.0, 24.0, 37.5]})
    >>> engagements = pd.DataFrame({"engagement_id": ["E1"], "coach_id": ["C1"]})
    >>> session_table(scores, engagements)
      engagement_id coach_id  session  alliance  outcome
    0            E1       C1        1      35.0     20.0
    1            E1       C1        2      37.5     24.0
    """
    _require(scores, SCORE_COLUMNS, "scores")
    _require(engagements, ("engagement_id", cluster), "engagements")
    rows = scores[scores["occasion"] == "session"]
    if "rater" in rows.columns:
        rows = rows[rows["rater"].fillna("client") == rater]
    parts = []
    for name, (instrument, scale) in (("alliance", alliance), ("outcome", outcome)):
        picked = rows[(rows["instrument"] == instrument) & (rows["scale"] == scale)]
        if picked.empty:
            present = sorted({f"{i}/{s}" for i, s in zip(rows["instrument"], rows["scale"],
                                                         strict=True)})
            raise DataError(f"no per-session {instrument}/{scale} scores were found for the "
                            f"{name}", column="instrument",
                            fix=f"Per-session scores present: {', '.join(present) or 'none'}.")
        series = picked.groupby(["engagement_id", "session"])["score"].mean().rename(name)
        parts.append(series)
    table = pd.concat(parts, axis=1).reset_index()
    table["session"] = table["session"].astype(int)
    keep = engagements
    if "research_consent" in keep.columns:
        keep = keep[keep["research_consent"].fillna(True).astype(bool)]
    coach = keep[["engagement_id", cluster]].astype({"engagement_id": str, cluster: str})
    table = table.astype({"engagement_id": str}).merge(coach, on="engagement_id", how="inner")
    table = table[["engagement_id", cluster, "session", "alliance", "outcome"]]
    return table.sort_values([cluster, "engagement_id", "session"], ignore_index=True)


def lagged_pairs(sessions: pd.DataFrame, *, alliance: str, outcome: str, client: str,
                 cluster: str | None, session: str, lag: int) -> pd.DataFrame:
    """Rows of session t joined with the outcome of session t + lag of the same client.

    Adds ``outcome_next``, ``alliance_between`` and ``alliance_within``; keeps the pairs with
    every rating, sorted by coach (when ``cluster`` is given), client and session.
    """
    cols = [client, session, alliance, outcome] + ([cluster] if cluster else [])
    _require(sessions, cols, "sessions")
    frame = sessions[cols].copy()
    for col in (session, alliance, outcome):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DataError("must be numeric", column=col,
                            fix="Convert the column to numbers.")
    frame[client] = frame[client].astype(str)
    if frame.duplicated([client, session]).any():
        raise DataError(f"a client has two rows for the same {session}", column=session,
                        fix="Keep one row per client and session.")
    later = frame[[client, session, outcome]].rename(columns={outcome: "outcome_next"})
    later = later.assign(**{session: later[session] - lag})
    pairs = frame.merge(later, on=[client, session], how="inner")
    complete = pairs[[alliance, outcome, "outcome_next"] + ([cluster] if cluster else [])]
    pairs = pairs[complete.notna().all(axis=1)].copy()
    if cluster:
        pairs[cluster] = pairs[cluster].astype(str)
        per_client = pairs.groupby(client)[cluster].nunique()
        if (per_client > 1).any():
            raise DataError(f"client {per_client.idxmax()} has sessions with more than one "
                            "coach", column=cluster,
                            fix="Give each client (engagement) one coach.")
    between = pairs.groupby(client)[alliance].transform("mean")
    pairs["alliance_between"] = between
    pairs["alliance_within"] = pairs[alliance] - between
    order = [cluster, client, session] if cluster else [client, session]
    return pairs.sort_values(order, ignore_index=True)
