"""What mapping an export gives: the canonical tables, the rejected records, the accounting.

:class:`MappedExport` is a frozen result with the four faces every result has
(``table``, ``summary``, ``plot``, ``to_dict``). Its promise: every record read is either
mapped or rejected, ``rows_read == rows_mapped + rows_rejected``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from outcomes._plotting import axes_or_new
from outcomes._results import Result, Summary, jsonable
from outcomes.mapping._build import REASONS
from outcomes.mapping.merge import write_export
from outcomes.validation.report import ValidationReport

__all__ = ["MappedExport"]


@dataclass(frozen=True, repr=False)
class MappedExport(Result):
    """An export mapped to canonical tables, with every record accounted for.

    Attributes
    ----------
    name : str
        The export's name in the study (``rejected/<name>.csv``, the ``export`` column).
    file, source : str
        The export's path and its layout (qualtrics, qualtrics-legacy, redcap,
        surveymonkey, wide).
    tables : dict of str to DataFrame
        The canonical tables the export gives (text cells, as written to CSV), each with
        the provenance columns ``export`` and ``export_row`` (the record's line).
    rejected : DataFrame
        One row per rejected record: ``row`` (its line in the export), ``reason`` (a code
        of :data:`~outcomes.mapping.REASONS`), ``message``, then the record's cells
        (personal-data columns left out).
    notes : tuple of str
        What was noticed on the way (columns dropped as personal data, missing-data codes).
    rows_read : int
        Records in the export (header rows not counted).
    columns_used, columns_personal, columns_ignored : tuple of str
    cells : DataFrame
        The engagement, session and coach fields one per row, with the record each came
        from (``export_row``); the tables are assembled from them.
    data : DataFrame
        The export's records as read, personal-data columns left out.
    id_column : str
        The export column that holds the engagement (or client) id.
    warnings : tuple of str
        After :meth:`write`: what the study should not be used without checking (two
        exports that share no engagement).
    validation : ValidationReport or None
        After :meth:`write`: the validation of the whole study folder.
    written : dict of str to str
        After :meth:`write`: what was written where.
    """

    name: str
    file: str
    source: str
    tables: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    notes: tuple[str, ...]
    rows_read: int
    columns_used: tuple[str, ...] = ()
    columns_personal: tuple[str, ...] = ()
    columns_ignored: tuple[str, ...] = ()
    cells: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    id_column: str = ""
    warnings: tuple[str, ...] = ()
    validation: ValidationReport | None = None
    written: dict[str, str] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        """Records rejected (each once, whatever its number of reasons)."""
        return int(len(self.rejected))

    @property
    def rows_mapped(self) -> int:
        """Records that gave canonical rows."""
        return self.rows_read - self.rows_rejected

    @property
    def ok(self) -> bool:
        """No record was rejected, and (after :meth:`write`) the study validates."""
        valid = self.validation.ok if self.validation is not None else True
        return self.rows_rejected == 0 and valid

    def by_reason(self) -> pd.Series:
        """Rejected records per reason code."""
        if not len(self.rejected):
            return pd.Series(dtype=int, name="n")
        return self.rejected["reason"].value_counts(sort=False).rename("n")

    def headline(self) -> str:
        """Records read, mapped and rejected, e.g. ``intake (qualtrics): 120 records read, ...``."""
        text = (f"{self.name} ({self.source}): {self.rows_read:,} records read, "
                f"{self.rows_mapped:,} mapped, {self.rows_rejected:,} rejected")
        if self.validation is not None:
            text += "; study " + ("valid" if self.validation.ok else "has rejected rows")
        return text

    def table(self) -> pd.DataFrame:
        """The accounting as a tidy frame: ``what``, ``detail``, ``n``.

        ``what`` is ``records`` (read, mapped, rejected), ``rejected`` (per reason),
        ``table`` (rows per canonical table) or ``columns`` (used, personal data, ignored).
        """
        rows: list[tuple[str, str, int]] = [
            ("records", "read", self.rows_read), ("records", "mapped", self.rows_mapped),
            ("records", "rejected", self.rows_rejected)]
        rows += [("rejected", str(k), int(v)) for k, v in self.by_reason().items()]
        rows += [("table", k, len(v)) for k, v in self.tables.items()]
        rows += [("columns", "used", len(self.columns_used)),
                 ("columns", "personal data", len(self.columns_personal)),
                 ("columns", "ignored", len(self.columns_ignored))]
        return pd.DataFrame(rows, columns=["what", "detail", "n"])

    def summary(self) -> Summary:
        """Plain text: records read, mapped and rejected by reason; tables; columns; notes."""
        lines = [f"Export {self.name} ({self.source}): {self.file}",
                 f"Records read {self.rows_read}: mapped {self.rows_mapped}, "
                 f"rejected {self.rows_rejected}."]
        for reason, n in self.by_reason().items():
            lines.append(f"  rejected, {REASONS.get(str(reason), reason)} ({reason}): {n}")
        if self.tables:
            lines.append("Rows per table: " + ", ".join(f"{k} {len(v)}"
                                                        for k, v in self.tables.items()))
        lines.append(f"Columns: {len(self.columns_used)} used, {len(self.columns_personal)} "
                     f"dropped as personal data, {len(self.columns_ignored)} ignored.")
        if self.columns_personal:
            lines.append("  dropped as personal data: " + ", ".join(self.columns_personal))
        if self.columns_ignored:
            shown = list(self.columns_ignored[:12])
            more = len(self.columns_ignored) - len(shown)
            lines.append("  ignored: " + ", ".join(shown) + (f" and {more} more" if more else ""))
        lines += [f"Note: {n}" for n in self.notes]
        lines += [f"Warning: {w}" for w in self.warnings]
        if self.validation is not None:
            lines += ["", self.validation.summary(limit=10)]
        return Summary("\n".join(lines))

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None):  # noqa: ANN001, ANN201
        """A bar chart of records mapped and rejected per reason; returns the Axes."""
        ax = axes_or_new(ax)
        reasons = self.by_reason()
        labels = ["mapped", *[f"rejected: {r}" for r in reasons.index]]
        counts = [self.rows_mapped, *reasons.tolist()]
        colours = ["#0072B2"] + ["#D55E00"] * len(reasons)
        ax.barh(labels, counts, color=colours)
        ax.invert_yaxis()
        ax.set_xlabel("records")
        ax.set_title(f"{self.name}: {self.rows_read} records read")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the accounting, notes and (after writing) the validation."""
        out: dict[str, Any] = {
            "export": self.name, "file": self.file, "source": self.source,
            "ok": self.ok,
            "rows": {"read": self.rows_read, "mapped": self.rows_mapped,
                     "rejected": self.rows_rejected},
            "rejected_by_reason": {str(k): int(v) for k, v in self.by_reason().items()},
            "tables": {k: len(v) for k, v in self.tables.items()},
            "columns": {"used": list(self.columns_used),
                        "personal_data": list(self.columns_personal),
                        "ignored": list(self.columns_ignored)},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "written": dict(self.written),
        }
        if self.validation is not None:
            out["validation"] = self.validation.to_dict()
        return jsonable(out)

    def write(self, folder: str | Path) -> MappedExport:
        """Write (or merge) the tables into a study folder and validate the whole study.

        See :mod:`outcomes.mapping.merge` for how an existing study is merged and how
        conflicts are handled.

        Returns
        -------
        MappedExport
            This export as written: records that conflicted with the study are added to
            ``rejected``, and ``validation`` holds the study's validation report.
        """
        return replace(self, **write_export(self, folder))

    def with_changes(self, **changes: Any) -> MappedExport:
        """A copy with some fields replaced (used when the export is merged into a study)."""
        return replace(self, **changes)
