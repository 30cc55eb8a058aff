"""Commands for change: reliable change, session monitoring, the improvement split."""

from __future__ import annotations

from pathlib import Path

import click

from outcomes._errors import UsageError
from outcomes.cli._common import (
    ci_level_option,
    emit_json,
    flat_table,
    is_study,
    json_option,
    load_study,
    main,
    n_boot_option,
    seed_line,
    seed_option,
)


def _is_study(path: str, flat_columns_given: bool) -> bool:
    """A folder or study.toml always; a workbook unless columns of a flat table are named."""
    target = Path(path)
    if target.is_dir() or target.suffix.lower() == ".toml":
        return True
    return is_study(path) and not flat_columns_given


@main.command("change")
@click.argument("data", type=click.Path(exists=True))
@click.option("--pre", help="Column of the score before [study: baseline].")
@click.option("--post", help="Column of the score after [study: end_score].")
@click.option("--instrument", help="Registry key for reliability, cutoff and direction "
                                   "[study: ors].")
@click.option("--reliability", type=float, help="Reliability of the measure (0-1).")
@click.option("--method", default="jacobson-truax", show_default=True,
              type=click.Choice(["jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally",
                                 "hsu-linn-lord"]), help="Reliable change index.")
@click.option("--cutoff", help="Clinical cutoff: a number [default: the instrument's].")
@click.option("--higher-is-better/--lower-is-better", default=None,
              help="Which direction of the scores is better [default: the instrument's; "
                   "higher].")
@click.option("--client", "--id", "client",
              help="Column of client ids [study: engagement_id]. Older name: --id.")
@json_option()
def change_command(data: str, pre: str | None, post: str | None, instrument: str | None,
                   reliability: float | None, method: str, cutoff: str | None,
                   higher_is_better: bool | None, client: str | None, as_json: bool) -> None:
    """Reliable and clinically significant change per client, with effect sizes.

    DATA is a study folder (then the analysis table's baseline and end_score ORS are used,
    with the ORS's published reliable change and cutoff) or a table with one row per client
    and the columns named by --pre and --post. Clients missing a score are counted as
    "missing", never dropped.
    """
    from outcomes.practice.change import change

    if _is_study(data, bool(pre or post)):
        frame = load_study(data).analysis_table()
        pre, post = pre or "baseline", post or "end_score"
        instrument = instrument or "ors"
        client = client or "engagement_id"
    else:
        if not pre or not post:
            raise UsageError("outcomes change: a table needs --pre COL and --post COL.")
        frame = flat_table(data, used=[pre, post])
    value: float | str | None = cutoff
    if cutoff is not None and cutoff not in ("a", "b", "c"):
        try:
            value = float(cutoff)
        except ValueError:
            raise UsageError(f"--cutoff {cutoff!r} is not a number.") from None
    result = change(frame, pre=pre, post=post, reliability=reliability, method=method,  # type: ignore[arg-type]
                    instrument=instrument, cutoff=value,  # type: ignore[arg-type]
                    higher_is_better=higher_is_better, client=client)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(result.summary())


def _session_frame(path: str, outcome: str | None, alliance: str | None,
                   intake: str | None = None):  # noqa: ANN202
    from outcomes.practice.trajectories import session_scores

    if _is_study(path, bool(outcome)):
        return session_scores(load_study(path).scores()), "ors", "srs", "intake"
    if not outcome:
        raise UsageError("outcomes monitor: a table needs --outcome COL (and engagement_id, "
                         "session columns).")
    used = [c for c in (outcome, alliance, intake, "session") if c]
    return flat_table(path, used=used), outcome, alliance, None


@main.command("monitor")
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", type=click.Path(), required=True,
              help="Folder for flags.csv, expected.csv and summary.txt.")
@click.option("--outcome", help="Per-session outcome column of a table [study: ORS].")
@click.option("--alliance", help="Per-session alliance column of a table [study: SRS].")
@click.option("--intake", help="Intake score column of a table [default: first session].")
@click.option("--rci", type=float, help="Reliable change in points [default: published].")
@click.option("--alliance-cutoff", type=float, help="Alliance concern below this [SRS: 36].")
@click.option("--review-after", type=int, default=6, show_default=True,
              help="Sessions without reliable improvement before a review.")
@click.option("--by-intake", type=click.Choice(["linear", "bands"]), default="linear",
              show_default=True, help="How the expected course depends on intake.")
@json_option("Print counts and files as JSON.")
def monitor_command(path: str, out: str, outcome: str | None, alliance: str | None,
                    intake: str | None, rci: float | None, alliance_cutoff: float | None,
                    review_after: int, by_intake: str, as_json: bool) -> None:
    """Flag every engagement at every session: on track, not on track, deterioration,
    alliance concern, review for referral or ending — each with its reason in words.

    PATH is a study folder (per-session ORS as the outcome and SRS as the alliance, the
    intake ORS as the start) or a table with engagement_id, session and the columns named.
    The expected course is fitted on PATH's own engagements. Flags prompt a conversation with
    the client; they never judge the client's health.
    """
    from outcomes.io.writing import check_output, write_table
    from outcomes.practice.monitoring import monitor
    from outcomes.practice.trajectories import expected_trajectories

    check_output(out, [path], example="monitoring/")
    frame, outcome_col, alliance_col, intake_col = _session_frame(path, outcome, alliance,
                                                                  intake)
    intake_col = intake or intake_col
    fit = expected_trajectories(frame, outcome=outcome_col, intake=intake_col,
                                by_intake=by_intake)  # type: ignore[arg-type]
    result = monitor(frame, fit, outcome=outcome_col, alliance=alliance_col, rci=rci,
                     alliance_cutoff=alliance_cutoff, review_after=review_after)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"flags": folder / "flags.csv", "expected": folder / "expected.csv",
             "summary": folder / "summary.txt"}
    write_table(result.table(), files["flags"])
    write_table(fit.table(), files["expected"])
    text = result.summary() + "\n\n" + fit.summary() + "\n"
    files["summary"].write_text(text, encoding="utf-8")
    if as_json:
        payload = {k: v for k, v in result.to_dict().items() if k != "flags"}
        payload.update(engagements=int(result.flags["engagement_id"].nunique()),
                       sessions=len(result.flags),
                       files={k: str(v) for k, v in files.items()})
        emit_json(payload)
    else:
        click.echo(result.summary())
        click.echo(f"Wrote {files['flags']}, {files['expected']} and {files['summary']}")


def _roles(roles: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for text in roles:
        role, sep, labels = text.partition("=")
        if not sep or not labels:
            raise UsageError(f"--role {text!r} is not ROLE=LABEL; write e.g. --role none=wait-list "
                             "--role full=coaching (several labels: full=a,b).")
        out[role.strip()] = [v.strip() for v in labels.split(",")]
    return out


@main.command("improvement")
@click.argument("data", type=click.Path(exists=True))
@click.option("--arm", default="arm", show_default=True, help="Column of the trial arm.")
@click.option("--pre", help="Column of the score before (client data).")
@click.option("--post", help="Column of the score after (client data).")
@click.option("--role", "roles", multiple=True, required=True,
              help="ROLE=LABEL with ROLE none, placebo, common or full; repeat per arm.")
@click.option("--higher-is-better/--lower-is-better", default=True, show_default=True,
              help="Which direction of the scores is better.")
@n_boot_option(2000, "Bootstrap resamples (client data).")
@seed_option()
@ci_level_option()
@click.option("--reference", default="asay-lambert-1999", show_default=True,
              help="Reference split of improvement to compare with.")
@json_option()
def improvement_command(data: str, arm: str, pre: str | None, post: str | None,
                        roles: tuple[str, ...], higher_is_better: bool, n_boot: int,
                        seed: int | None, ci_level: float, reference: str,
                        as_json: bool) -> None:
    """Split a trial's full-arm improvement into client, expectancy, relationship and
    technique parts (Asay & Lambert's ladder of arms).

    DATA has one row per client (with --arm, --pre, --post), or one row per arm with the
    columns arm, mean_change, sd and n (then leave out --pre and --post). Give each arm's role:
    --role none=wait-list --role placebo=attention --role common=supportive
    --role full=coaching.
    """
    from outcomes.practice.improvement import improvement_split

    numbers = [pre, post] if pre or post else ["mean_change", "mean", "sd", "sd_change", "n"]
    frame = flat_table(data, used=[c for c in numbers if c])
    arms = _roles(roles)
    if pre or post:
        if not (pre and post):
            raise UsageError("outcomes improvement: give both --pre and --post, or neither "
                             "for a file of arm summaries.")
        result = improvement_split(frame, arm=arm, pre=pre, post=post, arms=arms,
                                   higher_is_better=higher_is_better, n_boot=n_boot,
                                   seed=seed, ci_level=ci_level)
    else:
        summaries = frame.rename(columns={arm: "arm"})
        result = improvement_split(summaries=summaries, arms=arms,
                                   higher_is_better=higher_is_better, ci_level=ci_level)
    comparison = result.compare(reference)
    if as_json:
        payload = result.to_dict()
        payload["reference"] = comparison.to_dict()
        emit_json(payload)
    else:
        click.echo(result.summary())
        click.echo("")
        click.echo(comparison.summary())
        click.echo(seed_line(seed))
