"""What a study lacks for the published outputs, said in plain words with how to add it.

A report, norms or benchmark on a study that lacks a part (no end scores yet, no session
ratings, no coaches table) still writes every section it can; each section that needs the
missing part says so with the message found here, so the wording is the same everywhere.
The messages never give a number of clients below ``k``.

Examples
--------
>>> import outcomes as oc
>>> sample = oc.load_sample()
>>> responses = sample.tables["responses"]
>>> study = oc.Study({**sample.tables, "responses": responses[responses["occasion"] != "end"]})
>>> gaps = study_gaps(study, study.analysis_table())
>>> sorted(gaps)
['end_scores']
>>> print(gaps["end_scores"][:71])
No end scores yet: the change figures, the factor shares and the coach
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcomes.privacy import DEFAULT_K

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.study import Study

__all__ = ["PARTS", "study_gaps", "table_name"]

#: The parts a study can lack, and what each feeds.
PARTS = {
    "end_scores": "the change figures, the factor shares and the coach effects",
    "session_ratings": "the session-by-session figures (the alliance over sessions, the "
                       "monitoring and the expected course)",
    "coaches": "the check of the engagements' coach ids against a list of coaches",
}


def table_name(study: Study, kind: str) -> str:
    """How to name a study's table to its user: ``responses.csv``, or ``the responses sheet
    of book.xlsx``, or ``the responses table`` when it was not read from a file.

    Examples
    --------
    >>> import outcomes as oc
    >>> table_name(oc.load_sample(), "responses")
    'responses.csv'
    """
    frame = study.tables.get(kind)
    source = str(frame.attrs.get("source_file", "")) if frame is not None else ""
    if not source:
        return f"the {kind} table"
    path, _, sheet = source.rpartition(":") if ".xls" in source.lower() else (source, "", "")
    if sheet and path:
        return f"the {sheet} sheet of {Path(path).name}"
    return Path(source).name


def _session_instruments(study: Study, consenting: set[Any]) -> set[str]:
    responses = study.valid("responses")
    if responses.empty or "occasion" not in responses:
        return set()
    rows = responses[(responses["occasion"] == "session")
                     & responses["engagement_id"].isin(consenting)]
    return set(rows["instrument"].astype(str))


def study_gaps(study: Study, table: pd.DataFrame, *, k: int = DEFAULT_K,
               rerun: str = "run the report again") -> dict[str, str]:
    """The parts a study lacks for its outputs, each with a message in plain words.

    Parameters
    ----------
    study : Study
        The study (its valid rows are used).
    table : DataFrame
        Its analysis table (consenting engagements only).
    k : int, default 5
        The suppression threshold: fewer than ``k`` end scores count as missing, and the
        message does not say how many there are.
    rerun : str, default "run the report again"
        What to do once the part is added (the norms say "make the norms again").

    Returns
    -------
    dict of str to str
        Keys among :data:`PARTS`; empty when nothing is missing.
    """
    gaps: dict[str, str] = {}
    responses = table_name(study, "responses")
    ended = int(table["end_score"].notna().sum()) if "end_score" in table else 0
    needs = f"{PARTS['end_scores']} need"
    if ended == 0:
        gaps["end_scores"] = (
            f"No end scores yet: {needs} each client's end score (the `end` occasion of the "
            f"ORS). Add them to {responses} and {rerun}.")
    elif ended < k:
        gaps["end_scores"] = (
            f"Fewer than {k} clients have an end score yet: {needs} the end scores (the `end` "
            f"occasion of the ORS) of at least {k} clients, so nothing that would rest on "
            f"fewer is shown. Add the end scores to {responses} and {rerun}.")
    rated = _session_instruments(study, set(table["engagement_id"]))
    lacking = [name.upper() for name in ("ors", "srs") if name not in rated]
    if lacking:
        which = " and ".join(lacking)
        gaps["session_ratings"] = (
            f"No session ratings ({which}) yet: {PARTS['session_ratings']} need each "
            "session's ORS (at its start) and SRS (at its end), given as the `session` "
            f"occasion with the session number. Add them to {responses} and {rerun}.")
    if "coaches" not in study.tables:
        gaps["coaches"] = (
            "No coaches table: the coach ids of the engagements were taken as given, not "
            "checked against a list of coaches. Add a coaches table (coaches.csv with one "
            f"row per coach_id) to check them, and {rerun}.")
    return gaps
