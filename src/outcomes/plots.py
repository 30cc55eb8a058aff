"""Multi-panel figures composed from result objects, for reports and notebooks.

Each function takes results (or aggregate tables that already respect the suppression
threshold) and returns a matplotlib Figure; no function draws a single client. Colours come
from :data:`outcomes._plotting.PALETTE` (Okabe & Ito), so the figures stay readable under
the common forms of colour-vision deficiency and in greyscale print (bars are also
labelled or hatched).

Examples
--------
>>> from outcomes.practice.change import change
>>> from outcomes.sample import load_sample
>>> table = load_sample().analysis_table()
>>> figure = change_figure(change(table, pre="baseline", post="end_score", instrument="ors"))
>>> len(figure.axes)
2
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcomes._plotting import OKABE_ITO, PALETTE, REFERENCE_COLOUR, pyplot

__all__ = ["engagements_figure", "reliability_figure", "change_figure", "shares_figure",
           "coaches_figure", "alliance_figure", "monitoring_figure", "benchmark_figure",
           "tidy"]


def tidy(ax) -> Any:  # noqa: ANN001
    """Drop the top and right spines."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def engagements_figure(counts: pd.DataFrame, *, title: str = "Engagements by status"):
    """Stacked bars of engagements by status (rows) and sponsor (columns).

    ``counts`` holds published counts only (NaN where suppressed); a suppressed cell is
    left out of its bar and marked with ``*`` beside it.
    """
    figure, ax = pyplot().subplots(figsize=(7.0, 3.2))
    left = np.zeros(len(counts))
    for colour, column in zip(PALETTE, counts.columns, strict=False):
        values = counts[column].to_numpy(dtype=float)
        shown = np.nan_to_num(values)
        ax.barh(list(counts.index), shown, left=left, color=colour, label=str(column),
                edgecolor="white")
        left += shown
    for i, row in enumerate(counts.itertuples(index=False)):
        if any(pd.isna(v) for v in row):
            ax.text(left[i], i, "  * some cells suppressed", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("engagements")
    ax.set_title(title, fontsize=11, loc="left")
    ax.legend(frameon=False, fontsize=8, title="sponsor", title_fontsize=8,
              loc="lower right")
    tidy(ax)
    figure.tight_layout()
    return figure


def reliability_figure(table: pd.DataFrame):
    """Alpha and omega with their intervals, one row per instrument scale.

    ``table`` is long, as :meth:`outcomes.measures.reliability.Reliability.table` gives it,
    with a ``label`` for each scale: ``label``, ``quantity`` (alpha | omega), ``estimate``,
    ``ci_low``, ``ci_high``.
    """
    labels = list(dict.fromkeys(table["label"]))
    figure, ax = pyplot().subplots(figsize=(7.0, 0.32 * len(labels) + 1.2))
    y = np.arange(len(labels))
    for offset, name, colour, marker in ((-0.15, "alpha", PALETTE[0], "o"),
                                         (0.15, "omega", PALETTE[1], "s")):
        rows = table[table["quantity"] == name].set_index("label").reindex(labels)
        est = rows["estimate"].to_numpy(dtype=float)
        low = np.clip(est - rows["ci_low"].to_numpy(dtype=float), 0, None)
        high = np.clip(rows["ci_high"].to_numpy(dtype=float) - est, 0, None)
        ax.errorbar(est, y + offset, xerr=np.vstack([np.nan_to_num(low), np.nan_to_num(high)]),
                    fmt=marker, color=colour, label=name, capsize=2, markersize=4)
    for edge in (0.7, 0.8):
        ax.axvline(edge, color="#999999", linestyle=":", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("reliability (dotted lines: .70 acceptable, .80 good)")
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    tidy(ax)
    figure.tight_layout()
    return figure


def change_figure(change, *, categories: pd.DataFrame | None = None):  # noqa: ANN001
    """Clients per change category (with Wilson intervals) and the effect sizes.

    ``categories`` (``category``, ``estimate``, ``ci_low``, ``ci_high``) replaces the
    result's own percentages, e.g. after suppression (a NaN estimate is left out).
    """
    figure, (left, right) = pyplot().subplots(1, 2, figsize=(8.0, 3.2),
                                              gridspec_kw={"width_ratios": [1.3, 1]})
    shares = change.percentages if categories is None else categories
    shares = shares[shares["category"] != "missing"]
    colours = {"recovered": PALETTE[2], "improved": PALETTE[0], "unchanged": "#999999",
               "deteriorated": PALETTE[3]}
    y = np.arange(len(shares))
    est = 100 * shares["estimate"].to_numpy(dtype=float)
    left.barh(y, np.nan_to_num(est), color=[colours.get(c, PALETTE[4])
                                           for c in shares["category"]])
    err = np.vstack([est - 100 * shares["ci_low"].to_numpy(dtype=float),
                     100 * shares["ci_high"].to_numpy(dtype=float) - est])
    left.errorbar(est, y, xerr=np.nan_to_num(np.clip(err, 0, None)), fmt="none",
                  ecolor="black", capsize=3)
    for i, value in enumerate(est):
        left.text(0.5, i, "suppressed" if np.isnan(value) else f"{value:.0f} %", va="center",
                  fontsize=8, color="black" if np.isnan(value) else "white")
    left.set_yticks(y, list(shares["category"]))
    left.invert_yaxis()
    left.set_xlabel("clients with both scores (%)")
    sizes = change.effect_sizes
    yy = np.arange(len(sizes))
    left_err = sizes["estimate"] - sizes["ci_low"]
    right_err = sizes["ci_high"] - sizes["estimate"]
    right.errorbar(sizes["estimate"], yy, xerr=np.vstack([left_err, right_err]), fmt="o",
                   color=PALETTE[0], capsize=3)
    right.axvline(0, color="black", linewidth=0.8)
    right.set_yticks(yy, [m.replace("_", " ") for m in sizes["measure"]], fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("effect size (positive = improvement)")
    for ax in (left, right):
        tidy(ax)
    figure.tight_layout()
    return figure


def shares_figure(comparison, multilevel=None):  # noqa: ANN001
    """Factor shares beside a reference split, and (if given) the multilevel parts."""
    panels = 2 if multilevel is not None else 1
    figure, axes = pyplot().subplots(1, panels, figsize=(4.6 * panels, 3.6), squeeze=False)
    ax = comparison.plot(ax=axes[0][0])
    ax.set_title(f"Share of what the factors explain\nbeside {comparison.reference.label}",
                 fontsize=9, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(frameon=False, fontsize=7)
    if multilevel is not None:
        ax2 = multilevel.plot(ax=axes[0][1])
        ax2.set_title("Shares of the outcome's variance,\nclients nested in coaches",
                      fontsize=9, loc="left")
        ax2.tick_params(axis="x", labelsize=7, rotation=30)
    figure.tight_layout()
    return figure


def coaches_figure(effects):  # noqa: ANN001
    """The funnel plot of coach effects and, beside it, the shrunken estimates with their
    intervals in order (without names: the intervals, not the order, carry the message)."""
    figure, (left, right) = pyplot().subplots(1, 2, figsize=(8.4, 3.6))
    effects.plot(ax=left)
    left.set_title("Funnel plot: each coach's clients\nagainst what was expected",
                   fontsize=9, loc="left")
    shown = effects.table()
    shown = shown[~shown["suppressed"]].sort_values("estimate").reset_index(drop=True)
    x = np.arange(len(shown))
    right.errorbar(x, shown["estimate"], yerr=np.vstack([shown.estimate - shown.ci_low,
                                                         shown.ci_high - shown.estimate]),
                   fmt="o", markersize=3, color=PALETTE[0], ecolor="#7F7F7F", capsize=0)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_xticks([])
    right.set_xlabel(f"{len(shown)} coaches, in order of estimate")
    right.set_ylabel("shrunken effect (points)")
    right.set_title(f"Estimates with {round(100 * effects.ci_level):g} % intervals",
                    fontsize=9, loc="left")
    tidy(right)
    figure.tight_layout()
    return figure


def alliance_figure(by_session: pd.DataFrame, effects: pd.DataFrame | None = None,
                    *, alliance: str = "SRS", outcome: str = "ORS"):
    """Mean alliance and outcome by session (sessions with enough clients only) and, if
    given, the within- and between-client effects with their intervals.

    ``by_session`` has ``session``, ``alliance``, ``outcome`` and ``n``; ``effects`` has
    ``effect``, ``estimate``, ``ci_low``, ``ci_high``.
    """
    panels = 2 if effects is not None else 1
    figure, axes = pyplot().subplots(1, panels, figsize=(4.4 * panels, 3.4), squeeze=False)
    ax = axes[0][0]
    # One axis for both (the PCOMS scales share their range, 0-40): a second axis would
    # stretch a small change until it looks large.
    ax.plot(by_session["session"], by_session["outcome"], "o-", color=PALETTE[0],
            label=f"{outcome} (start of session)")
    ax.plot(by_session["session"], by_session["alliance"], "s--", color=PALETTE[1],
            label=f"{alliance} (end of session)")
    both = pd.concat([by_session["outcome"], by_session["alliance"]])
    if both.between(0, 40).all():
        ax.set_ylim(0, 40)
    ax.set_xlabel("session")
    ax.set_ylabel("mean rating")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    if effects is not None:
        right = axes[0][1]
        y = np.arange(len(effects))
        right.errorbar(effects["estimate"], y, xerr=np.vstack([
            effects["estimate"] - effects["ci_low"], effects["ci_high"] - effects["estimate"]]),
            fmt="o", color=OKABE_ITO["vermillion"], capsize=3)
        right.axvline(0, color="black", linewidth=0.8)
        right.set_yticks(y, list(effects["effect"]), fontsize=8)
        right.invert_yaxis()
        right.set_xlabel(f"{outcome} points next session per {alliance} point")
        tidy(right)
    figure.tight_layout()
    return figure


def monitoring_figure(counts: pd.DataFrame):
    """Share of engagements ever given each flag (``flag``, ``share``; NaN = suppressed)."""
    figure, ax = pyplot().subplots(figsize=(7.0, 2.6))
    y = np.arange(len(counts))
    share = 100 * counts["share"].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(share), color=PALETTE[0])
    for i, value in enumerate(share):
        ax.text(np.nan_to_num(value) + 1, i, "suppressed" if np.isnan(value)
                else f"{value:.0f} %", va="center", fontsize=8)
    ax.set_yticks(y, list(counts["flag"]), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("engagements ever flagged (%)")
    tidy(ax)
    figure.tight_layout()
    return figure


def benchmark_figure(result):  # noqa: ANN001
    """A coach's benchmark: the norms' funnel with the coach as a point, and the coach's mean
    change by intake band beside the body's median and quartiles."""
    has_funnel = result.standing is not None and result.norms.get("funnel") is not None
    panels = 2 if has_funnel else 1
    figure, axes = pyplot().subplots(1, panels, figsize=(4.4 * panels, 3.6), squeeze=False)
    if has_funnel:
        result.plot(ax=axes[0][0])
        axes[0][0].set_title("You among the body's coaches", fontsize=9, loc="left")
    ax = axes[0][-1]
    bands = result.by_band
    y = np.arange(len(bands))
    median = pd.to_numeric(bands["body_median"], errors="coerce").to_numpy(dtype=float)
    q25 = pd.to_numeric(bands["body_q25"], errors="coerce").to_numpy(dtype=float)
    q75 = pd.to_numeric(bands["body_q75"], errors="coerce").to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(q75 - q25), left=np.nan_to_num(q25), color=REFERENCE_COLOUR,
            hatch="//", edgecolor="white", label="body: middle half of clients")
    ax.plot(median, y, "|", color="black", markersize=14, label="body: median")
    ax.plot(bands["mean_change"], y, "D", color=OKABE_ITO["vermillion"],
            label="your clients: mean")
    ax.set_yticks(y, list(bands["band"]), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("change in ORS points")
    ax.set_ylabel("intake score band")
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=2)
    ax.set_title("Change by intake band", fontsize=9, loc="left")
    tidy(ax)
    figure.tight_layout()
    return figure

