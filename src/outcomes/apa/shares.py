"""APA tables of shares: ``decompose``, ``dominance`` and ``multilevel_shares``.

What they give, set beside R's packages for the same models:

- apaTables' ``apa.reg.table`` reports, per predictor, *b*, beta, *sr*² with its interval
  and the block's *R*² with its interval; domir's and dominanceanalysis' printouts give the
  general, conditional and complete dominance statistics. The shares table gives each
  factor's share of *R*² and its proportion of what the factors explain, both with their
  bootstrap intervals in brackets, the full model's *R*² and the covariates' part in the
  note, the measures behind each factor, and (optionally) a reference split beside them.
- The dominance table gives general dominance with its interval and rank, the conditional
  dominance at each number of other factors (a spanner over them, as domir lays it out),
  and the complete dominance designations in words in the note.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from outcomes.apa import numbers as num
from outcomes.apa._labels import ci_heading, listing, short_reference, words

__all__ = ["decomposition_parts", "dominance_parts", "multilevel_shares_parts", "METHOD_TEXT"]

METHOD_TEXT = {
    "lmg": "LMG shares (the Shapley value: a factor's gain in *R*² averaged over every order "
           "in which the factors can enter; Lindeman et al., 1980)",
    "dominance": "general dominance weights (a factor's mean gain in *R*² over the models of "
                 "each size, averaged over sizes; Azen & Budescu, 2003)",
    "pratt": "Pratt's measure (standardized coefficient times correlation; Thomas et al., 1998)",
    "relative_weights": "relative weights (Johnson, 2000)",
    "car": "squared CAR scores (Zuber & Strimmer, 2011)",
    "first": "the *R*² of each factor alone",
    "last": "the *R*² each factor adds when it enters last",
    "betasq": "the variance of each factor's part of the prediction",
}


def _share_digits(values: Any) -> int:
    """Three decimals when every share is below .10 (two would hide their differences)."""
    finite = [abs(v) for v in values if np.isfinite(v)]
    return 3 if finite and max(finite) < 0.10 else 2


def _bootstrap_text(result: Any, method: str | None) -> str:
    level = round(100 * result.ci_level, 1)
    kind = {"bca": "BCa", "percentile": "percentile"}.get(method or "", method or "")
    unit = (f"resampling {result.n_clusters} clusters whole" if getattr(result, "n_clusters", None)
            else "resampling clients")
    return (f"CI = confidence interval: {level:g}% {kind} bootstrap intervals from "
            f"{result.n_boot:,} replicates, {unit}.")


def _interval_of(ci: Any, quantity: str, name: Any) -> tuple[float, float]:
    if ci is None:
        return (np.nan, np.nan)
    rows = ci[(ci.quantity == quantity) & (ci.factor == name)] if name is not None \
        else ci[ci.quantity == quantity]
    if rows.empty:
        return (np.nan, np.nan)
    return float(rows.ci_low.iloc[0]), float(rows.ci_high.iloc[0])


def _reference_column(result: Any, reference: str | None) -> tuple[str, dict[str, float], str]:
    if reference is None:
        return "", {}, ""
    comparison = result.compare(reference)
    split = comparison.reference
    values = dict(zip(comparison.parts.part, comparison.parts.reference, strict=True))
    heading = short_reference(split.label)
    note = (f"{heading} is a split of {split.share_of}, not of variance; it is set beside the "
            "proportions for comparison.")
    return heading, values, note


def decomposition_parts(result: Any, *, reference: str | None = None) -> dict[str, Any]:
    """The parts of the APA table of a :class:`~outcomes.Decomposition`."""
    names = list(result.shares.index)
    share_digits = _share_digits(result.shares.to_numpy())
    share_zero = not num.bounded(result.shares)
    relative_zero = not num.bounded(result.relative)
    heading, ref_values, ref_note = _reference_column(result, reference)
    has_ci = result.ci is not None
    rows = []
    for name in names:
        low, high = _interval_of(result.ci, "share", name)
        rlow, rhigh = _interval_of(result.ci, "relative", name)
        row = [words(name), ", ".join(words(c, capital=False) for c in result.factors[name]),
               num.number(result.shares[name], share_digits, leading_zero=share_zero)]
        row += [num.interval(low, high, share_digits, leading_zero=share_zero)] * has_ci
        row.append(num.number(result.relative[name], 2, leading_zero=relative_zero))
        row += [num.interval(rlow, rhigh, 2, leading_zero=relative_zero)] * has_ci
        if heading:
            row.append(num.number(ref_values.get(name, np.nan), 2, leading_zero=False))
        rows.append(tuple(row))
    total = ["Total", "", num.number(result.shares.sum(), share_digits, leading_zero=share_zero)]
    total += [""] * has_ci + [num.number(1.0, 2)] + [""] * has_ci + ([""] if heading else [])
    rows.append(tuple(total))
    ci = ci_heading(result.ci_level)
    columns = ["Factor", "Measures", "Estimate", *[ci] * has_ci, "Estimate", *[ci] * has_ci]
    if heading:
        columns.append(heading)
    width = 1 + has_ci
    spanners = (("Share of *R*²", 2, 1 + width), ("Proportion of explained", 2 + width,
                                                   1 + 2 * width))
    outcome = words(result.outcome, capital=False)
    return {"title": f"Each factor's share of the variance in {outcome}",
            "columns": tuple(columns), "rows": tuple(rows), "spanners": spanners,
            "note": _decomposition_note(result, ref_note)}


def _decomposition_note(result: Any, ref_note: str) -> str:
    parts = [f"Shares are {METHOD_TEXT.get(result.method, result.method)}."]
    if result.covariates:
        covariates = listing([words(c, capital=False) for c in result.covariates])
        parts.append(f"The covariates ({covariates}) entered first, *R*² = "
                     f"{num.number(result.r2_covariates, 2, leading_zero=False)}; the factors "
                     "share what they leave.")
    low, high = _interval_of(result.ci, "r2", None)
    r2 = num.number(result.r2, 2, leading_zero=False)
    bracket = num.interval(low, high, 2, leading_zero=False)
    parts.append(f"Full model *R*² = {r2}" + (f", {ci_heading(result.ci_level)} {bracket}."
                                               if bracket else "."))
    if result.method in ("lmg", "dominance", "pratt", "relative_weights", "car"):
        parts.append("Shares are in *R*² units and add up to the *R*² the factors share; a "
                     "proportion is a share divided by their sum.")
    else:
        parts.append("These shares do not add up to *R*²; proportions rescale them to sum to 1.")
    dropped = (f"; {result.n_dropped:,} with missing values were left out" if result.n_dropped
               else "")
    parts.append(f"*n* = {result.n:,} clients{dropped}.")
    report = getattr(result, "missingness", None)
    if report is not None and report.method in ("mi", "em") and report.n_incomplete:
        how = (f"multiply imputed (chained equations, *m* = {report.n_imputations})"
               if report.method == "mi" else "handled by maximum likelihood (EM)")
        parts.append(f"Intention to treat: {report.n_incomplete:,} clients with a missing "
                     f"value were kept, their missing values {how}.")
    if result.ci is not None:
        parts.append(_bootstrap_text(result, result.ci_method))
    if ref_note:
        parts.append(ref_note)
    return " ".join(parts)


def dominance_parts(result: Any) -> dict[str, Any]:
    """The parts of the APA table of a :class:`~outcomes.Dominance`."""
    names = list(result.general.index)
    conditional = result.conditional
    sizes = list(conditional.columns)
    values = np.concatenate([result.general.to_numpy(), conditional.to_numpy().ravel()])
    digits = _share_digits(values)
    zero = not num.bounded(values)
    ranks = result.general.rank(ascending=False, method="min").astype(int)
    ci = None if result.general_ci is None else result.general_ci.set_index("factor")
    rows = []
    for name in names:
        row = [words(name), num.number(result.general[name], digits, leading_zero=zero)]
        if ci is not None:
            row.append(num.interval(ci.loc[name, "ci_low"], ci.loc[name, "ci_high"], digits,
                                    leading_zero=zero))
        row.append(str(ranks[name]))
        row += [num.number(conditional.loc[name, k], digits, leading_zero=zero) for k in sizes]
        rows.append(tuple(row))
    columns = ["Factor", "General", *[ci_heading(result.ci_level)] * (ci is not None), "Rank",
               *[str(k) for k in sizes]]
    first = len(columns) - len(sizes)
    spanner = ("Conditional, by number of other factors in the model", first, len(columns) - 1)
    return {"title": f"Dominance of the factors in predicting "
                     f"{words(result.outcome, capital=False)}",
            "columns": tuple(columns), "rows": tuple(rows), "spanners": (spanner,),
            "note": _dominance_note(result, names)}


def _dominance_note(result: Any, names: list[str]) -> str:
    parts = ["General dominance is a factor's mean gain in *R*² over the models of each size, "
             "averaged over sizes (Azen & Budescu, 2003); the general weights add up to the "
             "*R*² the factors share. Conditional dominance is the mean gain over the models "
             "with the given number of other factors."]
    complete = result.complete
    found = []
    for name in names:
        beaten = [words(o, capital=False) for o in names
                  if o != name and complete.loc[name, o] == 1]
        if beaten:
            found.append(f"{words(name, capital=False)} completely dominates {listing(beaten)}")
    if found:
        parts.append(words("; ".join(found)) + " (a larger gain in every model).")
    else:
        parts.append("No factor completely dominates another.")
    if result.covariates:
        parts.append(f"Always in the model: "
                     f"{listing([words(c, capital=False) for c in result.covariates])}.")
    parts.append(f"*n* = {result.n:,} clients.")
    if result.general_ci is not None and result.n_boot:
        level = round(100 * result.ci_level, 1)
        parts.append(f"CI = confidence interval: {level:g}% bootstrap intervals from "
                     f"{result.n_boot:,} replicates.")
    return " ".join(parts)


def multilevel_shares_parts(result: Any) -> dict[str, Any]:
    """The parts of the APA table of a :class:`~outcomes.MultilevelShares`."""
    table = result.table()
    shown = table[table.part != "r2_marginal"]
    has_ci = bool(shown.ci_low.notna().any())
    labels = {"covariates": "Covariates", "coach": "Coach (intercepts)",
              "unexplained": "Unexplained (residual)"}
    rows = []
    for part in shown.itertuples():
        row = [labels.get(part.part, words(part.part)),
               num.number(part.estimate, 3, leading_zero=False)]
        if has_ci:
            row.append(num.interval(part.ci_low, part.ci_high, 3, leading_zero=False))
        rows.append(tuple(row))
    columns = ("Part", "Share of variance", *[ci_heading(result.ci_level)] * has_ci)
    factors = [words(f, capital=False) for f in result.factors]
    note = [f"Shares of the outcome's total variance in a random-intercept model of "
            f"{result.n:,} clients in {result.n_clusters} coaches. The factors "
            f"({listing(factors)}) share the marginal *R*² by the Shapley value over the "
            "models with and without each; the coach's part is the variance of the coach "
            "intercepts, and the parts add up to 1. Marginal *R*² = "
            f"{num.number(result.r2_marginal, 2, leading_zero=False)}."]
    if has_ci:
        note.append(_bootstrap_text(result, result.ci_method))
    return {"title": f"Shares of the variance in {words(result.outcome, capital=False)} with "
                     "the coach beside the factors",
            "columns": columns, "rows": tuple(rows), "note": " ".join(note)}
