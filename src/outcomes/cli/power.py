"""The ``outcomes power`` command: how many clients a factor-share study needs."""

from __future__ import annotations

import click

from outcomes._errors import UsageError
from outcomes.cli._common import (
    ci_level_option,
    ci_method_option,
    emit_json,
    json_option,
    main,
    n_boot_option,
    parse_mapping,
    save_plot,
    seed_line,
    seed_option,
)

DEFAULT_SHARES = "client=.4,relationship=.3,expectancy=.15,technique=.15"


def _sizes(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        raise UsageError(f"{option}: {text!r} is not a whole number or a comma-separated list "
                         f"of them. Write e.g. {option} 20,40,60")
    return values


def _reliability(text: str | None):  # noqa: ANN202
    if text is None or text in ("simulated", "perfect"):
        return text or "simulated"
    return parse_mapping(text, "--reliability", "client=.8,outcome=.85 (or perfect)")


@main.command("power")
@click.option("--shares", default=DEFAULT_SHARES, show_default=True, metavar="NAME=SHARE,...",
              help="Expected true shares of the explained variance of the four factor groups.")
@click.option("--r2", type=float, default=0.35, show_default=True,
              help="Expected latent R² of change on the four factors.")
@click.option("--icc", type=float, default=0.05, show_default=True,
              help="Expected coach intra-class correlation.")
@click.option("--n-coaches", "--coaches", "n_coaches", default="20,40,60", show_default=True,
              metavar="N[,N...]",
              help="Numbers of coaches to simulate (a comma-separated list for a grid).")
@click.option("--clients-per-coach", default="20", show_default=True, metavar="N[,N...]",
              help="Analysed clients per coach (a comma-separated list for a grid).")
@click.option("--method", default="lmg", show_default=True,
              help="Decomposition method (lmg, dominance, pratt, relative_weights, ...).")
@click.option("--n-sim", "--sims", "n_sim", type=int, default=200, show_default=True,
              help="Simulated studies per size.")
@n_boot_option(200, "Cluster-bootstrap replicates per simulated study.")
@click.option("--reference", default="asay-lambert-1999", show_default=True,
              help="Reference split the power is computed against ('none' for none).")
@ci_method_option()
@ci_level_option()
@click.option("--factor-correlation", type=float, default=0.3, show_default=True,
              help="Common correlation of the latent factors.")
@click.option("--reliability", metavar="NAME=R,...|perfect",
              help="Squared correlation of each measured factor score with its factor, and "
                   "the outcome's reliability [default: the sample study's instruments].")
@seed_option("Random seed of the simulated studies and their bootstraps.")
@click.option("--n-jobs", "--jobs", "n_jobs", type=int, default=None,
              help="Worker processes [every core].")
@click.option("--plot", "plot_file", type=click.Path(),
              help="Write the plot of interval width against clients to this file.")
@json_option()
def power_command(shares: str, r2: float, icc: float, n_coaches: str, clients_per_coach: str,
                  method: str, n_sim: int, n_boot: int, reference: str, ci_method: str,
                  ci_level: float, factor_correlation: float, reliability: str | None,
                  seed: int | None, n_jobs: int | None, plot_file: str | None,
                  as_json: bool) -> None:
    """Simulate studies of planned sizes: how precisely is each factor's share estimated?

    For each number of coaches and clients per coach, draws --n-sim studies from the model
    behind `outcomes simulate` (at the level of one score per factor and client, measured
    with error), estimates the shares with cluster-bootstrap intervals and reports each
    factor's expected interval width, the probability that the interval excludes the
    reference split (power), and the estimator's bias, RMSE and coverage.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from outcomes.shares.power import power

    parsed = parse_mapping(shares, "--shares", DEFAULT_SHARES)
    options = dict(
        shares=parsed, r2=r2, icc=icc, n_coaches=_sizes(n_coaches, "--n-coaches"),
        clients_per_coach=_sizes(clients_per_coach, "--clients-per-coach"), method=method,
        n_sim=n_sim, n_boot=n_boot, reference=None if reference == "none" else reference,
        ci_method=ci_method, ci_level=ci_level, factor_correlation=factor_correlation,
        reliability=_reliability(reliability), seed=seed, n_jobs=n_jobs,
    )
    console = Console(stderr=True)
    with Progress("simulating", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("studies", total=None)
        result = power(**options,  # type: ignore[arg-type]
                       progress=lambda done, total: bar.update(task, completed=done,
                                                               total=total))
    if plot_file:
        save_plot(result, plot_file)
    if as_json:
        payload = result.to_dict()
        if plot_file:
            payload["plot"] = plot_file
        emit_json(payload)
        return
    click.echo(result.summary())
    click.echo(seed_line(seed))
    if plot_file:
        click.echo(f"\nPlot written to {plot_file}")
