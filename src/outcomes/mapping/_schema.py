"""Check a mapping file against its JSON Schema, with messages a user can act on.

The schema (``mapping.schema.json`` beside this module) is the one description of the file:
editors use it for completion, and :func:`check` walks the subset of JSON Schema it uses
(``type``, ``properties``, ``additionalProperties``, ``propertyNames``, ``required``,
``enum``, ``minimum``, ``minItems``, ``items``, ``pattern``), so the loader and the published
schema cannot disagree.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from importlib import resources
from typing import Any

from outcomes._errors import UsageError

__all__ = ["SCHEMA_FILE", "schema", "check", "where"]

SCHEMA_FILE = "mapping.schema.json"

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of mapping files, as a dict.

    Examples
    --------
    >>> sorted(schema()["properties"])
    ['columns', 'constants', 'drop', 'items', 'recode', 'source', 'version']
    """
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def where(path: tuple[object, ...]) -> str:
    """A key path as a user reads it in TOML.

    Examples
    --------
    >>> where(("source", "format"))
    '[source] format'
    >>> where(("items", 1, "recode", "5"))
    '[[items]] block 2, recode."5"'
    >>> where(("recode", "occasion", "T1"))
    '[recode.occasion] T1'
    """
    if not path:
        return "the top level"
    head, *rest = path
    if head == "items" and rest and isinstance(rest[0], int):
        text = f"[[items]] block {rest[0] + 1}"
        tail = rest[1:]
        return text + (", " + ".".join(_key(p) for p in tail) if tail else "")
    if head == "recode" and rest:
        text = f"[recode.{rest[0]}]"
        return text + (" " + ".".join(_key(p) for p in rest[1:]) if rest[1:] else "")
    if head in ("source", "columns", "constants", "drop") and rest:
        return f"[{head}] " + ".".join(_key(p) for p in rest)
    return ".".join(_key(p) for p in path)


def _key(part: object) -> str:
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) and not text.isdigit() else f'"{text}"'


def check(data: Any, *, file: str) -> None:
    """Raise a :class:`UsageError` for the first place where ``data`` breaks the schema.

    Examples
    --------
    >>> check({"source": {"format": "qualtrics"}}, file="m.toml")
    >>> try:
    ...     check({"source": {"formt": "qualtrics"}}, file="m.toml")
    ... except UsageError as error:
    ...     print(error)
    m.toml, [source] formt: this key is not known. Did you mean "format"?
    """
    _walk(data, schema(), (), file)


def _fail(file: str, path: tuple[object, ...], problem: str, fix: str) -> UsageError:
    return UsageError(f"{file}, {where(path)}: {problem}. {fix}")


def _walk(value: Any, rule: dict[str, Any], path: tuple[object, ...], file: str) -> None:
    if "type" in rule:
        _check_type(value, rule, path, file)
    if "enum" in rule and value not in rule["enum"]:
        allowed = ", ".join(json.dumps(v) for v in rule["enum"])
        raise _fail(file, path, f"{json.dumps(value)} is not allowed", f"Use one of: {allowed}.")
    if isinstance(value, int | float) and not isinstance(value, bool) and "minimum" in rule:
        if value < rule["minimum"]:
            raise _fail(file, path, f"{value} is too small",
                        f"Use a number of at least {rule['minimum']}.")
    if isinstance(value, str) and "pattern" in rule and not re.search(rule["pattern"], value):
        raise _fail(file, path, f"{value!r} is not a usable name",
                    "Use letters, digits, '.', '_' and '-' only.")
    if isinstance(value, list):
        if len(value) < rule.get("minItems", 0):
            raise _fail(file, path, "the list is empty", "Give at least one entry.")
        for position, entry in enumerate(value):
            _walk(entry, rule.get("items", {}), (*path, position), file)
    if isinstance(value, dict):
        _walk_object(value, rule, path, file)


def _check_type(value: Any, rule: dict[str, Any], path: tuple[object, ...], file: str) -> None:
    names = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
    for name in names:
        if isinstance(value, _TYPES[name]) and not (name != "boolean" and isinstance(value, bool)):
            return
    wanted = " or ".join("a table" if n == "object" else f"a{'n' * (n[0] in 'ai')} {n}"
                         for n in names)
    shown = "a table" if isinstance(value, dict) else json.dumps(value, default=str)
    raise _fail(file, path, f"{shown} is not {wanted}", f"Write {wanted} here.")


def _walk_object(value: dict[str, Any], rule: dict[str, Any], path: tuple[object, ...],
                 file: str) -> None:
    properties = rule.get("properties", {})
    for name in rule.get("required", []):
        if name not in value:
            raise _fail(file, path, f'the key "{name}" is missing', f'Add {name} = ... here.')
    names = rule.get("propertyNames", {}).get("enum")
    extra = rule.get("additionalProperties", True)
    for key, entry in value.items():
        if names is not None and key not in names:
            raise _fail(file, (*path, key), "this name is not known", _did_you_mean(key, names))
        if key in properties:
            _walk(entry, properties[key], (*path, key), file)
        elif extra is False:
            raise _fail(file, (*path, key), "this key is not known",
                        _did_you_mean(key, list(properties)))
        elif isinstance(extra, dict):
            _walk(entry, extra, (*path, key), file)


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f'Did you mean "{close[0]}"?'
    return "Known keys: " + ", ".join(known) + "."
