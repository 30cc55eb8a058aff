"""Nested text read within the limits: TOML configuration files and JSON documents.

Python's ``tomllib`` and ``json`` recurse once per nested array or table, and ``tomllib``
spends time that grows with the square of a dotted key's length, so a file of ``[[[[…`` or
of ``[a.a.a.a…]`` 100,000 deep would exhaust the stack or take minutes. :func:`parse_toml`
and :func:`parse_json` measure the nesting with one linear pass first and refuse a text
deeper than ``depth`` (or a TOML file larger than ``toml_bytes``; see
:mod:`outcomes.io._limits`).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from os import PathLike
from typing import Any

import numpy as np

from outcomes._errors import UsageError
from outcomes.io._limits import LimitError, limits

__all__ = ["parse_toml", "read_toml", "toml_depth", "parse_json", "json_depth"]

_FIX = "Check the file: configuration files and norms nest a few levels, never hundreds"


def read_toml(path: str | PathLike[str], *, file: str | None = None) -> dict[str, Any]:
    """Read a TOML file (UTF-8, a BOM is allowed) within the limits.

    Raises
    ------
    UsageError
        When the file does not exist.
    LimitError
        When the file is larger than ``toml_bytes`` or nests deeper than ``depth``.
    tomllib.TOMLDecodeError
        When it is not valid TOML (the caller says what the file is for).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "study.toml"
    >>> _ = p.write_text('[tables.coaches]\\nfile = "coaches.csv"\\n', encoding="utf-8")
    >>> read_toml(p)
    {'tables': {'coaches': {'file': 'coaches.csv'}}}
    """
    name = file or os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"{name} does not exist. Check the path.")
    size = os.path.getsize(path)
    if size > limits().toml_bytes:
        raise LimitError(f"the file holds {size:,} bytes", limit="toml_bytes", file=name,
                         fix=_FIX)
    with open(path, encoding="utf-8-sig") as handle:
        return parse_toml(handle.read(), file=name)


def parse_toml(text: str, *, file: str) -> dict[str, Any]:
    """Parse TOML text, refusing text larger than ``toml_bytes`` or deeper than ``depth``.

    Examples
    --------
    >>> parse_toml("a = [[1], [2]]", file="x.toml")
    {'a': [[1], [2]]}
    >>> parse_toml("a = " + "[" * 500 + "]" * 500, file="x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    outcomes.io._limits.LimitError: x.toml: the file nests 501 levels deep, more than ...
    """
    bound = limits()
    if len(text) > bound.toml_bytes:
        raise LimitError(f"the file holds {len(text):,} characters", limit="toml_bytes",
                         file=file, fix=_FIX)
    _check_depth(toml_depth(text), file=file)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise LimitError("the file nests too deeply for Python to read", limit="depth",
                         file=file, fix=_FIX) from None


def parse_json(text: str, *, file: str) -> Any:
    """Parse a JSON document, refusing one that nests deeper than ``depth``.

    Raises
    ------
    LimitError
        When the document nests too deeply.
    json.JSONDecodeError
        When it is not JSON (the caller says what the file is for).

    Examples
    --------
    >>> parse_json('{"a": [1, {"b": "]]]"}]}', file="norms.json")
    {'a': [1, {'b': ']]]'}]}
    """
    _check_depth(json_depth(text), file=file)
    try:
        return json.loads(text)
    except RecursionError:
        raise LimitError("the file nests too deeply for Python to read", limit="depth",
                         file=file, fix=_FIX) from None


def json_depth(text: str) -> int:
    """How deeply a JSON text nests (arrays and objects), in one pass; strings are skipped.

    Examples
    --------
    >>> json_depth('{"a": [1, [2]], "b": "[[["}')
    3
    """
    bare = _JSON_STRING.sub("", text).encode("utf-8")
    steps = np.frombuffer(bare, dtype=np.uint8)
    change = np.isin(steps, _OPENING).astype(np.int64) - np.isin(steps, _CLOSING)
    return int(np.cumsum(change).max(initial=0))


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPENING, _CLOSING = np.frombuffer(b"[{", dtype=np.uint8), np.frombuffer(b"]}", dtype=np.uint8)


def _check_depth(depth: int, *, file: str) -> None:
    if depth > limits().depth:
        raise LimitError(f"the file nests {depth:,} levels deep", limit="depth", file=file,
                         fix=_FIX)


def toml_depth(text: str) -> int:
    """An upper bound on how deeply a TOML text nests, in one pass over it.

    Each part of a table header or dotted key and each array or inline table counts as a
    level; strings and comments are skipped. Invalid TOML still gets a number (the parser
    then says what is wrong with it).

    Examples
    --------
    >>> toml_depth('[tables.coaches]\\nfile = "a.b.c"\\nrename = { "A.B" = "x" }')
    4
    >>> toml_depth("x = [[1, 2], [3]]")
    3
    """
    deepest = 0
    base = 0  # the parts of the current [table] header
    stack: list[tuple[str, int]] = []  # open arrays and inline tables, with their depth
    state, parts, current = "start", 1, 0
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        if char in "\"'":
            position = _skip_string(text, position)
            continue
        if char == "#":
            newline = text.find("\n", position)
            position = end if newline < 0 else newline
            continue
        if char == "\n" and not stack:
            state = "start"
        elif state == "start":
            if char == "[":
                position, base = _header(text, position)
                deepest = max(deepest, base)
                continue
            if not char.isspace():
                state, parts = "key", 1
        elif state == "key":
            if char == ".":
                parts += 1
            elif char == "=":
                # a key inside an inline table sits on the level the brace opened
                current = stack[-1][1] + parts - 1 if stack else base + parts
                deepest = max(deepest, current)
                state = "value"
        elif state == "value":
            if char in "[{":
                current += 1
                deepest = max(deepest, current)
                stack.append((char, current))
                if char == "{":
                    state, parts = "key", 1
            elif char in "]}" and stack:
                stack.pop()
                current = stack[-1][1] if stack else current
            elif char == "," and stack and stack[-1][0] == "{":
                state, parts = "key", 1
        position += 1
    return deepest


def _header(text: str, position: int) -> tuple[int, int]:
    """Skip a ``[table]`` or ``[[array]]`` header; return where it ends and its parts."""
    parts, end = 1, len(text)
    position += 1
    while position < end and text[position] not in "]\n":
        char = text[position]
        if char in "\"'":
            position = _skip_string(text, position)
            continue
        if char == ".":
            parts += 1
        position += 1
    return position, parts


def _skip_string(text: str, position: int) -> int:
    """The position just after the string that starts at ``position``."""
    quote = text[position]
    if text.startswith(quote * 3, position):
        close = text.find(quote * 3, position + 3)
        while quote == '"' and close > 0 and _escaped(text, close):
            close = text.find(quote * 3, close + 1)
        return len(text) if close < 0 else close + 3
    position += 1
    while position < len(text):
        char = text[position]
        if char == "\\" and quote == '"':
            position += 2
            continue
        if char == quote or char == "\n":
            return position + 1
        position += 1
    return position


def _escaped(text: str, position: int) -> bool:
    """Whether the character at ``position`` follows an odd number of backslashes."""
    count = 0
    while position - count - 1 >= 0 and text[position - count - 1] == "\\":
        count += 1
    return count % 2 == 1
