"""The arithmetic of reliable change, shared by the in-memory and the partitioned path.

Both :func:`outcomes.practice.change.change` on a pandas frame and its Dask path
(:mod:`outcomes.practice._change_partitioned`) judge change with the same pieces, kept here:
the reliable change index of each method (:func:`index_rule`) and the rule it gives
(:class:`IndexRule`: change, index and category of each client), Jacobson & Truax's clinical
cutoffs (:func:`clinical_cutoff`), the category percentages with Wilson intervals
(:func:`percentages`), the effect-size table (:func:`effect_rows`) and the severity-adjusted
effect size of each client (:func:`severity_adjusted`).

Examples
--------
>>> rule = IndexRule(direction=1, critical=1.96, cutoff=None, slope=1.0, intercept=0.0,
...                  denominator=2.0)
>>> rule.classify(pd.DataFrame({"pre": [10.0, 10.0], "post": [15.0, 11.0]}))["category"].tolist()
['improved', 'unchanged']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from outcomes._errors import DataError, UsageError

__all__ = ["METHODS", "CATEGORIES", "NORM_KEYS", "CITATION", "G_AV_NOTE", "wilson_interval",
           "scores", "client_scores", "PairSummary", "IndexRule", "index_rule",
           "clinical_cutoff", "percentages", "effect_rows", "effect_sizes", "severity_adjusted"]

METHODS = ("jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally", "hsu-linn-lord")
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "missing")
NORM_KEYS = ("mean", "sd", "functional_mean", "functional_sd", "dysfunctional_mean",
             "dysfunctional_sd", "clinical_cutoff")
CITATION = {
    "jacobson-truax": "Jacobson & Truax 1991",
    "gulliksen-lord-novick": "Gulliksen 1950; Lord & Novick 1968 (regression to the mean)",
    "edwards-nunnally": "Edwards, Yarvis, Mueller, Zingale & Wagman 1978; Speer 1992",
    "hsu-linn-lord": "Hsu 1989; Linn & Slinde 1977",
}

#: How Hedges' g_av is computed, said once for every path that reports it.
G_AV_NOTE = ("Hedges' g_av: mean change over the root mean square of the pre and post SDs, "
             "sqrt((SD_pre² + SD_post²) / 2) (an average-SD standardiser, Cumming 2012), "
             "times J = 1 - 3/(8n - 9), as pingouin computes it; interval from the "
             "matched-groups variance (Borenstein et al. 2009).")


def wilson_interval(k: float, n: float, *, ci_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n (Wilson 1927, JASA 22:209-212).

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(10, 26)]
    [0.2243, 0.5747]
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    z = ndtri(0.5 + ci_level / 2)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def scores(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The ``role`` (pre or post) scores of column ``name`` as floats; a word is refused."""
    if name not in data.columns:
        raise DataError(f"the data have no column {name!r} for {role}", column=name,
                        fix=f"Name the {role} column with {role}= (--{role}); the columns are "
                            f"{', '.join(map(str, data.columns))}.")
    values = pd.to_numeric(data[name], errors="coerce")
    bad = values.isna() & data[name].notna()
    if bad.any():
        row = data.index[bad.to_numpy()][0]
        raise DataError(f"{data[name][row]!r} is not a number", row=row, column=name,
                        fix="Give scores as numbers; leave a missing score empty.")
    return values.astype(float)


def client_scores(data: pd.DataFrame, pre: str, post: str, client: str | None) -> pd.DataFrame:
    """One row per client: ``client`` (the column, else the index), ``pre``, ``post``."""
    return pd.DataFrame({
        "client": data[client].to_numpy() if client else data.index.to_numpy(),
        "pre": scores(data, pre, "pre").to_numpy(),
        "post": scores(data, post, "post").to_numpy(),
    })


@dataclass(frozen=True)
class PairSummary:
    """Count, pre mean and SD, and post mean of the clients with both scores."""

    n: int
    pre_mean: float
    pre_sd: float
    post_mean: float

    @classmethod
    def of_frame(cls, complete: pd.DataFrame) -> PairSummary:
        return cls(len(complete), float(complete["pre"].mean()),
                   float(complete["pre"].std(ddof=1)), float(complete["post"].mean()))

    def mean(self) -> float:  # the pre scores, as clinical_cutoff asks of a Series
        return self.pre_mean

    def std(self, ddof: int = 1) -> float:
        return self.pre_sd


@dataclass(frozen=True)
class IndexRule:
    """How change is judged: ``rci = (post - (intercept + slope pre)) / denominator``,
    reliable beyond ``critical`` in the better ``direction`` (+1 when higher is better),
    recovered when it also crosses ``cutoff`` (None: no cutoff)."""

    direction: int
    critical: float
    cutoff: float | None
    slope: float
    intercept: float
    denominator: float

    def classify(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add ``change``, ``rci``, the cutoff sides and ``category`` to a client frame."""
        frame["change"] = frame["post"] - frame["pre"]
        frame["rci"] = (frame["post"] - (self.intercept + self.slope * frame["pre"])) \
            / self.denominator
        signed = self.direction * frame["rci"]
        category = pd.Series("unchanged", index=frame.index, dtype=object)
        category[signed > self.critical] = "improved"
        category[signed < -self.critical] = "deteriorated"
        if self.cutoff is not None:
            side = self.direction
            frame["clinical_pre"] = side * frame["pre"] < side * self.cutoff
            frame["functional_post"] = side * frame["post"] > side * self.cutoff
            recovered = ((category == "improved") & frame["clinical_pre"]
                         & frame["functional_post"])
            category[recovered] = "recovered"
        category[frame["rci"].isna()] = "missing"
        frame["category"] = category
        return frame

    def order(self) -> list[str]:
        """The categories reported (``recovered`` only with a cutoff)."""
        return [c for c in CATEGORIES if c != "recovered" or self.cutoff is not None]


def index_rule(method: str, r: float, m_pre: float, s_pre: float, m_post: float
               ) -> tuple[float, float, float]:
    """(slope, intercept, denominator) of the chosen index (see :mod:`~.change`)."""
    if method == "jacobson-truax":
        return 1.0, 0.0, s_pre * np.sqrt(2 * (1 - r))
    if method == "gulliksen-lord-novick":
        return r, m_pre * (1 - r), s_pre * np.sqrt(1 - r**2)
    if method == "edwards-nunnally":
        return r, m_pre * (1 - r), s_pre * np.sqrt(1 - r)
    return r, m_post - r * m_pre, s_pre * np.sqrt(1 - r**2)


def clinical_cutoff(cutoff: float | str | None, norms: dict[str, float], found: Any,
                    direction: int, pre: Any, notes: list[str]) -> float | None:
    """A number, or Jacobson & Truax's criterion a, b or c from the norms.

    ``found`` is the instrument's registry entry (or None); ``pre`` gives ``mean()`` and
    ``std(ddof=1)`` of the pre scores (a Series or a :class:`PairSummary`).
    """
    if cutoff is None:
        if "clinical_cutoff" in norms:
            return norms["clinical_cutoff"]
        figure = None if found is None else found.figure("clinical_cutoff")
        if figure is not None:
            notes.append(f"Clinical cutoff {figure.value:g} from the {found.key} file: "
                         f"{figure.source}.")
            return float(figure.value)
        if "functional_mean" in norms and "functional_sd" in norms:
            cutoff = "c"
        else:
            return None
    if not isinstance(cutoff, str):
        return float(cutoff)
    if cutoff not in ("a", "b", "c"):
        raise UsageError(f"change: cutoff={cutoff!r}; give a number or 'a', 'b' or 'c'.")
    m_dys = norms.get("dysfunctional_mean", float(pre.mean()))
    s_dys = norms.get("dysfunctional_sd", float(pre.std(ddof=1)))
    if "dysfunctional_mean" not in norms:
        notes.append("The dysfunctional mean and SD are the sample's pre scores.")
    if cutoff == "a":
        value = m_dys + direction * 2 * s_dys
    else:
        if "functional_mean" not in norms or "functional_sd" not in norms:
            raise UsageError(f"change: cutoff {cutoff!r} needs norms={{'functional_mean': ..., "
                             "'functional_sd': ...}} from a functional population.")
        m_fun, s_fun = norms["functional_mean"], norms["functional_sd"]
        value = (m_fun - direction * 2 * s_fun if cutoff == "b"
                 else (s_dys * m_fun + s_fun * m_dys) / (s_dys + s_fun))
    notes.append(f"Cutoff = Jacobson & Truax criterion {cutoff} = {value:.3f}.")
    return float(value)


def percentages(counts: pd.Series, n_all: int, n_ok: int, ci_level: float) -> pd.DataFrame:
    """Share of clients per category with Wilson intervals; ``missing`` is of everyone."""
    rows = []
    for category, n in counts.items():
        total = n_all if category == "missing" else n_ok
        low, high = wilson_interval(n, total, ci_level=ci_level)
        rows.append((category, int(n), n / total if total else np.nan, low, high, total))
    return pd.DataFrame(rows, columns=["category", "n", "estimate", "ci_low", "ci_high",
                                       "denominator"])


def effect_sizes(pre: np.ndarray, post: np.ndarray, direction: int, saes: np.ndarray,
                 se_saes: float, ci_level: float) -> pd.DataFrame:
    """Pre-post d (Becker 1988), Hedges' g_av (as pingouin) and the severity-adjusted ES."""
    n = len(pre)
    if n < 3:
        return effect_rows(n, 0.0, 0.0, 0.0, 0.0, float("nan"), se_saes, ci_level)
    diff = direction * (post - pre)
    s_pre, s_post = pre.std(ddof=1), post.std(ddof=1)
    r = float(np.corrcoef(pre, post)[0, 1]) if s_pre > 0 and s_post > 0 else 0.0
    return effect_rows(n, diff.mean(), s_pre, s_post, r, saes.mean(), se_saes, ci_level)


def effect_rows(n: int, mean_diff: float, s_pre: float, s_post: float, r: float,
                saes_mean: float, se_saes: float, ci_level: float) -> pd.DataFrame:
    """The effect-size table from the summary figures of the clients with both scores."""
    z = ndtri(0.5 + ci_level / 2)
    rows = []
    if n >= 3:
        d = mean_diff / s_pre
        se_d = np.sqrt(2 * (1 - r) / n + d**2 / (2 * n))
        d_av = mean_diff / np.sqrt((s_pre**2 + s_post**2) / 2)
        j = 1 - 3 / (4 * (2 * n) - 9)
        se_g = j * np.sqrt((1 / n + d_av**2 / (2 * n)) * 2 * (1 - r))
        for name, est, se in (("pre_post_d", d, se_d), ("hedges_g_av", j * d_av, se_g),
                              ("severity_adjusted", saes_mean, se_saes)):
            rows.append((name, est, se, est - z * se, est + z * se, n))
    return pd.DataFrame(rows, columns=["measure", "estimate", "std_error", "ci_low", "ci_high",
                                       "n"])


def severity_adjusted(pre: np.ndarray, delta: np.ndarray, clinical: np.ndarray | None,
                      reference: Mapping[str, float] | None, direction: int,
                      notes: list[str]) -> tuple[np.ndarray, float]:
    """Per-client SAES = direction * (residual + reference mean change) / reference SD,
    and the standard error of their mean (the reference SD taken as fixed).

    With a reference model given, also taken as fixed, the error of the mean is
    SD(residual) / sqrt(n) / SD_ref. With the data as their own reference, the mean equals
    [mean change - b (mean intake - reference mean intake)] / SD_ref, so its error comes
    from the mean change and the slope b: sqrt(var(change) / n + (x - x_ref)² var(b)) / SD_ref.
    """
    n = len(pre)
    if reference is not None:
        ref = {k: float(reference[k]) for k in ("intercept", "slope", "mean_change", "sd")}
        notes.append("Severity-adjusted effect sizes use the reference model given.")
        residual = delta - (ref["intercept"] + ref["slope"] * pre)
        values = direction * (residual + ref["mean_change"]) / ref["sd"]
        return values, float(residual.std(ddof=1) / np.sqrt(n) / ref["sd"])
    use = np.ones(n, bool)
    if clinical is not None and clinical.sum() >= 10:
        use = clinical
        notes.append("Severity adjustment: change regressed on intake among the "
                     f"{int(use.sum())} clients who started in the clinical range.")
    if use.sum() < 3 or np.std(pre[use]) == 0:
        return np.full(n, np.nan), float("nan")
    x, y = pre[use], delta[use]
    slope, intercept = np.polyfit(x, y, 1)
    sd = x.std(ddof=1)
    residual = delta - (intercept + slope * pre)
    values = direction * (residual + y.mean()) / sd
    var_slope = np.sum((y - intercept - slope * x) ** 2) / (len(x) - 2) / np.sum(
        (x - x.mean()) ** 2) if len(x) > 2 else np.nan
    se = np.sqrt(delta.var(ddof=1) / n + (pre.mean() - x.mean()) ** 2 * var_slope) / sd
    return values, float(se)
