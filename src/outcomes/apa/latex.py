"""APA tables as LaTeX: booktabs rules, threeparttable notes.

The output is one ``table`` float to ``\\input`` into a manuscript whose preamble loads
``array``, ``booktabs`` and ``threeparttable``. ``\\caption`` carries the title; in the
``apa7`` class it prints "Table N" in bold above the title in italics. LaTeX numbers the
table itself, so the table's ``number`` goes into the label
(``tab:apa-N``) rather than into the counter. Rules: ``\\toprule`` above the headings,
``\\cmidrule`` under each spanner, ``\\midrule`` under the headings, ``\\bottomrule`` under
the body. Text is escaped; minus signs, superscript two and Greek letters become math.
"""

from __future__ import annotations

from typing import Any

from outcomes.apa._markup import runs

__all__ = ["latex", "escape"]

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}"}
_MATH = {"\u2212": "$-$", "²": r"\textsuperscript{2}", "α": r"$\alpha$", "ω": r"$\omega$",
         "τ": r"$\tau$", "σ": r"$\sigma$", "Δ": r"$\Delta$", "≤": r"$\leq$", "≥": r"$\geq$",
         "—": "---", "–": "--", "×": r"$\times$"}


def escape(text: str) -> str:
    """Text safe inside a LaTeX table cell.

    Examples
    --------
    >>> escape("R² of 35% [−0.12, .40] & more_text")
    'R\\\\textsuperscript{2} of 35\\\\% [$-$0.12, .40] \\\\& more\\\\_text'
    """
    return "".join(_SPECIAL.get(c, _MATH.get(c, c)) for c in text)


def _marked(text: str) -> str:
    return "".join(rf"\textit{{{escape(t)}}}" if italic else escape(t) for t, italic in runs(text))


def _spec(table: Any) -> str:
    """Column types: the stub left, numbers centred, long text in a ragged paragraph."""
    spec = []
    for j in range(len(table.columns)):
        longest = max((len(row[j]) for row in table.rows), default=0)
        if longest > 30:
            spec.append(r">{\raggedright\arraybackslash}p{0.24\linewidth}")
        else:
            spec.append("l" if j == 0 else "c")
    return "".join(spec)


def latex(table: Any) -> str:
    """The table as a LaTeX ``table`` float.

    Examples
    --------
    >>> from outcomes.apa.table import ApaTable
    >>> print(latex(ApaTable(2, "Two Scales", ("Scale", "*α*"), (("Task", ".79"),))))
    % Table 2, written by outcomes; needs \\usepackage{array,booktabs,threeparttable}
    \\begin{table}[htbp]
    \\centering
    \\begin{threeparttable}
    \\caption{Two Scales}
    \\label{tab:apa-2}
    \\begin{tabular}{lc}
    \\toprule
    Scale & \\textit{$\\alpha$} \\\\
    \\midrule
    Task & .79 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{threeparttable}
    \\end{table}
    <BLANKLINE>
    """
    width = len(table.columns)
    lines = [f"% Table {table.number}, written by outcomes; needs "
             r"\usepackage{array,booktabs,threeparttable}",
             r"\begin{table}[htbp]", r"\centering", r"\begin{threeparttable}",
             rf"\caption{{{_marked(table.title)}}}", rf"\label{{tab:apa-{table.number}}}",
             rf"\begin{{tabular}}{{{_spec(table)}}}", r"\toprule"]
    if table.spanners:
        cells, rules, column = [], [], 0
        for label, first, last in sorted(table.spanners, key=lambda s: s[1]):
            cells += [""] * (first - column)
            cells.append(rf"\multicolumn{{{last - first + 1}}}{{c}}{{{_marked(label)}}}")
            rules.append(rf"\cmidrule(lr){{{first + 1}-{last + 1}}}")
            column = last + 1
        cells += [""] * (width - column)
        lines += [" & ".join(cells) + r" \\", " ".join(rules)]
    lines += [" & ".join(_marked(c) for c in table.columns) + r" \\", r"\midrule"]
    for index, (heading, row) in enumerate(table.body()):
        if heading is not None:
            lines.append(rf"\multicolumn{{{width}}}{{l}}{{{escape(heading)}}} \\")
            continue
        first = (r"\quad " if table.indented(index) else "") + escape(row[0])
        lines.append(" & ".join([first, *(escape(c) for c in row[1:])]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.note:
        lines += [r"\begin{tablenotes}[flushleft]", r"\small",
                  rf"\item \textit{{Note.}} {_marked(table.note)}", r"\end{tablenotes}"]
    lines += [r"\end{threeparttable}", r"\end{table}", ""]
    return "\n".join(lines)
