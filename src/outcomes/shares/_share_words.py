"""The words and numbers a person reads in a decomposition's summary and notebook view.

One unit and one rounding rule: every share is a percent of what the factors explain
together, with one decimal; the variance explained (R²) is stated once, in the sentence
above the table. Names are shown as words (``social_support`` -> "Social support"), methods
and interval methods by their names in the literature, never by their code keys.

When missing values were handled by multiple imputation or EM, the intention-to-treat
shares are set beside the complete-case shares, and :func:`basis_lines` says which of the
two a conclusion rests on, by one stated rule.

Examples
--------
>>> percent(0.353017), span(0.256944, 0.44886), label("social_support")
('35.3 %', '25.7 to 44.9 %', 'Social support')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["METHOD_NAMES", "CI_NAMES", "label", "words", "percent", "span", "lay_out",
           "share_frame", "model_lines", "bootstrap_line", "basis_lines"]

#: Each method as the literature names it.
METHOD_NAMES = {
    "lmg": "LMG (the Shapley value)",
    "dominance": "general dominance",
    "pratt": "Pratt's measure",
    "relative_weights": "Johnson's relative weights",
    "car": "squared CAR scores",
    "first": "the R² of each factor alone",
    "last": "the R² each factor adds when it enters last",
    "betasq": "beta squared (the variance of each factor's part of the prediction)",
}

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

#: Each interval method in words.
CI_NAMES = {"bca": "bias-corrected and accelerated (BCa)", "percentile": "percentile"}

_DASH = "–"


def words(name: object) -> str:
    """A column or factor name as lower-case words: ``end_score`` -> "end score"."""
    return str(name).replace("_", " ")


def label(name: object) -> str:
    """A factor or column name as a label: ``social_support`` -> "Social support"."""
    text = words(name)
    return text[:1].upper() + text[1:]


def percent(value: float) -> str:
    """A proportion as a percent with one decimal ("35.3 %"); a dash when undefined."""
    return f"{100 * value:.1f} %" if np.isfinite(value) else _DASH


def span(low: float | None, high: float | None) -> str:
    """An interval of proportions as percents: "25.7 to 44.9 %"."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return _DASH
    return f"{100 * low:.1f} to {100 * high:.1f} %"


def lay_out(frame: pd.DataFrame) -> str:
    """A frame of text cells as a plain-text table: first column left, the rest right.

    Examples
    --------
    >>> print(lay_out(pd.DataFrame({"Factor": ["Client"], "Share": ["35.3 %"]})))
    Factor   Share
    Client  35.3 %
    """
    columns = [str(c) for c in frame.columns]
    cells = [[str(v) for v in frame[c]] for c in frame.columns]
    widths = [max(len(h), *(len(v) for v in col)) for h, col in zip(columns, cells, strict=True)]

    def row(values: list[str]) -> str:
        parts = [values[0].ljust(widths[0])]
        parts += [v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    lines = [row(columns)]
    lines += [row([col[i] for col in cells]) for i in range(len(frame))]
    return "\n".join(lines)


def share_frame(result: Any, *, reference: pd.Series | None = None,
                reference_label: str = "") -> pd.DataFrame:
    """The shares as text cells with headings in words: factor, percent of explained, the
    interval, the complete-case shares beside intention-to-treat ones, a reference split."""
    names = list(result.shares.index)
    level = f"{round(100 * result.ci_level, 1):g} % interval"
    corrected = result.corrected if result.reliability is not None else ()
    frame = pd.DataFrame({"Factor": [label(n) + " (true score)" * (n in corrected)
                                     for n in names],
                          "Share of explained": [percent(v) for v in result.relative]})
    if result.ci is not None:
        frame[level] = [span(*result._interval(n, "relative")) for n in names]
    complete = getattr(result, "complete_cases", None)
    if complete is not None:
        frame[f"Complete cases (n = {complete.n})"] = [
            percent(complete.relative.get(n, np.nan)) for n in names]
    if reference is not None:
        frame[reference_label] = [percent(reference.get(n, np.nan)) for n in names]
    return frame


def model_lines(result: Any) -> list[str]:
    """Who was analysed, and the variance explained, stated once."""
    outcome = words(result.outcome)
    method = METHOD_NAMES.get(result.method, words(result.method))
    report = result.missingness
    itt = report is not None and report.method != "listwise"
    lines = [f"What drives {outcome}: each factor's share of the explained variance, by "
             f"{method}."]
    if itt:
        lines.append(f"n = {result.n} clients: every client with any value is kept "
                     f"(intention to treat; {report.n_incomplete} of them miss a value)"
                     + (f", {result.n_dropped} without any usable value left out."
                        if result.n_dropped else "."))
    elif result.n_dropped:
        lines.append(f"n = {result.n} clients with every value (complete cases); "
                     f"{result.n_dropped} of {result.n + result.n_dropped} were left out "
                     "because a value was missing.")
    else:
        lines.append(f"n = {result.n} clients.")
    split = result.r2 - result.r2_covariates
    p = len(result.shares)
    factors = "the factor" if p == 1 else f"the {_NUMBERS[p] if p < len(_NUMBERS) else p} factors"
    if result.covariates:
        covariates = ", ".join(words(c) for c in result.covariates)
        lines.append(f"The model explains {percent(result.r2)} of the variance in {outcome}. "
                     f"{covariates[:1].upper() + covariates[1:]}, entered first, "
                     f"explain{'s' * (len(result.covariates) == 1)} "
                     f"{percent(result.r2_covariates)}; {factors} share the remaining "
                     f"{percent(split)} (R² = {split:.3f}).")
    else:
        lines.append(f"{factors[:1].upper() + factors[1:]} explain "
                     f"{percent(result.r2)} of the variance in {outcome} (R² = "
                     f"{result.r2:.3f}).")
    if result.additive:
        lines.append("Each share below is a percent of what the factors explain together.")
    else:
        lines.append("These shares do not add up to the R² the factors explain together; "
                     "each is shown as a percent of their sum.")
    return lines


def bootstrap_line(result: Any) -> str:
    """How the intervals were made, in words."""
    level = round(100 * result.ci_level, 1)
    how = CI_NAMES.get(result.ci_method or "", result.ci_method)
    unit = (f"resampling the {result.n_clusters} clusters (coaches) whole" if result.n_clusters
            else "resampling clients")
    return (f"Intervals: {level:g} % {how} bootstrap, {result.n_boot} replicates, {unit}.")


def _order(relative: pd.Series) -> list[str]:
    return list(relative.sort_values(ascending=False, kind="stable").index)


def basis_lines(itt: Any, complete: Any, *, list_other: str | None = None) -> list[str]:
    """Which shares a conclusion rests on, intention to treat or complete cases, and how far
    the two differ.

    The rule: when any client misses a value, the conclusion rests on the
    intention-to-treat shares (every client kept, missing values under MAR), because
    complete cases describe only the clients who had every value, and are biased when
    missingness depends on what was observed (intake score, early alliance); the
    complete-case shares are the check. ``list_other`` names the shares not already shown
    in a table ("itt" or "complete"), which are then listed on a line of their own.
    """
    report = itt.missingness
    how = {"mi": "multiple imputation", "em": "maximum likelihood (EM)"}.get(
        report.method, report.method)
    lines = []
    for side, result, name in (("itt", itt, f"Intention to treat ({how}, n = {itt.n})"),
                               ("complete", complete, f"Complete cases (n = {complete.n})")):
        if list_other == side:
            shares = ", ".join(f"{words(k)} {percent(v)}" for k, v in result.relative.items())
            lines.append(f"{name}: {shares} of explained.")
    gap = float((itt.relative - complete.relative).abs().max())
    same = _order(itt.relative) == _order(complete.relative)
    agree = ("rank the factors in the same order" if same else
             "rank the factors differently (" + ", ".join(words(f) for f in
                                                      _order(complete.relative)) + ")")
    lines.append(
        f"The conclusion rests on the intention-to-treat shares: "
        f"{100 * report.fraction_incomplete:.1f} % of clients miss a value, and complete "
        "cases describe only the clients who had every value, which biases the shares when "
        "missingness depends on what was observed. The complete-case shares "
        f"{agree} and differ by at most {100 * gap:.1f} percentage points.")
    return lines
