"""The ``outcomes multilevel`` and ``outcomes alliance`` commands: clients nested in coaches."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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
    is_study,
    json_option,
    load_study,
    main,
    missing_option,
    n_boot_option,
    save_plot,
    seed_line,
    seed_option,
)

if TYPE_CHECKING:
    from outcomes.mixed.small_sample import DfMethod
    from outcomes.shares.bootstrap import CiMethod


def multilevel_inputs(data: str, outcome: str | None, factor: tuple[str, ...],
                      covariate: tuple[str, ...], cluster: str) -> dict[str, Any]:
    """The table and model arguments for a study folder or a flat file."""
    target = Path(data)
    factors = factor_map(factor) if factor else None
    if is_study(target):
        from outcomes.analysis import FACTORS

        return {"data": load_study(data).analysis_table(), "outcome": outcome or "end_score",
                "factors": factors or FACTORS,
                "covariates": list(covariate) if covariate else ["baseline"],
                "cluster": cluster}
    if not outcome:
        raise UsageError(f"{target.name} is a single table: name the outcome, e.g. --outcome "
                         "end_score --factor relationship=alliance --cluster coach_id")
    used = [outcome, *covariate, *(c for cols in (factors or {}).values() for c in cols)]
    return {"data": flat_table(target, used), "outcome": outcome, "factors": factors or [],
            "covariates": list(covariate), "cluster": cluster}


@main.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--outcome", help="Outcome column [study folder: end_score].")
@click.option("--factor", multiple=True, metavar="NAME=COL,COL",
              help="A factor group and its columns; repeat for each group [study folder: the "
                   "default client/relationship/expectancy/technique map; flat file: none, "
                   "the null model].")
@click.option("--covariate", multiple=True, metavar="COL",
              help="A predictor kept in every model; repeat for more [study folder: baseline].")
@cluster_option("coach_id", "Column of coach ids (the clusters).")
@click.option("--random-slope", "random_slopes", multiple=True, metavar="COL",
              help="Let this predictor's slope vary by coach (the fit only); repeat for more.")
@click.option("--centring", type=click.Choice(["within", "none"]), default="within",
              show_default=True, help="Split predictors into within- and between-coach parts.")
@click.option("--reml/--ml", default=True, show_default=True,
              help="Restricted (REML) or full maximum likelihood.")
@click.option("--df-method", type=click.Choice(["satterthwaite", "wald"]),
              default="satterthwaite", show_default=True,
              help="Degrees of freedom of the fixed effects' t intervals and p-values (wald: "
                   "normal ones).")
@n_boot_option(0, "Cluster-bootstrap replicates (coaches resampled whole; 0: none).")
@ci_method_option()
@ci_level_option()
@seed_option()
@click.option("--reference", default="asay-lambert-1999", show_default=True,
              help="Reference split to compare the shares with (see `outcomes references`).")
@click.option("--plot", "plot_file", type=click.Path(),
              help="Write the variance-decomposition plot to this file (.png, .svg, .pdf).")
@missing_option()
@json_option()
def multilevel(data: str, outcome: str | None, factor: tuple[str, ...],
               covariate: tuple[str, ...], cluster: str, random_slopes: tuple[str, ...],
               centring: str, reml: bool, df_method: DfMethod, n_boot: int, ci_method: CiMethod,
               ci_level: float, seed: int | None, reference: str, plot_file: str | None,
               missing: Literal["listwise", "mi", "em"], n_imputations: int | None,
               as_json: bool) -> None:
    """Fit a mixed model of clients nested in coaches and share out the outcome.

    DATA is a study folder (its analysis table, outcome end_score, covariate baseline and
    the default factor map) or a CSV/Excel/Parquet/SPSS file with one row per client.
    Reports the fixed effects, the coach ICC, R² (Nakagawa & Schielzeth), the outcome's
    variance by Rights & Sterba, and each factor group's share of the outcome beside the
    coach's share and the unexplained rest. With --missing mi the shares keep every client
    (multiple imputation with the coach in the imputation model; the fit stays on complete
    rows); --missing em is not available for the multilevel model.
    """
    from outcomes.mixed.fit import multilevel as fit_model
    from outcomes.mixed.imputed import check_missing
    from outcomes.mixed.shares import multilevel_shares

    check_reference(reference)
    try:
        check_missing(missing, n_imputations, "auto", caller="multilevel")
    except UsageError as error:
        raise UsageError(str(error).replace("missing=", "--missing ").replace(
            "n_imputations", "--n-imputations")) from None
    args = multilevel_inputs(data, outcome, factor, covariate, cluster)
    options: dict[str, Any] = {"reml": reml, "n_boot": n_boot, "seed": seed,
                               "ci_level": ci_level, "centring": centring}
    with collect_notes() as notes:
        fit = fit_model(**args, random_slopes=random_slopes, df_method=df_method, **options)
        shares = (multilevel_shares(**args, ci_method=ci_method, missing=missing,
                                    n_imputations=n_imputations, **options)
                  if args["factors"] else None)
    if plot_file:
        save_plot(fit, plot_file)
    if as_json:
        emit_json({"fit": fit.to_dict(),
                   "shares": shares.to_dict(reference=reference) if shares else None,
                   "notes": notes, "seed": seed})
        return
    echo_notes(notes)
    click.echo(fit.summary())
    if shares is not None:
        click.echo("")
        click.echo(shares.summary())
        click.echo("")
        click.echo(shares.compare(reference).summary())
    click.echo(seed_line(seed))


def _score_key(text: str, option: str) -> tuple[str, str]:
    instrument, _, scale = text.partition("/")
    if not instrument.strip():
        raise UsageError(f"{option} {text!r} is not INSTRUMENT[/SCALE]; write e.g. "
                         f"{option} srs/total")
    return instrument.strip(), (scale.strip() or "total")


def alliance_inputs(data: str, alliance: str | None, outcome: str | None, client: str,
                    cluster: str) -> dict[str, Any]:
    """The session table and column names for a study folder or a flat session file."""
    target = Path(data)
    if is_study(target):
        from outcomes.mixed.sessions import session_table

        study = load_study(data)
        table = session_table(study.scores(), study.valid("engagements"),
                              alliance=_score_key(alliance or "srs/total", "--alliance"),
                              outcome=_score_key(outcome or "ors/total", "--outcome"))
        return {"sessions": table, "alliance": "alliance", "outcome": "outcome",
                "client": "engagement_id", "cluster": "coach_id"}
    alliance, outcome = alliance or "alliance", outcome or "outcome"
    table = flat_table(target, [alliance, outcome, "session"])
    return {"sessions": table, "alliance": alliance, "outcome": outcome, "client": client,
            "cluster": cluster or None}


@main.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--alliance", help="Study folder: the alliance score as INSTRUMENT[/SCALE] "
                                 "[srs/total]; flat file: its column [alliance].")
@click.option("--outcome", help="Study folder: the outcome score as INSTRUMENT[/SCALE] "
                                "[ors/total]; flat file: its column [outcome].")
@click.option("--lag", type=int, default=1, show_default=True,
              help="Predict the outcome this many sessions later.")
@click.option("--client", default="engagement_id", show_default=True,
              help="Flat file: column of client (engagement) ids.")
@cluster_option("coach_id", "Flat file: column of coach ids (empty: no coach level).")
@click.option("--trend/--no-trend", default=True, show_default=True,
              help="Adjust for the session number.")
@click.option("--reml/--ml", default=True, show_default=True,
              help="Restricted (REML) or full maximum likelihood.")
@ci_level_option()
@click.option("--plot", "plot_file", type=click.Path(),
              help="Write the trajectories and slopes to this file (.png, .svg, .pdf).")
@json_option()
def alliance(data: str, alliance: str | None, outcome: str | None, lag: int, client: str,
             cluster: str, trend: bool, reml: bool, ci_level: float, plot_file: str | None,
             as_json: bool) -> None:
    """Does a session's alliance predict the next session's outcome?

    DATA is a study folder (per-session SRS at the end and ORS at the start of each
    session, from the scored responses) or a flat file with one row per client and
    session (columns session, the alliance, the outcome, client and coach ids). Reports
    the within-client (state-like) and between-client (trait-like) alliance effects on the
    outcome LAG sessions later, given the outcome now, with random intercepts for coaches
    and for clients within coaches.
    """
    from outcomes.mixed.alliance import alliance_outcome

    args = alliance_inputs(data, alliance, outcome, client, cluster)
    with collect_notes() as notes:
        result = alliance_outcome(**args, lag=lag, trend=trend, reml=reml, ci_level=ci_level)
    if plot_file:
        save_plot(result, plot_file)
    if as_json:
        emit_json({**result.to_dict(), "notes": notes})
        return
    echo_notes(notes)
    click.echo(result.summary())
    sys.stdout.flush()
