"""The ``outcomes map`` command: a survey export into a study folder, or a draft mapping."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from outcomes._errors import UsageError
from outcomes.cli._common import emit_json, json_option, main

_SOURCES = ["qualtrics", "qualtrics-legacy", "redcap", "surveymonkey", "wide"]


@main.command(name="map")
@click.argument("export", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False),
              help="The mapping file (mapping.toml). With --suggest: where to write the draft.")
@click.option("--out", type=click.Path(file_okay=False),
              help="The study folder to write (or merge) the tables into.")
@click.option("--suggest", is_flag=True,
              help="Write a first draft of the mapping instead of mapping the export.")
@click.option("--source", type=click.Choice(_SOURCES),
              help="The export's layout [default: from the mapping, else detected].")
@click.option("--dictionary", type=click.Path(exists=True, dir_okay=False),
              help="With --suggest: the REDCap data dictionary [default: one beside the export].")
@json_option("Print the summary as one JSON object.")
def map_command(export: str, mapping_file: str | None, out: str | None, suggest: bool,
                source: str | None, dictionary: str | None, as_json: bool) -> None:
    """Map a survey export (Qualtrics, REDCap, SurveyMonkey, SPSS/Excel wide) into a study.

    EXPORT is the exported file. With --mapping and --out, the export's records become the
    canonical tables in OUT (merged with a study already there); records that cannot be
    mapped go to OUT/rejected/<export>.csv with their reason and line, and the whole study
    is validated. Exits 1 when any record or row was rejected, 0 otherwise, 2 for a mapping
    that does not fit. With --suggest, a draft mapping is printed (or written to --mapping).
    """
    if suggest:
        _suggest(export, mapping_file, source, dictionary, as_json)
        return
    if dictionary:
        raise UsageError("--dictionary goes with --suggest; when mapping, name the dictionary "
                         "in the mapping file under [source] dictionary.")
    if not mapping_file or not out:
        raise UsageError("outcomes map needs --mapping FILE and --out FOLDER (or --suggest "
                         "to draft a mapping). Example: outcomes map export.csv --mapping "
                         "mapping.toml --out study/")
    from outcomes.mapping import map_export

    result = map_export(export, mapping_file, source=source).write(out)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(result.summary())
        if result.rows_rejected:
            click.echo(f"\nRejected records and their reasons: {result.written['rejected']}")
        click.echo(f"Study written to {out}/")
    sys.exit(0 if result.ok else 1)


def _suggest(export: str, mapping_file: str | None, source: str | None,
             dictionary: str | None, as_json: bool) -> None:
    from outcomes.mapping import suggest_mapping

    if mapping_file and Path(mapping_file).exists():
        raise UsageError(f"{mapping_file} already exists; the draft would overwrite it. "
                         "Give another --mapping path, or leave --mapping out to print it.")
    text = suggest_mapping(export, source=source, dictionary=dictionary)
    if mapping_file:
        Path(mapping_file).write_text(text, encoding="utf-8")
    if as_json:
        emit_json({"export": export, "mapping": text, "written": mapping_file})
    elif mapping_file:
        click.echo(f"Wrote a draft mapping to {mapping_file}; check the lines marked 'check'.")
    else:
        click.echo(text, nl=False)
