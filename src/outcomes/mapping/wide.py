"""Wide tables: one row per client, one column per item and occasion (SPSS, Excel, CSV).

Researchers who keep data in SPSS or Excel usually hold one row per client, with item
columns such as ``ORS_s1_1 ... ORS_s6_4`` or ``T1_LOT_1 ... T2_LOT_10``. The mapping's item
patterns pivot them to the long ``responses`` table. Here the file is only read: every cell
becomes text, SPSS value labels are kept as codes (the labels are remembered for the
mapping's recodes and the draft mapping), and SPSS user-missing codes, already missing,
are counted in a note.
"""

from __future__ import annotations

import pandas as pd

from outcomes.io import read_table
from outcomes.mapping._prepared import Prepared, as_text

__all__ = ["prepare"]


def prepare(path: str, *, sheet: str | int | None = None,
            frame: pd.DataFrame | None = None) -> Prepared:
    """Read a wide table into text cells, keeping SPSS codes rather than labels.

    ``frame`` is the file as already read, when it was (a CSV read to detect its layout).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "wide.csv"
    >>> _ = p.write_text("client_id,ORS_s1_1\\nP1,6.5\\n")
    >>> prepare(str(p)).data
        client_id ORS_s1_1
    row
    2          P1      6.5
    """
    if frame is None:
        frame = read_table(path, sheet=sheet) if sheet is not None else read_table(path)
    notes: list[str] = []
    labels: dict[str, str] = {}
    choices: dict[str, dict[str, str]] = {}
    if path.lower().endswith(".sav"):
        if any(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns):
            frame = read_table(path, keep_codes=list(frame.columns))
        labels = dict(frame.attrs.get("variable_labels", {}))
        for column, coded in frame.attrs.get("value_labels", {}).items():
            choices[column] = {str(as_text(pd.Series([k])).iloc[0]): str(v)
                               for k, v in coded.items()}
        counted = frame.attrs.get("user_missing", {})
        if counted:
            listed = ", ".join(f"{c} ({n})" for c, n in counted.items())
            notes.append(f"SPSS user-missing codes became missing: {listed}.")
    data = pd.DataFrame({c: as_text(frame[c]) for c in frame.columns}, index=frame.index)
    data.attrs = dict(frame.attrs)
    prepared = Prepared(data=data, source="wide", file=path, labels=labels, choices=choices,
                        notes=notes)
    for column, codes in choices.items():
        numbers = pd.to_numeric(pd.Series(list(codes), dtype=object), errors="coerce")
        if len(numbers) and numbers.notna().all():
            prepared.ranges[column] = (float(numbers.min()), float(numbers.max()))
    return prepared
