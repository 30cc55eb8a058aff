"""An APA 7 table: number, title, headings, body, note; shown in a notebook, written to
Word and LaTeX.

The layout follows the Publication Manual (7th ed., sections 7.8–7.21): the table number in
bold on its own line, the title in italic title case below it, horizontal rules only (above
and below the headings and under the body), column spanners over the columns they group,
headings of row groups in the stub with their rows indented beneath, and a general note
that begins with *Note.* under the table.

Text in the headings, title, spanners and note may mark italics with ``*...*`` (statistical
symbols such as *b*, *SE*, *p* and *n* are italic in APA style); the body's cells are taken
as they are.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import pandas as pd

from outcomes.apa._markup import plain, runs

__all__ = ["ApaTable"]

def _html(text: str) -> str:
    return "".join(f"<em>{html.escape(t)}</em>" if italic else html.escape(t)
                   for t, italic in runs(text))


@dataclass(frozen=True, repr=False)
class ApaTable:
    """A table laid out as APA 7 asks, ready for a notebook, Word or LaTeX.

    Build one with a result's ``to_apa()``; write it with :meth:`to_docx` and
    :meth:`to_latex`. ``columns`` are the headings; ``rows`` the body as text, already
    rounded; ``groups`` pairs the index of the first row of a group with the group's
    heading (its rows are indented beneath it); ``spanners`` gives (heading, first column,
    last column) for a heading over several columns; ``note`` is the general note printed
    after *Note.*.

    Examples
    --------
    >>> t = ApaTable(1, "Reliability of the Alliance Scales", ("Scale", "*α*"),
    ...              (("Task", ".79"), ("Bond", ".79")), note="Cronbach's alpha.")
    >>> print(t)
    Table 1
    Reliability of the Alliance Scales
    Scale   α
     Task .79
     Bond .79
    Note. Cronbach's alpha.
    """

    number: int
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    groups: tuple[tuple[int, str], ...] = ()
    spanners: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        width = len(self.columns)
        for row in self.rows:
            if len(row) != width:
                raise ValueError(f"a row of {len(row)} cells in a table of {width} columns")

    # -- the table as cells -------------------------------------------------------------
    def body(self) -> list[tuple[str | None, tuple[str, ...]]]:
        """The body in order: ``(heading, ())`` for a group heading, ``(None, row)`` else."""
        starts = dict(self.groups)
        out: list[tuple[str | None, tuple[str, ...]]] = []
        for i, row in enumerate(self.rows):
            if i in starts:
                out.append((starts[i], ()))
            out.append((None, row))
        return out

    def indented(self, index: int) -> bool:
        """Whether body row ``index`` sits under a group heading."""
        return bool(self.groups) and index >= min(start for start, _ in self.groups)

    def cells(self) -> list[list[str]]:
        """The table as plain text, one list per printed row: the spanner row (when there
        is one: each spanner's text in its first column, the rest empty), the headings, then
        the body, where a group heading is a row with its text in the first cell.

        This is what the Word table holds, cell by cell.
        """
        width = len(self.columns)
        out = []
        if self.spanners:
            top = [""] * width
            for label, first, _ in self.spanners:
                top[first] = plain(label)
            out.append(top)
        out.append([plain(c) for c in self.columns])
        for heading, row in self.body():
            out.append([heading] + [""] * (width - 1) if heading is not None else list(row))
        return out

    def frame(self) -> pd.DataFrame:
        """The body as a DataFrame of text, with the plain headings as column names."""
        cells = self.cells()[1 if self.spanners else 0:]
        return pd.DataFrame(cells[1:], columns=cells[0])

    # -- displays ------------------------------------------------------------------------
    def __str__(self) -> str:
        shown = self.frame().to_string(index=False)
        lines = [f"Table {self.number}", plain(self.title), shown]
        if self.note:
            lines.append(f"Note. {plain(self.note)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rule = "border-bottom:1px solid currentColor"
        head = ""
        if self.spanners:
            cells, column = [], 0
            for label, first, last in sorted(self.spanners, key=lambda s: s[1]):
                cells += ["<th></th>"] * (first - column)
                cells.append(f'<th colspan="{last - first + 1}" style="text-align:center;'
                             f'{rule}">{_html(label)}</th>')
                column = last + 1
            cells += ["<th></th>"] * (len(self.columns) - column)
            head += f"<tr>{''.join(cells)}</tr>"
        head += "<tr>" + "".join(
            f'<th style="text-align:{"left" if i == 0 else "center"};{rule}">{_html(c)}</th>'
            for i, c in enumerate(self.columns)) + "</tr>"
        body = []
        for index, (heading, row) in enumerate(self.body()):
            if heading is not None:
                body.append(f'<tr><td colspan="{len(self.columns)}" style="text-align:left">'
                            f"{html.escape(heading)}</td></tr>")
                continue
            pad = "padding-left:1.5em;" if self.indented(index) else ""
            body.append("<tr>" + "".join(
                f'<td style="text-align:{"left;" + pad if i == 0 else "center"}">'
                f"{html.escape(cell)}</td>" for i, cell in enumerate(row)) + "</tr>")
        note = f"<p><em>Note.</em> {_html(self.note)}</p>" if self.note else ""
        return (f'<div class="apa-table"><p><strong>Table {self.number}</strong></p>'
                f"<p><em>{html.escape(plain(self.title))}</em></p>"
                '<table style="border-collapse:collapse;border-top:2px solid currentColor;'
                f'border-bottom:2px solid currentColor"><thead>{head}</thead>'
                f"<tbody>{''.join(body)}</tbody></table>{note}</div>")

    # -- files ---------------------------------------------------------------------------
    def to_docx(self, path: str | PathLike[str]) -> Path:
        """Write the table to a Word file (python-docx); returns the path.

        The file holds the table number, the title, the table with APA's three rules and the
        note, and is the same byte for byte each time the same table is written.
        """
        from outcomes.apa.word import write_docx

        return write_docx([self], path)

    def to_latex(self, path: str | PathLike[str] | None = None) -> str:
        """The table as LaTeX (booktabs and threeparttable); written to ``path`` if given."""
        from outcomes.apa.latex import latex

        text = latex(self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text
