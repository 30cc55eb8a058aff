"""The mapping file: what it may say, how it is read and checked.

A mapping file (``mapping.toml``) tells :func:`outcomes.mapping.map_export` how one survey
export becomes canonical tables. Its layout is described field by field in
``docs/mapping.md`` and by the JSON Schema ``mapping.schema.json`` beside this module; the
file is checked against that schema as it is read, then for the rules a schema cannot say
(each item block names its columns one way; a pattern has ``{item}``; the instrument is in the
registry). Every problem is a :class:`~outcomes._errors.UsageError` that names the file, the
key and the fix.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from outcomes import instruments as _instruments
from outcomes._errors import DataError, UsageError
from outcomes.io import read_toml
from outcomes.mapping._schema import check, where
from outcomes.schema import ALLOWED, COLUMNS, KEYS

__all__ = [
    "FIELDS", "TABLE_FIELDS", "PLACEHOLDERS", "FORMATS",
    "ItemBlock", "Mapping", "read_mapping", "parse_mapping",
]

#: The layouts an export may have.
FORMATS = ("qualtrics", "qualtrics-legacy", "redcap", "surveymonkey", "wide")

#: The identifiers of an engagement (its own, its client's, its coach's).
_IDS = tuple(name for name, spec in COLUMNS["engagements"].items() if spec.kind == "id")

#: Canonical fields a mapping can fill, by the table that holds them, all read from the
#: schema: ``keys`` are the engagement's identifiers and what says which administration a
#: record is (the response key apart from what an item block gives: instrument and item);
#: each table's fields are its columns apart from identifiers and key.
TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "keys": (*_IDS, *(c for c in KEYS["responses"] if c not in (*_IDS, "instrument", "item"))),
    **{table: tuple(c for c in COLUMNS[table] if c not in _IDS and c not in KEYS[table])
       for table in ("engagements", "sessions", "coaches")},
}
FIELDS: tuple[str, ...] = tuple(f for names in TABLE_FIELDS.values() for f in names)

#: The placeholders an item pattern may hold.
PLACEHOLDERS = ("item", "session", "occasion", "rater")


def _frozen(mapping: MappingABC[str, Any] | None = None) -> MappingProxyType[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ItemBlock:
    """One instrument's items in an export: where they are and how to read their values.

    Exactly one of ``columns``, ``pattern`` and ``question`` says where the items are.
    ``recode`` maps export values (as text) to instrument values (``None`` = missing);
    otherwise values are read as numbers, multiplied by ``multiply`` and added ``add``.
    ``occasion``, ``session`` and ``rater`` override the row's own for this block.
    """

    instrument: str
    columns: tuple[str, ...] = ()
    pattern: str | None = None
    question: str | None = None
    items: tuple[int, ...] = ()
    recode: MappingABC[str, float | None] = field(default_factory=_frozen)
    add: float = 0.0
    multiply: float = 1.0
    occasion: str | None = None
    session: int | None = None
    rater: str | None = None
    label: str = ""

    def value_of(self, text: str) -> float | None | str:
        """An export cell as the instrument's value; text that is not a number comes back.

        Examples
        --------
        >>> ItemBlock("lot-r", columns=("a",), add=-1).value_of("3")
        2.0
        >>> ItemBlock("ahs", columns=("a",), recode={"Agree": 6.0}).value_of("Agree")
        6.0
        """
        if text in self.recode:
            return self.recode[text]
        try:
            number = float(text)
        except ValueError:
            return text
        return number * self.multiply + self.add


@dataclass(frozen=True)
class Mapping:
    """A mapping file, read and checked. Build it with :func:`read_mapping`.

    Attributes
    ----------
    format, name, sheet, dictionary, date_format
        From ``[source]`` (``dictionary`` resolved against the mapping file's folder).
    keep_incomplete, keep_personal_data : bool
    missing_codes : tuple of str
    columns : mapping
        Canonical field -> export column.
    constants : mapping
        Canonical field -> one value for every row.
    recode : mapping
        Canonical field -> {export value: canonical value}.
    drop : tuple of str
        Further columns dropped as personal data.
    items : tuple of ItemBlock
    file : str
        Where the mapping was read from (for messages).
    """

    format: str | None = None
    name: str | None = None
    sheet: str | int | None = None
    dictionary: str | None = None
    date_format: str | None = None
    keep_incomplete: bool = False
    keep_personal_data: bool = False
    missing_codes: tuple[str, ...] = ()
    columns: MappingABC[str, str] = field(default_factory=_frozen)
    constants: MappingABC[str, Any] = field(default_factory=_frozen)
    recode: MappingABC[str, MappingABC[str, Any]] = field(default_factory=_frozen)
    drop: tuple[str, ...] = ()
    items: tuple[ItemBlock, ...] = ()
    file: str = "<mapping>"

    def maps(self, name: str) -> bool:
        """Whether the mapping fills the canonical field ``name`` (by column or constant)."""
        return name in self.columns or name in self.constants

    def tables(self) -> tuple[str, ...]:
        """The canonical tables an export mapped by this file provides.

        ``responses`` when there are item blocks; ``engagements`` when ``client_id`` or an
        engagement field is mapped; ``sessions`` when a session field is mapped; ``coaches``
        when a coach field is mapped.

        Examples
        --------
        >>> parse_mapping({"columns": {"engagement_id": "id", "date": "when", "session": "n"},
        ...                "items": [{"instrument": "srs", "columns": ["a", "b", "c", "d"]}]},
        ...               file="m.toml").tables()
        ('sessions', 'responses')
        """
        out = []
        if self.maps("client_id") or any(self.maps(f) for f in TABLE_FIELDS["engagements"]):
            out.append("engagements")
        if any(self.maps(f) for f in TABLE_FIELDS["sessions"]):
            out.append("sessions")
        if self.items:
            out.append("responses")
        if any(self.maps(f) for f in TABLE_FIELDS["coaches"]):
            out.append("coaches")
        return tuple(out)


def read_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read and check a mapping file.

    Parameters
    ----------
    path : str or path-like
        The ``mapping.toml`` file.

    Returns
    -------
    Mapping

    Raises
    ------
    UsageError
        When the file is missing, is not TOML, or breaks a rule; the message names the file,
        the key and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mapping.toml"
    >>> _ = p.write_text('''
    ... [columns]
    ... engagement_id = "ExternalReference"
    ... [constants]
    ... occasion = "intake"
    ... [[items]]
    ... instrument = "ors"
    ... question = "QID5"
    ... ''')
    >>> m = read_mapping(p)
    >>> m.constants["occasion"], m.items[0].instrument, m.tables()
    ('intake', 'ors', ('responses',))
    """
    file = os.fspath(path)
    if not os.path.isfile(file):
        raise UsageError(f"{file}: the mapping file does not exist. Check the path, or write "
                         "a first draft with `outcomes map EXPORT --suggest`.")
    try:
        data = read_toml(file)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{file}: this is not valid TOML ({error}). Check the quotes and "
                         "brackets near that line.") from None
    return parse_mapping(data, file=file, base=Path(file).parent)


def parse_mapping(data: MappingABC[str, Any], *, file: str = "<mapping>",
                  base: str | os.PathLike[str] | None = None) -> Mapping:
    """Check a mapping given as a dict (the parsed TOML) and build a :class:`Mapping`.

    Examples
    --------
    >>> parse_mapping({"columns": {"client_id": "Q1"}}, file="m.toml").columns["client_id"]
    'Q1'
    >>> try:
    ...     parse_mapping({"constants": {"occasion": "intake"}}, file="m.toml")
    ... except UsageError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    m.toml, [columns]: nothing says which engagement a row belongs to. Add engagement_id = ...
    """
    check(dict(data), file=file)
    source = data.get("source", {})
    columns = dict(data.get("columns", {}))
    constants = dict(data.get("constants", {}))
    both = sorted(set(columns) & set(constants))
    if both:
        raise UsageError(f"{file}, [columns] and [constants]: {both[0]} is in both. Keep it "
                         "in [columns] when a column holds it, in [constants] when it is fixed.")
    if not ({"engagement_id", "client_id"} & (set(columns) | set(constants))):
        raise UsageError(f"{file}, [columns]: nothing says which engagement a row belongs to. "
                         'Add engagement_id = "<column>" (or client_id, when each client has '
                         "one engagement) under [columns].")
    for name, column in columns.items():
        if "{" in column and (name not in TABLE_FIELDS["sessions"] or "{session}" not in column):
            raise UsageError(f"{file}, [columns] {name}: only session fields "
                             f"({', '.join(TABLE_FIELDS['sessions'])}) may name one column "
                             "per session, and only with {session}. Name one column here.")
    recode = {name: _recode_table(name, table, file) for name, table in
              data.get("recode", {}).items()}
    dictionary = source.get("dictionary")
    if dictionary is not None and base is not None:
        dictionary = os.fspath(Path(base) / dictionary)
    blocks = tuple(_block(entry, position, file) for position, entry in
                   enumerate(data.get("items", [])))
    mapping = Mapping(
        format=source.get("format"), name=source.get("name"), sheet=source.get("sheet"),
        dictionary=dictionary, date_format=source.get("date_format"),
        keep_incomplete=bool(source.get("keep_incomplete", False)),
        keep_personal_data=bool(source.get("keep_personal_data", False)),
        missing_codes=tuple(_code_text(c) for c in source.get("missing_codes", [])),
        columns=_frozen(columns), constants=_frozen(constants),
        recode=_frozen({k: _frozen(v) for k, v in recode.items()}),
        drop=tuple(data.get("drop", {}).get("columns", [])), items=blocks, file=file,
    )
    _check_written(mapping)
    return mapping


def _check_written(mapping: Mapping) -> None:
    """Refuse a field that would be written nowhere (``coach_id`` without an engagements
    table, ``occasion`` without item blocks): the mapping says it, so it must land."""
    tables = mapping.tables()
    engagement_fields = ", ".join(TABLE_FIELDS["engagements"])
    needs = {
        "coach_id": (("engagements", "coaches"),
                     "coach_id is kept in engagements.csv, which an export gives only when "
                     f"client_id or an engagement field ({engagement_fields}) is mapped. Map "
                     "client_id as well (the engagement id's column, when each client has one "
                     "engagement), or remove coach_id"),
        "occasion": (("responses",), "occasion only places item responses, and this mapping "
                     "has no [[items]] block. Add the item blocks, or remove occasion"),
        "rater": (("responses",), "rater only places item responses, and this mapping has no "
                  "[[items]] block. Add the item blocks, or remove rater"),
        "session": (("responses", "sessions"),
                    "session numbers per-session item responses and the sessions table, and "
                    "this mapping has neither. Map a session field ("
                    f"{', '.join(TABLE_FIELDS['sessions'])}) or add item blocks, or remove "
                    "session"),
    }
    for section, given in (("[columns]", mapping.columns), ("[constants]", mapping.constants)):
        for name in given:
            wanted, fix = needs.get(name, ((), ""))
            if wanted and not set(wanted) & set(tables):
                raise UsageError(f"{mapping.file}, {section} {name}: {given[name]!r} would be "
                                 f"written nowhere: {fix}.")


def _code_text(code: object) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)


def _recode_table(name: str, table: MappingABC[str, Any], file: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    allowed = ALLOWED.get(name)
    for raw, value in table.items():
        path = ("recode", name, raw)
        if value == "":  # the value means "not given" (e.g. an event that is no session)
            out[str(raw)] = value
            continue
        if allowed is not None and value not in allowed:
            raise UsageError(f"{file}, {where(path)}: {value!r} is not a {name}. Use one of: "
                             f"{', '.join(allowed)}.")
        if name == "session" and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise UsageError(f"{file}, {where(path)}: {value!r} is not a session number. "
                             "Use a whole number from 1.")
        out[str(raw)] = value
    return out


def _block(entry: MappingABC[str, Any], position: int, file: str) -> ItemBlock:
    path = ("items", position)
    label = f"{where(path)} ({entry['instrument']})"
    try:
        instrument = _instruments.get(entry["instrument"])
    except DataError:
        raise UsageError(f"{file}, {where((*path, 'instrument'))}: {entry['instrument']!r} is "
                         f"not an instrument in the registry. Use one of: "
                         f"{', '.join(_instruments.available())}.") from None
    ways = [k for k in ("columns", "pattern", "question") if k in entry]
    if len(ways) != 1:
        said = " and ".join(ways) if ways else "none of them"
        raise UsageError(f"{file}, {label}: give exactly one of columns, pattern and question "
                         f"(found {said}).")
    columns = tuple(entry.get("columns", ()))
    items = tuple(entry.get("items", ()))
    if columns and not items:
        items = tuple(range(1, len(columns) + 1))
    if columns and len(items) != len(columns):
        raise UsageError(f"{file}, {label}: {len(columns)} columns but {len(items)} item "
                         "numbers. Give one item number per column, or leave items out.")
    unknown = [i for i in items if i not in instrument.items]
    if unknown:
        raise UsageError(f"{file}, {label}, items: {instrument.key} has no item {unknown[0]} "
                         f"(its items are 1 to {max(instrument.items)}). Correct the numbers.")
    if "pattern" in entry and "items" in entry:
        raise UsageError(f"{file}, {label}: items cannot be given with a pattern; the pattern's "
                         "{item} gives the item numbers. Remove items.")
    if "pattern" in entry:
        _check_pattern(entry["pattern"], f"{file}, {label}, pattern")
    recode: dict[str, float | None] = {}
    for raw, value in entry.get("recode", {}).items():
        if isinstance(value, str) and value.strip():
            raise UsageError(f"{file}, {where((*path, 'recode', raw))}: {value!r} is not a "
                             'number. Write a number, or "" for a missing answer.')
        recode[str(raw)] = None if isinstance(value, str) else float(value)
    if recode and ("add" in entry or "multiply" in entry):
        raise UsageError(f"{file}, {label}: recode and add/multiply cannot be combined. Put the "
                         "final values in the recode table.")
    return ItemBlock(
        instrument=instrument.key, columns=columns, pattern=entry.get("pattern"),
        question=entry.get("question"), items=items, recode=_frozen(recode),
        add=float(entry.get("add", 0.0)), multiply=float(entry.get("multiply", 1.0)),
        occasion=entry.get("occasion"), session=entry.get("session"),
        rater=entry.get("rater"), label=label,
    )


def _check_pattern(pattern: str, where_text: str) -> None:
    names = re.findall(r"\{([^{}]*)\}", pattern)
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        raise UsageError(f"{where_text}: {{{unknown[0]}}} is not a placeholder. Use {{item}}, "
                         "and optionally {session}, {occasion}, {rater}.")
    if "item" not in names:
        raise UsageError(f"{where_text}: {pattern!r} has no {{item}}. Mark where the item "
                         'number is, e.g. "ORS_s{session}_{item}".')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"{where_text}: {{{repeated[0]}}} appears twice. Use each placeholder "
                         "once.")
