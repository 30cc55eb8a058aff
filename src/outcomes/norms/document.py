"""The norms document: its format, its schema, reading it, and the :class:`Norms` around it.

A norms document is JSON (``"format": "outcomes-norms"``, ``"version": 2``) holding
aggregates only (see :mod:`outcomes.norms.build`). It is checked against the JSON Schema
``norms.schema.json`` shipped beside this module when it is written and when it is read, and
a file of another format version is refused with the way to make a current one.
:class:`Norms` wraps a checked document with the arithmetic a benchmark needs (intake
bands, the expected change of the case-mix model) and the four faces of every result.

Examples
--------
>>> check_norms({"format": "outcomes-norms", "version": 2, "k": 5})
Traceback (most recent call last):
...
outcomes._errors.DataError: the norms file breaks its schema at (top level): ...
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes._errors import DataError, ModelError, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, text_table
from outcomes.io import parse_json

__all__ = ["FORMAT", "VERSION", "Norms", "read_norms", "check_norms", "input_digest", "schema"]

FORMAT = "outcomes-norms"
#: Version 2: every number passes the disclosure gate (counts rounded, means on a grid), the
#: clients without an intake score are a band of their own, a ``privacy`` section says what
#: protects the numbers (and, for differentially private norms, the budget spent).
VERSION = 2
SCHEMA_FILE = "norms.schema.json"


def schema() -> dict[str, Any]:
    """The JSON Schema of a norms document (shipped with the package)."""
    return json.loads(resources.files("outcomes.norms").joinpath(SCHEMA_FILE).read_text("utf-8"))


def check_norms(document: Any, *, source: str | None = None) -> None:
    """Refuse a document that is not a norms file of this format version or breaks the schema.

    Examples
    --------
    >>> check_norms({"format": "outcomes-norms", "version": 1})
    Traceback (most recent call last):
    ...
    outcomes._errors.DataError: the norms file is format version 1; ... reads version 2...
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError("is not an outcomes norms file (no \"format\": \"outcomes-norms\")",
                        file=source, fix="Make one with `outcomes norms STUDY --out FILE`.")
    version = document.get("version")
    if version != VERSION:
        raise DataError(
            f"the norms file is format version {version}; this version of outcomes reads "
            f"version {VERSION}", file=source,
            fix=f"Make the norms again with `outcomes norms` of this version, or use the "
                f"version of outcomes that reads format version {version}.")
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: list(e.path))),
                 None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise DataError(f"the norms file breaks its schema at {where}: {error.message}",
                        file=source, fix="Make the norms again with `outcomes norms`; do "
                        "not edit the file by hand.")


def input_digest(path: str | Path | None) -> str:
    """SHA-256 over the names and bytes of a study's input files (a folder's top-level files,
    or one file), to tie a report or norms file to its data without revealing them."""
    if path is None:
        return ""
    target = Path(path)
    files = sorted(p for p in target.iterdir() if p.is_file()) if target.is_dir() \
        else [target] if target.exists() else []
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode("utf-8") + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def read_norms(path: str | Path) -> Norms:
    """Read a norms file, refusing another format version or a file that breaks the schema."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist. Give the norms file made by `outcomes norms`.")
    try:
        document = parse_json(path.read_text(encoding="utf-8"), file=str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"is not JSON ({error})", file=str(path),
                        fix="Give the norms file made by `outcomes norms`.") from None
    check_norms(document, source=str(path))
    return Norms(document)


@dataclass(frozen=True, eq=False, repr=False)
class Norms(Result):
    """A norms document (see the module text) with the arithmetic a benchmark needs.

    ``table()`` gives the published distributions (``band``, ``measure``, ``n``, ``mean``,
    ``sd`` and one column per quantile, ``q5`` to ``q95``); ``to_dict()`` the document.
    ``log`` is the disclosure gate's log of every number released or withheld (when the
    norms were built here, not read from a file).
    """

    document: dict[str, Any]
    log: pd.DataFrame | None = field(default=None, compare=False)

    @property
    def k(self) -> int:
        """The suppression threshold the norms were made with."""
        return int(self.document["k"])

    def section(self, name: str) -> dict[str, Any] | None:
        """A section of the document, or None when it was withheld."""
        part = self.document.get(name)
        return None if not isinstance(part, dict) or "withheld" in part else part

    def band_of(self, intake: Any) -> np.ndarray:
        """The intake band label of each intake score."""
        edges = np.asarray(self.document["bands"]["edges"], dtype=float)
        labels = np.asarray(self.document["bands"]["labels"], dtype=object)
        return labels[np.searchsorted(edges, np.asarray(intake, dtype=float), side="right")]

    def expected_change(self, intake: Any, *, sponsor: Any = None) -> np.ndarray:
        """Expected change for clients with these intake scores (and sponsors), from the
        case-mix model; a sponsor the model does not know counts as its first level."""
        model = self.section("case_mix")
        if model is None:
            raise ModelError("the norms hold no case-mix model: "
                             + str(self.document["case_mix"].get("withheld")))
        x = np.atleast_1d(np.asarray(intake, dtype=float))
        terms = model["terms"]
        out = terms["intercept"] + terms["baseline"] * x
        if sponsor is not None:
            given = np.atleast_1d(np.asarray(sponsor, dtype=object)).astype(str)
            for name, value in terms.items():
                if name.startswith("sponsor["):
                    out = out + value * (given == name[len("sponsor["):-1])
        return out

    def table(self) -> pd.DataFrame:
        """The distributions, tidy: band, measure, n, mean, sd and one column per quantile."""
        rows = []
        for entry in self.document["distributions"]:
            quantiles = {f"q{float(q) * 100:g}": v for q, v in entry["quantiles"].items()}
            rows.append({"band": entry["band"], "measure": entry["measure"], "n": entry["n"],
                         "mean": entry["mean"], "sd": entry["sd"], **quantiles})
        return pd.DataFrame(rows)

    def headline(self) -> str:
        """Whose norms, how many engagements and coaches, and k."""
        doc = self.document
        sample = doc["sample"]
        coaches = "?" if sample["coaches"] is None else f"{sample['coaches']:,}"
        return (f"{doc['source']['title']}: {sample['engagements']:,} engagements of "
                f"{coaches} coaches, k = {doc['k']}, made {doc['created']} "
                f"(format version {doc['version']})")

    def summary(self) -> Summary:
        """What the norms hold, in a few lines and the overall distributions."""
        doc = self.document
        sample = doc["sample"]
        lines = [f"Norms of {doc['source']['title']} ({doc['generator']}, {doc['created']}; "
                 f"format {doc['format']} version {doc['version']}, k = {doc['k']}).",
                 f"{sample['engagements']} engagements of {sample['coaches']} coaches"
                 + ("." if sample.get("excluded_no_consent") is None else
                    f"; {sample['excluded_no_consent']} left out without research consent.")]
        privacy = doc.get("privacy", {})
        if privacy.get("method") == "dp":
            lines.append(f"Differentially private distributions (epsilon = "
                         f"{privacy['epsilon']:g}); the model parts are withheld."
                         + (" Seeded noise: for testing only." if privacy.get("seeded")
                            else ""))
        effects = self.section("coach_effects")
        if effects:
            lines.append(f"Coach effects: tau = {effects['tau']:.2f} points, ICC = "
                         f"{effects['icc']:.3f} (case-mix adjusted change).")
        table = self.table()
        lines += ["", text_table(table[table["band"] == "all"].drop(columns="band"),
                                 digits=2)]
        withheld = self.withheld()
        if withheld:
            lines += ["", "Not published:"]
            reasons: dict[str, list[str]] = {}
            for name, why in withheld.items():
                reasons.setdefault(why, []).append(name.replace("_", " "))
            lines += [f"- {', '.join(names)}: {why}" for why, names in reasons.items()]
        return Summary("\n".join(lines))

    def withheld(self) -> dict[str, str]:
        """The sections that were not published, each with the reason in words."""
        return {name: str(part["withheld"]) for name, part in self.document.items()
                if isinstance(part, dict) and "withheld" in part}

    def to_dict(self) -> dict[str, Any]:
        """The document (a copy)."""
        return copy.deepcopy(self.document)

    def write(self, path: str | Path) -> Path:
        """Check the document against the schema and write it as JSON."""
        check_norms(self.document)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document, indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
        return path

    def plot(self, ax: Any = None, *, measure: str = "change") -> Any:
        """Quantiles of a measure by intake band: median, quartile box and 10-90 whiskers."""
        from matplotlib.patches import Rectangle

        ax = axes_or_new(ax)
        table = self.table()
        rows = table[(table["measure"] == measure) & (table["band"] != "all")]
        for i, row in enumerate(rows.itertuples()):
            q = {c: float(getattr(row, c, np.nan) or np.nan)
                 for c in ("q10", "q25", "q50", "q75", "q90")}
            if pd.notna(q["q25"]) and pd.notna(q["q75"]):
                ax.add_patch(Rectangle((i - 0.3, q["q25"]), 0.6, q["q75"] - q["q25"],
                                       color=PALETTE[4]))
            if pd.notna(q["q10"]) and pd.notna(q["q90"]):
                ax.plot([i, i], [q["q10"], q["q90"]], color="black", linewidth=1)
            if pd.notna(q["q50"]):
                ax.plot([i - 0.3, i + 0.3], [q["q50"]] * 2, color=PALETTE[0], linewidth=2.5)
        ax.set_xticks(range(len(rows)), list(rows["band"]), fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.autoscale_view()
        ax.set_xlabel("intake score band")
        ax.set_ylabel(measure.replace("_", " "))
        return ax
