"""Names written the way people write them, read as the canonical names, and said so.

Two tolerances, each reported as a note of the validation report (never silently), and
one refusal:

* a header that differs from a canonical column only by case or surrounding spaces
  (``Engagement_ID``, `` coach_id ``) is that column;
* a value of a column with a vocabulary (``occasion``, ``rater``, ``sponsor``, ``status``) or
  of ``instrument`` is matched ignoring case, spaces, ``-`` and ``_``
  (:func:`outcomes.schema.spelling_key`); instruments also by the aliases in their files;
* any other near miss of a canonical column (``engagment_id``) is refused as that column
  missing, with the suggestion and the ``study.toml`` rename that fixes it.

Values are matched once per distinct value of a column, then mapped, so the cost follows
the number of spellings, not the number of rows.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from outcomes import instruments as _instruments
from outcomes.io import _arrow
from outcomes.schema import ALLOWED, COLUMNS, canonical_spellings, spelling_key, spelling_keys

__all__ = ["match_headers", "near_misses", "canonical_values", "missing_text", "rename_fix",
           "VOCABULARIES"]

#: The columns whose values are read in their canonical spelling.
VOCABULARIES: tuple[str, ...] = (*ALLOWED, "instrument")

#: What a note says was changed, by kind of change.
HEADER_CHANGE = "header read as the canonical column (case and surrounding spaces ignored)"
VALUE_CHANGE = "values read in the canonical spelling (case, spaces, '-' and '_' ignored)"
INSTRUMENT_CHANGE = ("instrument names read as registry keys (case, spaces, '-' and '_' "
                     "ignored, or an alias)")

#: How close (difflib ratio of spelling keys) a header must be to a missing column to be
#: taken as its misspelling: looser for a required column (refused anyway, the suggestion
#: only helps), tighter for an optional one (the refusal then rejects the table).
_CUTOFF = {True: 0.75, False: 0.85}

_SHEET = re.compile(r"^(?P<file>.+\.xls[xm]):(?P<sheet>.+)$", re.IGNORECASE)

#: One note: column, change, cells, example.
Note = tuple[str, str, int, str]


def _shown(text: object) -> str:
    """A name as written, quoted when spaces around it would not show."""
    text = str(text)
    return f'"{text}"' if text != text.strip() else text


def match_headers(raw: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, list[Note]]:
    """Headers stripped of surrounding spaces, and canonical columns found whatever their case.

    A header is renamed only when no other header already has the canonical name; every
    rename to a canonical column that changed the header is returned as a note.

    Examples
    --------
    >>> raw = pd.DataFrame(columns=["Engagement_ID", " session ", "Date", "Room"])
    >>> table, notes = match_headers(raw, "sessions")
    >>> list(table.columns)
    ['engagement_id', 'session', 'date', 'Room']
    >>> [example for *_, example in notes]
    ['Engagement_ID -> engagement_id', '" session " -> session', 'Date -> date']
    """
    canonical = COLUMNS[kind]
    stripped = [str(c).strip() for c in raw.columns]
    taken = {name for name in stripped if name in canonical}
    names, notes = [], []
    for original, name in zip(raw.columns, stripped, strict=True):
        target = name if name in canonical else name.lower()
        if target in canonical and (target == name or target not in taken):
            taken.add(target)
            if str(original) != target:
                notes.append((target, HEADER_CHANGE, 1, f"{_shown(original)} -> {target}"))
            names.append(target)
        else:
            names.append(name)
    table = raw.copy(deep=False)
    table.columns = names
    return table, notes


def near_misses(columns: list[str], kind: str) -> dict[str, str]:
    """Each absent canonical column with the header that looks like its misspelling.

    Examples
    --------
    >>> near_misses(["engagment_id", "session", "date", "notes"], "sessions")
    {'engagement_id': 'engagment_id'}
    >>> near_misses(["engagement_id", "session", "date", "Room"], "sessions")
    {}
    """
    canonical = COLUMNS[kind]
    extras = {spelling_key(c): c for c in reversed(columns) if c not in canonical}
    found: dict[str, str] = {}
    for column, spec in canonical.items():
        if column in columns or not extras:
            continue
        close = difflib.get_close_matches(spelling_key(column), list(extras), n=1,
                                          cutoff=_CUTOFF[spec.required])
        if close:
            found[column] = extras.pop(close[0])
    return found


def missing_text(kind: str, file: str, column: str,
                 misspelt: dict[str, str]) -> tuple[str, str]:
    """The message and fix of a missing column; ``misspelt`` maps each missing column of the
    table to the header that looks like its misspelling (:func:`near_misses`)."""
    header = misspelt.get(column)
    if header is None:
        return ("is missing from the file",
                f'Add a column named "{column}" (canonical names are lower case).')
    return (f'is missing from the file, which has a column "{header}" (did you mean {column}?)',
            rename_fix(kind, file, misspelt))


def rename_fix(kind: str, file: str, misspelt: dict[str, str]) -> str:
    """How to fix misspelt headers: rename them in the file, or in ``study.toml``.

    Examples
    --------
    >>> print(rename_fix("engagements", "data/engagements.csv", {"engagement_id": "engagment_id"}))
    Rename the column "engagment_id" to "engagement_id" in the file, or rename it as the study is read, in study.toml beside the data:
        [tables.engagements]
        file = "engagements.csv"
        rename = { "engagment_id" = "engagement_id" }
    """  # noqa: E501
    match = _SHEET.match(Path(file).name) if not file.startswith("<") else None
    if match:
        where = f'file = {_toml(match["file"])}\n    sheet = {_toml(match["sheet"])}'
    else:
        name = Path(file).name if not file.startswith("<") else f"{kind}.csv"
        where = f"file = {_toml(name)}"
    columns = ", ".join(f'"{h}" to "{c}"' for c, h in misspelt.items())
    pairs = ", ".join(f"{_toml(h)} = {_toml(c)}" for c, h in misspelt.items())
    them = "it" if len(misspelt) == 1 else "them"
    return (f"Rename the column {columns} in the file, or rename {them} as the study is "
            f"read, in study.toml beside the data:\n    [tables.{kind}]\n    {where}\n"
            f"    rename = {{ {pairs} }}")


def _toml(text: str) -> str:
    """A TOML basic string: JSON's escapes (quotes, backslashes, control characters) are
    TOML's too."""
    return json.dumps(text, ensure_ascii=False)


def _known(column: str) -> dict[str, str]:
    """The canonical name of each spelling key the column accepts."""
    if column == "instrument":
        return _instruments.known_names()
    return canonical_spellings(ALLOWED[column])


def canonical_values(column: str, raw: pd.Series,
                     values: pd.Series) -> tuple[pd.Series, Note | None]:
    """``values`` with each known name in its canonical spelling, and the note saying so.

    ``raw`` is the column as given (to count and show what changed), ``values`` the column
    as parsed. Unknown names are left as they are, for the vocabulary rules to report. Each
    distinct value is looked up once.

    Examples
    --------
    >>> raw = pd.Series(["SRS", "srs", "Wai_SR", "bdi", None])
    >>> values, note = canonical_values("instrument", raw, raw.str.strip())
    >>> values.tolist()[:4]
    ['srs', 'srs', 'wai-sr', 'bdi']
    >>> note[2:]                                  # cells changed, examples
    (2, 'SRS -> srs; Wai_SR -> wai-sr')
    """
    if _arrow.is_arrow_text(raw):  # factorised once for every step that reads the column
        codes, uniques = _arrow.factorize(raw)
    else:
        codes, uniques = pd.factorize(raw.astype("string"))
    spelt = pd.Series(uniques, dtype="string")
    keys = spelling_keys(spelt)
    found = keys.map(_known(column)).astype("string")
    differs = (found.notna() & (found != spelt)).fillna(False).to_numpy(bool)
    if not differs.any():
        return values, None
    changed = np.zeros(len(codes), bool)
    given = codes >= 0
    changed[given] = differs[codes[given]]
    out = values.copy()
    out[changed] = found.to_numpy(dtype=object)[codes[changed]]
    seen = np.flatnonzero(differs)               # in order of first appearance
    example = "; ".join(f"{_shown(spelt[i])} -> {found[i]}" for i in seen[:3])
    if len(seen) > 3:
        example += f"; and {len(seen) - 3} more"
    change = INSTRUMENT_CHANGE if column == "instrument" else VALUE_CHANGE
    return out, (column, change, int(np.count_nonzero(changed)), example)
