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

__all__ = ["sorted_codes", "KeyCodes", "assemble"]


def sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes that sort as the values do (missing last), and the value of each code.

    Examples
    --------
    >>> codes, values = sorted_codes(pd.Series(["b", None, "a"], dtype=object))
    >>> codes.tolist(), values.tolist()
    ([1, 2, 0], ['a', 'b', None])
    """
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = np.append(uniques, np.array([None], dtype=object))
    return codes.astype(np.int64, copy=False), uniques


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

    def groups(self, positions: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Number the distinct keys of the rows at ``positions`` in the order of the keys;
        return each row's number and, per column, the code of each numbered key."""
        sizes = [len(values) + 1 for values in self.values.values()]
        if math.prod(sizes) <= max(2 * len(positions), 2**20):
            return self._dense_groups(positions, sizes)
        key = np.zeros(len(positions), dtype=np.int64)
        for name, codes in self.codes.items():
            size = len(self.values[name]) + 1
            if key.size and (int(key.max()) + 1) * size >= 2**62:
                key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
            key = key * size + codes[positions]
        first, number = np.unique(key, return_index=True, return_inverse=True)[1:]
        return number.reshape(-1), {name: codes[positions][first]
                                    for name, codes in self.codes.items()}

    def _dense_groups(self, positions: np.ndarray,
                      sizes: list[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`groups` without a sort, where every combination of codes fits in memory."""
        key = np.zeros(len(positions), dtype=np.int64)
        for size, codes in zip(sizes, self.codes.values(), strict=True):
            key = key * size + codes[positions]
        present = np.zeros(math.prod(sizes), dtype=bool)
        present[key] = True
        distinct = np.flatnonzero(present)
        rank = np.zeros(len(present), dtype=np.int64)
        rank[distinct] = np.arange(len(distinct))
        first = {}
        for size, name in zip(sizes[::-1], list(self.codes)[::-1], strict=True):
            distinct, first[name] = np.divmod(distinct, size)
        return rank[key], {name: first[name] for name in self.codes}

    def column(self, name: str, codes: np.ndarray, dtype: str | None = None) -> pd.Series:
        """The values of ``codes`` in column ``name``, typed as pandas types those values."""
        return pd.Series(pd.Series(self.values[name], dtype=dtype).array.take(codes), name=name)


def assemble(parts: list, keys: KeyCodes, scales: Mapping[str, list[str]], *,
             occasions: Mapping[str, int]) -> pd.DataFrame:
    """The scores table of the scored parts (instrument key, (key codes, scores, answered)),
    sorted by engagement, occasion (in the order ``occasions`` gives, others after),
    session, instrument, rater and the scale order of the instrument file."""
    codes: dict[str, list[np.ndarray]] = {name: [] for name in keys.codes}
    columns: dict[str, list[np.ndarray]] = {"instrument": [], "scale": [], "order": [],
                                            "score": [], "n_items": []}
    labels: list[str] = []
    for index, (key, (admin, values, answered)) in enumerate(parts):
        n_admin, n_scales = values.shape
        for name in codes:
            codes[name].append(np.repeat(admin[name], n_scales))
        columns["instrument"].append(np.full(n_admin * n_scales, index))
        columns["scale"].append(np.tile(np.arange(n_scales) + len(labels), n_admin))
        columns["order"].append(np.tile(np.arange(n_scales), n_admin))
        columns["score"].append(values.ravel())
        columns["n_items"].append(answered.ravel())
        labels += scales[key]
    code = {name: np.concatenate(parts_) for name, parts_ in codes.items()}
    flat = {name: np.concatenate(parts_) for name, parts_ in columns.items()}
    rank = np.array([occasions.get(v, len(occasions)) for v in keys.values["occasion"]])
    order = np.lexsort([flat["order"], code["rater"], flat["instrument"], code["session"],
                        code["occasion"], rank[code["occasion"]], code["engagement_id"]])
    out = pd.DataFrame({
        "engagement_id": keys.column("engagement_id", code["engagement_id"][order]),
        "occasion": keys.column("occasion", code["occasion"][order]),
        "session": keys.column("session", code["session"][order], "Int64"),
        "instrument": pd.Series([key for key, _ in parts]).array.take(flat["instrument"][order]),
        "scale": pd.Series(labels).array.take(flat["scale"][order]),
        "score": flat["score"][order],
        "n_items": flat["n_items"][order].astype(np.int64),
        "rater": keys.column("rater", code["rater"][order]),
    }, copy=False)
    return out
