"""Reports: a coaching body's report on its study, and a coach's benchmark, as HTML and PDF.

:func:`build_report` writes ``report.html`` (self-contained: style and figures inline,
nothing fetched when it is viewed, print CSS for paper) and ``report.pdf`` for a body. Its
sections: who is in the data; measurement quality; did clients improve; what drives outcome
(factor shares beside the reference splits, dominance, the coach component and coach
effects in a funnel plot); alliance over sessions; monitoring; a methods and caveats section
written from what was actually run; and a reproducibility footer (package versions, seed,
SHA-256 of the input files).

Privacy (:mod:`outcomes.privacy`): nothing shown rests on fewer than ``k`` clients (counts
are suppressed with complementary cells, statistics withheld, quantiles published only with
``k`` clients beyond them); coaches appear under keyed-hash pseudonyms unless the body asks
for names; no client or engagement identifier is written, and the finished page is searched
for every one of them before anything is saved.

:func:`build_benchmark_report` writes a coach's benchmark (:mod:`outcomes.benchmarking`) the
same way. Templates are Jinja2 with autoescaping: every title, column, instrument and coach
name is escaped.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import stat
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._checks import check_n_boot, check_seed
from outcomes._errors import UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.norms import MAX_N_BOOT
from outcomes.norms.gaps import study_gaps
from outcomes.privacy import (
    DEFAULT_K,
    check_k,
    check_no_identifiers,
    pseudonyms,
    read_salt,
)
from outcomes.reference import REFERENCES
from outcomes.report import _blocks as b
from outcomes.report._render import render, visible_text, write_pdf
from outcomes.study import Study

__all__ = ["ReportOptions", "Report", "build_report", "build_benchmark_report",
           "package_versions"]

_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "jinja2", "weasyprint")


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
    seed : int, optional
        Seed of every bootstrap and random draw.
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
    seed: int | None = None
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
    which rests on at least ``k`` clients.
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
                         "missing": self.missing})


def package_versions() -> list[tuple[str, str]]:
    """Python and the versions of the packages a report depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = [("python", platform.python_version())]
    for name in ("outcomes", *_PACKAGES):
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def _methods(run: Any, options: ReportOptions) -> dict[str, Any]:
    entries = [f"{name}: {text}" for name, text in run.log if name != "Warning"]
    warnings_seen = [text for name, text in run.log if name == "Warning"]
    blocks = [b.text("What was estimated, from how many clients, and what to keep in mind."),
              b.items(entries), b.heading("Caveats"), b.items([
                  "These are observational data: the factor shares and coach effects describe "
                  "associations among this body's clients, not what causes change.",
                  "Asay & Lambert's 40/30/15/15 is an expert judgement of what improvement is "
                  "due to, not a split of variance; the comparison puts the estimate on the "
                  "reference's own denominator, and close agreement is not a confirmation.",
                  "Missing data: each analysis uses the clients who have every value it needs "
                  "(the numbers left out are given above); nothing was imputed.",
                  f"Privacy: no number rests on fewer than {options.k} clients; small counts "
                  "are hidden with further cells so that totals cannot reveal them; "
                  + ("coaches are named as the body asked." if options.coach_names else
                     "coaches appear under pseudonyms made with a keyed hash (HMAC-SHA256) "
                     "whose key is kept apart from this report.")
                  + " No client or engagement identifier appears."])]
    if warnings_seen:
        blocks += [b.heading("Messages from the estimation"), b.items(warnings_seen[:10])]
    return b.section("methods", "Methods and caveats", blocks)


def _footer(study: Study, options: ReportOptions, engine: str, command: str | None
            ) -> list[tuple[str, str]]:
    from outcomes.norms import input_digest

    source = Path(study.source or "")
    return [("Made", f"{_dt.date.today().isoformat()} by outcomes"),
            ("Input", f"{source.name or 'in memory'} (SHA-256 of its files: "
                      f"{input_digest(study.source) or 'n/a'})"),
            ("Seed", str(options.seed)), ("Bootstrap replicates", str(options.n_boot)),
            ("Suppression threshold k", str(options.k)),
            ("Reference split", options.reference),
            ("Coaches", "named" if options.coach_names else "pseudonymised (keyed hash)"),
            ("PDF", engine), ("Command", command or "build_report()"),
            ("Packages", ", ".join(f"{n} {v}" for n, v in package_versions()))]


def _salted_names(study: Study, options: ReportOptions, salt: bytes | None,
                  salt_file: str | Path | None, out: Path) -> dict[str, str]:
    coaches = study.valid("engagements")["coach_id"].astype(str).unique()
    if options.coach_names:
        return {c: c for c in coaches}
    if salt is None:
        path = Path(salt_file) if salt_file else Path.home() / ".outcomes" / "pseudonym.salt"
        if path.resolve().is_relative_to(out.resolve()):
            raise UsageError(f"the salt file {path} lies inside the output folder {out}; keep "
                             "it elsewhere, away from the report.")
        _check_salt_file(path)
        salt = read_salt(path)
    return pseudonyms(coaches, salt)


def _check_salt_file(path: Path) -> None:
    """Refuse a salt file that other users can change: whoever writes it sets the pseudonyms
    (and can make them match a list of guessed coach ids)."""
    if os.name != "posix" or not path.exists():
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(f"the salt file {path} can be written by other users "
                         f"({stat.filemode(mode)}); a key that others can change does not "
                         f"keep coaches private. Make it yours alone: chmod 600 {path}")


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
    from outcomes.report._body import Run, improvement, measurement, who
    from outcomes.report._drivers import alliance, drivers, monitoring

    started = time.perf_counter()
    options = options or ReportOptions()
    if not isinstance(study, Study):
        from outcomes.study import read_study

        study = read_study(study)
    out = Path(out)
    names = _salted_names(study, options, salt, salt_file, out)
    run = Run(study=study, table=study.analysis_table(), options=options, names=names)
    if len(run.table) < options.k:
        raise UsageError(f"the study has {len(run.table)} consenting engagements, fewer than "
                         f"k = {options.k}: there is nothing a report could show.")
    run.gaps.update(study_gaps(study, run.table, k=options.k))
    sections = [who(run), measurement(run), improvement(run)[0], drivers(run), alliance(run),
                monitoring(run)]
    sections.append(_methods(run, options))
    context = {"title": options.title, "generator": "outcomes",
               "subtitle": options.subtitle or f"{Path(study.source or 'study').name}: "
                           f"{b.count(run.facts.get('engagements'), options.k)} engagements, "
                           f"{run.facts.get('coaches')} coaches",
               "privacy": f"Every number in this report rests on at least {options.k} clients. "
                          + ("Coaches are named." if options.coach_names else
                             "Coaches appear under pseudonyms."),
               "sections": sections}
    engagements = study.valid("engagements")
    identifiers = {"client_id": engagements["client_id"],
                   "engagement_id": engagements["engagement_id"]}
    if not options.coach_names:
        identifiers["coach_id"] = engagements["coach_id"]
    return _write(out, "report", context, identifiers, pdf, started,
                  lambda engine: _footer(study, options, engine, command), options.k, run)


def _write(out: Path, stem: str, context: dict[str, Any], identifiers: dict[str, Any],
           pdf: bool, started: float, footer: Any, k: int, run: Any) -> Report:
    from outcomes.report._render import pdf_engine

    engine = pdf_engine() if pdf else "none"
    html = render("report.html.j2", {**context, "footer": footer(engine)})
    check_no_identifiers(visible_text(html), identifiers, where=f"the {stem}")
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = None
    if pdf:
        pdf_path = out / f"{stem}.pdf"
        paragraphs = [text for s in context["sections"] for text in [s["title"].upper()] + [
            blk["text"] for blk in s["blocks"] if blk["kind"] in ("text", "warning", "note")]]
        engine = write_pdf(html, pdf_path, fallback={"title": context["title"],
                                                     "paragraphs": paragraphs,
                                                     "figures": run.figures})
    return Report(html=html_path, pdf=pdf_path, title=context["title"], k=int(k),
                  pdf_engine=engine if pdf else None, seconds=time.perf_counter() - started,
                  facts=dict(run.facts), sections=tuple(s["title"] for s in context["sections"]),
                  methods=tuple(f"{n}: {t}" for n, t in run.log),
                  missing=dict(getattr(run, "gaps", {})))


def build_benchmark_report(result: Any, *, out: str | Path, title: str | None = None,
                           pdf: bool = True, identifiers: Any = (),
                           command: str | None = None) -> Report:
    """Write a coach's benchmark (:func:`outcomes.benchmarking.benchmark`) as ``benchmark.html``
    and ``benchmark.pdf``; ``identifiers`` (the coach's client codes) must not appear."""
    from outcomes.report._coach import benchmark_sections

    started = time.perf_counter()
    run, sections = benchmark_sections(result)
    context = {"title": title or "Your practice beside your body's norms",
               "generator": "outcomes",
               "subtitle": f"{result.n_clients} clients, against the norms of "
                           f"{result.norms['title']} ({result.norms['created']})",
               "privacy": "This report holds your own clients' figures, referred to by the "
                          "rows of your workbook, beside aggregates of the body's clients; "
                          "nobody else's data are in it.",
               "sections": sections}

    def footer(engine: str) -> list[tuple[str, str]]:
        return [("Made", f"{_dt.date.today().isoformat()} by outcomes"),
                ("Practice", Path(str(result.source or "")).name or "in memory"),
                ("Norms", f"{result.norms['title']}, format version {result.norms['version']}"
                          f", k = {result.norms['k']}"),
                ("PDF", engine), ("Command", command or "build_benchmark_report()"),
                ("Packages", ", ".join(f"{n} {v}" for n, v in package_versions()))]

    return _write(Path(out), "benchmark", context, {"client code": list(identifiers)}, pdf,
                  started, footer, int(result.norms["k"]), run)
