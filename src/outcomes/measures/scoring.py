"""Item responses to scale scores, following each instrument's file.

:func:`score` turns the canonical ``responses`` table (long, one row per item answered)
into the canonical ``scores`` table: one row per administration (engagement, occasion,
session, instrument, rater) and scale. The rules come from the instrument files
(:mod:`outcomes.instruments`):

- reverse keying, x' = min + max - x, with the item's own range;
- unscored (filler) items are ignored;
- ``sum``: the mean of the answered items times the scale's item count (a prorated sum,
  equal to the plain sum when every item is answered); ``mean``: the mean of the answered
  items; ``zsum``: as ``sum`` after z-standardising each item across the responses scored
  together (the CEQ, Devilly & Borkovec 2000); ``composite``: a sum and difference of
  other scales (URICA readiness = C + A + M - PC); ``gas-tscore``: the Goal Attainment
  Scaling T-score (Kiresuk & Sherman 1968);
- a scale with fewer answered items than its share ``min_answered`` gets score NaN, and
  ``n_items`` still reports how many were answered.

Scoring does not validate values (:func:`outcomes.validate` does); it assumes them in
range. It never drops a row silently: rows of an unknown instrument, item numbers the
instrument does not have, and an item answered twice in one administration are errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes import schema
from outcomes._errors import DataError, UsageError
from outcomes.instruments import Instrument, Scale
from outcomes.io import _arrow
from outcomes.measures._codes import KeyCodes, assemble
from outcomes.measures._codes import sorted_codes as _sorted_codes

__all__ = ["score", "score_with", "item_moments", "combine_item_moments", "item_matrix",
           "reverse_key", "ADMINISTRATION", "COLUMNS"]

#: The columns that identify one administration of an instrument.
ADMINISTRATION = ("engagement_id", "occasion", "session", "rater")
#: The columns of the canonical ``scores`` table, in order.
COLUMNS = tuple(schema.COLUMNS["scores"])
_REQUIRED = ("engagement_id", "occasion", "session", "instrument", "item", "value")
_OCCASIONS = {"intake": 0, "session": 1, "end": 2, "followup": 3}
_TOLERANCE = 1e-9


def reverse_key(values: np.ndarray | pd.Series | float, low: float, high: float):
    """Reverse-key answers: x' = low + high - x.

    Examples
    --------
    >>> reverse_key(np.array([0.0, 1.0, 4.0]), 0, 4)
    array([4., 3., 0.])
    """
    return low + high - values


def _check_columns(responses: pd.DataFrame) -> None:
    if not isinstance(responses, pd.DataFrame):
        raise UsageError("score: `responses` must be a pandas DataFrame in the long layout "
                         "(engagement_id, occasion, session, instrument, item, value)")
    missing = [c for c in _REQUIRED if c not in responses.columns]
    if missing:
        raise DataError(f"the responses table has no column {missing[0]!r}",
                        column=missing[0],
                        fix=f"Give the columns {', '.join(_REQUIRED)} (and optionally rater).")


def _key_columns(rows: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        "engagement_id": rows["engagement_id"],
        "occasion": rows["occasion"],
        "session": rows["session"].astype("Int64"),
        "rater": ((rows["rater"].fillna("client") if rows["rater"].hasnans else rows["rater"])
                  if "rater" in rows else pd.Series("client", index=rows.index, dtype=object)),
    }


def _administrations(rows: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Number each administration in the order of its key (engagement, occasion, session,
    rater; missing last); return the codes and one key row per code."""
    columns = _key_columns(rows)
    key = np.zeros(len(rows), dtype=np.int64)
    decoded = []
    for values in columns.values():
        codes, uniques = _sorted_codes(values)
        if key.size and (int(key.max()) + 1) * (len(uniques) + 1) >= 2**62:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        key = key * (len(uniques) + 1) + codes
        decoded.append((codes, uniques))
    distinct, first, codes = np.unique(key, return_index=True, return_inverse=True)
    unique = pd.DataFrame({name: part[1][part[0][first]] for name, part in
                           zip(columns, decoded, strict=True)})
    unique["session"] = unique["session"].astype("Int64")
    return codes.reshape(-1), unique


def _items(rows: pd.DataFrame, instrument: Instrument) -> np.ndarray:
    item = pd.to_numeric(rows["item"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(item) | (item != np.round(item)) | (item < 1) | (item > instrument.n_items)
    if bad.any():
        position = int(np.argmax(bad))
        found = rows["item"].iloc[position]
        shown = f"{found:g}" if isinstance(found, int | float | np.number) else repr(found)
        raise DataError(
            f"item {shown} is not an item of {instrument.key!r} "
            f"(items 1-{instrument.n_items})", row=rows.index[position], column="item",
            fix="Correct the item number, or validate the responses first to set such rows "
                "aside.")
    return item.astype(np.int64)


def _matrix(rows: pd.DataFrame, instrument: Instrument,
            codes: np.ndarray, n_admin: int) -> np.ndarray:
    """The administrations x items matrix of answers (NaN where unanswered)."""
    item = _items(rows, instrument)
    flat = codes * instrument.n_items + (item - 1)
    counts = np.bincount(flat, minlength=n_admin * instrument.n_items)
    if (counts > 1).any():
        twice = np.flatnonzero(counts[flat] > 1)[0]
        where = rows.index[twice]
        raise DataError(
            f"item {item[twice]} of {instrument.key!r} is answered more than once in one "
            f"administration (engagement {rows['engagement_id'].iloc[twice]!r}, occasion "
            f"{rows['occasion'].iloc[twice]!r})", row=where, column="item",
            fix="Keep one answer per item per administration; validation reports duplicates.")
    matrix = np.full(n_admin * instrument.n_items, np.nan)
    matrix[flat] = pd.to_numeric(rows["value"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    return matrix.reshape(n_admin, instrument.n_items)


def _keyed(matrix: np.ndarray, instrument: Instrument) -> np.ndarray:
    """Reverse-key the instrument's reverse items (a new array)."""
    out = matrix.copy()
    for item in instrument.reverse:
        low, high = instrument.item_range(item)
        out[:, item - 1] = reverse_key(out[:, item - 1], low, high)
    return out


def _standardised(matrix: np.ndarray, standard: tuple | None = None) -> np.ndarray:
    """Each column as z-scores over its answered rows (sample SD).

    ``standard`` gives ``(count, mean, sum of squared deviations)`` per column gathered over
    more responses than ``matrix`` holds (a partitioned table; see :func:`item_moments`).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        if standard is not None:
            counts, means, squares = standard
            return (matrix - means) / np.sqrt(squares / (counts - 1))
        counts = (~np.isnan(matrix)).sum(axis=0)
        means = np.nansum(matrix, axis=0) / counts
        centred = matrix - means
        variances = np.nansum(centred**2, axis=0) / (counts - 1)
        return centred / np.sqrt(variances)


def item_moments(responses: pd.DataFrame, instrument: str | Instrument) -> tuple:
    """``(count, mean, sum of squared deviations)`` of each reverse-keyed item's answers.

    The statistics ``zsum`` scales standardise with; those of parts of a table combine
    with :func:`combine_item_moments`, so a table scored part by part is standardised over
    all of it.

    Examples
    --------
    >>> rows = pd.DataFrame({"engagement_id": ["a", "b"], "occasion": "intake",
    ...                      "session": pd.NA, "instrument": "ceq", "item": 1,
    ...                      "value": [3.0, 5.0]})
    >>> count, mean, squares = item_moments(rows, "ceq")
    >>> int(count[0]), float(mean[0]), float(squares[0])
    (2, 4.0, 2.0)
    """
    instrument = registry.get(instrument)
    rows = responses[(responses["instrument"] == instrument.key).to_numpy()]
    rows = rows[~pd.to_numeric(rows["item"], errors="coerce").isin(instrument.unscored)]
    codes, keys = _administrations(rows)
    matrix = _keyed(_matrix(rows, instrument, codes, len(keys)), instrument)
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = (~np.isnan(matrix)).sum(axis=0).astype(float)
        means = np.where(counts > 0, np.nansum(matrix, axis=0) / counts, 0.0)
        squares = np.nansum((matrix - means) ** 2, axis=0)
    return counts, means, squares


def combine_item_moments(a: tuple, b: tuple) -> tuple:
    """Pool two :func:`item_moments` results (Chan, Golub & LeVeque 1983)."""
    (na, ma, sa), (nb, mb, sb) = a, b
    total = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(total > 0, mb - ma, 0.0)
        mean = np.where(total > 0, ma + delta * nb / np.where(total > 0, total, 1), 0.0)
        squares = sa + sb + delta**2 * na * nb / np.where(total > 0, total, 1)
    return total, mean, squares


def _scale(matrix: np.ndarray, scale: Scale, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Score one item-based scale: (scores, answered counts)."""
    sub = matrix[:, [i - 1 for i in scale.items]]
    answered = (~np.isnan(sub)).sum(axis=1)
    total = np.nansum(sub, axis=1)
    k = len(scale.items)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale.rule == "gas-tscore":
            rho = 0.3 if scale.rho is None else scale.rho
            values = 50 + 10 * total / np.sqrt((1 - rho) * answered + rho * answered**2)
            enough = answered >= 1
        else:
            mean = total / answered
            values = mean if scale.rule == "mean" else mean * k
            enough = (answered > 0) & (answered >= share * k - _TOLERANCE)
    return np.where(enough, values, np.nan), answered


def _share(scale: Scale, instrument: Instrument,
           min_answered: float | Mapping[str, float] | None) -> float:
    if min_answered is None:
        return scale.min_answered
    share = (min_answered.get(instrument.key, scale.min_answered)
             if isinstance(min_answered, Mapping) else min_answered)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise UsageError(f"score: min_answered must be a share in (0, 1], not {share!r}")
    return float(share)


def _scales(matrix: np.ndarray, instrument: Instrument,
            min_answered: float | Mapping[str, float] | None,
            standard: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every scale of the instrument from the keyed matrix: (scores, answered counts), one
    column per scale in the order of the instrument file."""
    results: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, scale in instrument.scales.items():
        if scale.rule == "composite":
            continue
        data = _standardised(matrix, standard) if scale.rule == "zsum" else matrix
        results[name] = _scale(data, scale, _share(scale, instrument, min_answered))
    for name, scale in instrument.scales.items():
        if scale.rule == "composite":
            signs = [1.0] * len(scale.plus) + [-1.0] * len(scale.minus)
            parts = [results[part] for part in scale.plus + scale.minus]
            values = np.sum([sign * part[0] for sign, part in zip(signs, parts, strict=True)], 0)
            answered = np.sum([part[1] for part in parts], axis=0)
            results[name] = (values, answered)
    names = list(instrument.scales)
    return (np.column_stack([results[n][0] for n in names]),
            np.column_stack([results[n][1] for n in names]))


def _score_part(responses: pd.DataFrame, rows: np.ndarray, keys: KeyCodes,
                answers: tuple[np.ndarray, np.ndarray], instrument: Instrument,
                min_answered: float | Mapping[str, float] | None,
                standard: tuple | None) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Score the rows at positions ``rows`` (one instrument's): the key codes of each
    administration, and its scores and answered counts (administrations x scales)."""
    item, value = answers
    rows = rows[~np.isin(item[rows], instrument.unscored)]
    number, codes = keys.groups(rows)
    n_admin, width = len(codes["engagement_id"]), instrument.n_items
    items = item[rows]
    with np.errstate(invalid="ignore"):
        bad = np.isnan(items) | (items != np.round(items)) | (items < 1) | (items > width)
    if bad.any():
        _items(responses.iloc[rows], instrument)  # raises, naming the row
    flat = number * width + (items.astype(np.int64) - 1)
    if (np.bincount(flat, minlength=n_admin * width) > 1).any():
        _matrix(responses.iloc[rows], instrument, number, n_admin)  # raises, naming the row
    matrix = np.full(n_admin * width, np.nan)
    matrix[flat] = value[rows]
    matrix = _keyed(matrix.reshape(n_admin, width), instrument)
    return (codes, *_scales(matrix, instrument, min_answered, standard))


def _resolve(responses: pd.DataFrame,
             chosen: Iterable[str | Instrument] | None) -> dict[str, Instrument]:
    named, present = _arrow.factorize(responses["instrument"])  # in order of appearance
    if (named < 0).any():
        where = responses.index[responses["instrument"].isna().to_numpy()][0]
        raise DataError("the instrument is missing", row=where, column="instrument",
                        fix="Name the instrument of every response row.")
    if chosen is None:
        return {str(key): registry.get(str(key)) for key in present}
    if isinstance(chosen, str | Instrument):
        chosen = [chosen]
    found = {}
    for entry in chosen:
        instrument = entry if isinstance(entry, Instrument) else registry.get(entry)
        found[instrument.key] = instrument
    return found


def score(responses: pd.DataFrame, *, instruments: Iterable[str | Instrument] | None = None,
          min_answered: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """Score item responses into scale scores.

    Parameters
    ----------
    responses : DataFrame
        The canonical long ``responses`` table: ``engagement_id``, ``occasion``, ``session``,
        ``instrument``, ``item``, ``value`` and optionally ``rater`` (``client`` when absent
        or missing). Not modified.
    instruments : iterable of str or Instrument, optional
        Score only these instruments (keys, or :class:`Instrument` objects, which need not
        be registered). By default every instrument in ``responses``; an unknown one is an
        error.
    min_answered : float or mapping of key to float, optional
        Override the instruments' missing-item rule: the smallest share of a scale's items
        that must be answered. Goal Attainment Scaling is not affected (it uses the goals
        rated, however many).

    Returns
    -------
    DataFrame
        The canonical ``scores`` table: ``engagement_id, occasion, session, instrument,
        scale, score, n_items, rater``, one row per administration and scale, sorted by
        engagement, occasion (intake, session, end, followup), session, instrument, rater
        and the scale order of the instrument file. ``n_items`` is the number of items
        answered (for a composite, over its parts). The result does not depend on the
        order of rows or columns in ``responses``, except for ``zsum`` scales, which are
        standardised over all the responses given.

    Raises
    ------
    DataError
        A required column is missing, an instrument is unknown, an item number is not one
        of the instrument's, or an item is answered twice in one administration.

    Examples
    --------
    >>> responses = pd.DataFrame({
    ...     "engagement_id": "e1", "occasion": "intake", "session": pd.NA,
    ...     "instrument": "lot-r", "item": range(1, 11),
    ...     "value": [4, 0, 1, 3, 2, 2, 0, 2, 1, 3]})
    >>> score(responses)[["instrument", "scale", "score", "n_items"]]
      instrument  scale  score  n_items
    0      lot-r  total   20.0        6
    """
    return score_with(responses, instruments=instruments, min_answered=min_answered)


def score_with(responses: pd.DataFrame, *,
               instruments: Iterable[str | Instrument] | None = None,
               min_answered: float | Mapping[str, float] | None = None,
               standards: Mapping[str, tuple] | None = None) -> pd.DataFrame:
    """:func:`score`, with ``zsum`` items standardised by given :func:`item_moments`.

    ``standards`` maps an instrument key to the item moments of the whole table, for a
    part of a table scored on its own (a partition); without it this is :func:`score`.
    """
    _check_columns(responses)
    chosen = _resolve(responses, instruments)
    named, names = _arrow.factorize(responses["instrument"])
    order = np.argsort(named, kind="stable")  # the rows of each instrument, in table order
    bounds = np.searchsorted(named[order], np.arange(len(names) + 1))
    position = {str(name): i for i, name in enumerate(names)}
    keys = KeyCodes(_key_columns(responses))
    answers = tuple(pd.to_numeric(responses[c], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan) for c in ("item", "value"))
    parts = []
    for key in sorted(chosen):
        at = position.get(key)
        if at is not None and bounds[at + 1] > bounds[at]:
            standard = None if standards is None else standards.get(key)
            parts.append((key, _score_part(responses, order[bounds[at]:bounds[at + 1]], keys,
                                           answers, chosen[key], min_answered, standard)))
    if not parts:
        return _empty()
    scales = {key: list(chosen[key].scales) for key, _ in parts}
    return assemble(parts, keys, scales, occasions=_OCCASIONS)[list(COLUMNS)]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "engagement_id": pd.Series(dtype=object), "occasion": pd.Series(dtype=object),
        "session": pd.Series(dtype="Int64"), "instrument": pd.Series(dtype=object),
        "scale": pd.Series(dtype=object), "score": pd.Series(dtype=float),
        "n_items": pd.Series(dtype=np.int64), "rater": pd.Series(dtype=object),
    })


def item_matrix(responses: pd.DataFrame, instrument: str | Instrument, *,
                reverse: bool = True) -> pd.DataFrame:
    """One row per administration, one column per scored item (wide), for one instrument.

    Parameters
    ----------
    responses : DataFrame
        Canonical long responses; rows of other instruments are left out.
    instrument : str or Instrument
    reverse : bool, default True
        Reverse-key the reverse-keyed items.

    Returns
    -------
    DataFrame
        Indexed by ``engagement_id, occasion, session, rater``; columns are item numbers
        (unscored items left out); NaN where an item was not answered.

    Examples
    --------
    >>> responses = pd.DataFrame({
    ...     "engagement_id": "e1", "occasion": "intake", "session": pd.NA,
    ...     "instrument": "lot-r", "item": [1, 3], "value": [4.0, 1.0]})
    >>> item_matrix(responses, "lot-r")[[1, 3]].to_numpy().tolist()
    [[4.0, 3.0]]
    """
    _check_columns(responses)
    instrument = registry.get(instrument)
    rows = responses[(responses["instrument"] == instrument.key).to_numpy()]
    rows = rows[~pd.to_numeric(rows["item"], errors="coerce").isin(instrument.unscored)]
    codes, keys = _administrations(rows)
    matrix = _matrix(rows, instrument, codes, len(keys))
    if reverse:
        matrix = _keyed(matrix, instrument)
    scored = list(instrument.scored_items)
    wide = pd.DataFrame(matrix[:, [i - 1 for i in scored]], columns=scored)
    wide.index = pd.MultiIndex.from_frame(keys)
    return wide
