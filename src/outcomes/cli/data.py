"""Commands for data: validate, score, simulate, instruments, reliability."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from outcomes._errors import UsageError
from outcomes.cli._common import (
    ci_level_option,
    emit_json,
    json_option,
    load_study,
    main,
    n_boot_option,
    parse_mapping,
    print_table,
    seed_line,
    seed_option,
)

_SHARES_EXAMPLE = "client=.4,relationship=.3,expectancy=.15,technique=.15"


def _validate_path(path: str, kind: str | None):  # noqa: ANN202
    from outcomes.schema import TABLES

    target = Path(path)
    single = target.is_file() and target.suffix.lower() not in (".toml", ".xlsx", ".xlsm")
    if not single and kind is None:
        return load_study(path).validate()
    from outcomes.io import read_table
    from outcomes.validation.rules import validate as validate_table

    kind = kind or target.name.split(".")[0].lower()
    if kind not in TABLES:
        raise UsageError(
            f"{target.name} is not named after a table; say which one it is with --kind "
            f"({', '.join(TABLES)})."
        )
    return validate_table(read_table(target, kind=kind), kind)


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", type=click.Path(), help="Folder for rejected rows [default: PATH/rejected].")
@json_option("Print the report as one JSON object.")
@click.option("--kind", type=click.Choice(["coaches", "engagements", "sessions", "responses",
                                           "scores"]),
              help="Validate PATH as this one table (default: from the file name).")
def validate(path: str, out: str | None, as_json: bool, kind: str | None) -> None:
    """Check a study's tables; write rejected rows with their reasons.

    PATH is a study folder (one file per table), a workbook or a study.toml — or a single
    table file such as sessions.csv, checked on its own. Exits 1 when any row was rejected;
    the rejected rows are written to --out (default: a rejected/ folder beside the data),
    which may not be the folder of the data: no input file is ever changed.
    """
    from outcomes.io.writing import check_output, source_files

    folder = Path(out) if out else _default_out(path, "rejected")
    example = str(_default_out(path, "rejected"))
    check_output(folder, [path], example=example)
    report = _validate_path(path, kind)
    check_output(folder, source_files(list(report.files.values())), example=example)
    # a report of an earlier run in the folder is emptied when every row is now valid
    written = report.write_rejected(folder) if not report.ok or folder.exists() else []
    if as_json:
        payload = report.to_dict()
        payload["rejected_files"] = [str(p) for p in written]
        emit_json(payload)
    else:
        print_table(report.table(), "Rows per table")
        for line in report.note_messages():
            click.echo(f"Note: {line}")
        if not report.ok:
            click.echo(report.summary(limit=15).split("\n\n")[-1])
            click.echo(f"Rejected rows and their reasons are in {folder}/")
    sys.exit(0 if report.ok else 1)


def _default_out(path: str, name: str) -> Path:
    base = Path(path)
    return (base if base.is_dir() else base.parent) / name


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", type=click.Path(), required=True,
              help="Folder for scores.csv and analysis.csv.")
@json_option("Print what was written as JSON.")
def score(path: str, out: str, as_json: bool) -> None:
    """Score a study's instruments and build its analysis table.

    Writes OUT/scores.csv (one row per administration and scale), OUT/analysis.csv (one
    row per engagement) and OUT/analysis_sources.csv (which instruments and occasions feed
    each analysis column; notes name the responses that feed none). Only valid rows are
    scored; when rows were rejected they are written to OUT/rejected/ and the command
    exits 1. OUT may not be the folder of the study's files (exit 2), so that no input is
    ever overwritten.
    """
    from outcomes.io.writing import check_output, source_files, write_table

    folder = Path(out)
    example = str(_default_out(path, "scored"))
    check_output(folder, [path], example=example)
    study = load_study(path)
    check_output(folder, source_files(study.tables), example=example)
    report = study.validate()
    scores = study.scores()
    table = study.analysis_table()
    write_table(scores, folder / "scores.csv")
    write_table(table, folder / "analysis.csv")
    sources = study.analysis_sources()
    write_table(sources, folder / "analysis_sources.csv")
    if not report.ok:
        report.write_rejected(folder / "rejected")
    payload = {
        "ok": report.ok,
        "scores": {"file": str(folder / "scores.csv"), "rows": len(scores)},
        "analysis": {"file": str(folder / "analysis.csv"), "rows": len(table)},
        "rejected": int(report.counts["rejected"].sum()),
        "sources": {"file": str(folder / "analysis_sources.csv"), "rows": len(sources)},
        "notes": list(table.attrs.get("notes", [])),
    }
    if as_json:
        emit_json(payload)
    else:
        click.echo(f"Wrote {len(scores)} scale scores to {folder / 'scores.csv'}")
        click.echo(f"Wrote {len(table)} engagements to {folder / 'analysis.csv'}")
        click.echo(f"Wrote what feeds each column to {folder / 'analysis_sources.csv'}")
        for note in payload["notes"]:
            click.echo(f"Note: {note}")
        if not report.ok:
            click.echo(f"{payload['rejected']} rows were rejected and not scored; see "
                       f"{folder / 'rejected'}/ (run `outcomes validate {path}` for details).")
    sys.exit(0 if report.ok else 1)


@main.command()
@json_option("Print the registry as JSON.")
def instruments(as_json: bool) -> None:
    """List the instruments in the registry, with their scales and factor group."""
    from outcomes import instruments as registry

    rows = []
    for key in registry.available():
        ins = registry.get(key)
        rows.append({"instrument": key, "name": ins.name, "factor": ins.factor,
                     "items": ins.n_items, "scales": ", ".join(ins.scales)})
    if as_json:
        emit_json({"instruments": rows})
        return
    import pandas as pd

    print_table(pd.DataFrame(rows), "Instruments")


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--instrument", required=True, help="Instrument key, e.g. wai-sr.")
@click.option("--occasion", type=click.Choice(["intake", "session", "end", "followup"]),
              help="Occasion to use [default: the earliest the instrument was given].")
@click.option("--rater", default="client", show_default=True,
              type=click.Choice(["client", "coach", "sponsor"]), help="Whose ratings.")
@n_boot_option(1000, "Bootstrap replicates for the omega interval.")
@seed_option()
@ci_level_option()
@json_option()
def reliability(path: str, instrument: str, occasion: str | None, rater: str, n_boot: int,
                seed: int | None, ci_level: float, as_json: bool) -> None:
    """Cronbach's alpha and McDonald's omega, with intervals, for each scale of an instrument."""
    from outcomes import instruments as registry
    from outcomes._errors import OutcomesError
    from outcomes.measures.reliability import reliability as estimate

    try:
        registry.get(instrument)
    except (KeyError, OutcomesError):
        raise UsageError(f"--instrument {instrument!r} is not known; use one of "
                         f"{', '.join(registry.available())} (see `outcomes instruments`)."
                         ) from None
    study = load_study(path)
    result = estimate(study.valid("responses"), instrument, occasion=occasion, rater=rater,
                      n_boot=n_boot, seed=seed, ci_level=ci_level)
    if as_json:
        emit_json({**result.to_dict(), "seed": seed})
    else:
        click.echo(result.summary())
        click.echo(seed_line(seed))


@main.command()
@click.option("--out", type=click.Path(), required=True, help="Folder to write the study to.")
@seed_option("Random seed, for a reproducible study.")
@click.option("--shares", default=None,
              help="True shares of explained variance, e.g. client=.4,relationship=.3,"
                   "expectancy=.15,technique=.15 (must sum to 1).")
@click.option("--n-coaches", "--coaches", "n_coaches", type=int, default=60, show_default=True,
              help="Number of coaches.")
@click.option("--clients-per-coach", type=int, default=20, show_default=True,
              help="Average engagements per coach.")
@click.option("--r2", type=float, default=0.35, show_default=True,
              help="True R² of outcome change on the four factors.")
@click.option("--icc", type=float, default=0.05, show_default=True,
              help="True coach intra-class correlation of outcome change.")
@json_option("Print the true parameters as JSON.")
def simulate(out: str, seed: int | None, shares: str | None, n_coaches: int,
             clients_per_coach: int, r2: float, icc: float, as_json: bool) -> None:
    """Write a synthetic study with known true factor shares to OUT."""
    from outcomes.simulate.synthetic import simulate_study

    true_shares = parse_mapping(shares, "--shares", _SHARES_EXAMPLE)
    study = simulate_study(n_coaches=n_coaches, clients_per_coach=clients_per_coach,
                           shares=true_shares, r2=r2, icc=icc, seed=seed)
    study.write(out)
    if as_json:
        emit_json(study.to_dict())
    else:
        click.echo(study.summary())
        click.echo(f"Wrote the study to {out}/")
