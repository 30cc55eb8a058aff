"""A coaching study: its tables, their validation, their scores and the analysis table.

A study on disk is either a folder with one file per canonical table, named after the table
(``engagements.csv``, ``sessions.xlsx``, ``responses.parquet``, ``coaches.sav`` …, or one
workbook with a sheet per table), or a ``study.toml`` file that names the files, renames
columns and sets options::

    [tables.engagements]
    file = "exports/engagements 2025.csv"
    rename = { "Client" = "client_id", "Coach" = "coach_id" }

    [tables.responses]
    file = "exports/items.sav"

    [analysis]
    early_sessions = [1, 2, 3]

Table files are read only from inside the study folder (the folder of ``study.toml``), links
followed; ``allow_outside = true`` under ``[tables.<kind>]`` lets that one file be anywhere.
"""

from __future__ import annotations

import html
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from outcomes import io as _io
from outcomes._errors import DataError, UsageError
from outcomes.analysis import analysis_sources, build_analysis_table
from outcomes.measures.scoring import score
from outcomes.schema import TABLES
from outcomes.validation.report import ValidationReport
from outcomes.validation.rules import validate_tables

__all__ = ["Study", "read_study"]

_REQUIRED = ("engagements", "sessions", "responses")


@dataclass(frozen=True, repr=False)
class Study:
    """The tables of one coaching study, as read, with what can be derived from them.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Canonical tables by kind (``coaches`` optional; ``engagements``, ``sessions`` and
        ``responses`` required).
    source : str, optional
        Where the study was read from (for messages and reports).
    early_sessions : tuple of int, default (1, 2, 3)
        Sessions whose alliance ratings make up the analysis table's alliance columns.

    Examples
    --------
    >>> import outcomes as oc
    >>> study = oc.load_sample()
    >>> study.validate().ok
    True
    >>> table = study.analysis_table()          # one row per consenting engagement
    >>> table["engagement_id"].is_unique, table.attrs["excluded_no_consent"] > 0
    (True, True)
    >>> study
    <Study: sample — 60 coaches, 1,200 engagements, 8,828 sessions, 227,740 responses>
    """

    tables: dict[str, pd.DataFrame]
    source: str | None = None
    early_sessions: tuple[int, ...] = (1, 2, 3)
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [k for k in _REQUIRED if k not in self.tables]
        if missing:
            where = f" in {self.source}" if self.source else ""
            raise DataError(
                f"the study has no {missing[0]} table{where}",
                file=self.source,
                fix=f"Add a file named {missing[0]}.csv (or .xlsx, .parquet, .sav), or name it "
                "in study.toml under [tables." + missing[0] + "].",
            )

    def headline(self) -> str:
        """Where the study comes from and the rows of its tables, as read (not validated)."""
        name = Path(self.source).name if self.source else "in memory"
        coaches = self.tables.get("coaches")
        if coaches is None or "coach_id" not in coaches:
            coaches = self.tables["engagements"].get("coach_id", pd.Series(dtype=object))
            n_coaches = int(coaches.nunique())
        else:
            n_coaches = int(coaches["coach_id"].nunique())
        counts = [f"{n_coaches:,} coaches"] + [
            f"{len(self.tables[kind]):,} {kind}" for kind in _REQUIRED]
        return f"{name} — {', '.join(counts)}"

    def __repr__(self) -> str:
        return f"<Study: {self.headline()}>"

    def _repr_html_(self) -> str:
        rows = pd.DataFrame({"table": list(self.tables),
                             "rows": [len(frame) for frame in self.tables.values()],
                             "columns": [frame.shape[1] for frame in self.tables.values()]})
        title = f"<p><strong>Study</strong>: {html.escape(self.headline())}</p>"
        return title + rows.to_html(index=False, border=0, escape=True)

    @cached_property
    def _report(self) -> ValidationReport:
        return validate_tables(self.tables)

    def validate(self) -> ValidationReport:
        """Check every table and the links between them (see :func:`outcomes.validate`)."""
        return self._report

    def valid(self, kind: str) -> pd.DataFrame:
        """The valid rows of one table, with canonical types."""
        if kind not in TABLES:
            raise UsageError(f"unknown table {kind!r}; use one of {', '.join(TABLES)}.")
        return self._report.valid.get(kind, pd.DataFrame())

    @cached_property
    def _scores(self) -> pd.DataFrame:
        return score(self.valid("responses"))

    def scores(self) -> pd.DataFrame:
        """Scale scores of every valid administration (the canonical ``scores`` table)."""
        return self._scores.copy()

    def analysis_table(self, *, early_sessions: tuple[int, ...] | None = None) -> pd.DataFrame:
        """One row per engagement: outcome, baseline, change and the factor variables.

        Built from the valid rows only; engagements without research consent are left out.
        See :func:`outcomes.analysis.describe_columns` for every column. ``attrs["notes"]``
        says which responses feed no column and which columns are empty for everyone
        (:meth:`analysis_sources` gives the full account).
        """
        early = tuple(early_sessions or self.early_sessions)
        return build_analysis_table(
            self.valid("engagements"), self.valid("sessions"), self._scores, early_sessions=early,
            responses=self.valid("responses"),
        )

    def analysis_sources(self, *, early_sessions: tuple[int, ...] | None = None) -> pd.DataFrame:
        """Which valid responses feed which analysis columns, and which feed none.

        See :func:`outcomes.analysis.analysis_sources`; ``analysis_table().attrs["notes"]``
        says the same in sentences.

        Examples
        --------
        >>> import outcomes as oc
        >>> sources = oc.load_sample().analysis_sources()
        >>> sources.loc[sources["columns"] == "", "instrument"].unique().tolist()
        ['gse', 'ors', 'srs']
        """
        early = tuple(early_sessions or self.early_sessions)
        return analysis_sources(self.valid("responses"), early_sessions=early)

    def summary(self) -> str:
        """Rows per table and whether the study validates."""
        return self._report.summary()

    def write(self, folder: str | Path) -> Path:
        """Write the tables as CSV files named after their kind into ``folder``.

        ``folder`` may not be one the tables were read from (a UsageError says so); cells a
        spreadsheet would run as formulas get a leading ``'`` (:func:`outcomes.io.safe_cell`).
        """
        folder = Path(folder)
        _io.writing.check_output(folder, _io.writing.source_files(self.tables, self.source),
                                 option="folder")
        for kind, frame in self.tables.items():
            _io.write_table(frame, folder / f"{kind}.csv")
        return folder


def _folder_tables(folder: Path) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    for kind in TABLES:
        found = [p for p in sorted(folder.iterdir()) if _kind_of(p) == kind]
        if len(found) > 1:
            raise DataError(
                f"two files hold the {kind} table: {found[0].name} and {found[1].name}",
                file=str(folder),
                fix="Keep one of them, or name the one to use in study.toml.",
            )
        if found:
            tables[kind] = _io.read_table(_inside(folder, found[0], kind), kind=kind)
    if not tables:
        books = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in (".xlsx", ".xlsm")]
        if len(books) == 1:
            book = _io.read_workbook(_inside(folder, books[0], "tables"))
            tables = {k: v for k, v in book.items() if k in TABLES}
    return tables


def _inside(folder: Path, entry: Path | dict[str, Any], kind: str, config: str | None = None
            ) -> Path:
    """The table file resolved (links followed); refused when it leaves the study folder.

    ``entry`` is a file found in the folder, or the ``[tables.<kind>]`` entry of study.toml,
    whose ``allow_outside = true`` lets its file be anywhere.
    """
    if isinstance(entry, Path):
        given, allowed, name = entry, False, str(entry)
    else:
        given, allowed = entry["file"], entry.get("allow_outside", False)
        name = f'{config}, [tables.{kind}] file = "{_io.shorten(given, 80)}"'
        if not isinstance(given, str) or not isinstance(allowed, bool):
            raise UsageError(f"{config}, [tables.{kind}]: file must be a path in quotes and "
                             "allow_outside true or false.")
    target = (given if isinstance(given, Path) else folder / given).resolve()
    if allowed or target.is_relative_to(folder.resolve()):
        return given if isinstance(given, Path) else target
    how = (f"add allow_outside = true under [tables.{kind}]" if not isinstance(entry, Path)
           else "name it in a study.toml with allow_outside = true (see docs/data.md)")
    raise UsageError(
        f"{name}: the file is {_io.shorten(target, 80)}, outside the study folder "
        f"{_io.shorten(folder.resolve(), 80)}. Tables are read only from inside the study "
        f"folder, links included: copy the file into it, or, if you trust where it is, {how}."
    )


def _kind_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(_io.FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return stem if stem in TABLES else None
    return None


def _config_tables(config_path: Path, config: dict[str, Any]) -> dict[str, pd.DataFrame]:
    tables = {}
    for kind, entry in config.get("tables", {}).items():
        if kind not in TABLES:
            raise DataError(
                f"[tables.{kind}] is not a canonical table",
                file=str(config_path),
                fix=f"Use one of {', '.join(TABLES)}.",
            )
        if "file" not in entry:
            raise DataError(f"[tables.{kind}] has no file", file=str(config_path),
                            fix='Add file = "path/to/the/file.csv".')
        path = _inside(config_path.parent, entry, kind, str(config_path))
        if not path.exists():
            raise DataError(f"the file {entry['file']} named for {kind} does not exist",
                            file=str(config_path), fix="Correct the path (relative to study.toml).")
        frame = _io.read_table(path, kind=kind, sheet=entry.get("sheet"))
        tables[kind] = _renamed(frame, entry.get("rename", {}), kind, str(config_path))
    return tables


def _renamed(frame: pd.DataFrame, rename: Any, kind: str, config: str) -> pd.DataFrame:
    """The columns of ``frame`` renamed as ``[tables.<kind>] rename`` says.

    A name is found as written or with its surrounding spaces removed; a name that is not
    in the file (and whose new name is not there either) is an error, never ignored.
    """
    where = f"[tables.{kind}] rename"
    if not isinstance(rename, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in rename.items()):
        raise DataError(f"{where} is not a table of column names", file=config,
                        fix=f'Write it as rename = {{ "Client" = "client_id" }} under '
                            f"[tables.{kind}].")
    headers = {str(c).strip(): c for c in reversed(frame.columns)}
    columns = {}
    for old, new in rename.items():
        found = old if old in frame.columns else headers.get(old.strip())
        if found is not None:
            columns[found] = new
        elif new not in headers:
            shown = ", ".join(f'"{c}"' for c in list(frame.columns)[:12])
            raise DataError(f'{where}: the file has no column "{old}"', file=config,
                            fix=f"Use a column name as it is in the file ({shown}).")
    return frame.rename(columns=columns)


def read_study(path: str | Path) -> Study:
    """Read a study from a folder of tables, a workbook, or a ``study.toml`` file.

    Parameters
    ----------
    path : str or Path
        A folder (one file per table named after it, or a ``study.toml`` inside it), a
        ``.toml`` study configuration, or a single ``.xlsx`` workbook with one sheet per table.

    Returns
    -------
    Study

    Examples
    --------
    >>> import tempfile, outcomes as oc
    >>> folder = oc.load_sample().write(tempfile.mkdtemp())
    >>> oc.read_study(folder).validate().ok
    True
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist. Give a study folder or a study.toml file.")
    config: dict[str, Any] = {}
    if path.is_dir() and (path / "study.toml").exists():
        path = path / "study.toml"
    if path.suffix.lower() == ".toml":
        try:
            config = _io.read_toml(path)
        except tomllib.TOMLDecodeError as error:
            raise DataError(f"is not valid TOML ({error})", file=str(path),
                            fix="Check the quoting and brackets near that line.") from None
        tables = _config_tables(path, config)
    elif path.is_dir():
        tables = _folder_tables(path)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        tables = {k: v for k, v in _io.read_workbook(path).items() if k in TABLES}
    else:
        raise UsageError(
            f"{path} is a single table; a study is a folder of tables, a workbook or study.toml."
        )
    early = tuple(config.get("analysis", {}).get("early_sessions", (1, 2, 3)))
    return Study(tables=tables, source=str(path), early_sessions=early, options=config)
