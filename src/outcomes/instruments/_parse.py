"""Read and check one instrument file (TOML) into an :class:`~outcomes.instruments.Instrument`.

Every problem names the file, the field and the fix, so that a user who writes an
instrument file for their own questionnaire can correct it without reading this code.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from outcomes._errors import DataError
from outcomes.instruments._model import (
    FACTORS,
    NORM_KINDS,
    RATERS,
    RELIABILITY_KINDS,
    RULES,
    Instrument,
    ItemRange,
    Published,
    Scale,
)
from outcomes.io import parse_toml, read_toml

__all__ = ["parse_file", "parse_text", "parse_mapping"]

_TOP = {
    "key", "aliases", "name", "citation", "licence", "factor", "n_items", "higher_is_better",
    "raters",
    "response", "reverse", "unscored", "missing", "scales", "reliability", "norms",
}
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class _Checker:
    """Field checks that raise a :class:`DataError` naming the file and the field."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str, what: str, fix: str) -> DataError:
        return DataError(f'field "{field}": {what}', file=self.file, fix=fix)

    def need(self, table: Mapping[str, Any], name: str, field: str) -> Any:
        if name not in table:
            raise self.fail(field, "is missing", f"Add `{name} = ...` to the file.")
        return table[name]

    def text(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"{value!r} is not a text", "Write it as a quoted string.")
        return value

    def flag(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"{value!r} is not true or false", "Write true or false.")
        return value

    def number(self, value: Any, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"{value!r} is not a number", "Write a plain number.")
        return float(value)

    def share(self, value: Any, field: str) -> float:
        share = self.number(value, field)
        if not 0 < share <= 1:
            raise self.fail(
                field, f"{share} is not a share in (0, 1]", "Give the smallest share of a "
                "scale's items that must be answered, e.g. 0.75.",
            )
        return share

    def items(self, value: Any, field: str, n_items: int) -> tuple[int, ...]:
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(field, f"{value!r} is not a list of item numbers",
                            "Write a list of whole numbers, e.g. [1, 2, 10].")
        outside = [v for v in value if not 1 <= v <= n_items]
        if outside:
            raise self.fail(field, f"item {outside[0]} is outside 1-{n_items}",
                            "Use item numbers from 1 to n_items.")
        if len(set(value)) != len(value):
            raise self.fail(field, "lists an item twice", "List each item once.")
        return tuple(value)

    def known(self, table: Mapping[str, Any], allowed: set[str] | frozenset[str],
              field: str) -> None:
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            where = f"{field}.{unknown[0]}" if field else unknown[0]
            raise self.fail(where, "is not a known field",
                            f"Use one of: {', '.join(sorted(allowed))}.")

    def table(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"{value!r} is not a table", f"Write it as [{field}].")
        return value


def parse_file(path: str) -> Instrument:
    """Read an instrument file.

    Parameters
    ----------
    path : str
        Path of a TOML file laid out as the packaged instrument files are.

    Returns
    -------
    Instrument
    """
    if not os.path.isfile(path):
        raise DataError("the instrument file does not exist", file=str(path),
                        fix="Check the path.")
    try:
        data = read_toml(path, file=str(path))
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"is not valid TOML ({error})", file=str(path),
                        fix="Correct the TOML syntax at the place named.") from None
    return parse_mapping(data, file=str(path))


def parse_text(text: str, *, file: str = "<text>") -> Instrument:
    """Read an instrument from TOML text (for tests and generated files)."""
    try:
        data = parse_toml(text, file=file)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"is not valid TOML ({error})", file=file,
                        fix="Correct the TOML syntax at the place named.") from None
    return parse_mapping(data, file=file)


def parse_mapping(data: Mapping[str, Any], *, file: str) -> Instrument:
    """Check a decoded instrument file and build the :class:`Instrument`."""
    check = _Checker(file)
    check.known(data, _TOP, "")
    key = check.text(check.need(data, "key", "key"), "key")
    if not _KEY.match(key):
        raise check.fail("key", f"{key!r} is not a valid key",
                         "Use lower-case letters, digits and hyphens, e.g. 'wai-sr'.")
    factor = check.text(check.need(data, "factor", "factor"), "factor")
    if factor not in FACTORS:
        raise check.fail("factor", f"{factor!r} is not a factor group",
                         f"Use one of: {', '.join(FACTORS)}.")
    n_items = check.need(data, "n_items", "n_items")
    if isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < 1:
        raise check.fail("n_items", f"{n_items!r} is not a positive whole number",
                         "Give the number of items on the form.")
    default, overrides = _response(check, data, n_items)
    reverse = check.items(data.get("reverse", []), "reverse", n_items)
    unscored = check.items(data.get("unscored", []), "unscored", n_items)
    both = sorted(set(reverse) & set(unscored))
    if both:
        raise check.fail("reverse", f"item {both[0]} is also listed as unscored",
                         "An unscored item cannot be reverse-keyed; remove it from one list.")
    missing = check.table(data.get("missing", {}), "missing")
    check.known(missing, {"min_answered", "source", "unverified", "note"}, "missing")
    min_answered = check.share(missing.get("min_answered", 1.0), "missing.min_answered")
    higher = check.flag(data.get("higher_is_better", True), "higher_is_better")
    scales = _scales(check, data, n_items, reverse, unscored, min_answered, higher)
    raters = data.get("raters", ["client"])
    if not isinstance(raters, list) or not raters or set(raters) - set(RATERS):
        raise check.fail("raters", f"{raters!r} is not a list of raters",
                         f"List some of: {', '.join(RATERS)}.")
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(
            isinstance(a, str) and a.strip() for a in aliases):
        raise check.fail("aliases", f"{aliases!r} is not a list of names",
                         'List other names of the instrument, e.g. ["Session Rating Scale"].')
    return Instrument(
        key=key,
        aliases=tuple(a.strip() for a in aliases),
        name=check.text(check.need(data, "name", "name"), "name"),
        citation=check.text(check.need(data, "citation", "citation"), "citation"),
        licence=check.text(check.need(data, "licence", "licence"), "licence"),
        factor=factor,
        n_items=n_items,
        items=tuple(range(1, n_items + 1)),
        response=default,
        overrides=MappingProxyType(overrides),
        scales=MappingProxyType(scales),
        reverse=reverse,
        unscored=unscored,
        min_answered=min_answered,
        missing_rule=str(missing.get("source", "default")),
        higher_is_better=higher,
        raters=tuple(raters),
        reliability=_published(check, data, "reliability", RELIABILITY_KINDS, scales),
        norms=_published(check, data, "norms", NORM_KINDS, scales),
        file=file,
    )


def _range(check: _Checker, table: Mapping[str, Any], field: str,
           decimals: bool) -> ItemRange:
    low = check.number(check.need(table, "min", f"{field}.min"), f"{field}.min")
    high = check.number(check.need(table, "max", f"{field}.max"), f"{field}.max")
    if not low < high:
        raise check.fail(f"{field}.max", f"max {high} is not above min {low}",
                         "Give the lowest and the highest possible answer.")
    step = table.get("step")
    if step is not None:
        step = check.number(step, f"{field}.step")
        if step <= 0:
            raise check.fail(f"{field}.step", f"{step} is not positive",
                             "Give the distance between possible answers, e.g. 10.")
    decimals = check.flag(table.get("decimals", decimals), f"{field}.decimals")
    return ItemRange(min=low, max=high, decimals=decimals, step=step)


def _response(check: _Checker, data: Mapping[str, Any],
              n_items: int) -> tuple[ItemRange, dict[int, ItemRange]]:
    response = check.table(check.need(data, "response", "response"), "response")
    check.known(response, {"min", "max", "decimals", "step", "override"}, "response")
    default = _range(check, response, "response", False)
    overrides: dict[int, ItemRange] = {}
    entries = response.get("override", [])
    if not isinstance(entries, list):
        raise check.fail("response.override", "is not a list of tables",
                         "Write each override as [[response.override]].")
    for number, entry in enumerate(entries, start=1):
        field = f"response.override[{number}]"
        entry = check.table(entry, field)
        check.known(entry, {"items", "min", "max", "decimals", "step"}, field)
        item_range = _range(check, entry, field, default.decimals)
        for item in check.items(check.need(entry, "items", f"{field}.items"),
                                f"{field}.items", n_items):
            if item in overrides:
                raise check.fail(f"{field}.items", f"item {item} has two overrides",
                                 "Give each item at most one range override.")
            overrides[item] = item_range
    return default, overrides


def _scales(check: _Checker, data: Mapping[str, Any], n_items: int,
            reverse: tuple[int, ...], unscored: tuple[int, ...], min_answered: float,
            higher: bool) -> dict[str, Scale]:
    table = check.table(check.need(data, "scales", "scales"), "scales")
    if not table:
        raise check.fail("scales", "is empty", "Define at least one scale, e.g. [scales.total].")
    scales: dict[str, Scale] = {}
    composites: dict[str, Mapping[str, Any]] = {}
    for name, spec in table.items():
        field = f"scales.{name}"
        spec = check.table(spec, field)
        check.known(spec, {"items", "rule", "min_answered", "higher_is_better", "plus",
                           "minus", "rho", "note"}, field)
        rule = check.text(check.need(spec, "rule", f"{field}.rule"), f"{field}.rule")
        if rule not in RULES:
            raise check.fail(f"{field}.rule", f"{rule!r} is not a scoring rule",
                             f"Use one of: {', '.join(RULES)}.")
        if rule == "composite":
            composites[name] = spec
            continue
        items = check.items(check.need(spec, "items", f"{field}.items"), f"{field}.items",
                            n_items)
        if not items:
            raise check.fail(f"{field}.items", "is empty", "List the scale's items.")
        filler = sorted(set(items) & set(unscored))
        if filler:
            raise check.fail(f"{field}.items", f"item {filler[0]} is listed as unscored",
                             "Remove it from the scale or from `unscored`.")
        rho = None
        if rule == "gas-tscore":
            rho = check.number(spec.get("rho", 0.3), f"{field}.rho")
            if not 0 <= rho < 1:
                raise check.fail(f"{field}.rho", f"{rho} is not in [0, 1)",
                                 "Give the assumed correlation between goals, e.g. 0.3.")
        scales[name] = Scale(
            name=name, items=items, rule=rule,
            reverse=tuple(i for i in items if i in reverse),
            min_answered=check.share(spec.get("min_answered", min_answered),
                                     f"{field}.min_answered"),
            higher_is_better=check.flag(spec.get("higher_is_better", higher),
                                        f"{field}.higher_is_better"),
            rho=rho,
        )
    for name, spec in composites.items():
        scales[name] = _composite(check, name, spec, scales, min_answered, higher)
    return {name: scales[name] for name in table}


def _composite(check: _Checker, name: str, spec: Mapping[str, Any],
               scales: Mapping[str, Scale], min_answered: float, higher: bool) -> Scale:
    field = f"scales.{name}"
    parts: dict[str, tuple[str, ...]] = {}
    for side in ("plus", "minus"):
        names = spec.get(side, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise check.fail(f"{field}.{side}", f"{names!r} is not a list of scale names",
                             "Write a list of quoted scale names.")
        unknown = [n for n in names if n not in scales]
        if unknown:
            raise check.fail(f"{field}.{side}", f"{unknown[0]!r} is not an item-based scale",
                             f"Use scales defined in this file: {', '.join(scales)}.")
        parts[side] = tuple(names)
    if not parts["plus"] and not parts["minus"]:
        raise check.fail(field, "has neither `plus` nor `minus`",
                         "List the scales the composite adds and subtracts.")
    items = tuple(sorted({i for n in parts["plus"] + parts["minus"] for i in scales[n].items}))
    return Scale(name=name, items=items, rule="composite", reverse=(),
                 min_answered=min_answered,
                 higher_is_better=check.flag(spec.get("higher_is_better", higher),
                                             f"{field}.higher_is_better"),
                 plus=parts["plus"], minus=parts["minus"])


def _published(check: _Checker, data: Mapping[str, Any], section: str,
               kinds: frozenset[str], scales: Mapping[str, Scale]) -> Mapping[str, Any]:
    table = check.table(data.get(section, {}), section)
    out: dict[str, Mapping[str, Published]] = {}
    for scale, figures in table.items():
        if scale not in scales:
            raise check.fail(f"{section}.{scale}", "names no scale of this instrument",
                             f"Use one of: {', '.join(scales)}.")
        figures = check.table(figures, f"{section}.{scale}")
        check.known(figures, kinds, f"{section}.{scale}")
        entries = {}
        for kind, spec in figures.items():
            field = f"{section}.{scale}.{kind}"
            spec = check.table(spec, field)
            check.known(spec, {"value", "source", "unverified", "low", "high", "note"}, field)
            value = check.number(check.need(spec, "value", f"{field}.value"), f"{field}.value")
            if section == "reliability" and not 0 <= value <= 1:
                raise check.fail(f"{field}.value", f"{value} is not a reliability in [0, 1]",
                                 "Give the coefficient as published, e.g. 0.85.")
            low, high = spec.get("low"), spec.get("high")
            entries[kind] = Published(
                value=value,
                source=check.text(check.need(spec, "source", f"{field}.source"),
                                  f"{field}.source"),
                unverified=check.flag(spec.get("unverified", False), f"{field}.unverified"),
                low=None if low is None else check.number(low, f"{field}.low"),
                high=None if high is None else check.number(high, f"{field}.high"),
                note=str(spec.get("note", "")),
            )
        out[scale] = MappingProxyType(entries)
    return MappingProxyType(out)
