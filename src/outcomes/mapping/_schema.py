"""Check a mapping file against its JSON Schema, with messages a user can act on.

The schema (``mapping.schema.json`` beside this module) is the one description of the file:
editors use it for completion, and :func:`check` validates against it with the
``jsonschema`` package, so every keyword the schema uses is enforced. A failure becomes a
:class:`~outcomes._errors.UsageError` in the project's words: the file, the key as it is
written in TOML, the value found, and what to write instead.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from outcomes._errors import UsageError

__all__ = ["SCHEMA_FILE", "schema", "check", "where"]

SCHEMA_FILE = "mapping.schema.json"

#: What each JSON type is called in a TOML file.
_TYPE_WORDS = {"object": "a table", "array": "an array", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "a boolean",
               "null": "nothing"}


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


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


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
    >>> where(("source", "missing_codes", 0))
    '[source] missing_codes entry 1'
    """
    if not path:
        return "the top level"
    head, *rest = path
    if head == "items" and rest and isinstance(rest[0], int):
        text = f"[[items]] block {rest[0] + 1}"
        tail = rest[1:]
        return text + (", " + _keys(tail) if tail else "")
    if head == "recode" and rest:
        text = f"[recode.{rest[0]}]"
        return text + (" " + _keys(rest[1:]) if rest[1:] else "")
    if head in ("source", "columns", "constants", "drop") and rest:
        return f"[{head}] " + _keys(rest)
    return _keys(path)


def _keys(parts: list[object] | tuple[object, ...]) -> str:
    """Dotted keys; a position in an array is said as its entry number."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f" entry {part + 1}"
        else:
            text += ("." if text else "") + _key(part)
    return text.strip()


def _key(part: object) -> str:
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) and not text.isdigit() else f'"{text}"'


def check(data: Any, *, file: str) -> None:
    """Raise a :class:`UsageError` for the first place where ``data`` breaks the schema.

    "First" is in the order of the file; the message names the key, the value found and
    what is allowed there.

    Examples
    --------
    >>> check({"source": {"format": "qualtrics"}}, file="m.toml")
    >>> try:
    ...     check({"source": {"formt": "qualtrics"}}, file="m.toml")
    ... except UsageError as error:
    ...     print(error)
    m.toml, [source] formt: this key is not known. Did you mean "format"?
    """
    found = [(_position(data, path), order, error, path, problem, fix)
             for order, error in enumerate(_validator().iter_errors(data))
             for path, problem, fix in [_explain(error)]]
    if found:
        _, _, _, path, problem, fix = min(found, key=lambda f: (f[0], f[1]))
        raise UsageError(f"{file}, {where(path)}: {problem}. {fix}")


def _position(data: Any, path: tuple[object, ...]) -> tuple[int, ...]:
    """Where a key path sits in the file, as positions among its siblings."""
    out = []
    for part in path:
        if isinstance(data, dict):
            keys = list(data)
            out.append(keys.index(part) if part in data else len(keys))
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int):
            out.append(part)
            data = data[part] if part < len(data) else None
        else:
            break
    return tuple(out)


def _explain(error: ValidationError) -> tuple[tuple[object, ...], str, str]:
    """The key path, what is wrong and the fix, for one failure of the schema."""
    path = tuple(error.absolute_path)
    rule, value, instance = error.validator, error.validator_value, error.instance
    if "propertyNames" in error.absolute_schema_path:
        known = [str(v) for v in value] if rule == "enum" else []
        return (*path, instance), "this name is not known", _did_you_mean(str(instance), known)
    if rule == "additionalProperties" and value is False:
        known = list(error.schema.get("properties", {}))
        extra = [k for k in instance if k not in known]
        return (*path, extra[0]), "this key is not known", _did_you_mean(extra[0], known)
    if rule == "required":
        missing = [k for k in value if k not in instance][0]
        return path, f'the key "{missing}" is missing', f"Add {missing} = ... here."
    if rule == "type":
        words = [_TYPE_WORDS.get(t, t) for t in ([value] if isinstance(value, str) else value)]
        wanted = " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)
        return path, f"{_shown(instance)} is not {wanted}", f"Write {wanted} here."
    if rule == "enum":
        allowed = ", ".join(json.dumps(v) for v in value)
        return path, f"{_shown(instance)} is not allowed", f"Use one of: {allowed}."
    if rule == "const":
        return path, f"{_shown(instance)} is not allowed", f"Write {json.dumps(value)}."
    if rule in ("minimum", "exclusiveMinimum"):
        bound = "of at least" if rule == "minimum" else "above"
        return path, f"{_shown(instance)} is too small", f"Use a number {bound} {value}."
    if rule in ("maximum", "exclusiveMaximum"):
        bound = "of at most" if rule == "maximum" else "below"
        return path, f"{_shown(instance)} is too large", f"Use a number {bound} {value}."
    if rule == "minItems":
        return path, "the list is empty" if not instance else "the list is too short", \
            "Give at least one entry." if value == 1 else f"Give at least {value} entries."
    if rule == "pattern":
        return path, f"{_shown(instance)} is not a usable name", (
            "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit.")
    return path, f"{_shown(instance)} does not fit: {error.message}", (
        "See docs/mapping.md for what this key may hold.")


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    return json.dumps(value, default=str, ensure_ascii=False)


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f'Did you mean "{close[0]}"?'
    return "Known keys: " + ", ".join(known) + "."
