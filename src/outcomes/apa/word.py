"""APA tables as a Word document (python-docx).

Each table is written as APA 7 lays it out in a manuscript: "Table N" in bold, the title in
italic title case on the next line, the table with three horizontal rules (above the
headings, below them, below the body) and no vertical ones, column spanners with a rule
beneath them, group headings in the stub with their rows indented, numbers centred, and
the note beneath, opening with *Note.* in italics. The file is reproducible: the same
tables give the same bytes (the archive's dates are fixed), so a committed example only
changes when its numbers do.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from outcomes.apa._markup import plain, runs

__all__ = ["write_docx", "read_docx_cells"]

_THICK, _THIN = 12, 6  # border widths in eighths of a point
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def _border(cell: Any, **edges: int) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = cell._tc.get_or_add_tcPr()
    borders = properties.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        properties.append(borders)
    for edge, size in edges.items():
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)


def _write(paragraph: Any, text: str, *, italic: bool = False, bold: bool = False) -> None:
    for part, slanted in runs(text):
        run = paragraph.add_run(part)
        run.italic = italic or slanted
        run.bold = bold


def _cell(cell: Any, text: str, *, marked: bool, centre: bool, indent: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches

    paragraph = cell.paragraphs[0]
    if marked:
        _write(paragraph, text)
    else:
        paragraph.add_run(text)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if centre else WD_ALIGN_PARAGRAPH.LEFT
    if indent:
        paragraph.paragraph_format.left_indent = Inches(0.25)


def _add(document: Any, table: Any) -> None:
    from docx.shared import Pt

    _write(document.add_paragraph(), f"Table {table.number}", bold=True)
    _write(document.add_paragraph(), plain(table.title), italic=True)
    width = len(table.columns)
    body = table.body()
    top = 1 if table.spanners else 0
    grid = document.add_table(rows=top + 1 + len(body), cols=width)
    grid.style = document.styles["Normal Table"]
    if table.spanners:
        for label, first, last in table.spanners:
            merged = grid.cell(0, first).merge(grid.cell(0, last))
            _cell(merged, label, marked=True, centre=True)
            _border(merged, bottom=_THIN)
        for j in range(width):
            _border(grid.cell(0, j), top=_THICK)
    for j, heading in enumerate(table.columns):
        cell = grid.cell(top, j)
        _cell(cell, heading, marked=True, centre=j > 0)
        _border(cell, bottom=_THIN, **({} if table.spanners else {"top": _THICK}))
    for i, (heading, row) in enumerate(body):
        r = top + 1 + i
        if heading is not None:
            merged = grid.cell(r, 0).merge(grid.cell(r, width - 1))
            _cell(merged, heading, marked=False, centre=False)
        else:
            for j, text in enumerate(row):
                _cell(grid.cell(r, j), text, marked=False, centre=j > 0,
                      indent=j == 0 and table.indented(i))
    for j in range(width):
        _border(grid.cell(top + len(body), j), bottom=_THICK)
    if table.note:
        note = document.add_paragraph()
        _write(note, "Note.", italic=True)
        _write(note, f" {table.note}")
        for run in note.runs:
            run.font.size = Pt(10)


def write_docx(tables: Sequence[Any], path: str | PathLike[str]) -> Path:
    """Write APA tables, one after another, to a Word file; returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from outcomes.apa.table import ApaTable
    >>> t = ApaTable(1, "Two Scales", ("Scale", "*α*"), (("Task", ".79"), ("Bond", ".79")))
    >>> out = write_docx([t], pathlib.Path(tempfile.mkdtemp()) / "table.docx")
    >>> read_docx_cells(out)[0]
    [['Scale', 'α'], ['Task', '.79'], ['Bond', '.79']]
    """
    import docx

    document = docx.Document()
    document.core_properties.title = plain(tables[0].title) if tables else ""
    document.core_properties.author = "outcomes"
    for i, table in enumerate(tables):
        if i:
            document.add_paragraph()
        _add(document, table)
    buffer = io.BytesIO()
    document.save(buffer)
    target = Path(path)
    target.write_bytes(_fixed_dates(buffer.getvalue()))
    return target


def _fixed_dates(archive: bytes) -> bytes:
    """The same archive with every member dated 1980-01-01, so that equal tables give equal
    bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member.filename))
    return out.getvalue()


def read_docx_cells(path: str | PathLike[str]) -> list[list[list[str]]]:
    """The text of every table in a Word file, row by row (merged cells read once).

    The reading side of :func:`write_docx`, for checks: a cell merged over several columns
    gives its text in the first of them and empty text in the others, so each table lines
    up with :meth:`ApaTable.cells`.
    """
    import docx

    out = []
    for grid in docx.Document(str(path)).tables:
        rows = []
        for row in grid.rows:
            seen: list[Any] = []
            texts = []
            for cell in row.cells:
                if any(cell._tc is s for s in seen):
                    texts.append("")
                    continue
                seen.append(cell._tc)
                texts.append(cell.text)
            rows.append(texts)
        out.append(rows)
    return out
