"""APA tables of models and measures: ``multilevel``, ``change``, ``reliability``, and any
other result through its tidy table.

Set beside R's packages for the same models:

- papaja's ``apa_print`` of an ``lmerMod`` gives each fixed effect's *b*, its 95% CI, *t*,
  *df* and *p*; modelsummary adds the random-effect variances and the fit statistics
  (number of observations, marginal and conditional *R*², ICC) under the coefficients; sjPlot's
  ``tab_model`` gives *τ*00, *σ*², ICC and the numbers of clusters and observations. The
  multilevel table holds all of these: fixed effects grouped by factor (*b*, *SE*, CI, *t* or
  *z*, *df* when the fit has Satterthwaite degrees of freedom, *p*), the variance components,
  the ICC with its profile-likelihood interval, both *R*², and the numbers of clients and
  coaches. ``part="variance"`` gives the Rights & Sterba decomposition instead.
- apaTables and psych report reliabilities without a leading zero; the reliability table
  gives alpha with its Feldt interval and omega with its bootstrap interval per scale.
- The change table counts clients per reliable-change category with Wilson intervals and
  gives the effect sizes with theirs (as the R package clinicalsignificance reports them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from outcomes.apa import numbers as num
from outcomes.apa._labels import ci_heading, term, words

__all__ = ["fit_parts", "change_parts", "reliability_parts", "generic_parts"]

_PARTS = {"f1": "Fixed effects, within coaches (*f*1)", "f2": "Fixed effects, between "
          "coaches (*f*2)", "v": "Random slopes (*v*)", "m": "Coach intercepts (*m*)",
          "residual": "Residual"}


def _group_of(result: Any) -> dict[str, str]:
    owner = {c: words(f) for f, cols in result.factors.items() for c in cols}
    owner.update({c: "Covariates" for c in result.covariates})
    return owner


def _base(name: str) -> str:
    for suffix in ("_within", "_between"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def fit_parts(result: Any, *, part: str = "fixed") -> dict[str, Any]:
    """The parts of an APA table of a :class:`~outcomes.MultilevelFit`."""
    if part == "variance":
        return _variance_parts(result)
    fixed = result.fixed_effects
    has_df = "df" in fixed.columns
    stat = "*t*" if has_df else "*z*"
    owner = _group_of(result)
    ci = ci_heading(result.ci_level)
    columns = ("Term", "*b*", "*SE*", ci, stat, *("*df*",) * has_df, "*p*")
    rows: list[tuple[str, ...]] = []
    groups: list[tuple[int, str]] = []
    order = sorted(fixed.index, key=lambda t: (t != "intercept",
                                               list(owner.values()).index(owner[_base(t)])
                                               if _base(t) in owner else len(owner)))
    current = None
    for name in order:
        row = fixed.loc[name]
        group = owner.get(_base(name))
        if group is not None and group != current:
            groups.append((len(rows), group))
            current = group
        cells = [term(name, result.centring), num.number(row.estimate),
                 num.number(row.std_error), num.interval(row.ci_low, row.ci_high),
                 num.number(row.estimate / row.std_error if row.std_error else np.nan)]
        if has_df:
            cells.append(num.number(row["df"], 1))
        cells.append(num.p_value(row.p_value))
        rows.append(tuple(cells))
    blank = [""] * (len(columns) - 2)
    groups.append((len(rows), "Variance components"))
    for name, value in result.variance_components.items():
        label = "Coach intercepts (τ00)" if name == "intercept" else \
            "Residual (σ²)" if name == "residual" else f"Slope of {term(str(name))} (coach)"
        rows.append((label, num.number(value), *blank))
    groups.append((len(rows), "Model fit"))
    low, high = result.icc_interval
    rows.append(("ICC (null model)", num.number(result.icc, 2, leading_zero=False), "",
                 num.interval(low, high, 2, leading_zero=False), *[""] * (len(columns) - 4)))
    rows.append(("Marginal R²", num.number(result.r2_marginal, 2, leading_zero=False), *blank))
    rows.append(("Conditional R²", num.number(result.r2_conditional, 2, leading_zero=False),
                 *blank))
    rows.append(("Clients", num.count(result.n), *blank))
    rows.append(("Coaches", num.count(result.n_clusters), *blank))
    return {"title": f"Mixed model of {words(result.outcome, capital=False)}: clients in "
                     "coaches", "columns": columns, "rows": tuple(rows),
            "groups": tuple(groups), "note": _fit_note(result, has_df)}


def _fit_note(result: Any, has_df: bool) -> str:
    parts = []
    if result.centring == "within":
        parts.append("Each predictor is split into the client's deviation from the coach's "
                     "mean (within coach) and the coach's mean.")
    level = round(100 * result.ci_level, 1)
    if has_df:
        parts.append(f"*b* = unstandardized coefficient; *SE* = standard error; CI = {level:g}% "
                     "confidence interval from the *t* distribution; *t* tests and two-sided *p* "
                     "with Satterthwaite *df*.")
    else:
        parts.append(f"*b* = unstandardized coefficient; *SE* = standard error; CI = {level:g}% "
                     "Wald confidence interval; *z* tests and two-sided *p* from the normal "
                     "distribution.")
    method = "REML" if result.reml else "maximum likelihood"
    parts.append(f"Estimated by {method}; the coach intercepts vary at random. The ICC is "
                 "the share of the outcome's variance between coaches in the model without "
                 "predictors, with a profile-likelihood interval; *R*² by Nakagawa & "
                 "Schielzeth (2013).")
    if result.n_dropped:
        parts.append(f"{result.n_dropped:,} clients with missing values were left out.")
    if not result.converged:
        parts.append("The fit did not converge: read these numbers with caution.")
    return " ".join(parts)


def _variance_parts(result: Any) -> dict[str, Any]:
    rows = []
    for name, share in result.rights_sterba.items():
        rows.append((_PARTS.get(str(name), words(name)).replace("*", ""),
                     num.number(share, 2, leading_zero=False),
                     num.number(result.variances[name])))
    rows.append(("Total", num.number(float(result.rights_sterba.sum()), 2),
                 num.number(float(result.variances.sum()))))
    note = ("The outcome's model-implied variance split as Rights and Sterba (2019) define "
            "it: *f*1 and *f*2 are the parts the fixed effects explain within and between "
            "coaches, *v* the part of random slopes, *m* the coach intercepts and the residual "
            "what is left. *f*1 + *f*2 is the marginal *R*²; adding *v* and *m* gives the "
            f"conditional *R*². *n* = {result.n:,} clients in {result.n_clusters} coaches.")
    return {"title": f"How the variance in {words(result.outcome, capital=False)} divides",
            "columns": ("Part", "Proportion", "Variance"), "rows": tuple(rows), "note": note}


_CATEGORIES = {"recovered": "Recovered", "improved": "Improved (reliably, not recovered)",
               "unchanged": "Unchanged", "deteriorated": "Deteriorated",
               "missing": "Missing a score"}
_INDICES = {"jacobson-truax": "Jacobson–Truax (1991)", "gulliksen-lord-novick":
            "Gulliksen–Lord–Novick", "edwards-nunnally": "Edwards–Nunnally",
            "hsu-linn-lord": "Hsu–Linn–Lord"}
_EFFECTS = {"pre_post_d": "Pre–post *d*", "hedges_g_av": "Hedges' *g* (average SD)",
            "severity_adjusted": "Severity-adjusted effect size"}


def change_parts(result: Any) -> dict[str, Any]:
    """The parts of the APA table of a :class:`~outcomes.Change`."""
    ci = ci_heading(result.ci_level)
    rows, groups = [], [(0, "Clients by reliable change")]
    for item in result.percentages.itertuples():
        rows.append((_CATEGORIES.get(item.category, words(item.category)), num.count(item.n),
                     num.number(item.estimate, 2, leading_zero=False),
                     num.interval(item.ci_low, item.ci_high, 2, leading_zero=False)))
    groups.append((len(rows), "Effect sizes of change"))
    for item in result.effect_sizes.itertuples():
        rows.append((_EFFECTS.get(item.measure, words(item.measure)).replace("*", ""),
                     num.count(item.n), num.number(item.estimate),
                     num.interval(item.ci_low, item.ci_high)))
    instrument = (result.instrument or "").upper() or "the measure"
    direction = "higher" if result.higher_is_better else "lower"
    note = [f"Change on {instrument} ({direction} is better). Reliable change by the "
            f"{_INDICES.get(result.method, result.method)} index, reliability "
            f"{num.number(result.reliability, 2, leading_zero=False)}, critical value "
            f"{num.number(result.critical)}."]
    if result.cutoff is not None and np.isfinite(result.cutoff):
        note.append(f"Recovered = reliably improved and crossed the clinical cutoff of "
                    f"{num.number(result.cutoff, 0 if float(result.cutoff).is_integer() else 2)}.")
    note.append("Proportions are of the clients with both scores (missing: of all clients), "
                "with Wilson intervals; effect sizes are positive for improvement. "
                f"CI = {round(100 * result.ci_level, 1):g}% confidence interval.")
    return {"title": f"Change from intake to end on {instrument}",
            "columns": ("Outcome", "*n*", "Estimate", ci), "rows": tuple(rows),
            "groups": tuple(groups), "note": " ".join(note)}


def reliability_parts(result: Any) -> dict[str, Any]:
    """The parts of the APA table of a :class:`~outcomes.Reliability`."""
    table = result.table()
    ci = ci_heading(result.ci_level)
    rows = []
    for scale, part in table.groupby("scale", sort=False):
        quantity = part.set_index("quantity")
        row = [words(scale), num.count(quantity.n_items.iloc[0]), num.count(quantity.n.iloc[0])]
        for name in ("alpha", "omega"):
            if name in quantity.index:
                q = quantity.loc[name]
                row += [num.number(q.estimate, 2, leading_zero=False),
                        num.interval(q.ci_low, q.ci_high, 2, leading_zero=False)]
            else:
                row += [num.EMPTY, ""]
        rows.append(tuple(row))
    rater = f", rated by {result.rater}s" if getattr(result, "rater", None) else ""
    note = ("*α* = Cronbach's alpha with the Feldt (1965) interval; *ω* = McDonald's omega "
            "total from a one-factor model, with a percentile bootstrap interval "
            f"({result.n_boot:,} resamples of respondents). *n* = respondents with every "
            f"item answered. CI = {round(100 * result.ci_level, 1):g}% confidence interval.")
    return {"title": f"Internal consistency of the {words(result.instrument)} scales"
                     f"{rater}",
            "columns": ("Scale", "Items", "*n*", "*α*", ci, "*ω*", ci), "rows": tuple(rows),
            "note": note}


_HEADINGS = {"estimate": "Estimate", "std_error": "*SE*", "p_value": "*p*", "n": "*n*",
             "df": "*df*"}


def _text(value: Any, stub: bool) -> str:
    """A cell of text: lists joined, yes/no for truth values, words for a stub's names."""
    if isinstance(value, list | tuple):
        return ", ".join(words(v, capital=False) for v in value)
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    if value is None or value != value:
        return ""
    return words(value, capital=stub) if isinstance(value, str) else str(value)


def _cell(row: Any, name: str, kind: str) -> str:
    if kind == "interval":
        return num.interval(row["ci_low"], row["ci_high"])
    if kind == "p":
        return num.p_value(row[name])
    if kind == "count":
        return num.count(row[name])
    if kind == "number":
        return num.number(row[name])
    return _text(row[name], kind == "stub")


def generic_parts(result: Any) -> dict[str, Any]:
    """An APA table from any result's tidy ``table()``: words for headings, two decimals,
    intervals in brackets, *p* as APA writes it."""
    table = result.table()
    level = getattr(result, "ci_level", 0.95)
    columns: list[str] = []
    kinds: list[tuple[str, str]] = []
    for name in table.columns:
        if name == "ci_high":
            continue
        if name == "ci_low" and "ci_high" in table.columns:
            columns.append(ci_heading(level))
            kinds.append((name, "interval"))
            continue
        columns.append("*p*" if name == "p_value" else _HEADINGS.get(name, words(name)))
        kind = table[name].dtype.kind
        kinds.append((name, "p" if name == "p_value" else "count"
                      if kind in "iu" or name in ("n", "n_items") else "number" if kind == "f"
                      else "stub" if len(kinds) == 0 else "text"))
    rows = tuple(tuple(_cell(row, name, kind) for name, kind in kinds)
                 for _, row in table.iterrows())
    name = type(result).__name__
    spaced = "".join(f" {c.lower()}" if c.isupper() and i else c for i, c in enumerate(name))
    return {"title": spaced, "columns": tuple(columns), "rows": rows,
            "note": f"{result.headline()}."}

