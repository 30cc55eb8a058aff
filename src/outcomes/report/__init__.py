"""Reports: a coaching body's report on its study, and a coach's benchmark, as HTML and PDF.

:func:`build_report` writes ``report.html`` (self-contained: style and figures inline,
nothing fetched when it is viewed, print CSS for paper), ``report.pdf`` and
``coach-effects.csv`` for a body. Its sections: a one-page summary; who is in the data;
measurement quality; did clients improve; what drives outcome (factor shares beside the
reference splits, dominance, the coach component); coaches (a funnel plot and the coaches
who stand out by one stated rule); alliance over sessions; monitoring; methods and caveats
for a board; a technical appendix for analysts; and a reproducibility footer (package
versions, seed, SHA-256 of the input files). Each section opens with what it found.

Privacy (:mod:`outcomes.privacy`): every number printed is released by one
:class:`~outcomes.privacy.disclosure.Disclosure` (``Report.disclosure`` keeps its log):
nothing rests on fewer than ``k`` clients, counts are suppressed with complementary cells
(and rounded with their totals under ``round_counts``), percentages come from published
counts, means sit on a grid coarse enough that two releases cannot be differenced, and
withheld numbers read "withheld" whatever the reason. Coaches appear under keyed-hash
pseudonyms unless the body asks for names; no client or engagement identifier is written,
and the finished page is searched for every one of them before anything is saved.

Fast: every model is fitted once and shared between the sections and the summary. On
Linux two forked processes start while the study is read: one imports matplotlib and draws
every figure (once, as a PNG that the HTML and the PDF share); the other imports
statsmodels and fits the multiple-imputation shares, the session model and the
monitoring's expected course, so that this process imports neither. Chromium is started
ahead (by ``outcomes report`` before it imports anything heavy, else before the last
sections), and prints the page once it is written (WeasyPrint where Chromium is not
installed). BLAS runs on one thread (the models multiply many small
matrices, which threads only slow down). ``Report.stages`` gives the seconds each step took
(the CPU seconds of this process; the others' are not among them).

Reproducible: the seed is fixed by default (:data:`~outcomes._checks.DEFAULT_SEED`) and
recorded in the footer; the date in the footer (``SOURCE_DATE_EPOCH`` when set) is the only
part of two runs' HTML that can differ.

:func:`build_benchmark_report` writes a coach's benchmark (:mod:`outcomes.benchmarking`) the
same way. Templates are Jinja2 with autoescaping: every title, column, instrument and coach
name is escaped.
"""

from __future__ import annotations

import datetime as _dt
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import DEFAULT_SEED, check_n_boot, check_seed
from outcomes._errors import UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.norms import MAX_N_BOOT
from outcomes.norms.gaps import study_gaps
from outcomes.privacy import (
    DEFAULT_K,
    check_k,
    check_no_identifiers,
)
from outcomes.reference import REFERENCES
from outcomes.report._provenance import footer as _footer
from outcomes.report._provenance import made as made
from outcomes.report._provenance import package_versions
from outcomes.report._provenance import salted_names as _salted_names
from outcomes.report._render import render, start_printer, visible_text, write_pdf
from outcomes.study import Study

__all__ = ["ReportOptions", "Report", "build_report", "build_benchmark_report",
           "package_versions", "PDF_ENGINES"]

_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "jinja2", "weasyprint")
#: The PDF engines of a body's report, fastest first (:mod:`outcomes.report._render`).
PDF_ENGINES = ("chromium", "weasyprint")


@dataclass(frozen=True)
class ReportOptions:
    """What a body's report shows and how (every field can come from a config file).

    Parameters
    ----------
    title, subtitle : str
        Shown at the top (escaped).
    reference : str, default "asay-lambert-1999"
        The reference split the factor shares are set beside (a key of ``REFERENCES``).
    k : int, default 5
        Suppression threshold (at least 3).
    seed : int, default DEFAULT_SEED
        Seed of every bootstrap and random draw (fixed, so that two runs give the same
        report; recorded in its footer). ``None`` draws fresh numbers each time.
    n_boot : int, default 200
        Bootstrap replicates for the intervals of the factor shares and omega (at most
        :data:`~outcomes.norms.build.MAX_N_BOOT`, 100,000).
    coach_names : bool, default False
        Show coach ids instead of pseudonyms.
    round_counts : bool, default False
        Round published counts to the nearest 5.
    outcome : str, default "end_score"
        Outcome column of the analysis table for the factor shares.
    covariates : tuple of str, default ("baseline",)
        Always-in adjusters of the factor shares.
    factors : mapping, optional
        Factor groups (default :data:`outcomes.analysis.FACTORS`).
    """

    title: str = "Coaching outcomes report"
    subtitle: str = ""
    reference: str = "asay-lambert-1999"
    k: int = DEFAULT_K
    seed: int | None = DEFAULT_SEED
    n_boot: int = 200
    coach_names: bool = False
    round_counts: bool = False
    outcome: str = "end_score"
    covariates: tuple[str, ...] = ("baseline",)
    factors: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        check_k(self.k)
        if self.reference not in REFERENCES:
            raise UsageError(f"reference {self.reference!r} is not known; use one of "
                             f"{', '.join(REFERENCES)}.")
        check_n_boot(self.n_boot, "ReportOptions")
        if self.n_boot > MAX_N_BOOT:
            raise UsageError(f"ReportOptions: n_boot = {self.n_boot:,} is more than "
                             f"{MAX_N_BOOT:,}, the most allowed; 1,000 to 2,000 give stable "
                             "95 % intervals.")
        check_seed(self.seed, "ReportOptions")


@dataclass(frozen=True, repr=False)
class Report(Result):
    """Where a report was written and the key numbers in it.

    ``table()`` lists the key numbers (``quantity``, ``value``); ``plot()`` draws the counts
    among them (engagements, coaches, sessions, clients with both scores ...), each of
    which rests on at least ``k`` clients. ``stages`` gives each step of the build (reading,
    every section, the HTML, the PDF) with its seconds of wall time and of CPU time.
    """

    html: Path
    pdf: Path | None
    title: str
    k: int
    pdf_engine: str | None
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    sections: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)
    disclosure: Any = None
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The key numbers, one row each (``quantity``, ``value``)."""
        return pd.DataFrame({"quantity": list(self.facts), "value": list(self.facts.values())})

    @property
    def engine(self) -> str | None:
        """Deprecated: the PDF engine is :attr:`pdf_engine` (``engine`` means pandas or Dask)."""
        warnings.warn("Report.engine is now Report.pdf_engine; the old name goes in the next "
                      "release.", FutureWarning, stacklevel=2)
        return self.pdf_engine

    def headline(self) -> str:
        """The title, the files written and k."""
        files = self.html.name + (f" and {self.pdf.name}" if self.pdf else "")
        return f"{self.title}: {len(self.sections)} sections in {files}, k = {self.k}"

    def summary(self) -> Summary:
        """Files written and the key numbers."""
        files = f"{self.html}" + (f" and {self.pdf} ({self.pdf_engine})" if self.pdf else "")
        missing = "".join(f"\nMissing: {text}" for text in self.missing.values())
        return Summary(f"{self.title}: wrote {files} in {self.seconds:.1f} s (k = {self.k}).\n"
                       + text_table(self.table()) + missing)

    def plot(self, ax: Any = None) -> Any:
        """The counts among the key numbers as bars, with k marked. Returns the Axes."""
        ax = axes_or_new(ax)
        counts = {name: value for name, value in self.facts.items()
                  if isinstance(value, int | np.integer) and not isinstance(value, bool)}
        names = list(counts)
        ax.barh(range(len(names)), list(counts.values()), color=PALETTE[0])
        ax.axvline(self.k, color="black", linestyle=":", linewidth=1, label=f"k = {self.k}")
        ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("count")
        ax.set_title(self.title)
        ax.legend(frameon=False)
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return jsonable({"html": str(self.html), "pdf": str(self.pdf) if self.pdf else None,
                         "title": self.title, "k": self.k, "pdf_engine": self.pdf_engine,
                         "seconds": self.seconds, "sections": list(self.sections),
                         "facts": self.facts, "methods": list(self.methods),
                         "missing": self.missing, "stages": self.stages})


def build_report(study: Study | str | Path, *, out: str | Path,
                 options: ReportOptions | None = None, salt: bytes | None = None,
                 salt_file: str | Path | None = None, pdf: bool = True,
                 command: str | None = None) -> Report:
    """Write a body's report on a study as ``report.html`` and ``report.pdf`` in ``out``.

    Parameters
    ----------
    study : Study or path
        The study (or a folder / study.toml to read it from).
    out : path
        Output folder (created if missing).
    options : ReportOptions, optional
        What to show; see :class:`ReportOptions`.
    salt, salt_file : optional
        The secret for coach pseudonyms, or the file holding it (created if missing; never
        inside ``out``). Default file: ``~/.outcomes/pseudonym.salt``.
    pdf : bool, default True
        Also write the PDF.
    command : str, optional
        The command line that made the report, for the footer.

    Returns
    -------
    Report
    """
    import scipy.linalg  # noqa: F401  (loads SciPy's own BLAS, so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        return _build(study, out=Path(out), options=options or ReportOptions(), salt=salt,
                      salt_file=salt_file, pdf=pdf, command=command, started=started)


def _build(study: Study | str | Path, *, out: Path, options: ReportOptions,
           salt: bytes | None, salt_file: str | Path | None, pdf: bool, command: str | None,
           started: float) -> Report:
    from outcomes.report._body import Run, Stopwatch, start_helpers, stop_helpers

    clock = Stopwatch()
    drawer, worker = start_helpers()  # busy while the study is read
    run = None
    try:
        if not isinstance(study, Study):
            from outcomes.study import read_study

            study = read_study(study)
        names = _salted_names(study, options, salt, salt_file, out)
        table = study.analysis_table()
        clock.stop("reading and validating the study")
        run = Run(study=study, table=table, options=options, names=names, clock=clock,
                  drawer=drawer, worker=worker)
        if len(run.table) < options.k:
            raise UsageError(f"the study has {len(run.table)} consenting engagements, fewer "
                             f"than k = {options.k}: there is nothing a report could show.")
        run.gaps.update(study_gaps(study, run.table, k=options.k))
        _fit_ahead(run)
        clock.stop("starting the second process")
        sections = _sections(run, pdf)
        run.close()
        who = run.findings["who"]
        context = {"title": options.title, "generator": "outcomes",
                   "subtitle": options.subtitle or f"{Path(study.source or 'study').name}: "
                               f"{who['engagements']} engagements, {who['coaches']} coaches",
                   "privacy": f"Every number in this report rests on at least {options.k} "
                              "clients; a number that would rest on fewer reads \u201cwithheld"
                              "\u201d. " + ("Coaches are named." if options.coach_names else
                                            "Coaches appear under pseudonyms."),
                   "sections": sections}
        engagements = study.valid("engagements")
        identifiers = {"client_id": engagements["client_id"],
                       "engagement_id": engagements["engagement_id"]}
        if not options.coach_names:
            identifiers["coach_id"] = engagements["coach_id"]
        return _write(out, "report", context, identifiers, pdf, started,
                      lambda engine: _footer(study, options, engine, command), options.k, run,
                      files=run.files, prefer=PDF_ENGINES, printer=run.printer)
    finally:
        if run is not None:
            run.close()  # the worker and the drawer
        stop_helpers(drawer if run is None else None, worker if run is None else False,
                     None if run is None else run.printer)


def _fit_ahead(run: Any) -> None:
    """Start the slowest models in the worker, in the order the sections need them: the
    multiple-imputation shares with the dropout sensitivity, the session model, then the
    monitoring's expected course (the worker imported statsmodels while this process read
    the study; this one does not import it)."""
    from outcomes.report import _itt, _sessions
    from outcomes.report._drivers import factors_of

    _itt.fit_ahead(run, factors_of(run))
    _sessions.fit_ahead(run)


def _sections(run: Any, pdf: bool) -> list[dict[str, Any]]:
    """Every section in reading order, the summary (built last, from what the others
    found) first. Chromium is started (for the PDF) before the last sections, which mostly
    wait for the other processes' models, unless the command line started it ahead."""
    from outcomes.report._appendix import appendix
    from outcomes.report._body import who
    from outcomes.report._coaches import coaches, draw_ahead
    from outcomes.report._drivers import drivers
    from outcomes.report._measures import improvement, measurement
    from outcomes.report._sessions import alliance, monitoring
    from outcomes.report._summary import methods, summary

    body = []
    for section in (who, measurement, improvement, drivers, coaches, alliance, monitoring,
                    methods, appendix):
        if section is drivers:  # drawn while the worker fits the imputed shares
            draw_ahead(run)
        if section is coaches and pdf:
            run.printer = start_printer(PDF_ENGINES)
        body.append(section(run))
        run.clock.stop(f"section: {body[-1]['title']}")
    order = [("summary", "Summary")] + [(s["id"], s["title"]) for s in body]
    first = summary(run, order)
    run.finish_figures()
    return [first, *body]


def _write(out: Path, stem: str, context: dict[str, Any], identifiers: dict[str, Any],
           pdf: bool, started: float, footer: Any, k: int, run: Any,
           files: dict[str, pd.DataFrame] | None = None,
           prefer: tuple[str, ...] = ("weasyprint",), printer: Any = None) -> Report:
    from outcomes.report._render import pdf_engine

    engine = pdf_engine(prefer) if pdf else "none"
    html_path, html = _write_html(out, stem, context, footer(engine), identifiers)
    if files:
        from outcomes.io.writing import neutralise_formulas, write_table

        for name, frame in files.items():  # the text the file will hold, checked before writing
            text = neutralise_formulas(frame).to_csv(index=False)
            check_no_identifiers(text, identifiers, where=name)
            write_table(frame, out / name)
    clock = getattr(run, "clock", None)
    if clock is not None:
        clock.stop("HTML")
    pdf_path = None
    if pdf:
        pdf_path = out / f"{stem}.pdf"
        paragraphs = [text for s in context["sections"] for text in [s["title"].upper()] + [
            blk["text"] for blk in s["blocks"]
            if blk["kind"] in ("lead", "text", "warning", "note")]]
        fallback = {"title": context["title"], "paragraphs": paragraphs,
                    "figures": run.figures}
        used = write_pdf(html, pdf_path, fallback=fallback, prefer=prefer, source=html_path,
                         printer=printer)
        if used != engine:  # the engine failed at run time: the footer names the one used
            html_path, html = _write_html(out, stem, context, footer(used), identifiers)
            used = write_pdf(html, pdf_path, fallback=fallback, prefer=(used,),
                             source=html_path)
        engine = used
        if clock is not None:
            clock.stop(f"PDF ({engine})")
    return Report(html=html_path, pdf=pdf_path, title=context["title"], k=int(k),
                  pdf_engine=engine if pdf else None, seconds=time.perf_counter() - started,
                  facts=dict(run.facts), sections=tuple(s["title"] for s in context["sections"]),
                  methods=tuple(f"{n}: {t}" for n, t in run.log),
                  missing=dict(getattr(run, "gaps", {})),
                  disclosure=getattr(run, "gate", None),
                  stages=dict(clock.seconds) if clock is not None else {})


def _write_html(out: Path, stem: str, context: dict[str, Any], footer: Any,
                identifiers: dict[str, Any]) -> tuple[Path, str]:
    """Render the page, check it for identifiers, and write it."""
    html = render("report.html.j2", {**context, "footer": footer})
    check_no_identifiers(visible_text(html), identifiers, where=f"the {stem}")
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    return html_path, html


def build_benchmark_report(result: Any, *, out: str | Path, title: str | None = None,
                           pdf: bool = True, identifiers: Any = (),
                           command: str | None = None) -> Report:
    """Write a coach's benchmark (:func:`outcomes.benchmarking.benchmark`) as ``benchmark.html``
    and ``benchmark.pdf``; ``identifiers`` (the coach's client codes) must not appear.

    The page opens with one headline decided by one stated rule, then the detail; every
    number on it is released through a :class:`~outcomes.benchmarking.gate.BenchmarkGate`,
    whose log is the returned report's ``disclosure``.
    """
    from outcomes.report._coach import benchmark_page
    from outcomes.report._render import pdf_engine

    started = time.perf_counter()
    run, headline, sections = benchmark_page(result)
    norms = result.norms
    context = {"title": title or "Your practice beside your body's norms",
               "generator": "outcomes", "headline": headline, "sections": sections,
               "subtitle": f"{run.gate.count(result.n_clients, 'clients')} clients, against "
                           f"the norms of {norms['title']} ({norms['created']})",
               "privacy": "This report holds your own clients' figures, referred to by the "
                          "rows of your workbook, beside figures of the body's clients. "
                          f"Nothing in it about a group of your clients rests on fewer than "
                          f"{run.gate.setting(norms['k'], 'k')} of them, so that you can share "
                          "it with a supervisor; nobody else's data are in it."}
    engine = pdf_engine() if pdf else "none"
    footer = [("Made", f"{_dt.date.today().isoformat()} by outcomes"),
              ("Practice", Path(str(result.source or "")).name or "in memory"),
              ("Norms", f"{norms['title']}, format version {norms['version']}, "
                        f"k = {norms['k']}"),
              ("PDF", engine), ("Command", command or "build_benchmark_report()"),
              ("Packages", ", ".join(f"{n} {v}" for n, v in package_versions()))]
    html = render("benchmark.html.j2", {**context, "footer": footer})
    check_no_identifiers(visible_text(html), {"client code": list(identifiers)},
                         where="the benchmark")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / "benchmark.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = None
    if pdf:
        pdf_path = folder / "benchmark.pdf"
        paragraphs = [headline["headline"], *headline["detail"]] + [
            text for s in sections for text in [s["title"].upper()] + [
                blk["text"] for blk in s["blocks"] if blk["kind"] in ("text", "warning",
                                                                       "note")]]
        engine = write_pdf(html, pdf_path, fallback={"title": context["title"],
                                                     "paragraphs": paragraphs,
                                                     "figures": run.figures})
    return Report(html=html_path, pdf=pdf_path, title=str(context["title"]), k=int(norms["k"]),
                  pdf_engine=engine if pdf else None, seconds=time.perf_counter() - started,
                  facts=dict(run.facts), sections=tuple(s["title"] for s in sections),
                  methods=tuple(f"{n}: {t}" for n, t in run.log), disclosure=run.gate)
