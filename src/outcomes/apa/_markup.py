"""Italics in the text of a table: ``*b*`` marks a statistical symbol to set in italics."""

from __future__ import annotations

import re

__all__ = ["runs", "plain"]

_ITALIC = re.compile(r"\*([^*]+)\*")


def runs(text: str) -> list[tuple[str, bool]]:
    """Split marked text into (text, italic) runs.

    Examples
    --------
    >>> runs("*b* and *SE*")
    [('b', True), (' and ', False), ('SE', True)]
    """
    out: list[tuple[str, bool]] = []
    position = 0
    for match in _ITALIC.finditer(text):
        if match.start() > position:
            out.append((text[position:match.start()], False))
        out.append((match.group(1), True))
        position = match.end()
    if position < len(text):
        out.append((text[position:], False))
    return out


def plain(text: str) -> str:
    """Marked text without its italics marks.

    Examples
    --------
    >>> plain("*Note.* *n* = 842")
    'Note. n = 842'
    """
    return _ITALIC.sub(r"\1", text)
