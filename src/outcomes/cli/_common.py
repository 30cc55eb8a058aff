"""What every command shares: the group, error translation, JSON and table output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from outcomes._errors import DataError, OutcomesError, UsageError

__all__ = ["main", "Commands", "emit_json", "print_table", "load_study", "parse_mapping",
           "is_study", "factor_map", "flat_table"]


class Commands(click.Group):
    """A command group that turns `outcomes` errors into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DataError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(1)
        except (UsageError, OutcomesError) as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="outcomes")
def main() -> None:
    """Coaching-outcome research: validate, score and decompose coaching study data.

    Every command has --help. Exit codes: 0 success, 1 the data failed validation (the
    report is written), 2 a usage error.
    """


def emit_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on stdout (strict JSON: no NaN)."""
    click.echo(json.dumps(payload, indent=2, allow_nan=False))


def print_table(frame, title: str) -> None:  # noqa: ANN001
    """Print a DataFrame as a table on the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "iuf"
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    Console(stderr=False).print(table)


def load_study(path: str):  # noqa: ANN201
    """Read a study folder, workbook or study.toml."""
    from outcomes.study import read_study

    return read_study(path)


def parse_mapping(text: str | None, option: str, example: str) -> dict[str, float] | None:
    """Parse ``name=number,name=number`` into a dict, or say how to write it."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UsageError(
                f"{option}: {part!r} is not NAME=NUMBER. Write e.g. {option} {example}"
            )
    return out


def is_study(path: str | Path) -> bool:
    """Whether PATH names a study (a folder, a study.toml or a workbook of tables)."""
    target = Path(path)
    return target.is_dir() or target.suffix.lower() in (".toml", ".xlsx", ".xlsm")


def factor_map(specs: tuple[str, ...]) -> dict[str, list[str]]:
    """Parse repeated ``--factor NAME=COL,COL`` options into a factor map."""
    factors: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, columns = spec.partition("=")
        cols = [c.strip() for c in columns.split(",") if c.strip()]
        if not sep or not name.strip() or not cols:
            raise UsageError(
                f"--factor {spec!r} is not NAME=COL,COL. Write e.g. "
                "--factor relationship=alliance,session_rating"
            )
        if name.strip() in factors:
            raise UsageError(f"--factor {name.strip()!r} is given twice; give each factor once.")
        factors[name.strip()] = cols
    return factors


def flat_table(path: str | Path, used: Iterable[str] | None = None):  # noqa: ANN201
    """A one-table file, with columns turned into numbers where every value is one.

    Only the ``used`` columns are converted when given (every column otherwise); a column
    with any text left in it stays text, so a model can name it as categorical or say which
    value is not a number.
    """
    import pandas as pd

    from outcomes.io import read_table

    table = read_table(path)
    for column in table.columns if used is None else used:
        if column in table.columns:
            values = table[column]
            numbers = pd.to_numeric(values, errors="coerce")
            if bool((numbers.notna() | values.isna()).all()):
                table[column] = numbers.astype(float)
    return table
