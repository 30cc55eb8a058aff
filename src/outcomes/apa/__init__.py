"""Tables ready for a paper: any result as an APA 7 table, in a notebook, Word or LaTeX.

Every result has ``to_apa()``, ``to_docx(path)`` and ``to_latex(path)`` (from
:class:`outcomes._results.Result`); they all go through :func:`build` here, so that every
table follows the same rules (:mod:`outcomes.apa.numbers`) and the same layout
(:class:`~outcomes.apa.table.ApaTable`).

What the tables hold, measured against what R's papaja, apaTables and modelsummary give
for the same models (see :mod:`outcomes.apa.shares` and :mod:`outcomes.apa.models`):

=======================  =========================================================
from R                   here
=======================  =========================================================
table number, title,     ``number=``, ``title=`` (title case), a general note that
note (papaja             opens with *Note.* and says what every abbreviation and
``caption``/``note``;    interval is; ``note=`` replaces it
apaTables
``table.number``)
APA numbers (papaja      two decimals; no leading zero where a value cannot exceed 1
``apa_num(gt1=FALSE)``,  (*p*, *R*², proportions, reliabilities, ICC); *p* to three
``apa_p``)               decimals, ``< .001``; a true minus sign; counts with commas
intervals                ``[LL, UL]`` in a column headed "95% CI" (apaTables,
                         modelsummary ``statistic = "conf.int"``)
column spanners, row     ``spanners`` and ``groups`` (papaja ``col_spanners`` and
groups                   ``stub_indents``; modelsummary ``shape``/``group``)
Word and LaTeX output    ``to_docx`` (papaja and apaTables write Word; modelsummary
                         ``output = "table.docx"``), ``to_latex`` with booktabs
                         (modelsummary ``output = "latex"``, papaja in PDF)
mixed models             fixed effects with *b*, *SE*, CI, *t*/*z*, *df*, *p*
                         (papaja ``apa_print.merMod``), then the variance components,
                         ICC, marginal and conditional *R*², clients and coaches
                         (modelsummary's and sjPlot's rows under the coefficients)
relative importance      shares of *R*² and proportions with bootstrap intervals, the
                         model *R*² in the note (beyond apaTables' *sr*² and *R*²);
                         dominance: general (with CI), conditional by model size,
                         complete designations (as domir prints them)
=======================  =========================================================

Examples
--------
>>> import warnings, outcomes as oc
>>> table = oc.load_sample().analysis_table()
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     d = oc.decompose(table, "end_score", oc.FACTORS, covariates=["baseline"])
>>> t = d.to_apa(number=2)
>>> t.columns[:3], t.rows[0][0], t.rows[0][3]
(('Factor', 'Measures', 'Estimate'), 'Client', '.35')
"""

from __future__ import annotations

from typing import Any

from outcomes._errors import UsageError
from outcomes.apa.models import change_parts, fit_parts, generic_parts, reliability_parts
from outcomes.apa.shares import decomposition_parts, dominance_parts, multilevel_shares_parts
from outcomes.apa.table import ApaTable

__all__ = ["ApaTable", "build", "OPTIONS"]

_BUILDERS = {
    "Decomposition": decomposition_parts,
    "Dominance": dominance_parts,
    "MultilevelShares": multilevel_shares_parts,
    "MultilevelFit": fit_parts,
    "Change": change_parts,
    "Reliability": reliability_parts,
}

#: The options each result's table takes beyond number, title and note.
OPTIONS: dict[str, dict[str, tuple[Any, ...]]] = {
    "Decomposition": {"reference": (None, "a reference key, e.g. 'asay-lambert-1999'")},
    "MultilevelFit": {"part": ("fixed", "'fixed' or 'variance'")},
}


def _check(kind: str, options: dict[str, Any]) -> None:
    allowed = OPTIONS.get(kind, {})
    for name, value in options.items():
        if name not in allowed:
            known = ", ".join(f"{k}= ({v[1]})" for k, v in allowed.items()) or "none"
            raise UsageError(f"to_apa() of a {kind} takes no option {name}=; its options: "
                             f"{known}, besides number=, title= and note=.")
        if name == "part" and value not in ("fixed", "variance"):
            raise UsageError(f"part={value!r} is not a part of a {kind} table: use "
                             "part='fixed' (the coefficients) or part='variance'.")


def build(result: Any, *, number: int = 1, title: str | None = None,
          note: str | None = None, **options: Any) -> ApaTable:
    """The APA 7 table of ``result``.

    Parameters
    ----------
    result : Result
        Any result of the toolkit. Shares, dominance, multilevel fits and shares, change
        and reliability have tables made for them; any other result is laid out from its
        tidy ``table()`` by the same rules.
    number : int, default 1
        The table's number in the paper ("Table 2").
    title : str, optional
        The title, in title case; by default one that says what the table shows.
    note : str, optional
        The general note after *Note.*; by default one that defines every abbreviation,
        interval and method in the table. ``*word*`` sets a word in italics.
    **options
        ``reference=`` for shares (a reference split set beside the proportions);
        ``part="variance"`` for a multilevel fit (the Rights & Sterba decomposition
        instead of the coefficients).
    """
    from outcomes.apa._labels import title_case

    kind = type(result).__name__
    _check(kind, options)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise UsageError(f"number={number!r}: a table number is a whole number from 1.")
    parts = _BUILDERS.get(kind, generic_parts)(result, **options)
    return ApaTable(
        number=number,
        title=title if title is not None else title_case(parts["title"]),
        columns=parts["columns"], rows=parts["rows"],
        note=note if note is not None else parts.get("note", ""),
        groups=parts.get("groups", ()), spanners=parts.get("spanners", ()),
    )
