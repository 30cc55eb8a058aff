"""The other published splits (what a reader can use in the main text, the detail in the
technical appendix) and the technical appendix itself."""

from __future__ import annotations

from typing import Any

from outcomes._errors import OutcomesError
from outcomes.reference import REFERENCES
from outcomes.report import _blocks as b
from outcomes.report._body import Run, factor_label

__all__ = ["other_splits", "appendix", "split_label"]


def split_label(split: Any) -> str:
    """A reference split's name without the marks of the science notes."""
    return split.label.replace(" (m)", "").replace(", m)", ")")


def _checked(split: Any) -> str:
    return (" (figures quoted from secondary sources, to be checked against the original)"
            if split.from_memory else "")


def _parts(run: Run, comparison: Any, n: int) -> list[tuple[str, str, str, float]]:
    out = []
    for r in comparison.parts.itertuples():
        share = run.share(r.estimate, n, f"{comparison.reference.label}: {r.part}")
        out.append((factor_label(r.part), share.text, f"{100 * r.reference:.0f} %",
                    abs(r.estimate - r.reference)))
    return out


def _meaning(run: Run, split: Any, comparison: Any, n: int, same: bool) -> str:
    parts = _parts(run, comparison, n)
    if same:
        return "The same figures as the reference above: the same reading applies."
    if not parts:
        return "No part of it matches a factor measured here."
    name, estimate, reference, _ = max(parts, key=lambda p: p[3])
    if split.denominator == "total":
        return ("It divides the whole variance of outcome, not what the factors explain, and "
                "is set beside the model with clients nested in coaches; the widest gap is "
                f"{name}: {estimate} of the whole variance here against {reference}.")
    return (f"A split of the same kind as the reference above; the widest gap is {name}: "
            f"{estimate} here against {reference}.")


def other_splits(run: Run, fit: Any, multilevel: Any, chosen: str) -> dict[str, Any]:
    """The other published splits: what each divides and what it means for these data; the
    parts and distances go to the technical appendix."""
    main = REFERENCES[chosen]
    rows, detail = [], []
    for key, split in REFERENCES.items():
        if key == chosen:
            continue
        total = split.denominator == "total" and multilevel is not None
        source = multilevel if total else fit
        n = int(getattr(source, "n", fit.n))
        label, what = split_label(split), split.share_of + _checked(split)
        if split.denominator == "separate":
            rows.append([label, what, "Each figure comes from its own meta-analysis: the "
                         "figures do not add up and cannot be set beside one split."])
            continue
        try:
            comparison = source.compare(key)
        except OutcomesError:
            rows.append([label, what, "Not comparable: it names parts these data do not "
                         "measure."])
            continue
        same = dict(split.shares) == dict(main.shares)
        rows.append([label, what, _meaning(run, split, comparison, n, same)])
        parts = "; ".join(f"{p[0]} {p[1]} (reference {p[2]})"
                          for p in _parts(run, comparison, n))
        distance = ("–" if comparison.distance is None or comparison.distance != comparison.distance
                    else run.stat(comparison.distance, n, f"distance to {label}").text)
        detail.append([label, what, parts, distance])
    run.appendix.append(b.heading("The estimate beside every published split"))
    run.appendix.append(b.table(
        ["published split", "what it splits", "estimate here (reference)", "distance"], detail,
        caption="Each part of each split, beside the estimate",
        numeric=[False, False, False, True],
        note="Splits of the whole outcome variance are set beside the shares of the model with "
             "clients nested in coaches, the coach taking the therapist's part, as percent of "
             "total variance; the others as percent of explained. Distance: the Aitchison "
             "distance between the two splits taken as compositions (0 = the same split; it "
             "weighs ratios between parts, so a small part far from its reference counts as "
             "much as a large one); none for a split of two parts."))
    return b.table(["published split", "what it splits", "what it means for these data"], rows,
                   caption="Other published splits", numeric=[False, False, False],
                   note="The technical appendix sets each part of each split beside the "
                        "estimate.")


def appendix(run: Run) -> dict[str, Any]:
    """Technical appendix: the detail behind the sections, for analysts."""
    entries = [f"{name}: {text}" for name, text in run.log if name != "Warning"]
    seen = [text for name, text in run.log if name == "Warning"]
    blocks = [b.lead("The detail behind the sections, for analysts: the full tables and how "
                     "each number was estimated."), *run.appendix,
              b.heading("How each part was estimated"), b.items(entries)]
    if seen:
        blocks += [b.heading("Messages from the estimation"), b.items(seen[:10])]
    return b.section("appendix", "Technical appendix", blocks)
