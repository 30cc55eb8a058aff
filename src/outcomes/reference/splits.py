"""The published reference splits of outcome among factors (:data:`REFERENCES`).

The best known split, 40 % client / 30 % relationship / 15 % expectancy / 15 % technique
(Lambert 1992; Asay & Lambert 1999), divides the *average improvement* by expert judgement;
other splits divide the *total variance* of outcome, or are separate r² from separate
meta-analyses that do not add up. Each :class:`ReferenceSplit` says which (its
``denominator``) and where its figures come from. Figures marked "(m)" in the science notes
(from memory or a secondary page) carry ``from_memory=True`` and a note.

Examples
--------
>>> REFERENCES["wampold-2001"].shares["treatment"]
0.13
>>> REFERENCES["laska-2014"].additive
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from outcomes._results import Result, Summary, jsonable, text_table

__all__ = ["ReferenceSplit", "REFERENCES", "Denominator"]

Denominator = Literal["improvement", "explained", "total", "separate"]


@dataclass(frozen=True, repr=False)
class ReferenceSplit(Result):
    """A published split of outcome among factors.

    Parameters
    ----------
    key, label : str
        Identifier (hyphenated) and a readable name.
    shares : mapping of str to float
        Each part's proportion (0-1) of what is split.
    share_of : str
        What is split, in words ("improvement (judgement)", "total outcome variance", ...).
    denominator : {"improvement", "explained", "total", "separate"}
        How an estimate is matched: relative shares for improvement/explained, absolute
        shares plus ``1 - R²`` for total, per factor for separate r².
    citation : str
        Where the figures come from.
    note : str
        Caveats (for instance figures from memory or secondary sources).
    from_memory : bool
        Whether the science notes mark the figures "(m)": to be checked against the source.
    residual : str, optional
        The part that holds unexplained variance (total-variance splits).
    additive : bool
        False when the parts come from separate analyses and do not add up.
    """

    key: str
    label: str
    shares: Mapping[str, float]
    share_of: str
    denominator: Denominator
    citation: str
    note: str = ""
    from_memory: bool = False
    residual: str | None = None
    additive: bool = True

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled with its shares as a dict (a read-only view of them cannot be pickled),
        so that a split can be sent to another process."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return _unpickled, ({**values, "shares": dict(self.shares)},)

    def headline(self) -> str:
        """The label, the number of parts and whether they add up."""
        flags = [f"{len(self.shares)} parts", "not additive" if not self.additive else "",
                 "figures from memory" if self.from_memory else ""]
        return f"{self.label} ({', '.join(f for f in flags if f)})"

    def table(self) -> pd.DataFrame:
        """The parts and their published proportions (``estimate``, 0-1)."""
        return pd.DataFrame({"part": list(self.shares),
                             "estimate": [float(v) for v in self.shares.values()]})

    def summary(self) -> Summary:
        """The parts in per cent, what is split, the source and the caveats."""
        shown = self.table().assign(estimate=lambda t: 100 * t.estimate)
        lines = [f"{self.label}: a split of {self.share_of}.", "",
                 text_table(shown.rename(columns={"estimate": "per cent"}), digits=1), ""]
        if not self.additive:
            lines.append("The parts come from separate analyses and do not add up.")
        if self.note:
            lines.append(self.note)
        lines.append(f"Source: {self.citation.rstrip('.')}.")
        return Summary("\n".join(lines))

    def plot(self, ax=None):
        """Bars of the parts in per cent. Returns the Axes."""
        from outcomes._plotting import share_bars

        return share_bars(ax, list(self.shares), list(self.shares.values()),
                          estimate_label=self.label, ylabel=f"share of {self.share_of}",
                          percent=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the split and its provenance."""
        return jsonable({
            "key": self.key, "label": self.label, "shares": dict(self.shares),
            "share_of": self.share_of, "denominator": self.denominator,
            "citation": self.citation, "note": self.note, "from_memory": self.from_memory,
            "residual": self.residual, "additive": self.additive,
        })


def _split(key, label, shares, share_of, denominator, citation, **kw) -> ReferenceSplit:
    return ReferenceSplit(key, label, MappingProxyType(dict(shares)), share_of, denominator,
                          citation, **kw)


_COMMON = {"client": 0.40, "relationship": 0.30, "expectancy": 0.15, "technique": 0.15}
def _unpickled(values: dict[str, Any]) -> ReferenceSplit:
    return ReferenceSplit(**{**values, "shares": MappingProxyType(dict(values["shares"]))})


REFERENCES: Mapping[str, ReferenceSplit] = MappingProxyType({s.key: s for s in (
    _split("asay-lambert-1999", "Asay & Lambert (1999): 40/30/15/15", _COMMON,
           "improvement (judgement)", "improvement",
           "Lambert 1992, in Norcross & Goldfried (eds.), Handbook of Psychotherapy "
           "Integration, pp. 94-129; Asay & Lambert 1999, in Hubble, Duncan & Miller (eds.), "
           "The Heart and Soul of Change, APA, pp. 23-55 (doi 10.1037/11132-001)",
           note="An expert reading of the outcome literature, not a variance decomposition."),
    _split("mckenna-davis-2009", "McKenna & Davis (2009): 40/30/15/15 for coaching", _COMMON,
           "improvement (judgement, hypothesised for coaching)", "improvement",
           "McKenna & Davis 2009, Industrial and Organizational Psychology 2(3):244-260",
           note="Transfers the therapy split to executive coaching as a hypothesis."),
    _split("norcross-lambert-2011", "Norcross & Lambert (2011)",
           {"client": 0.30, "relationship": 0.12, "technique": 0.08, "therapist": 0.07,
            "other": 0.03, "unexplained": 0.40},
           "total outcome variance (expert estimate)", "total",
           "Norcross & Lambert 2011, Psychotherapy Relationships That Work, 2nd ed.; via "
           "Bohart & Wade 2013, Bergin & Garfield's Handbook, 6th ed.",
           note="40/30/30 checked; the split of the 30 % (m) is from a secondary source.",
           from_memory=True, residual="unexplained"),
    _split("norcross-2002-alt", "Norcross (older variant, m)",
           {"client": 0.25, "relationship": 0.10, "technique": 0.08, "therapist": 0.07,
            "interaction": 0.05, "unexplained": 0.45},
           "outcome variance", "total", "secondary sources only",
           note="Figures (m) from secondary sources only; check before relying on them.",
           from_memory=True, residual="unexplained"),
    _split("wampold-2001", "Wampold (2001): treatment 13 %",
           {"client": 0.87, "treatment": 0.13}, "total outcome variance", "total",
           "Wampold 2001, The Great Psychotherapy Debate, Erlbaum; Wampold 2010",
           note="The 87 % includes error: the estimate's unexplained part joins 'client'. "
                "Map the treatment factors with mapping={'treatment': [...]}.",
           residual="client"),
    _split("wampold-2001-within-treatment", "Wampold (2001): within the treatment 13 % (m)",
           {"technique": 0.08, "general": 0.70, "unexplained": 0.22},
           "treatment-attributable variance (the 13 %)", "total",
           "Wampold 2001, The Great Psychotherapy Debate, Erlbaum",
           note="Figures (m); a split of the treatment share only, not of all outcome variance.",
           from_memory=True, residual="unexplained"),
    _split("duncan-2014", "Duncan (2014): treatment 14 %",
           {"client": 0.86, "treatment": 0.14}, "outcome variance, from d = 0.80", "total",
           "Duncan 2014 (practitioner article; venue m)",
           note="The 86 % includes error: the estimate's unexplained part joins 'client'.",
           residual="client"),
    _split("laska-2014", "Laska, Gurman & Wampold (2014): separate r²",
           {"goal_consensus": 0.115, "empathy": 0.090, "alliance": 0.075,
            "positive_regard": 0.073, "congruence": 0.057, "therapist": 0.050,
            "treatment_differences": 0.01, "competence": 0.005, "adherence": 0.001},
           "outcome variance, each from its own meta-analysis", "separate",
           "Laska, Gurman & Wampold 2014, Psychotherapy 51(4):467-481",
           note="Not additive: each r² comes from a separate meta-analysis (their naive sum "
                "double-counts). Treatment differences '<1 %' and adherence '<0.1 %' are "
                "entered at those upper bounds.", additive=False),
)})
