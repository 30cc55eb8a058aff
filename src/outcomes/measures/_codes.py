"""Key columns of a long table as integer codes that sort as their values do.

Scoring numbers the administrations of each instrument by their key (engagement, occasion,
session, rater). Factorising those columns once for the whole table, and taking the codes of
each instrument's rows, replaces a factorisation and a copy of the text per instrument; the
text columns of the result are built once, from the codes, at the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from outcomes.io import _arrow

__all__ = ["sorted_codes", "KeyCodes", "assemble"]


def sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes that sort as the values do (missing last), and the value of each code.

    The codes come in the smallest integer type that holds them.

    Examples
    --------
    >>> codes, values = sorted_codes(pd.Series(["b", None, "a"], dtype=object))
    >>> codes.tolist(), values.tolist()
    ([1, 2, 0], ['a', 'b', None])
    """
    if isinstance(values, pd.Series) and _arrow.is_arrow_text(values):
        # the text's codes, factorised once (by validation, usually), renumbered in order
        codes, distinct = _arrow.factorize(values)
        uniques = np.asarray(distinct, dtype=object)
        order = np.argsort(uniques, kind="stable")
        rank = np.empty(len(uniques) + 1, dtype=codes.dtype)
        rank[order] = np.arange(len(uniques))
        rank[-1] = len(uniques)  # code -1, missing, comes last
        codes, uniques = rank[codes], uniques[order]
    else:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
        codes[codes < 0] = len(uniques)
        codes = codes.astype(np.min_scalar_type(-len(uniques) - 1), copy=False)
    if (codes == len(uniques)).any():
        uniques = np.append(uniques, np.array([None], dtype=object))
    return codes, uniques


class KeyCodes:
    """The key columns of a table, each factorised once.

    Examples
    --------
    >>> keys = KeyCodes({"id": pd.Series(["b", "a", "b"]), "n": pd.Series([2, 1, 1])})
    >>> number, first = keys.groups(np.array([0, 1, 2]))
    >>> number.tolist(), keys.column("id", first["id"]).tolist()
    ([2, 0, 1], ['a', 'b', 'b'])
    """

    def __init__(self, columns: Mapping[str, pd.Series]) -> None:
        self.codes: dict[str, np.ndarray] = {}
        self.values: dict[str, np.ndarray] = {}
        for name, column in columns.items():
            self.codes[name], self.values[name] = sorted_codes(column)
        self._numbered: tuple[np.ndarray, dict[str, np.ndarray]] | None = None

    def groups(self, positions: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Number the distinct keys of the rows at ``positions`` in the order of the keys;
        return each row's number and, per column, the code of each numbered key.

        The keys of the whole table are numbered once, in their order, on the first call;
        each call then renumbers the keys its rows hold, keeping that order.
        """
        if self._numbered is None:
            self._numbered = self._number(None)
        number, first = self._numbered
        given = number[positions]
        present = np.zeros(len(next(iter(first.values()), ())), dtype=bool)
        present[given] = True
        distinct = np.flatnonzero(present)
        rank = np.zeros(len(present), dtype=np.int64)
        rank[distinct] = np.arange(len(distinct))
        return rank[given], {name: codes[distinct] for name, codes in first.items()}

    def _number(self, positions: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`groups` of the rows at ``positions`` (all rows when None), by a sort of
        the keys, or by a table of every combination of codes where it fits in memory."""
        rows = len(next(iter(self.codes.values()))) if positions is None else len(positions)
        at = {name: codes if positions is None else codes[positions]
              for name, codes in self.codes.items()}
        sizes = [len(values) + 1 for values in self.values.values()]
        if math.prod(sizes) <= max(2 * rows, 2**20):
            return self._dense_groups(at, sizes)
        key = np.zeros(rows, dtype=np.int64)
        for size, codes in zip(sizes, at.values(), strict=True):
            if key.size and (int(key.max()) + 1) * size >= 2**62:
                key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
            key = key * size + codes
        first, number = np.unique(key, return_index=True, return_inverse=True)[1:]
        return number.reshape(-1), {name: codes[first] for name, codes in at.items()}

    @staticmethod
    def _dense_groups(at: dict[str, np.ndarray],
                      sizes: list[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`_number` without a sort, where every combination of codes fits in memory."""
        key = np.zeros(len(next(iter(at.values()))), dtype=np.int64)
        for size, codes in zip(sizes, at.values(), strict=True):
            key *= size
            key += codes
        present = np.zeros(math.prod(sizes), dtype=bool)
        present[key] = True
        distinct = np.flatnonzero(present)
        rank = np.zeros(len(present), dtype=np.int32 if len(distinct) < 2**31 else np.int64)
        rank[distinct] = np.arange(len(distinct))
        first = {}
        for size, name in zip(sizes[::-1], list(at)[::-1], strict=True):
            distinct, code = np.divmod(distinct, size)
            first[name] = code.astype(at[name].dtype)
        return rank[key], {name: first[name] for name in at}

    def column(self, name: str, codes: np.ndarray, dtype: str | None = None) -> pd.Series:
        """The values of ``codes`` in column ``name``, typed as pandas types those values."""
        return _taken(self.values[name], codes, dtype, name)


def _taken(values: np.ndarray | list, codes: np.ndarray, dtype: str | None = None,
           name: str | None = None) -> pd.Series:
    """``values[codes]`` as a column of the type pandas gives ``values``; text held by Arrow
    keeps its codes for the steps after (:func:`outcomes.io._arrow.text_from_codes`)."""
    given = pd.Series(values, dtype=dtype)
    if _arrow.is_arrow_text(given):
        return _arrow.text_from_codes(values, codes, name)
    return pd.Series(given.array.take(codes), name=name)


def assemble(parts: list, keys: KeyCodes, scales: Mapping[str, list[str]], *,
             occasions: Mapping[str, int]) -> pd.DataFrame:
    """The scores table of the scored parts (instrument key, (key codes, scores, answered)),
    sorted by engagement, occasion (in the order ``occasions`` gives, others after),
    session, instrument, rater and the scale order of the instrument file."""
    shapes = [values.shape for _, (_, values, _) in parts]  # administrations, scales
    code = {name: np.concatenate([np.repeat(admin[name], n_scales) for (_, (admin, _, _)), (
        _, n_scales) in zip(parts, shapes, strict=True)]) for name in keys.codes}
    labels = [label for key, _ in parts for label in scales[key]]
    first_label = np.cumsum([0] + [n_scales for _, n_scales in shapes], dtype=np.int32)
    instrument = np.concatenate([np.full(n_admin * n_scales, index, dtype=np.int32)
                                 for index, (n_admin, n_scales) in enumerate(shapes)])
    within = np.concatenate([np.tile(np.arange(n_scales, dtype=np.int32), n_admin)
                             for n_admin, n_scales in shapes])  # the scale order of the file
    flat = {"instrument": instrument, "order": within, "scale": within + first_label[instrument],
            "score": np.concatenate([values.ravel() for _, (_, values, _) in parts]),
            "n_items": np.concatenate([answered.ravel() for _, (_, _, answered) in parts])}
    rank = np.array([occasions.get(v, len(occasions)) for v in keys.values["occasion"]])
    order = np.lexsort([flat["order"], code["rater"], flat["instrument"], code["session"],
                        code["occasion"], rank[code["occasion"]], code["engagement_id"]])
    out = pd.DataFrame({
        "engagement_id": keys.column("engagement_id", code["engagement_id"][order]),
        "occasion": keys.column("occasion", code["occasion"][order]),
        "session": keys.column("session", code["session"][order], "Int64"),
        "instrument": _taken([key for key, _ in parts], flat["instrument"][order]).array,
        "scale": _taken(labels, flat["scale"][order]).array,
        "score": flat["score"][order],
        "n_items": flat["n_items"][order].astype(np.int64),
        "rater": keys.column("rater", code["rater"][order]),
    }, copy=False)
    return out
