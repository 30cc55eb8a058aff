"""The ``outcomes decompose`` command: each factor's share of outcome, beside a reference."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from outcomes._errors import UsageError
from outcomes.cli._common import (
    check_reference,
    ci_level_option,
    ci_method_option,
    cluster_option,
    collect_notes,
    echo_notes,
    emit_json,
    factor_map,
    flat_table,
    json_option,
    load_study,
    main,
    missing_option,
    n_boot_option,
    note_rejected,
    save_plot,
    seed_line,
    seed_option,
)

_METHODS = ["lmg", "dominance", "pratt", "relative_weights", "first", "last", "betasq", "car"]


def _dask_study(folder: str, work: Path) -> Any:
    """The analysis table of a study folder of Parquet/CSV parts, built with Dask.

    The valid rows go to ``work`` (deleted after the command); rejected rows and problems,
    if any, are copied to a folder that is kept and named on stderr.
    """
    import shutil
    import tempfile

    from outcomes import partitioned as scale

    tables = scale.read_study(folder)
    report = scale.validate_tables(tables, out=work)
    if not report.ok:
        kept = Path(tempfile.mkdtemp(prefix="outcomes-rejected-"))
        for part in ("rejected", "problems"):
            if (work / part).exists():
                shutil.copytree(work / part, kept / part)
        note_rejected(folder, int(report.counts["rejected"].sum()), str(kept))
    scores = scale.score(report.valid("responses"), grouped=True,
                         item_moments=report.item_moments)
    return scale.analysis_table(report.valid("engagements"), report.valid("sessions"), scores,
                                grouped=True)


def _inputs(data: str, outcome: str | None, factor: tuple[str, ...], covariate: tuple[str, ...],
            cluster: str | None, n_boot: int, engine: str = "pandas",
            work: Path | None = None) -> dict[str, Any]:
    target = Path(data)
    factors: dict[str, list[str]] | None = factor_map(factor) if factor else None
    if engine == "dask" and target.is_dir() and not (target / "study.toml").exists():
        from outcomes.analysis import FACTORS

        return {
            "data": _dask_study(data, work or Path(data) / ".outcomes-validated"),
            "outcome": outcome or "end_score",
            "factors": factors or FACTORS,
            "covariates": list(covariate) if covariate else ["baseline"],
            "cluster": cluster or ("coach_id" if n_boot else None),
        }
    if target.is_dir() or target.suffix.lower() == ".toml":
        from outcomes.analysis import FACTORS

        study = load_study(data)
        table = study.analysis_table()
        return {
            "_study": study,
            "data": table,
            "outcome": outcome or "end_score",
            "factors": factors or FACTORS,
            "covariates": list(covariate) if covariate else ["baseline"],
            "cluster": cluster or ("coach_id" if n_boot else None),
        }
    if not outcome or not factors:
        raise UsageError(
            f"{target.name} is a single table: name the outcome and the factors, e.g. "
            "--outcome end_score --factor relationship=alliance --factor client=optimism"
        )
    used = [outcome, *covariate, *(c for cols in factors.values() for c in cols)]
    if engine == "dask":
        from outcomes._engine import as_frame

        table = as_frame(data, "dask", "decompose")
    else:
        table = flat_table(target, used)
    return {
        "data": table,
        "outcome": outcome,
        "factors": factors,
        "covariates": list(covariate),
        "cluster": cluster,
    }


def _keep(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Keep an output path of the APA table for :func:`_apa_tables`."""
    ctx.meta[str(param.name)] = value


def _existing(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A path that exists, or (for --engine dask) a glob that names files."""
    import glob

    if not Path(value).exists() and not glob.glob(value):
        raise click.BadParameter(f"Path {value!r} does not exist.", ctx=ctx, param=param)
    return value


@main.command()
@click.argument("data", callback=_existing)
@click.option("--outcome", help="Outcome column [study folder: end_score].")
@click.option("--factor", multiple=True, metavar="NAME=COL,COL",
              help="A factor and its columns; repeat for each factor "
                   "[study folder: the default client/relationship/expectancy/technique map].")
@click.option("--covariate", multiple=True, metavar="COL",
              help="An always-in covariate, partialled out first; repeat for more "
                   "[study folder: baseline].")
@click.option("--method", type=click.Choice(_METHODS), default="lmg", show_default=True,
              help="How to split the explained variance.")
@n_boot_option(0, "Bootstrap replicates for intervals (0: none).")
@cluster_option(None, "Resample whole clusters of this column [study folder with --n-boot: "
                      "coach_id].")
@ci_method_option()
@ci_level_option()
@seed_option()
@missing_option()
@click.option("--reference", default="asay-lambert-1999", show_default=True,
              help="Reference split to compare with (see `outcomes references`).")
@click.option("--plot", "plot_file", type=click.Path(), help="Write the share plot to this file "
                                                            "(.png, .svg or .pdf).")
@click.option("--docx", "docx_file", type=click.Path(), expose_value=False, callback=_keep,
              help="Write the shares as an APA table to this Word file.")
@click.option("--latex", "latex_file", type=click.Path(), expose_value=False, callback=_keep,
              help="Write the shares as an APA table to this LaTeX file (booktabs).")
@click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas",
              show_default=True,
              help="Read the data in memory (pandas) or partition by partition (dask).")
@click.option("--reliability", "reliability", multiple=True, metavar="COL=VALUE|estimate",
              help="Correct for unreliability (shares of true scores): COL=0.8 for a known "
                   "reliability, COL=estimate, or 'estimate' for every factor column whose "
                   "items the study folder holds (omega; re-estimated in each replicate).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: a running dask.distributed scheduler "
                   "(tcp://host:8786) [default: a local cluster of 2 workers].")
@json_option()
def decompose(data: str, outcome: str | None, factor: tuple[str, ...],
              covariate: tuple[str, ...], method: str, n_boot: int, cluster: str | None,
              ci_method: str, ci_level: float, seed: int | None, reference: str,
              plot_file: str | None, engine: str, scheduler: str | None,
              reliability: tuple[str, ...], missing: str, n_imputations: int | None,
              as_json: bool) -> None:
    """Estimate each factor's share of the outcome's explained variance.

    DATA is a study folder (the analysis table and the default factor map are used) or a
    CSV/Excel/Parquet/SPSS file with one row per client. Shares are compared with a
    reference split, Asay & Lambert's 40/30/15/15 by default. With --engine dask, DATA may
    also be a glob of Parquet or CSV files (quote it), or a study folder of Parquet/CSV
    parts, and is read partition by partition on a Dask cluster.
    """
    if scheduler and engine != "dask":
        raise UsageError("--scheduler needs --engine dask.")
    if reliability and engine == "dask":
        raise UsageError("--reliability needs --engine pandas.")
    check_reference(reference)
    _check_table_paths(data)
    options = {"method": method, "n_boot": n_boot, "ci_method": ci_method,
               "ci_level": ci_level, "seed": seed, "missing": missing,
               "n_imputations": n_imputations}
    if engine == "dask":
        import tempfile

        from outcomes.partitioned import client

        with client(scheduler), tempfile.TemporaryDirectory(prefix="outcomes-") as work:
            args = _inputs(data, outcome, factor, covariate, cluster, n_boot, engine,
                           Path(work))
            _decompose(args, options, reference, plot_file, as_json)
        return
    args = _inputs(data, outcome, factor, covariate, cluster, n_boot, engine)
    study = args.pop("_study", None)
    if reliability:
        args.update(_reliability(reliability, study))
    _decompose(args, options, reference, plot_file, as_json)


def _reliability(specs: tuple[str, ...], study: Any) -> dict[str, Any]:
    """``reliability=`` and ``items=`` of decompose from repeated --reliability options."""
    if specs == ("estimate",):
        given: Any = "estimate"
    else:
        given = {}
        for spec in specs:
            column, sep, value = (part.strip() for part in spec.partition("="))
            if not sep or not column or not value:
                raise UsageError(f"--reliability {spec!r} is not COL=VALUE. Write e.g. "
                                 "--reliability alliance=0.85, or --reliability estimate.")
            try:
                given[column] = float(value)
            except ValueError:
                given[column] = value
    estimated = given == "estimate" or any(isinstance(v, str) for v in given.values())
    if estimated and study is None:
        raise UsageError("--reliability estimate needs the items, which a study folder "
                         "holds; for a single table give numbers (--reliability COL=0.8).")
    return {"reliability": given,
            "items": study.valid("responses") if estimated else None}


def _decompose(args: dict[str, Any], options: dict[str, Any], reference: str,
               plot_file: str | None, as_json: bool) -> None:
    from outcomes.shares.decomposition import decompose as estimate

    with collect_notes() as notes, _status(options["n_boot"]):
        result = estimate(**args, **options)
        basis = "" if as_json else _basis(result, args, options)
    if plot_file:
        save_plot(result, plot_file, reference=reference)
    _apa_tables(result, reference)
    if as_json:
        payload = result.to_dict(reference=reference)
        payload["notes"] = notes
        payload["seed"] = options["seed"]
        emit_json(payload)
        return
    echo_notes(notes)
    click.echo(result.summary(reference=reference))
    if basis:
        click.echo("")
        click.echo(basis)
    click.echo(seed_line(options["seed"]))


def _basis(result: Any, args: dict[str, Any], options: dict[str, Any]) -> str:
    """For complete-case shares of data with incomplete clients: the intention-to-treat
    shares (multiple imputation, point estimates) and which of the two a conclusion rests
    on. Intention-to-treat runs say it in their own summary."""
    import pandas as pd

    from outcomes._errors import OutcomesError
    from outcomes.shares.decomposition import decompose as estimate

    report = result.missingness
    if result.intention_to_treat or report is None or not report.n_incomplete \
            or not isinstance(args["data"], pd.DataFrame):
        return ""
    if args.get("reliability") is not None:
        return (f"These shares rest on the {result.n} complete cases: intention-to-treat "
                "shares (--missing mi) are not available with --reliability, whose "
                "correction needs complete rows.")
    kept = {k: v for k, v in args.items() if k not in ("reliability", "items")}
    try:
        itt = estimate(**kept, **{**options, "missing": "mi", "n_boot": 0})
    except OutcomesError as error:
        return f"Intention-to-treat shares (--missing mi) could not be computed: {error}"
    return f"{result.conclusion_basis(itt)} --missing mi gives them with intervals."


def _apa_tables(result: Any, reference: str) -> None:
    """--docx and --latex: the shares, beside the reference, as an APA table."""
    context = click.get_current_context()
    targets = {name: context.meta.get(name) for name in ("docx_file", "latex_file")}
    if not any(targets.values()):
        return
    table = result.to_apa(reference=reference)
    for name, path in targets.items():
        if path:
            table.to_docx(path) if name == "docx_file" else table.to_latex(path)


def _check_table_paths(data: str) -> None:
    """Refuse --docx or --latex on a file read, before any work."""
    from outcomes.io.writing import check_output

    meta = click.get_current_context().meta
    read = Path(data)
    inputs = [read, *(read.iterdir() if read.is_dir() else ())]
    for name in ("docx_file", "latex_file"):
        if meta.get(name):
            check_output(meta[name], inputs, option=f"--{name[:-5]}", folder=False)


def _status(n_boot: int):  # noqa: ANN202
    """A spinner on the terminal while a bootstrap runs (nothing when output is piped)."""
    import contextlib

    if n_boot < 200 or not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(f"Bootstrapping {n_boot} replicates…")


@main.command()
@json_option("Print the reference splits as JSON.")
def references(as_json: bool) -> None:
    """List the reference splits that shares can be compared with."""
    from outcomes._results import jsonable
    from outcomes.reference import REFERENCES

    if as_json:
        emit_json({"references": {k: jsonable(_reference_row(v)) for k, v in REFERENCES.items()}})
        return
    for key, split in REFERENCES.items():
        row = _reference_row(split)
        shares = ", ".join(f"{k} {v:g}" for k, v in row["shares"].items())
        click.echo(f"{key}: {row['label']} — {shares} ({row['share_of']})")


def _reference_row(split) -> dict[str, Any]:  # noqa: ANN001
    return {"label": split.label, "shares": dict(split.shares), "share_of": split.share_of,
            "citation": split.citation, "note": split.note}
