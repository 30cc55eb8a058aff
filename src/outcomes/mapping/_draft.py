"""Finding a draft mapping's fields in an export: columns by name or label, and the
engagement's own fields (start and end date, sponsor, status) with a recode of their values.

:func:`engagement_lines` returns the ``[columns]`` entries it found and the TOML lines that
say, for every engagement field, where it comes from or what happens without it (a sponsor
or status the export does not give is written as ``unknown``; a start date is taken from
the first session's date or the intake response's date).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from outcomes.mapping._derive import RESPONSE_DATES
from outcomes.mapping._prepared import Prepared
from outcomes.schema import ALLOWED, UNKNOWN

__all__ = ["filled", "find", "by_label", "engagement_lines", "toml_text"]

#: Column-name patterns (whole name, any case) and label patterns of the engagement fields.
_NAMES: dict[str, tuple[tuple[str, ...], str]] = {
    "start_date": ((r"(start|enrol\w*|begin\w*|intake)[ _]?date", r"date[ _]?(start\w*|enrol\w*)"),
                   r"first session|start of (the )?(coaching|engagement)|enrol"),
    "end_date": ((r"(end|clos\w*|exit|final|last)[ _]?date", r"date[ _]?(end\w*|clos\w*)"),
                 r"engagement ended|end of (the )?(coaching|engagement)"),
    "sponsor": ((r"sponsor\w*", r"pa(id|yer|ying)[ _]?(by)?", r"fund\w*", r"who[ _]?pays"),
                r"who pays|sponsor|paid by|funded"),
    "status": ((r"(engagement|coaching|case)?[ _]?status", r"outcome[ _]?status"),
               r"where does the engagement stand|engagement status|status of the"),
}

#: Words in a value or its label that point to a sponsor or status.
_WORDS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "sponsor": (("self", ("self", "myself", "private", "own")),
                ("organisation", ("organ", "employer", "company", "business", "corporate"))),
    "status": (("completed", ("complet", "finish", "ended")), ("ongoing", ("ongoing", "active")),
               ("dropped", ("drop", "withdr", "discontinu")), ("referred", ("refer",))),
}


def toml_text(text: object) -> str:
    """A TOML string (JSON escapes are valid TOML basic-string escapes)."""
    return json.dumps(str(text), ensure_ascii=False)


def filled(prepared: Prepared, column: str | None) -> bool:
    """Whether ``column`` is in the export and holds a value somewhere."""
    return column is not None and column in prepared.data.columns and bool(
        prepared.data[column].notna().any())


def find(prepared: Prepared, patterns: tuple[str, ...], skip: Collection[str] = ()) -> str | None:
    """The first filled column whose whole name matches one of ``patterns`` (any case)."""
    for pattern in patterns:
        for column in prepared.data.columns:
            named = re.fullmatch(pattern, str(column), flags=re.IGNORECASE)
            if named and str(column) not in skip and filled(prepared, column):
                return str(column)
    return None


def by_label(prepared: Prepared, pattern: str, skip: Collection[str] = ()) -> str | None:
    """The first filled column whose question text or label matches ``pattern``."""
    for column, label in prepared.labels.items():
        if (re.search(pattern, label, flags=re.IGNORECASE) and column not in skip
                and filled(prepared, column)):
            return column
    return None


def _metadata(prepared: Prepared) -> set[str]:
    """The survey tool's own columns (response dates, status), which are no engagement's."""
    names = {prepared.resolve(n) for n in RESPONSE_DATES} | set(prepared.consulted)
    return {str(n) for n in names if n} | set(prepared.personal)


def _recode(prepared: Prepared, name: str, column: str) -> list[str]:
    """``[recode.<name>]`` lines for the values seen, matched by their words or labels."""
    labels = prepared.choices.get(column, {})
    values = list(labels) or sorted({str(v) for v in prepared.data[column].dropna()})[:12]
    if all(v in ALLOWED[name] for v in values):
        return []
    lines = [f"[recode.{name}]"]
    for value in values:
        said = labels.get(value, value)
        low = said.casefold()
        match = next((canonical for canonical, words in _WORDS[name]
                      if any(w in low for w in words)), None)
        shown = f"   # check: {said}" if said != value else "   # check"
        if match:
            lines.append(f"{toml_text(value)} = {toml_text(match)}{shown}")
        else:
            lines.append(f'# {toml_text(value)} = "?"{shown}: one of '
                         f"{', '.join(v for v in ALLOWED[name] if v != UNKNOWN)}")
    return lines


def engagement_lines(prepared: Prepared, taken: set[str]) -> tuple[dict[str, str], list[str]]:
    """The engagement fields found (field -> column) and the draft's lines about them.

    The lines are comments for the fields not found (what happens without them) and recode
    tables for a sponsor or status whose values are not already the canonical words.
    """
    skip = taken | _metadata(prepared)
    found: dict[str, str] = {}
    lines: list[str] = []
    for name, (patterns, label) in _NAMES.items():
        column = find(prepared, patterns, skip) or by_label(prepared, label, skip)
        if column is None:
            continue
        found[name] = column
        skip.add(column)
        if name in ("sponsor", "status"):
            lines += ["", *_recode(prepared, name, column)] if _recode(
                prepared, name, column) else []
    missing = []
    for name in ("sponsor", "status"):
        if name not in found:
            missing.append(f'# {name}: not found; left out, it is written as "{UNKNOWN}" '
                           "(or set it under [constants])")
    if "start_date" not in found:
        missing.append("# start_date: not found; taken from the first session's date or the "
                       "intake response's date")
    head = ("# engagement fields (engagements.csv is given when client_id or one of them is "
            "mapped):")
    return found, (["", head, *missing] if missing else []) + lines
