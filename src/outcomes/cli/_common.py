"""What every command shares: the group, error translation, JSON and table output."""

from __future__ import annotations

import json
from typing import Any

import click

from .._errors import DataError, OutcomesError, UsageError

__all__ = ["main", "Commands", "emit_json", "print_table", "load_study", "parse_mapping"]


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
    from ..study import read_study

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
