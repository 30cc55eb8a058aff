"""Change from before to after: reliable and clinically significant change, effect sizes, GAS.

:func:`change` classifies each client's change with a reliable change index (RCI) and,
where a clinical cutoff applies, says who recovered (Jacobson & Truax 1991, *Journal of
Consulting and Clinical Psychology* 59(1):12-19); it summarises the sample with category
percentages (Wilson intervals), pre-post effect sizes and a severity-adjusted effect size.
:func:`gas_scores` turns Goal Attainment Scaling ratings into one T-score per engagement.

Every index has the form ``rci = (post - centre(pre)) / denominator`` with
``centre(pre) = intercept + slope * pre`` (m and s are the mean and SD of the pre scores,
r the reliability; the definitions follow the R package clinicalsignificance, Claus 2024,
*Journal of Statistical Software*):

=======================  ===========================  ======================
method                   centre(pre)                  denominator
=======================  ===========================  ======================
jacobson-truax           pre                          s * sqrt(2 (1 - r))
gulliksen-lord-novick    m + r (pre - m)              s * sqrt(1 - r²)
edwards-nunnally         m + r (pre - m)              s * sqrt(1 - r)
hsu-linn-lord            m_post + r (pre - m)         s * sqrt(1 - r²)
=======================  ===========================  ======================

A client improved reliably when the index passes ``critical`` (1.96) in the better
direction, and deteriorated reliably when it passes it in the worse direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from outcomes import instruments as registry
from outcomes._engine import as_frame, is_dask, partitions
from outcomes._errors import DataError, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import jsonable, text_table
from outcomes.shares.subsets import Moments

__all__ = ["change", "Change", "wilson_interval", "METHODS", "CATEGORIES"]

Method = Literal["jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally", "hsu-linn-lord"]
METHODS = ("jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally", "hsu-linn-lord")
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "missing")
NORM_KEYS = ("mean", "sd", "functional_mean", "functional_sd", "dysfunctional_mean",
             "dysfunctional_sd", "clinical_cutoff")
_CITATION = {
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
    z = stats.norm.ppf(0.5 + ci_level / 2)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class Change:
    """Reliable and clinically significant change of each client (see :func:`change`).

    Attributes
    ----------
    clients : DataFrame
        One row per client: ``client``, ``pre``, ``post``, ``change`` (post - pre), ``rci``,
        ``category``, ``clinical_pre`` and ``functional_post`` (when a cutoff applies) and
        ``severity_adjusted`` (each client's severity-adjusted effect size).
    counts : Series
        Clients per category, ``missing`` included (clients lacking pre or post).
    percentages : DataFrame
        category, n, estimate (proportion), ci_low, ci_high (Wilson), denominator. The
        categories share the clients with both scores; ``missing`` is a share of everyone.
    effect_sizes : DataFrame
        measure, estimate, std_error, ci_low, ci_high, n; positive means improvement.
    method, reliability, denominator, slope, intercept, critical, cutoff, ...
        How the index and cutoff were set; ``notes`` says where each figure came from.
    """

    clients: pd.DataFrame
    counts: pd.Series
    percentages: pd.DataFrame
    effect_sizes: pd.DataFrame
    method: str
    reliability: float | None
    denominator: float
    slope: float
    intercept: float
    critical: float
    higher_is_better: bool
    cutoff: float | None
    ci_level: float
    instrument: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def reliable_change(self) -> float:
        """The smallest change (in score points) the Jacobson-Truax index calls reliable."""
        return self.critical * self.denominator

    def table(self) -> pd.DataFrame:
        """One row per client: change, rci, category and the rest (see ``clients``).

        A lazy Dask DataFrame when the data were one (compute it, or write it with
        ``to_parquet``, partition by partition).
        """
        return self.clients.copy()

    def _in_memory(self) -> pd.DataFrame:
        return self.clients if isinstance(self.clients, pd.DataFrame) else self.clients.compute()

    def summary(self) -> str:
        """Text report: how change was judged, the categories and the effect sizes."""
        n_all, n_missing = int(self.counts.sum()), int(self.counts.get("missing", 0))
        what = self.instrument.upper() if self.instrument else "the measure"
        better = "higher" if self.higher_is_better else "lower"
        lines = [f"Change on {what} ({better} is better): {n_all} clients, "
                 f"{n_all - n_missing} with both scores, {n_missing} missing one or both.",
                 f"Reliable change index: {self.method} ({_CITATION[self.method]}); "
                 f"critical value {self.critical:g}, denominator {self.denominator:.3f}."]
        if self.method == "jacobson-truax":
            lines.append(f"A change of more than {self.reliable_change:.2f} points is reliable.")
        if self.cutoff is not None:
            lines.append(f"Clinical cutoff {self.cutoff:.2f}: recovered = reliably improved "
                         "and crossed from the clinical to the functional side.")
        level = f"{100 * self.ci_level:g}%"
        lines += ["", f"Categories ({level} Wilson intervals):", text_table(self.percentages),
                  "", f"Effect sizes (positive = improvement; {level} intervals):",
                  text_table(self.effect_sizes), *self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe contents, the per-client table included."""
        return jsonable({
            "method": self.method, "instrument": self.instrument,
            "reliability": self.reliability, "denominator": self.denominator,
            "reliable_change": self.reliable_change if self.method == "jacobson-truax"
            else None, "critical": self.critical, "higher_is_better": self.higher_is_better,
            "cutoff": self.cutoff, "ci_level": self.ci_level, "n": int(self.counts.sum()),
            "counts": self.counts, "percentages": self.percentages,
            "effect_sizes": self.effect_sizes, "notes": list(self.notes),
            "clients": self._in_memory(),
        })

    def plot(self, ax: Any = None) -> Any:
        """Pre-post scatter with the reliable-change band and the cutoff lines."""
        ax = axes_or_new(ax, figsize=(5.5, 5.5))
        clients = self._in_memory()
        data = clients[clients["category"] != "missing"]
        colours = dict(zip(CATEGORIES, (PALETTE[2], PALETTE[0], "#999999", PALETTE[3],
                                        "black"), strict=True))
        for category in CATEGORIES[:-1]:
            rows = data[data["category"] == category]
            if len(rows):
                ax.scatter(rows["pre"], rows["post"], s=18, color=colours[category],
                           label=category)
        values = pd.concat([data["pre"], data["post"]])
        low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
        grid = np.linspace(low, high, 50)
        centre = self.intercept + self.slope * grid
        half = self.critical * self.denominator
        ax.plot(grid, grid, color="black", linewidth=0.8)
        ax.fill_between(grid, centre - half, centre + half, color="#E5E5E5", zorder=0,
                        label="no reliable change")
        if self.cutoff is not None:
            ax.axvline(self.cutoff, color="black", linestyle="--", linewidth=0.8)
            ax.axhline(self.cutoff, color="black", linestyle="--", linewidth=0.8)
        ax.set_xlabel("pre")
        ax.set_ylabel("post")
        ax.legend(frameon=False, fontsize=8)
        return ax


def _column(data: pd.DataFrame, name: str, role: str) -> pd.Series:
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


def _check_norms(norms: Mapping[str, float] | None) -> dict[str, float]:
    given = dict(norms or {})
    unknown = sorted(set(given) - set(NORM_KEYS))
    if unknown:
        raise UsageError(f"change: unknown norms {unknown}; use the keys {', '.join(NORM_KEYS)}.")
    return {k: float(v) for k, v in given.items()}


def _from_registry(instrument: str | None):  # noqa: ANN202
    if instrument is None:
        return None
    try:
        return registry.get(instrument)
    except Exception:  # the registry names the keys it knows
        raise UsageError(f"change: unknown instrument {instrument!r}; use one of "
                         f"{', '.join(registry.available())}.") from None


def _reliability(reliability: float | None, found, notes: list[str]) -> float | None:
    if reliability is None and found is not None:
        for kind in ("alpha", "omega", "retest"):
            figure = found.figure(kind)
            if figure is not None:
                notes.append(f"Reliability {figure.value:g} ({kind}) from the {found.key} "
                             f"file: {figure.source}.")
                return float(figure.value)
    if reliability is not None and not 0 <= float(reliability) < 1:
        raise UsageError(f"change: reliability={reliability!r} must be in [0, 1).")
    return None if reliability is None else float(reliability)


def _index(method: str, r: float, m_pre: float, s_pre: float, m_post: float
           ) -> tuple[float, float, float]:
    """(slope, intercept, denominator) of the chosen index."""
    if method == "jacobson-truax":
        return 1.0, 0.0, s_pre * np.sqrt(2 * (1 - r))
    if method == "gulliksen-lord-novick":
        return r, m_pre * (1 - r), s_pre * np.sqrt(1 - r**2)
    if method == "edwards-nunnally":
        return r, m_pre * (1 - r), s_pre * np.sqrt(1 - r)
    return r, m_post - r * m_pre, s_pre * np.sqrt(1 - r**2)


def _cutoff(cutoff: float | str | None, norms: dict[str, float], found, direction: int,
            pre: pd.Series, notes: list[str]) -> float | None:
    """A number, or Jacobson & Truax's criterion a, b or c from the norms."""
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


def _categories(frame: pd.DataFrame, direction: int, critical: float,
                cutoff: float | None) -> pd.Series:
    signed = direction * frame["rci"]
    category = pd.Series("unchanged", index=frame.index, dtype=object)
    category[signed > critical] = "improved"
    category[signed < -critical] = "deteriorated"
    if cutoff is not None:
        frame["clinical_pre"] = direction * frame["pre"] < direction * cutoff
        frame["functional_post"] = direction * frame["post"] > direction * cutoff
        recovered = (category == "improved") & frame["clinical_pre"] & frame["functional_post"]
        category[recovered] = "recovered"
    category[frame["rci"].isna()] = "missing"
    return category


def _percentages(counts: pd.Series, n_all: int, n_ok: int, ci_level: float) -> pd.DataFrame:
    rows = []
    for category, n in counts.items():
        total = n_all if category == "missing" else n_ok
        low, high = wilson_interval(n, total, ci_level=ci_level)
        rows.append((category, int(n), n / total if total else np.nan, low, high, total))
    return pd.DataFrame(rows, columns=["category", "n", "estimate", "ci_low", "ci_high",
                                       "denominator"])


def _effect_sizes(pre: np.ndarray, post: np.ndarray, direction: int, saes: np.ndarray,
                  se_saes: float, ci_level: float) -> pd.DataFrame:
    """Pre-post d (Becker 1988), Hedges' g_av (as pingouin) and the severity-adjusted ES."""
    n = len(pre)
    if n < 3:
        return _effect_rows(n, 0.0, 0.0, 0.0, 0.0, float("nan"), se_saes, ci_level)
    diff = direction * (post - pre)
    s_pre, s_post = pre.std(ddof=1), post.std(ddof=1)
    r = float(np.corrcoef(pre, post)[0, 1]) if s_pre > 0 and s_post > 0 else 0.0
    return _effect_rows(n, diff.mean(), s_pre, s_post, r, saes.mean(), se_saes, ci_level)


def _effect_rows(n: int, mean_diff: float, s_pre: float, s_post: float, r: float,
                 saes_mean: float, se_saes: float, ci_level: float) -> pd.DataFrame:
    """The effect-size table from the summary figures of the clients with both scores."""
    z = stats.norm.ppf(0.5 + ci_level / 2)
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


def _severity_adjusted(pre: np.ndarray, delta: np.ndarray, clinical: np.ndarray | None,
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

@dataclass(frozen=True)
class _Summary:
    """Count, pre mean and SD, and post mean of the clients with both scores."""

    n: int
    pre_mean: float
    pre_sd: float
    post_mean: float

    @classmethod
    def of_frame(cls, complete: pd.DataFrame) -> _Summary:
        return cls(len(complete), float(complete["pre"].mean()),
                   float(complete["pre"].std(ddof=1)), float(complete["post"].mean()))

    @classmethod
    def of_moments(cls, m: Moments) -> _Summary:
        n = int(round(m.weight))
        sd = float(np.sqrt(m.cross[0, 0] / (n - 1))) if n > 1 else float("nan")
        return cls(n, float(m.mean[0]) if n else float("nan"), sd,
                   float(m.mean[1]) if n else float("nan"))

    def mean(self) -> float:  # the pre scores, as _cutoff asks of a Series
        return self.pre_mean

    def std(self, ddof: int = 1) -> float:
        return self.pre_sd


def _clients(data: pd.DataFrame, pre: str, post: str, client: str | None) -> pd.DataFrame:
    return pd.DataFrame({
        "client": data[client].to_numpy() if client else data.index.to_numpy(),
        "pre": _column(data, pre, "pre").to_numpy(),
        "post": _column(data, post, "post").to_numpy(),
    })


def _part_moments(part: pd.DataFrame, pre: str, post: str) -> Moments:
    frame = _clients(part, pre, post, None).dropna(subset=["pre", "post"])
    return Moments.from_frame(frame, ["pre", "post"])


def _pair_moments(data: Any, pre: str, post: str) -> Moments:
    """Moments of (pre, post) over the clients with both scores, partition by partition."""
    import dask

    total = Moments(0.0, np.zeros(2), np.zeros((2, 2)))
    for m in dask.compute(*[dask.delayed(_part_moments)(p, pre, post)
                            for p in partitions(data)]):
        total = total + m
    return total


def _part_clients(part: pd.DataFrame, pre: str, post: str, client: str | None,
                  rule: tuple) -> pd.DataFrame:
    """The per-client table of one partition, severity-adjusted sizes still missing."""
    direction, critical, value, slope, intercept, denominator = rule
    frame = _clients(part, pre, post, client)
    frame["change"] = frame["post"] - frame["pre"]
    frame["rci"] = (frame["post"] - (intercept + slope * frame["pre"])) / denominator
    frame["category"] = _categories(frame, direction, critical, value)
    return frame


def _part_sums(part: pd.DataFrame, pre: str, post: str, client: str | None,
               rule: tuple) -> dict[str, Any]:
    frame = _part_clients(part, pre, post, client, rule)
    ok = (frame["category"] != "missing").to_numpy()
    pairs = frame.loc[ok].assign(delta=lambda f: f["post"] - f["pre"])
    out = {"counts": frame["category"].value_counts(), "n": len(frame),
           "ok": Moments.from_frame(pairs, ["pre", "post", "delta"])}
    if "clinical_pre" in frame:
        clinical = pairs[frame.loc[ok, "clinical_pre"].to_numpy(bool)]
        out["clinical"] = Moments.from_frame(clinical, ["pre", "post", "delta"])
    return out


def _severity_line(ok: Moments, use: Moments, reference: Mapping[str, float] | None,
                   direction: int, notes: list[str]) -> tuple[tuple, float, float]:
    """(intercept, slope, mean change, sd) of the severity model, the mean SAES and its SE,
    from the moments of (pre, post, change): the arithmetic of :func:`_severity_adjusted`.
    """
    n = ok.weight
    pre_mean, delta_mean = ok.mean[0], ok.mean[2]
    var = ok.cross / (n - 1)
    if reference is not None:
        ref = {k: float(reference[k]) for k in ("intercept", "slope", "mean_change", "sd")}
        notes.append("Severity-adjusted effect sizes use the reference model given.")
        a, b = ref["intercept"], ref["slope"]
        residual_var = var[2, 2] - 2 * b * var[0, 2] + b * b * var[0, 0]
        line = (a, b, ref["mean_change"], ref["sd"])
        mean = direction * (delta_mean - a - b * pre_mean + ref["mean_change"]) / ref["sd"]
        return line, mean, float(np.sqrt(residual_var) / np.sqrt(n) / ref["sd"])
    m = use.weight
    if m < 3 or not use.cross[0, 0] > 0:
        return (np.nan, np.nan, np.nan, np.nan), float("nan"), float("nan")
    sxx, sxy, syy = use.cross[0, 0], use.cross[0, 2], use.cross[2, 2]
    slope = sxy / sxx
    intercept = use.mean[2] - slope * use.mean[0]
    sd = np.sqrt(sxx / (m - 1))
    mean = direction * (delta_mean - intercept - slope * pre_mean + use.mean[2]) / sd
    var_slope = (syy - sxy**2 / sxx) / (m - 2) / sxx if m > 2 else np.nan
    se = np.sqrt(var[2, 2] / n + (pre_mean - use.mean[0]) ** 2 * var_slope) / sd
    return (intercept, slope, use.mean[2], sd), float(mean), float(se)


def _with_severity(part: pd.DataFrame, pre: str, post: str, client: str | None, rule: tuple,
                   line: tuple, direction: int) -> pd.DataFrame:
    frame = _part_clients(part, pre, post, client, rule)
    intercept, slope, mean_change, sd = line
    residual = frame["change"] - (intercept + slope * frame["pre"])
    values = direction * (residual + mean_change) / sd
    frame["severity_adjusted"] = values.where(frame["category"] != "missing")
    return frame


def _change_partitioned(data, pre, post, client, rule, reference, notes, method, r,
                        higher_is_better, ci_level, instrument) -> Change:
    """:func:`change` of a Dask frame: two passes of sums, and a lazy per-client table."""
    import dask

    direction, critical, value, slope, intercept, denominator = rule
    parts = dask.compute(*[dask.delayed(_part_sums)(p, pre, post, client, rule)
                           for p in partitions(data)])
    empty = Moments(0.0, np.zeros(3), np.zeros((3, 3)))
    ok, clinical = empty, empty
    for part in parts:
        ok = ok + part["ok"]
        clinical = clinical + part.get("clinical", empty)
    use = ok
    if reference is None and value is not None and clinical.weight >= 10:
        use = clinical
        notes.append("Severity adjustment: change regressed on intake among the "
                     f"{int(clinical.weight)} clients who started in the clinical range.")
    line, saes_mean, se = _severity_line(ok, use, reference, direction, notes)
    order = [c for c in CATEGORIES if c != "recovered" or value is not None]
    counts = pd.concat([p["counts"] for p in parts]).groupby(level=0).sum()
    counts = counts.reindex(order, fill_value=0).astype(int)
    n_ok, n_all = int(round(ok.weight)), sum(p["n"] for p in parts)
    var = ok.cross / (n_ok - 1) if n_ok > 1 else np.full((3, 3), np.nan)
    s_pre, s_post = np.sqrt(var[0, 0]), np.sqrt(var[1, 1])
    corr = float(var[0, 1] / (s_pre * s_post)) if s_pre > 0 and s_post > 0 else 0.0
    effects = _effect_rows(n_ok, direction * ok.mean[2], s_pre, s_post, corr, saes_mean, se,
                           ci_level)
    notes.append(G_AV_NOTE)
    meta = _with_severity(data._meta, pre, post, client, rule, line, direction)
    clients = data.map_partitions(_with_severity, pre, post, client, rule, line, direction,
                                  meta=meta)
    return Change(clients, counts, _percentages(counts, n_all, n_ok, ci_level), effects, method,
                  r, float(denominator), float(slope), float(intercept), float(critical),
                  higher_is_better, value, ci_level, instrument, tuple(notes))


def change(
    data: pd.DataFrame,
    *,
    pre: str,
    post: str,
    reliability: float | None = None,
    norms: Mapping[str, float] | None = None,
    higher_is_better: bool | None = None,
    method: Method = "jacobson-truax",
    instrument: str | None = None,
    cutoff: float | Literal["a", "b", "c"] | None = None,
    ci_level: float = 0.95,
    client: str | None = None,
    critical: float = 1.96,
    severity_reference: Mapping[str, float] | None = None,
    engine: Literal["pandas", "dask"] | None = None,
) -> Change:
    """Reliable and clinically significant change of each client, with effect sizes.

    Parameters
    ----------
    data : DataFrame
        One row per client with the pre and post scores (missing allowed).
    pre, post : str
        The columns of the scores before and after.
    reliability : float, optional
        Reliability of the measure (e.g. Cronbach's alpha). Default: the instrument's
        published alpha (else omega, else retest) when ``instrument`` is given.
    norms : mapping, optional
        ``mean`` and ``sd`` of the pre scores to use instead of the sample's;
        ``functional_mean``/``functional_sd`` and ``dysfunctional_mean``/``dysfunctional_sd``
        for the Jacobson & Truax cutoffs; or ``clinical_cutoff``.
    higher_is_better : bool, optional
        Direction of improvement. Default: the instrument's, else True.
    method : {"jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally", "hsu-linn-lord"}
        The reliable change index (see the module text).
    instrument : str, optional
        A registry key (``"ors"``, ...): gives reliability, direction, the published clinical
        cutoff and, for Jacobson-Truax without an explicit reliability, the published
        reliable change in points (the denominator is then that value / ``critical``).
    cutoff : float or {"a", "b", "c"}, optional
        The clinical cutoff, or Jacobson & Truax's criterion computed from ``norms`` (a: 2 SD
        beyond the dysfunctional mean, which is the sample's pre scores unless given; b: 2 SD
        inside the functional mean; c: the point between the two distributions). Default: the
        instrument's published cutoff, else c when functional norms are given, else none.
    ci_level : float, default 0.95
        Level of every interval.
    client : str, optional
        Column of client ids (default: the index of ``data``).
    critical : float, default 1.96
        The index value beyond which change is reliable.
    severity_reference : mapping, optional
        A reference model for the severity-adjusted effect size: ``intercept`` and ``slope``
        of change regressed on intake, ``mean_change`` and ``sd`` (of intake) of the
        reference clients. Default: the data themselves, restricted to clients who started
        in the clinical range when a cutoff applies and there are at least 10 of them.
    engine : {"pandas", "dask"}, optional
        Which engine reads ``data`` when it is a path or glob of Parquet or CSV files. A Dask
        DataFrame is summarised partition by partition with the same numbers; its
        ``clients`` table is then a lazy Dask DataFrame.

    Returns
    -------
    Change

    Examples
    --------
    >>> df = pd.DataFrame({"pre": [10, 12, 15, 20, 22, np.nan], "post": [20, 13, 14, 30, 15, 9]})
    >>> result = change(df, pre="pre", post="post", reliability=0.8)
    >>> result.table()["category"].tolist()
    ['improved', 'unchanged', 'unchanged', 'improved', 'deteriorated', 'missing']
    >>> int(result.counts["missing"])
    1
    """
    data = as_frame(data, engine, "change")
    partitioned = is_dask(data)
    if not isinstance(data, pd.DataFrame) and not partitioned:
        raise UsageError("change: data must be a pandas or Dask DataFrame with one row per "
                         "client.")
    if method not in METHODS:
        raise UsageError(f"change: method={method!r}; use one of {', '.join(METHODS)}.")
    if not 0 < ci_level < 1:
        raise UsageError(f"change: ci_level={ci_level!r} must be between 0 and 1.")
    notes: list[str] = []
    found = _from_registry(instrument)
    given = _check_norms(norms)
    if higher_is_better is None:
        higher_is_better = True if found is None else bool(found.higher_is_better)
    direction = 1 if higher_is_better else -1
    if partitioned:
        for name, role in ((pre, "pre"), (post, "post")):
            if name not in data.columns:
                _column(data._meta, name, role)  # raises the message naming the columns
        complete = _Summary.of_moments(_pair_moments(data, pre, post))
    else:
        frame = _clients(data, pre, post, client)
        complete = _Summary.of_frame(frame.dropna(subset=["pre", "post"]))
    if complete.n < 2:
        raise DataError(f"only {complete.n} client(s) have both a {pre!r} and a {post!r} "
                        "score", fix="Change needs at least two clients with both scores.")
    m_pre = given.get("mean", complete.mean())
    s_pre = given.get("sd", complete.std(ddof=1))
    explicit = reliability is not None
    r = _reliability(reliability, found, notes)
    published = None if found is None else found.figure("reliable_change")
    if method == "jacobson-truax" and not explicit and published is not None:
        slope, intercept, denominator = 1.0, 0.0, float(published.value) / critical
        notes.append(f"Reliable change of {published.value:g} points from the {found.key} "
                     f"file: {published.source}.")
    elif r is None:
        raise UsageError(f"change: give reliability= or --reliability (e.g. Cronbach's alpha, "
                         f"0 to 1), or instrument= or --instrument (one of "
                         f"{', '.join(registry.available())}) for the reliable change index.")
    else:
        slope, intercept, denominator = _index(method, r, m_pre, s_pre, complete.post_mean)
    if not denominator > 0:
        raise DataError("the pre scores do not vary, so reliable change is undefined",
                        column=pre, fix="Give norms={'sd': ...} from a reference sample.")
    value = _cutoff(cutoff, given, found, direction, complete, notes)
    rule = (direction, critical, value, slope, intercept, denominator)
    if partitioned:
        return _change_partitioned(data, pre, post, client, rule, severity_reference, notes,
                                   method, r, bool(higher_is_better), ci_level, instrument)
    frame["change"] = frame["post"] - frame["pre"]
    frame["rci"] = (frame["post"] - (intercept + slope * frame["pre"])) / denominator
    frame["category"] = _categories(frame, direction, critical, value)
    ok = frame["category"] != "missing"
    pre_ok, post_ok = frame.loc[ok, "pre"].to_numpy(), frame.loc[ok, "post"].to_numpy()
    clinical = frame.loc[ok, "clinical_pre"].to_numpy(bool) if value is not None else None
    saes, se_saes = _severity_adjusted(pre_ok, post_ok - pre_ok, clinical, severity_reference,
                                       direction, notes)
    frame["severity_adjusted"] = np.nan
    frame.loc[ok, "severity_adjusted"] = saes
    order = [c for c in CATEGORIES if c != "recovered" or value is not None]
    counts = frame["category"].value_counts().reindex(order, fill_value=0).astype(int)
    percentages = _percentages(counts, len(frame), int(ok.sum()), ci_level)
    effects = _effect_sizes(pre_ok, post_ok, direction, saes, se_saes, ci_level)
    notes.append(G_AV_NOTE)
    return Change(frame, counts, percentages, effects, method, r, float(denominator),
                  float(slope), float(intercept), float(critical), bool(higher_is_better),
                  value, ci_level, instrument, tuple(notes))
