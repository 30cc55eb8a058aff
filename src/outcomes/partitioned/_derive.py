"""Scores and the analysis table of partitioned tables, administration by administration.

Scoring needs every item of an administration together, and the analysis table every score
and session of an engagement: both run on buckets of engagements (:func:`bucket`), the
same bucket of each table side by side. ``zsum`` scales (the CEQ) are standardised over the
whole table: their item moments are gathered over every partition first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from outcomes import instruments as registry
from outcomes.analysis import build_analysis_table
from outcomes.measures.scoring import _check_columns, combine_item_moments, item_moments, score_with
from outcomes.partitioned._read import BUCKET, FILE, ROW, bucket

__all__ = ["score", "analysis_table"]


def _zsum_keys(chosen: Iterable[str] | None) -> list[str]:
    keys = list(chosen) if chosen is not None else registry.available()
    return [k for k in keys if any(s.rule == "zsum" for s in registry.get(k).scales.values())]


def _moments_of(part: pd.DataFrame, keys: list[str]) -> dict[str, tuple]:
    return {k: item_moments(part, k) for k in keys if (part["instrument"] == k).any()}


def zsum_moments(part: pd.DataFrame) -> dict[str, tuple]:
    """The item moments of each ``zsum`` instrument a partition of responses holds."""
    return _moments_of(part, _zsum_keys(None))


def pooled_moments(found: Iterable[Mapping[str, tuple]]) -> dict[str, tuple]:
    """Item moments of partitions pooled, in the order given, into those of the whole."""
    standards: dict[str, tuple] = {}
    for moments in found:
        for key, part in moments.items():
            standards[key] = (part if key not in standards
                              else combine_item_moments(standards[key], part))
    return standards


def _plain(part: pd.DataFrame) -> pd.DataFrame:
    drop = [c for c in (ROW, FILE, BUCKET) if c in part.columns]
    return part.drop(columns=drop).reset_index(drop=True)


def _score_part(part: pd.DataFrame, instruments, min_answered, standards) -> pd.DataFrame:
    return score_with(_plain(part), instruments=instruments, min_answered=min_answered,
                      standards=standards)


def _grouped(frame: Any, grouped: bool, n: int | None) -> Any:
    if grouped:
        return frame
    return bucket(frame, "engagement_id", int(n or frame.npartitions))


def score(responses: Any, *, instruments: Iterable[str] | None = None,
          min_answered: float | Mapping[str, float] | None = None, grouped: bool = False,
          npartitions: int | None = None,
          item_moments: Mapping[str, tuple] | None = None) -> Any:
    """Score a Dask ``responses`` table: :func:`outcomes.score`, engagement by engagement.

    Parameters
    ----------
    responses : dask.dataframe.DataFrame
        Valid canonical responses (e.g. ``ScaledValidation.valid("responses")``).
    instruments, min_answered
        As in :func:`outcomes.score`.
    grouped : bool, default False
        True when every engagement's rows already sit in one partition (as in the valid
        tables that :func:`validate_tables` writes); otherwise the rows are first shuffled
        into buckets of engagements.
    npartitions : int, optional
        Buckets when shuffling (default: the partitions of ``responses``).
    item_moments : mapping, optional
        The item moments of the ``zsum`` instruments over all of ``responses``, when they
        are known already (``ScaledValidation.item_moments`` for the valid responses that
        :func:`validate_tables` wrote); otherwise one pass over ``responses`` gathers them.

    Returns
    -------
    dask.dataframe.DataFrame
        The canonical scores table, sorted within each partition; identical, row for row,
        to the in-memory scores once both are sorted by their key.

    Examples
    --------
    >>> import dask, dask.dataframe as dd, outcomes as oc
    >>> responses = oc.simulate_study(n_coaches=2, clients_per_coach=3,
    ...                               seed=1).tables["responses"]
    >>> with dask.config.set(scheduler="synchronous"):
    ...     scores = score(dd.from_pandas(responses, npartitions=2)).compute()
    >>> len(scores) == len(oc.score(responses))
    True
    """
    import dask

    _check_columns(responses._meta)
    keys = _zsum_keys(instruments)
    standards: dict[str, tuple] = {}
    if item_moments is not None:
        standards = {k: v for k, v in item_moments.items() if k in keys}
    elif keys:
        standards = pooled_moments(dask.compute(*[dask.delayed(_moments_of)(p, keys)
                                                  for p in responses.to_delayed()]))
    frame = _grouped(responses, grouped, npartitions)
    meta = _score_part(_example(), instruments, min_answered, None).iloc[:0]
    return frame.map_partitions(_score_part, instruments, min_answered, standards, meta=meta,
                                align_dataframes=False)


def _example() -> pd.DataFrame:
    return pd.DataFrame({"engagement_id": ["e"], "occasion": ["intake"],
                         "session": pd.array([pd.NA], dtype="Int64"), "instrument": ["gse"],
                         "item": [1], "value": [1.0], "rater": ["client"]})


def _table_part(engagements: pd.DataFrame, sessions: pd.DataFrame, scores: pd.DataFrame,
                early: tuple[int, ...]) -> pd.DataFrame:
    table = build_analysis_table(_plain(engagements), _plain(sessions), _plain(scores),
                                 early_sessions=early)
    table.attrs = {}
    return table


def analysis_table(engagements: Any, sessions: Any, scores: Any, *,
                   early_sessions: tuple[int, ...] = (1, 2, 3), grouped: bool = False,
                   npartitions: int | None = None) -> Any:
    """One row per engagement from Dask tables: :func:`outcomes.analysis.build_analysis_table`.

    ``engagements`` and ``sessions`` are valid canonical tables, ``scores`` the scores
    table (from :func:`score`). With ``grouped=True`` partition ``i`` of each holds the
    same engagements (as :func:`validate_tables` writes them and :func:`score` keeps
    them); otherwise the three are shuffled into matching buckets of engagements.

    Returns
    -------
    dask.dataframe.DataFrame
        The analysis table, partition by partition (rows in engagement order within each).

    Examples
    --------
    >>> import dask, dask.dataframe as dd, outcomes as oc
    >>> tables = oc.simulate_study(n_coaches=2, clients_per_coach=3, seed=1).tables
    >>> parts = {k: dd.from_pandas(v, npartitions=2) for k, v in tables.items()}
    >>> with dask.config.set(scheduler="synchronous"):
    ...     table = analysis_table(parts["engagements"], parts["sessions"],
    ...                            score(parts["responses"])).compute()
    >>> sorted(table["engagement_id"]) == sorted(tables["engagements"]["engagement_id"])
    True
    """
    import dask.dataframe as dd

    n = int(npartitions or max(engagements.npartitions, sessions.npartitions,
                               scores.npartitions))
    frames = [_grouped(f, grouped, n) for f in (engagements, sessions, scores)]
    if grouped and len({f.npartitions for f in frames}) != 1:
        frames = [bucket(f, "engagement_id", n) for f in frames]
    meta = _table_part(frames[0]._meta, frames[1]._meta, scores._meta, tuple(early_sessions))
    return dd.map_partitions(_table_part, *frames, tuple(early_sessions), meta=meta,
                             align_dataframes=False)


