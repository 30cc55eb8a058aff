"""Tie a mapping to one export: find every column it names, or say which is missing.

A mapping names columns by their export name, a Qualtrics ImportId, a question, a pattern
or a REDCap checkbox field. Here each is found in the export; a column that is not there, a
pattern that matches nothing, a personal-data column used as a field, or two columns that
would fill the same cell is a :class:`~outcomes._errors.UsageError` naming the mapping file,
the key, the export and the fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from outcomes import instruments as _instruments
from outcomes._errors import UsageError
from outcomes.mapping._prepared import Prepared
from outcomes.mapping.config import ItemBlock, Mapping
from outcomes.schema import OCCASIONS, RATERS

__all__ = ["ItemColumn", "FieldSource", "resolve_fields", "resolve_blocks", "pattern_regex"]


@dataclass(frozen=True)
class ItemColumn:
    """One export column holding one item; session/occasion/rater when the column fixes them."""

    column: str
    item: int
    session: int | None = None
    occasion: str | None = None
    rater: str | None = None


@dataclass(frozen=True)
class FieldSource:
    """Where a canonical field comes from: one column, checkbox columns, or one per session."""

    field: str
    column: str | None = None
    checkboxes: tuple[tuple[str, str], ...] = ()  # (code, column)
    per_session: tuple[tuple[str, int], ...] = ()  # (column, session)

    def columns(self) -> list[str]:
        """Every export column this field reads."""
        out = [self.column] if self.column else []
        return out + [c for _, c in self.checkboxes] + [c for c, _ in self.per_session]


def _not_found(mapping: Mapping, key: str, name: str, prepared: Prepared,
               personal: list[str]) -> UsageError:
    if name in personal:
        return UsageError(
            f"{mapping.file}, {key}: {name!r} identifies people and is dropped at ingest "
            f"from {prepared.file}. Map a pseudonymous id instead, or set "
            "keep_personal_data = true under [source]."
        )
    known = [str(c) for c in prepared.data.columns] + list(prepared.aliases)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Close names: {', '.join(repr(c) for c in close)}." if close else ""
    return UsageError(
        f"{mapping.file}, {key}: the column {name!r} is not in {prepared.file}.{hint} "
        "Correct the name in the mapping, or check that this is the right export."
    )


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A column pattern such as ``ORS_s{session}_{item}`` as a regular expression.

    Examples
    --------
    >>> pattern_regex("ORS_s{session}_{item}").fullmatch("ORS_s2_4").groupdict()
    {'session': '2', 'item': '4'}
    >>> pattern_regex("{occasion}_LOT_{item}").fullmatch("T1_LOT_10").group("occasion")
    'T1'
    """
    parts = re.split(r"(\{[a-z]+\})", pattern)
    text = ""
    for part in parts:
        if part in ("{item}", "{session}"):
            text += f"(?P<{part[1:-1]}>\\d+)"
        elif part in ("{occasion}", "{rater}"):
            text += f"(?P<{part[1:-1]}>.+?)"
        else:
            text += re.escape(part)
    return re.compile(text, re.IGNORECASE)


def resolve_fields(prepared: Prepared, mapping: Mapping,
                   personal: list[str]) -> dict[str, FieldSource]:
    """Find the column(s) of every field in ``[columns]``."""
    out = {}
    for field, name in mapping.columns.items():
        key = f"[columns] {field}"
        if "{session}" in name:
            regex = pattern_regex(name)
            found = []
            for column in prepared.data.columns:
                match = regex.fullmatch(str(column))
                if match:
                    found.append((str(column), int(match.group("session"))))
            if not found:
                raise _not_found(mapping, key, name, prepared, personal)
            out[field] = FieldSource(field, per_session=tuple(found))
            continue
        column = prepared.resolve(name)
        if column is not None and column not in personal:
            out[field] = FieldSource(field, column=column)
        elif field == "techniques" and name in prepared.checkboxes:
            boxes = prepared.checkboxes[name]
            out[field] = FieldSource(field, checkboxes=tuple(boxes.items()))
        else:
            raise _not_found(mapping, key, name, prepared, personal)
    return out


def resolve_blocks(prepared: Prepared, mapping: Mapping,
                   personal: list[str]) -> list[tuple[ItemBlock, list[ItemColumn]]]:
    """Find the item columns of every ``[[items]]`` block; refuse two columns for one cell."""
    out = []
    seen: dict[tuple[object, ...], str] = {}
    for block in mapping.items:
        if block.columns:
            entries = _listed(block, block.columns, prepared, mapping, personal)
        elif block.question is not None:
            entries = _question(block, prepared, mapping)
        else:
            entries = _pattern(block, prepared, mapping)
        instrument = _instruments.get(block.instrument)
        for entry in entries:
            if entry.item not in instrument.items:
                raise UsageError(
                    f"{mapping.file}, {block.label}: column {entry.column!r} gives item "
                    f"{entry.item}, but {instrument.key} has items 1 to {max(instrument.items)}. "
                    "Narrow the pattern or question, or list the columns."
                )
            cell = (block.instrument, entry.item, entry.session or block.session,
                    entry.occasion or block.occasion, entry.rater or block.rater)
            if cell in seen:
                raise UsageError(
                    f"{mapping.file}, {block.label}: columns {seen[cell]!r} and "
                    f"{entry.column!r} of {prepared.file} would both fill {block.instrument} "
                    f"item {entry.item}{_where(cell)}. Map each item to one column; give the "
                    "blocks different occasions, sessions or raters if both are wanted."
                )
            seen[cell] = entry.column
        out.append((block, entries))
    return out


def _where(cell: tuple[object, ...]) -> str:
    parts = [f"{name} {value}" for name, value in zip(("session", "occasion", "rater"),
                                                       cell[2:], strict=True) if value]
    return f" ({', '.join(parts)})" if parts else ""


def _listed(block: ItemBlock, names: tuple[str, ...], prepared: Prepared, mapping: Mapping,
            personal: list[str]) -> list[ItemColumn]:
    out = []
    for name, item in zip(names, block.items, strict=True):
        column = prepared.resolve(name)
        if column is None or column in personal:
            raise _not_found(mapping, f"{block.label}, columns", name, prepared, personal)
        out.append(ItemColumn(column, item))
    return out


def _question(block: ItemBlock, prepared: Prepared, mapping: Mapping) -> list[ItemColumn]:
    pairs = prepared.questions.get(str(block.question))
    if not pairs:
        known = list(prepared.questions)
        close = difflib.get_close_matches(str(block.question), known, n=3, cutoff=0.5)
        listed = close or known[:8]
        hint = (f" Questions in the export include: {', '.join(map(repr, listed))}."
                if listed else "")
        raise UsageError(
            f"{mapping.file}, {block.label}, question: {block.question!r} is not a question of "
            f"{prepared.file}.{hint} Correct it, or list the item columns under columns."
        )
    if block.items:
        if len(block.items) != len(pairs):
            raise UsageError(
                f"{mapping.file}, {block.label}: question {block.question!r} has {len(pairs)} "
                f"columns but items lists {len(block.items)} numbers. Give one per column."
            )
        return [ItemColumn(c, i) for (c, _), i in zip(pairs, block.items, strict=True)]
    return [ItemColumn(c, i) for c, i in pairs]


def _pattern(block: ItemBlock, prepared: Prepared, mapping: Mapping) -> list[ItemColumn]:
    regex = pattern_regex(str(block.pattern))
    out = []
    for column in prepared.data.columns:
        match = regex.fullmatch(str(column))
        if not match:
            continue
        found = match.groupdict()
        occasion = _captured(found.get("occasion"), "occasion", OCCASIONS, column, block, mapping)
        rater = _captured(found.get("rater"), "rater", RATERS, column, block, mapping)
        session = found.get("session")
        if session is not None and "session" in mapping.recode:
            session = mapping.recode["session"].get(session, session)
        out.append(ItemColumn(str(column), int(found["item"]),
                              int(session) if session is not None else None, occasion, rater))
    if not out:
        raise UsageError(
            f"{mapping.file}, {block.label}, pattern: {block.pattern!r} matches no column of "
            f"{prepared.file}. Check the spelling and where the numbers sit, e.g. "
            '"ORS_s{session}_{item}" matches ORS_s1_1.'
        )
    return out


def _captured(text: str | None, name: str, allowed: tuple[str, ...], column: str,
              block: ItemBlock, mapping: Mapping) -> str | None:
    if text is None:
        return None
    value = mapping.recode.get(name, {}).get(text, text)
    if value not in allowed:
        raise UsageError(
            f"{mapping.file}, {block.label}, pattern: column {column!r} gives {name} {text!r}, "
            f"which is not one of {', '.join(allowed)}. Add it under [recode.{name}], e.g. "
            f'{text} = "{allowed[0]}".'
        )
    return str(value)
