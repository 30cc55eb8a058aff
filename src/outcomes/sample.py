"""The bundled sample study: a simulated coaching study with known true factor shares.

The same files lie in the repository's ``data/sample/`` folder, with a data dictionary
(``data/sample/README.md``) that states the seed and the true shares; the package carries a
compressed copy so that :func:`load_sample` works after a plain install.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import pandas as pd

from outcomes.study import Study

__all__ = ["load_sample", "sample_truth"]

_TABLES = ("coaches", "engagements", "sessions", "responses")


def _read(kind: str) -> pd.DataFrame:
    source = resources.files("outcomes") / "sample_data" / f"{kind}.csv.gz"
    with resources.as_file(source) as path:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.attrs["source_file"] = f"data/sample/{kind}.csv"
    return frame


@lru_cache(maxsize=1)
def _tables() -> dict[str, pd.DataFrame]:
    return {kind: _read(kind) for kind in _TABLES}


def load_sample() -> Study:
    """The sample study: ~60 coaches, ~1,200 engagements, ~8 sessions each.

    Returns
    -------
    Study
        Its tables as text, exactly as in ``data/sample/*.csv``; validate, score and build
        the analysis table from it like any study read from disk.

    Examples
    --------
    >>> study = load_sample()
    >>> sorted(study.tables)
    ['coaches', 'engagements', 'responses', 'sessions']
    >>> round(sum(sample_truth()["shares"].values()), 10)
    1.0
    """
    return Study(tables={k: v.copy() for k, v in _tables().items()}, source="data/sample")


def sample_truth() -> dict:
    """The generative parameters of the sample study: seed, true shares, R², ICC."""
    text = (resources.files("outcomes") / "sample_data" / "truth.json").read_text("utf-8")
    return json.loads(text)
