"""What every command shares: the group, error translation, the shared options, output.

The options that several commands take are declared here once, each named after the keyword
argument of the Python function it sets (``--n-boot`` sets ``n_boot``, ``--cluster`` sets
``cluster``); an older spelling of an option stays as its alias.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from outcomes._checks import DEFAULT_SEED
from outcomes._errors import DataError, OutcomesError, UsageError

__all__ = ["main", "Commands", "emit_json", "print_table", "load_study", "parse_mapping",
           "is_study", "factor_map", "flat_table", "json_option", "n_boot_option",
           "seed_option", "seed_line", "cluster_option", "ci_level_option", "ci_method_option",
           "missing_option",
           "check_reference", "collect_notes", "echo_notes", "save_plot", "note_rejected"]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


_STUDIES = "outcomes.studies"
_REJECTED = "outcomes.rejected"


class Commands(click.Group):
    """A command group that turns `outcomes` errors into messages and exit codes.

    0: success. 1: the data failed validation: rows were rejected and the output was made
    from the valid rows (it is written; the rejected rows are counted on stderr), or a
    :class:`DataError` stopped the command (the message says where and why). 2: a usage
    error (:class:`UsageError`, a bad option, a file that cannot be read or written).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except DataError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(1)
        except (UsageError, OutcomesError) as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"Error: {where}{error.strerror or error}. Check the path and its "
                       "permissions.", err=True)
            ctx.exit(2)
        if _left_out(ctx):
            ctx.exit(1)
        return result


def _left_out(ctx: click.Context) -> bool:
    """Say on stderr how many rows of each study read failed validation; whether any did."""
    found = list(ctx.meta.get(_REJECTED, []))
    for study in ctx.meta.get(_STUDIES, []):
        counts = study.validate().counts
        rejected = int(counts["rejected"].sum()) if "rejected" in counts else 0
        if rejected:
            source = str(study.source or "the study")
            found.append((source, rejected, f"outcomes validate {source}"))
    for source, rejected, see in found:
        click.echo(f"Note: {rejected:,} rows of {source} failed validation and were left out; "
                   f"the output uses the valid rows. See each with its reason: {see}",
                   err=True)
    return bool(found)


def note_rejected(source: str, rejected: int, see: str) -> None:
    """Record rows that failed validation, for the exit code (1) and a note on stderr that
    ends with ``see`` (where the rejected rows and their reasons are)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and rejected:
        ctx.meta.setdefault(_REJECTED, []).append((source, int(rejected), see))


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="outcomes")
def main() -> None:
    """Coaching-outcome research: validate, score and decompose coaching study data.

    Every command has --help. Exit codes: 0 success, 1 the data failed validation (the
    report is written), 2 a usage error.
    """


def json_option(help: str = "Print the result as one JSON object.") -> Decorator:
    """``--json``: print one JSON object on stdout instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def n_boot_option(default: int | None, help: str) -> Decorator:
    """``--n-boot N`` (alias ``--boot``): bootstrap replicates, the API's ``n_boot``."""
    return click.option("--n-boot", "--boot", "n_boot", type=int, default=default,
                        show_default=default is not None, metavar="N", help=help)


def seed_option(help: str = "Random seed of the bootstrap; the same seed gives the same "
                            "numbers.", *, default: int | None = DEFAULT_SEED) -> Decorator:
    """``--seed S``: the seed of the random draws, fixed by default (``DEFAULT_SEED``) so that
    two runs give the same output; the command records the seed it used."""
    fixed = (f" [default: {default}, a fixed seed, so two runs give the same numbers; the "
             "seed used is recorded in the output]" if default is not None else "")
    return click.option("--seed", type=int, default=default, metavar="S",
                        help=help + fixed)



def seed_line(seed: int | None) -> str:
    """The line a command prints to record the seed of its random draws."""
    return (f"Seed: {seed} (the random draws repeat exactly with the same seed; --seed S "
            "gives others).")


def cluster_option(default: str | None, help: str) -> Decorator:
    """``--cluster COL`` (alias ``--group``): the column of coach ids, the API's ``cluster``."""
    return click.option("--cluster", "--group", "cluster", default=default,
                        show_default=default is not None, metavar="COL",
                        help=f"{help} Older name: --group.")


def ci_level_option() -> Decorator:
    """``--ci-level``: the coverage of every interval."""
    return click.option("--ci-level", type=float, default=0.95, show_default=True,
                        help="Coverage of the intervals, between 0 and 1.")


def missing_option() -> Decorator:
    """``--missing`` and ``--n-imputations``: how rows with missing values are handled."""
    def decorate(func: Any) -> Any:
        func = click.option("--n-imputations", type=int, default=None, metavar="M",
                            help="Imputations for --missing mi [default: 100 x the fraction "
                                 "of incomplete rows, at least 5].")(func)
        return click.option("--missing", type=click.Choice(["listwise", "mi", "em"]),
                            default="listwise", show_default=True,
                            help="Rows with missing values: left out (listwise), multiply "
                                 "imputed (mi) or kept in the maximum-likelihood covariance "
                                 "(em); mi and em keep every client (intention to treat)."
                            )(func)
    return decorate


def ci_method_option() -> Decorator:
    """``--ci-method`` (alias ``--ci``): how intervals are read from the bootstrap."""
    return click.option("--ci-method", "--ci", "ci_method",
                        type=click.Choice(["bca", "percentile"]), default="bca",
                        show_default=True,
                        help="Bootstrap intervals: bias-corrected and accelerated (bca) or "
                             "plain percentiles.")


def check_reference(reference: str) -> str:
    """``reference`` if it names a known reference split; otherwise list the known ones."""
    from outcomes.reference import REFERENCES

    if reference not in REFERENCES:
        raise UsageError(f"--reference {reference!r} is not known; use one of "
                         f"{', '.join(REFERENCES)}.")
    return reference


@contextlib.contextmanager
def collect_notes() -> Iterator[list[str]]:
    """Collect the toolkit's warnings raised inside the block, each once, as notes.

    The list is filled when the block ends; other warnings are left out of the output.
    """
    from outcomes._errors import OutcomesWarning

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutcomesWarning)
        yield notes
    found = (str(w.message) for w in caught if issubclass(w.category, OutcomesWarning))
    notes.extend(dict.fromkeys(found))


def echo_notes(notes: Iterable[str]) -> None:
    """Print notes on stderr, one a line."""
    for note in notes:
        click.echo(f"Note: {note}", err=True)


def save_plot(result: Any, path: str, **options: Any) -> None:
    """Write ``result.plot(**options)`` to ``path`` (.png, .svg or .pdf), off screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = result.plot(**options)
    ax.figure.savefig(path, bbox_inches="tight", dpi=150)
    plt.close(ax.figure)


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
    """Read a study folder, workbook or study.toml.

    The study is remembered: when the command ends, rows of it that failed validation are
    counted on stderr and the command exits 1 (its output, made from the valid rows, is
    written).
    """
    from outcomes.study import read_study

    study = read_study(path)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta.setdefault(_STUDIES, []).append(study)
    return study


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
