"""Commands for bodies and coaches: ``outcomes report``, ``norms``, ``template``, ``benchmark``."""

from __future__ import annotations

import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from outcomes._checks import DEFAULT_SEED
from outcomes._errors import DataError, UsageError
from outcomes.cli._common import (
    emit_json,
    json_option,
    load_study,
    main,
    n_boot_option,
    seed_line,
    seed_option,
)


def _command_line() -> str:
    return "outcomes " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _pick(given: Any, config: dict[str, Any], key: str, default: Any) -> Any:
    return given if given is not None else config.get(key, default)


def _study_to_write_beside(path: str, out: str, *, example: str | None = None) -> Any:
    """The study at ``path``, once ``out`` is known to be none of its files or folders."""
    from outcomes.io.writing import check_output, source_files

    check_output(out, [path], folder=False, example=example)
    study = load_study(path)
    check_output(out, source_files(study.tables), folder=False, example=example)
    return study


@main.command("report")
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", type=click.Path(), required=True,
              help="Folder for report.html and report.pdf.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML file with any of: title, subtitle, reference, k, seed, n_boot, "
                   "coach_names, round_counts, salt_file, outcome, covariates, [factors], pdf.")
@click.option("--title", help="Title at the top of the report [Coaching outcomes report].")
@click.option("--subtitle", help="Line under the title [the study and its size].")
@click.option("--reference", help="Reference split for the factor shares "
                                  "[asay-lambert-1999]; see `outcomes references`.")
@click.option("--k", "k", type=int, help="Suppression threshold: no number rests on fewer "
                                         "clients [5; at least 3].")
@seed_option("Seed of the bootstrap and random draws [fixed; recorded in the report].",
             default=None)
@n_boot_option(None, "Bootstrap replicates for intervals [200].")
@click.option("--salt-file", type=click.Path(dir_okay=False),
              help="Secret key of the coach pseudonyms, created if missing; keep it outside "
                   "the output folder [~/.outcomes/pseudonym.salt].")
@click.option("--coach-names", is_flag=True, default=None,
              help="Show coach ids instead of pseudonyms.")
@click.option("--round-counts", is_flag=True, default=None,
              help="Round every published count and total to the nearest 5 (percentages "
                   "from the rounded counts).")
@click.option("--pdf/--no-pdf", default=None,
              help="Write the PDF beside the HTML, or the HTML only [--pdf].")
@json_option("Print files and key numbers as JSON.")
def report_command(path: str, out: str, config_file: str | None, title: str | None,
                   subtitle: str | None, reference: str | None, k: int | None,
                   seed: int | None, n_boot: int | None, salt_file: str | None,
                   coach_names: bool | None, round_counts: bool | None, pdf: bool | None,
                   as_json: bool) -> None:
    """A coaching body's report on a study: self-contained HTML and PDF.

    PATH is a study folder or study.toml. The report opens with a one-page summary, then
    covers who is in the data, measurement quality, improvement, what drives outcome (factor
    shares beside reference splits, dominance, the coach component), coaches (a funnel plot
    and the coaches who stand out), alliance over sessions, monitoring, methods and caveats,
    a technical appendix, and a reproducibility footer; coach-effects.csv is written beside
    it. No number rests on fewer than k clients; coaches appear under keyed-hash pseudonyms
    unless --coach-names is given; no client or engagement identifier is written.
    """
    from outcomes._chromium import end_started, started_ahead

    with started_ahead(pdf is not False):  # Chromium starts beside the imports below
        from outcomes.cli._config import read_report_config
        from outcomes.report import ReportOptions, build_report

        config = read_report_config(config_file)
        factors = config.get("factors")
        options = ReportOptions(
            title=_pick(title, config, "title", "Coaching outcomes report"),
            subtitle=_pick(subtitle, config, "subtitle", ""),
            reference=_pick(reference, config, "reference", "asay-lambert-1999"),
            k=_pick(k, config, "k", 5), seed=_pick(seed, config, "seed", DEFAULT_SEED),
            n_boot=_pick(n_boot, config, "n_boot", 200),
            coach_names=bool(_pick(coach_names, config, "coach_names", False)),
            round_counts=bool(_pick(round_counts, config, "round_counts", False)),
            outcome=config.get("outcome", "end_score"),
            covariates=tuple(config.get("covariates", ("baseline",))),
            factors={str(n): list(c) for n, c in factors.items()} if factors else None)
        salt = _pick(salt_file, config, "salt_file", None)
        if salt and Path(salt).resolve().is_relative_to(Path(out).resolve()):
            raise UsageError(f"--salt-file {salt} lies inside the output folder {out}; keep the "
                             "key elsewhere, away from the report.")
        study = _study_to_write_beside(path, out, example="report/")
        with_pdf = bool(_pick(pdf, config, "pdf", True))
        if not with_pdf:
            end_started()  # the config file turned the PDF off
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = build_report(study, out=out, options=options, salt_file=salt,
                                  pdf=with_pdf, command=_command_line())
        if as_json:
            emit_json(result.to_dict())
        else:
            click.echo(result.summary())


@main.command("norms")
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="The norms file to write (JSON), e.g. norms.json.")
@click.option("--k", "k", type=int, default=5, show_default=True,
              help="Fewest clients (and coaches) behind any number; at least 3.")
@click.option("--bands", type=int, default=4, show_default=True, help="Intake score bands.")
@n_boot_option(200, "Bootstrap replicates for the factor-share intervals.")
@seed_option()
@click.option("--title", help="The body's name for its norms [the study folder's name].")
@click.option("--exact-counts", is_flag=True,
              help="Publish exact counts (by default every count is rounded to 5).")
@click.option("--privacy", type=click.Choice(["rules", "dp"]), default="rules",
              show_default=True,
              help="rules: disclosure-control rules; dp: the distributions with differential "
                   "privacy (needs --epsilon; the model parts are then withheld).")
@click.option("--epsilon", type=float, default=None,
              help="The privacy budget of --privacy dp, e.g. 1.0 (smaller: more private, "
                   "noisier). The noise is drawn by OpenDP unless --seed is given, which is "
                   "for testing only.")
@json_option("Print what was written as JSON.")
def norms_command(path: str, out: str, k: int, bands: int, n_boot: int, seed: int | None,
                  title: str | None, exact_counts: bool, privacy: str, epsilon: float | None,
                  as_json: bool) -> None:
    """A body's norms: aggregates a coach can benchmark a practice against.

    PATH is a study folder or study.toml. The norms hold distributions by intake band, the
    case-mix model of expected change, the spread of coach effects, change, factor shares
    and the expected course of the ORS, with k applied and engagements without research
    consent left out. The file is versioned and checked against its JSON Schema.
    """
    from outcomes.norms import build_norms

    if privacy == "dp" and epsilon is None:
        raise UsageError("--privacy dp needs --epsilon E, the privacy budget (e.g. --epsilon "
                         "1; smaller is more private and noisier).")
    if privacy != "dp" and epsilon is not None:
        raise UsageError("--epsilon is the budget of --privacy dp: add --privacy dp, or leave "
                         "--epsilon out.")
    if privacy == "dp" and click.get_current_context().get_parameter_source("seed") \
            is click.core.ParameterSource.DEFAULT:
        seed = None  # a real private release: OpenDP's samplers, never a fixed seed
    study = _study_to_write_beside(path, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        norms = build_norms(study, k=k, bands=bands, n_boot=n_boot, seed=seed,
                            title=title, base=None if exact_counts else 5,
                            privacy=privacy, epsilon=epsilon)  # type: ignore[arg-type]
    written = norms.write(out)
    doc = norms.document
    if as_json:
        effects = norms.section("coach_effects") or {}
        emit_json({"file": str(written), "format": doc["format"], "version": doc["version"],
                   "k": doc["k"], "sample": doc["sample"], "bands": doc["bands"]["labels"],
                   "tau": effects.get("tau"), "icc": effects.get("icc"), "seed": seed,
                   "privacy": privacy, "epsilon": doc["privacy"].get("epsilon"),
                   "withheld": sorted(name for name, part in doc.items()
                                      if isinstance(part, dict) and "withheld" in part)})
    else:
        click.echo(norms.summary())
        click.echo(seed_line(seed) if seed is not None else "Noise drawn by OpenDP's "
                   "samplers (no seed: a private release never repeats its noise).")
        click.echo(f"\nWrote {written}.")


@main.command("template")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="The workbook to write, e.g. my_practice.xlsx.")
@click.option("--force", is_flag=True,
              help="Replace a file already at --out (by default it is kept: it may be a "
                   "filled-in workbook).")
@json_option("Print what was written as JSON.")
def template_command(out: str, force: bool, as_json: bool) -> None:
    """The Excel workbook a coach fills in for `outcomes benchmark`.

    Sheets: "read me"; "clients" (one row per client: client code, sponsor, status,
    intake_ors, end_ors, sessions, early_srs); "sessions" (optional: client, session, ors,
    srs). Every column has a note and a validation rule; the grey example rows are skipped.
    """
    from outcomes.benchmarking import CLIENT_COLUMNS, SESSION_COLUMNS, write_template

    if not out.lower().endswith(".xlsx"):
        raise UsageError(f"--out {out}: give a file name ending in .xlsx.")
    if Path(out).exists() and not force:
        raise UsageError(f"--out {out} already exists and may be a filled-in workbook; it was "
                         "left as it is. Give another file name, or add --force to replace it.")
    written = write_template(out, overwrite=force)
    if as_json:
        emit_json({"file": str(written), "sheets": {"clients": list(CLIENT_COLUMNS),
                                                    "sessions": list(SESSION_COLUMNS)}})
    else:
        click.echo(f"Wrote {written}. Fill in the clients sheet (and the sessions sheet if you "
                   "have session ratings), then run `outcomes benchmark`.")


@main.command("benchmark")
@click.argument("path", type=click.Path(exists=True))
@click.option("--norms", "norms_file", type=click.Path(exists=True, dir_okay=False),
              required=True, help="The body's norms file (from `outcomes norms`).")
@click.option("--out", type=click.Path(), required=True,
              help="Folder for benchmark.html and benchmark.pdf.")
@click.option("--coach", help="With a study folder as PATH: the coach_id to benchmark.")
@click.option("--title", help="Title of the report.")
@click.option("--pdf/--no-pdf", default=True, show_default=True,
              help="Write the PDF beside the HTML, or the HTML only.")
@json_option("Print the benchmark as JSON.")
def benchmark_command(path: str, norms_file: str, out: str, coach: str | None,
                      title: str | None, pdf: bool, as_json: bool) -> None:
    """A coach's practice against a body's norms, as HTML and PDF.

    PATH is the workbook from `outcomes template`, filled in; or a study folder with --coach
    ID. The report sets each client's change beside the change expected for clients like
    them, estimates the coach's standing among coaches as an interval, compares the session
    ratings with the body's, flags clients to look at, and says what the numbers can and
    cannot say. Clients are referred to by workbook row.
    """
    from outcomes.benchmarking import (
        WorkbookError,
        benchmark,
        practice_from_study,
        read_practice,
    )
    from outcomes.io.writing import check_output
    from outcomes.norms import read_norms
    from outcomes.report import build_benchmark_report

    check_output(out, [path, norms_file], folder=False, example="my_benchmark/")
    norms = read_norms(norms_file)
    target = Path(path)
    if target.suffix.lower() in (".xlsx", ".xlsm") and coach is None:
        practice = read_practice(target, errors="report")
    elif coach is not None:
        practice = practice_from_study(load_study(path), coach)
    else:
        raise UsageError(f"{path}: give the workbook from `outcomes template`, or a study "
                         "folder with --coach ID.")
    problems = practice.problems
    if practice.clients.empty and len(problems):
        raise WorkbookError(problems, file=str(path), lead="nothing can be benchmarked: no "
                            "client row can be used, so no report was written")
    if practice.clients.empty:
        raise DataError("the clients sheet has no client rows", file=str(path),
                        fix="Write one row per client below the headings (the grey example "
                            "row does not count).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = benchmark(practice, norms)
        written = build_benchmark_report(result, out=out, title=title, pdf=pdf,
                                         identifiers=practice.clients["client"],
                                         command=_command_line())
    if as_json:
        emit_json({**result.to_dict(), "files": written.to_dict(),
                   "problems": problems.drop(columns="file").to_dict(orient="records")})
    else:
        click.echo(result.summary())
        click.echo(f"\nWrote {written.html}" + (f" and {written.pdf}." if written.pdf else "."))
    if len(problems):  # the report is written without the rows set aside: exit 1
        raise WorkbookError(problems, file=str(path), lead=f"the benchmark was written without "
                            f"{practice.left_out()}, which cannot be used")
