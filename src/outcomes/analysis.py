"""The analysis table: one row per engagement, the outcome and the factor variables.

Every column of the table is declared once in :data:`VARIABLES` (name, instrument, scale,
occasion, rater, how repeated measurements combine, factor group and meaning), so the
documentation, the default factor map and the code cannot drift apart.

Alliance and session ratings are averaged over the *early* sessions (1–3 by default) so that
the relationship is measured before most of the change has happened; per-session outcome
ratings in PCOMS practice are given at the start of a session and the alliance at its end
(Miller, Duncan et al. 2003), so a later alliance would partly reflect change already made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes.io import _arrow
from outcomes.measures._codes import KeyCodes

__all__ = ["Variable", "VARIABLES", "FACTORS", "build_analysis_table", "describe_columns",
           "analysis_sources", "source_notes"]


@dataclass(frozen=True)
class Variable:
    """One scored column of the analysis table and where it comes from."""

    name: str
    instrument: str
    scale: str
    occasion: str  # intake | early | end
    factor: str  # client | relationship | expectancy | technique | outcome
    meaning: str
    rater: str = "client"


VARIABLES: tuple[Variable, ...] = (
    Variable("baseline", "ors", "total", "intake", "outcome",
             "ORS total at intake (0–40, higher is better); session 1 when intake is absent"),
    Variable("end_score", "ors", "total", "end", "outcome",
             "ORS total at the end of the engagement"),
    Variable("goal_attainment", "gas", "tscore", "end", "outcome",
             "Goal Attainment Scaling T-score at the end (50 = goals met as expected)"),
    Variable("optimism", "lot-r", "total", "intake", "client", "LOT-R total (0–24)"),
    Variable("social_support", "mspss", "total", "intake", "client", "MSPSS mean (1–7)"),
    Variable("self_efficacy", "gse", "total", "intake", "client", "GSE total (10–40)"),
    Variable("readiness", "urica", "readiness", "intake", "client",
             "URICA readiness: contemplation + action + maintenance − precontemplation"),
    Variable("alliance", "wai-sr", "total", "early", "relationship",
             "WAI-SR mean item score (1–5), client-rated, mean over the early sessions"),
    Variable("alliance_goal", "wai-sr", "goal", "early", "relationship", "WAI-SR goal subscale"),
    Variable("alliance_task", "wai-sr", "task", "early", "relationship", "WAI-SR task subscale"),
    Variable("alliance_bond", "wai-sr", "bond", "early", "relationship", "WAI-SR bond subscale"),
    Variable("alliance_coach", "wai-sr", "total", "early", "relationship",
             "WAI-SR mean item score rated by the coach, early sessions", rater="coach"),
    Variable("session_rating", "srs", "total", "early", "relationship",
             "SRS total (0–40), mean over the early sessions"),
    Variable("hope_agency", "ahs", "agency", "intake", "expectancy", "Adult Hope Scale agency"),
    Variable("hope_pathways", "ahs", "pathways", "intake", "expectancy",
             "Adult Hope Scale pathways"),
    Variable("credibility", "ceq", "credibility", "intake", "expectancy",
             "CEQ credibility (sum of z-scored items)"),
    Variable("expectancy", "ceq", "expectancy", "intake", "expectancy",
             "CEQ expectancy (sum of z-scored items)"),
)

#: Columns computed from the sessions table (technique and dose).
SESSION_COLUMNS = {
    "adherence": ("technique", "mean adherence rating over the sessions (1–5)"),
    "n_techniques": ("technique", "number of distinct technique codes used"),
    "sessions_attended": ("technique", "number of sessions held (dose)"),
    "minutes": ("technique", "total minutes of coaching (dose)"),
}

#: The default factor map: which analysis-table columns make up each factor group.
FACTORS: dict[str, list[str]] = {
    "client": ["optimism", "social_support", "self_efficacy", "readiness"],
    "relationship": ["alliance", "session_rating"],
    "expectancy": ["hope_agency", "hope_pathways", "credibility", "expectancy"],
    "technique": ["adherence", "n_techniques", "sessions_attended"],
}

_ENGAGEMENT_COLUMNS = ["engagement_id", "coach_id", "sponsor", "status"]


def describe_columns() -> pd.DataFrame:
    """The analysis table's columns: name, factor group, source and meaning.

    Examples
    --------
    >>> describe_columns().set_index("column").loc["alliance", "factor"]
    'relationship'
    """
    rows = [("engagement_id", "id", "engagements", "the engagement"),
            ("coach_id", "id", "engagements", "the coach (for clustering)"),
            ("sponsor", "context", "engagements", "self or organisation"),
            ("status", "context", "engagements", "completed, ongoing, dropped or referred")]
    rows += [(v.name, v.factor, f"{v.instrument} {v.scale} ({v.occasion}, {v.rater})", v.meaning)
             for v in VARIABLES]
    rows.append(("change", "outcome", "end_score − baseline", "change in ORS total"))
    rows += [(k, f, "sessions", m) for k, (f, m) in SESSION_COLUMNS.items()]
    return pd.DataFrame(rows, columns=["column", "factor", "source", "meaning"])


class _Picker:
    """Mean scores per engagement for one instrument, scale, rater and occasion at a time,
    with the text columns of the scores table factorised once."""

    def __init__(self, scores: pd.DataFrame, engagements: pd.Index) -> None:
        self.codes, self.values = {}, {}
        for column in ("engagement_id", "instrument", "scale", "rater", "occasion"):
            self.codes[column], self.values[column] = _arrow.factorize(scores[column])
        self.score = scores["score"].to_numpy(dtype=float, na_value=np.nan)
        self.session = scores["session"]
        self.rows = pd.Index(self.values["engagement_id"]).get_indexer(engagements)
        self._masks: dict[tuple[object, ...], np.ndarray] = {}

    def _is(self, column: str, value: str) -> np.ndarray:
        """Which scores hold ``value`` in ``column`` (worked out once per pair)."""
        if (column, value) not in self._masks:
            at = np.flatnonzero(np.asarray(self.values[column], dtype=object) == value)
            self._masks[column, value] = self.codes[column] == (at[0] if len(at) else -2)
        return self._masks[column, value]

    def _early(self, early: tuple[int, ...]) -> np.ndarray:
        """Which scores are of per-session ratings in the ``early`` sessions."""
        if ("early", early) not in self._masks:
            self._masks["early", early] = self._is("occasion", "session") & self.session.isin(
                early).to_numpy(dtype=bool, na_value=False)
        return self._masks["early", early]

    def pick(self, variable: Variable, early: tuple[int, ...]) -> np.ndarray:
        """The variable's mean score for each engagement of the table (NaN for none)."""
        rows = self._is("instrument", variable.instrument) & self._is("scale", variable.scale)
        rows &= self._is("rater", variable.rater) & (self.codes["engagement_id"] >= 0)
        if variable.occasion == "early":
            rows &= self._early(tuple(early))
        else:
            rows &= self._is("occasion", variable.occasion)
        means = pd.Series(self.score[rows]).groupby(self.codes["engagement_id"][rows]).mean()
        out = np.full(len(self.values["engagement_id"]) + 1, np.nan)
        out[means.index.to_numpy()] = means.to_numpy()
        return out[self.rows]  # position -1 (not scored) is the NaN at the end


def _session_columns(sessions: pd.DataFrame) -> pd.DataFrame:
    grouped = sessions.groupby("engagement_id")
    out = pd.DataFrame({"sessions_attended": grouped.size()})
    if "adherence" in sessions:
        out["adherence"] = grouped["adherence"].mean()
    if "techniques" in sessions:
        out["n_techniques"] = _technique_counts(sessions)
        out["n_techniques"] = out["n_techniques"].fillna(0)
    if "duration_min" in sessions:
        out["minutes"] = grouped["duration_min"].sum(min_count=1)
    return out


def _technique_counts(sessions: pd.DataFrame) -> pd.Series:
    """The number of distinct technique codes each engagement's sessions list (engagements
    that list none are left out); each distinct list of codes is split once."""
    given = sessions[["engagement_id", "techniques"]].dropna()
    listed, lists = pd.factorize(given["techniques"].astype(str))
    codes = pd.Series(lists, dtype=object).str.split(";").explode().str.strip()
    codes = pd.DataFrame({"list": codes.index.to_numpy(), "code": codes.to_numpy()})
    used = pd.DataFrame({"engagement_id": given["engagement_id"].to_numpy(), "list": listed})
    pairs = used.drop_duplicates().merge(codes[codes["code"] != ""], on="list")
    return pairs.groupby("engagement_id")["code"].nunique()


def _feeds(instrument: str, occasion: str, rater: str, early: bool) -> list[str]:
    """The analysis columns that responses of one instrument, occasion and rater feed."""
    out = [v.name for v in VARIABLES if v.instrument == instrument and v.rater == rater
           and (v.occasion == occasion or (v.occasion == "early" and early))]
    if early and (instrument, rater) == ("ors", "client"):
        out.append("baseline")  # session 1 stands in for a missing intake ORS
    return out


def _sessions_text(sessions: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in sessions)


def _source_counts(responses: pd.DataFrame, early: tuple[int, ...],
                   keys: list[str]) -> pd.DataFrame:
    """Responses and distinct engagements per instrument, occasion, session window and rater
    (sorted, missing last), counted on integer codes."""
    per_session = (responses["occasion"] == "session").to_numpy(dtype=bool, na_value=False)
    in_early = responses["session"].isin(early).to_numpy(dtype=bool, na_value=False)
    names = sorted({"", _sessions_text(early), "later"})
    window = np.where(~per_session, names.index(""),
                      np.where(in_early, names.index(_sessions_text(early)), names.index("later")))
    coded = KeyCodes({"instrument": responses["instrument"], "occasion": responses["occasion"],
                      "sessions": pd.Categorical.from_codes(window, categories=names),
                      "rater": responses["rater"]})
    number, first = coded.groups(np.arange(len(responses)))
    engagement, found = _arrow.factorize(responses["engagement_id"])
    ok = engagement >= 0
    n_groups, width = len(first["instrument"]), max(len(found), 1)
    pairs = number[ok].astype(np.int64) * width + engagement[ok]
    if n_groups * width <= max(2 * len(pairs), 2**20):  # a bitmap of the pairs, no sort
        seen = np.zeros(n_groups * width, dtype=bool)
        seen[pairs] = True
        pairs = np.flatnonzero(seen)
    else:
        pairs = np.unique(pairs)
    out = pd.DataFrame({key: coded.column(key, first[key]) for key in keys})
    if not len(out):  # the key columns keep their types
        types = {key: responses[key].dtype for key in keys if key in responses}
        out = out.astype({"sessions": "str"} | types)
    out["responses"] = np.bincount(number, minlength=n_groups).astype(np.int64)
    out["engagements"] = np.bincount(pairs // width,
                                     minlength=n_groups).astype(np.int64)
    return out


def analysis_sources(responses: pd.DataFrame, *,
                     early_sessions: tuple[int, ...] = (1, 2, 3)) -> pd.DataFrame:
    """Which item responses feed which columns of the analysis table, and which feed none.

    Parameters
    ----------
    responses : DataFrame
        Valid canonical responses.
    early_sessions : tuple of int, default (1, 2, 3)
        The sessions whose alliance and session ratings the analysis table averages.

    Returns
    -------
    DataFrame
        One row per instrument, occasion and rater given (per-session responses split into
        the early sessions and the later ones): ``instrument``, ``occasion``, ``sessions``
        (``"1, 2, 3"``, ``"later"`` or empty), ``rater``, ``responses`` (item responses),
        ``engagements``, and ``columns``: the analysis columns they feed, comma-separated,
        empty when they feed none.

    Examples
    --------
    >>> import outcomes as oc
    >>> sources = analysis_sources(oc.load_sample().valid("responses"))
    >>> sources.set_index(["instrument", "occasion", "sessions", "rater"]).loc[
    ...     ("wai-sr", "session", "1, 2, 3", "client"), "columns"]
    'alliance, alliance_goal, alliance_task, alliance_bond'
    >>> sources.loc[sources["instrument"] == "gse", ["occasion", "columns"]].values.tolist()
    [['end', ''], ['intake', 'self_efficacy']]
    """
    early = tuple(early_sessions)
    keys = ["instrument", "occasion", "sessions", "rater"]
    out = _source_counts(responses, early, keys)
    out["columns"] = [", ".join(_feeds(str(i), str(o), str(r), w not in ("", "later")))
                      for i, o, w, r in zip(out["instrument"], out["occasion"],
                                            out["sessions"], out["rater"], strict=True)]
    return out[[*keys, "responses", "engagements", "columns"]]


def source_notes(sources: pd.DataFrame, table: pd.DataFrame | None = None) -> list[str]:
    """Plain sentences: responses that feed no analysis column, and columns left empty.

    Responses of later sessions are left out: only the early sessions are averaged by
    design, and the session-by-session analyses use the rest.

    Examples
    --------
    >>> import outcomes as oc
    >>> study = oc.load_sample()
    >>> print(source_notes(study.analysis_sources())[0])  # doctest: +NORMALIZE_WHITESPACE
    9,856 gse item responses at end (client) from 1,006 engagements feed no analysis column;
    self_efficacy uses gse (client) at intake.
    """
    notes = []
    early = _sessions_text(tuple(table.attrs.get("early_sessions", (1, 2, 3)))
                           if table is not None else (1, 2, 3))
    for row in sources.itertuples(index=False):
        if row.columns or row.sessions == "later":
            continue
        uses: dict[tuple[str, str], list[str]] = {}
        for v in VARIABLES:
            if v.instrument == row.instrument:
                uses.setdefault((v.occasion, v.rater), []).append(v.name)
        said = "; ".join(
            f"{', '.join(names)} {'uses' if len(names) == 1 else 'use'} {row.instrument} "
            f"({rater}) at {f'sessions {early}' if occasion == 'early' else occasion}"
            for (occasion, rater), names in uses.items()
        ) or f"no analysis column uses {row.instrument}"
        when = f"{row.occasion} (sessions {row.sessions})" if row.sessions else row.occasion
        notes.append(f"{row.responses:,} {row.instrument} item responses at {when} "
                     f"({row.rater}) from {row.engagements:,} engagements feed no analysis "
                     f"column; {said}.")
    if table is None or not len(table):
        return notes
    empty: dict[tuple[str, str, str], list[str]] = {}
    for v in VARIABLES:
        if table[v.name].isna().all() and (sources["instrument"] == v.instrument).any():
            empty.setdefault((v.instrument, v.rater, v.occasion), []).append(v.name)
    for (instrument, rater, occasion), names in empty.items():
        where = f"sessions {early}" if occasion == "early" else occasion
        verb = "is" if len(names) == 1 else "are"
        notes.append(f"{', '.join(names)} {verb} empty for every engagement: "
                     f"{'it needs' if len(names) == 1 else 'they need'} {instrument} ({rater}) "
                     f"at {where}, and the study has none there.")
    return notes


def build_analysis_table(
    engagements: pd.DataFrame,
    sessions: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    early_sessions: tuple[int, ...] = (1, 2, 3),
    responses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per engagement: outcome, baseline, change and the factor variables.

    Parameters
    ----------
    engagements, sessions : DataFrame
        Valid canonical tables. Engagements whose ``research_consent`` is false are left out.
    scores : DataFrame
        The canonical scores table (from :func:`outcomes.score`).
    early_sessions : tuple of int, default (1, 2, 3)
        The sessions whose alliance and session ratings are averaged.
    responses : DataFrame, optional
        The valid responses the scores come from; when given, ``attrs["notes"]`` says which
        responses feed no column and which columns are empty for everyone
        (:func:`source_notes`).

    Returns
    -------
    DataFrame
        Columns as :func:`describe_columns` lists them; a variable whose instrument was not
        given is all missing, so the table has the same columns for every study.
        ``attrs`` holds ``early_sessions``, ``excluded_no_consent`` and ``notes``.
    """
    base = engagements
    if "research_consent" in base.columns:
        base = base[base["research_consent"].fillna(True).astype(bool)]
    table = base[_ENGAGEMENT_COLUMNS].reset_index(drop=True).set_index("engagement_id")
    picker = _Picker(scores, table.index)
    for variable in VARIABLES:
        table[variable.name] = picker.pick(variable, early_sessions)
    first = pd.Series(picker.pick(Variable("s1", "ors", "total", "early", "outcome", ""), (1,)),
                      index=table.index)
    table["baseline"] = table["baseline"].fillna(first)
    table["change"] = table["end_score"] - table["baseline"]
    per_session = _session_columns(sessions)
    for column in SESSION_COLUMNS:
        values = per_session[column] if column in per_session else np.nan
        table[column] = values
    table["sessions_attended"] = table["sessions_attended"].fillna(0).astype(int)
    order = [c for c in describe_columns()["column"] if c != "engagement_id"]
    table = table[order].reset_index()
    table.attrs["early_sessions"] = list(early_sessions)
    table.attrs["excluded_no_consent"] = int(len(engagements) - len(base))
    table.attrs["notes"] = [] if responses is None else source_notes(
        analysis_sources(responses, early_sessions=early_sessions), table)
    return table
