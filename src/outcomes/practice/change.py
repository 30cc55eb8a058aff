"""Change from before to after: reliable and clinically significant change, effect sizes, GAS.

:func:`change` classifies each client's change with a reliable change index (RCI) and,
where a clinical cutoff applies, says who recovered (Jacobson & Truax 1991, *Journal of
Consulting and Clinical Psychology* 59(1):12-19); it summarises the sample with category
percentages (Wilson intervals), pre-post effect sizes and a severity-adjusted effect size.
(Goal Attainment Scaling T-scores are :func:`outcomes.measures.goals.gas_scores`.)

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

The arithmetic shared with the Dask path lives in :mod:`outcomes.practice._change_statistics`;
a Dask frame is summarised by :mod:`outcomes.practice._change_partitioned`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes._checks import check_choice, check_ci_level, shared_parameters
from outcomes._engine import as_frame, is_dask
from outcomes._errors import DataError, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.practice._change_partitioned import change_partitioned, pair_summary
from outcomes.practice._change_statistics import (
    CATEGORIES,
    CITATION,
    G_AV_NOTE,
    METHODS,
    NORM_KEYS,
    IndexRule,
    PairSummary,
    client_scores,
    clinical_cutoff,
    effect_sizes,
    index_rule,
    percentages,
    severity_adjusted,
    wilson_interval,
)

__all__ = ["change", "Change", "wilson_interval", "METHODS", "CATEGORIES"]

Method = Literal["jacobson-truax", "gulliksen-lord-novick", "edwards-nunnally", "hsu-linn-lord"]


@dataclass(frozen=True, repr=False)
class Change(Result):
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

    def headline(self) -> str:
        """The clients and how many fell in each category (missing: lacking a score)."""
        found = ", ".join(f"{int(n)} {name}" for name, n in self.counts.items())
        return f"{int(self.counts.sum())} clients: {found}"

    def summary(self) -> Summary:
        """Text report: how change was judged, the categories and the effect sizes."""
        n_all, n_missing = int(self.counts.sum()), int(self.counts.get("missing", 0))
        what = self.instrument.upper() if self.instrument else "the measure"
        better = "higher" if self.higher_is_better else "lower"
        lines = [f"Change on {what} ({better} is better): {n_all} clients, "
                 f"{n_all - n_missing} with both scores, {n_missing} missing one or both.",
                 f"Reliable change index: {self.method} ({CITATION[self.method]}); "
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
        return Summary("\n".join(lines))

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


def _index(method: str, reliability: float | None, found, complete: PairSummary,
           given: dict[str, float], critical: float, notes: list[str]
           ) -> tuple[float | None, tuple[float, float, float]]:
    """The reliability used and (slope, intercept, denominator) of the index."""
    explicit = reliability is not None
    r = _reliability(reliability, found, notes)
    published = None if found is None else found.figure("reliable_change")
    if method == "jacobson-truax" and not explicit and published is not None:
        notes.append(f"Reliable change of {published.value:g} points from the {found.key} "
                     f"file: {published.source}.")
        return r, (1.0, 0.0, float(published.value) / critical)
    if r is None:
        raise UsageError(f"change: give reliability= or --reliability (e.g. Cronbach's alpha, "
                         f"0 to 1), or instrument= or --instrument (one of "
                         f"{', '.join(registry.available())}) for the reliable change index.")
    m_pre = given.get("mean", complete.mean())
    s_pre = given.get("sd", complete.std(ddof=1))
    return r, index_rule(method, r, m_pre, s_pre, complete.post_mean)


def _in_memory(frame: pd.DataFrame, rule: IndexRule, reference: Mapping[str, float] | None,
               notes: list[str], ci_level: float
               ) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.DataFrame]:
    """Clients, counts, percentages and effect sizes of a pandas frame of clients."""
    frame = rule.classify(frame)
    ok = frame["category"] != "missing"
    pre_ok, post_ok = frame.loc[ok, "pre"].to_numpy(), frame.loc[ok, "post"].to_numpy()
    clinical = frame.loc[ok, "clinical_pre"].to_numpy(bool) if rule.cutoff is not None \
        else None
    saes, se_saes = severity_adjusted(pre_ok, post_ok - pre_ok, clinical, reference,
                                      rule.direction, notes)
    frame["severity_adjusted"] = np.nan
    frame.loc[ok, "severity_adjusted"] = saes
    counts = frame["category"].value_counts().reindex(rule.order(), fill_value=0).astype(int)
    shares = percentages(counts, len(frame), int(ok.sum()), ci_level)
    effects = effect_sizes(pre_ok, post_ok, rule.direction, saes, se_saes, ci_level)
    notes.append(G_AV_NOTE)
    return frame, counts, shares, effects


@shared_parameters
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
    {ci_level}
    client : str, optional
        Column of client ids (default: the index of ``data``).
    critical : float, default 1.96
        The index value beyond which change is reliable.
    severity_reference : mapping, optional
        A reference model for the severity-adjusted effect size: ``intercept`` and ``slope``
        of change regressed on intake, ``mean_change`` and ``sd`` (of intake) of the
        reference clients. Default: the data themselves, restricted to clients who started
        in the clinical range when a cutoff applies and there are at least 10 of them.
    {engine}
        It also reads ``data`` when that is a path or glob of Parquet or CSV files. A Dask
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
    >>> result
    <Change: 6 clients: 2 improved, 2 unchanged, 1 deteriorated, 1 missing>
    """
    data = as_frame(data, engine, "change")
    partitioned = is_dask(data)
    if not isinstance(data, pd.DataFrame) and not partitioned:
        raise UsageError("change: data must be a pandas or Dask DataFrame with one row per "
                         "client.")
    check_choice(method, "method", METHODS, "change")
    ci_level = check_ci_level(ci_level, "change")
    notes: list[str] = []
    found = _from_registry(instrument)
    given = _check_norms(norms)
    if higher_is_better is None:
        higher_is_better = True if found is None else bool(found.higher_is_better)
    direction = 1 if higher_is_better else -1
    if partitioned:
        complete = pair_summary(data, pre, post)
    else:
        frame = client_scores(data, pre, post, client)
        complete = PairSummary.of_frame(frame.dropna(subset=["pre", "post"]))
    if complete.n < 2:
        raise DataError(f"only {complete.n} client(s) have both a {pre!r} and a {post!r} "
                        "score", fix="Change needs at least two clients with both scores.")
    r, (slope, intercept, denominator) = _index(method, reliability, found, complete, given,
                                                critical, notes)
    if not denominator > 0:
        raise DataError("the pre scores do not vary, so reliable change is undefined",
                        column=pre, fix="Give norms={'sd': ...} from a reference sample.")
    value = clinical_cutoff(cutoff, given, found, direction, complete, notes)
    rule = IndexRule(direction, critical, value, slope, intercept, denominator)
    found_parts: tuple[Any, ...]
    if partitioned:
        found_parts = change_partitioned(data, pre, post, client, rule, severity_reference,
                                         notes, ci_level)
    else:
        found_parts = _in_memory(frame, rule, severity_reference, notes, ci_level)
    return Change(*found_parts, method, r, float(denominator), float(slope), float(intercept),
                  float(critical), bool(higher_is_better), value, ci_level, instrument,
                  tuple(notes))
