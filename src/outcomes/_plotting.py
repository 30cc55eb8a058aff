"""Drawing primitives shared by every result's ``.plot(ax=None)``.

matplotlib is imported lazily, inside the functions, so that importing `outcomes` stays
light; without a display (and without a backend chosen by the user or a notebook) the
non-interactive Agg backend is used. Colours come from the Okabe & Ito (2008) palette,
which stays distinguishable under the common forms of colour-vision deficiency.

Examples
--------
>>> ax = share_bars(None, ["client", "relationship"], [0.2, 0.1], low=[0.15, 0.05],
...                 high=[0.25, 0.16], reference=[0.4, 0.3])
>>> len(ax.patches)
4
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["OKABE_ITO", "PALETTE", "pyplot", "axes_or_new", "share_bars", "heatmap"]

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion",
                                        "sky_blue", "reddish_purple", "yellow", "black"))
ESTIMATE_COLOUR = OKABE_ITO["blue"]
REFERENCE_COLOUR = "#BBBBBB"


def pyplot():
    """``matplotlib.pyplot``, on the Agg backend when there is no display."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        headless = not os.environ.get("DISPLAY") and sys.platform.startswith("linux")
        if headless and not os.environ.get("MPLBACKEND"):
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def axes_or_new(ax=None, *, figsize: tuple[float, float] = (6.4, 4.0)):
    """Return ``ax``, or the Axes of a new figure when ``ax`` is None.

    Examples
    --------
    >>> ax = axes_or_new()
    >>> axes_or_new(ax) is ax
    True
    """
    if ax is not None:
        return ax
    _, ax = pyplot().subplots(figsize=figsize)
    return ax


def share_bars(
    ax,
    labels: Sequence[str],
    estimate: Sequence[float],
    *,
    low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
    reference: Sequence[float] | None = None,
    estimate_label: str = "estimate",
    reference_label: str = "reference",
    ylabel: str = "share",
    percent: bool = False,
):
    """Bars of estimated shares with interval whiskers, beside reference bars if given.

    A reference value of NaN leaves its bar out. Returns the Axes.
    """
    ax = axes_or_new(ax)
    est = np.asarray(estimate, dtype=float)
    scale = 100.0 if percent else 1.0
    x = np.arange(len(labels))
    width = 0.38 if reference is not None else 0.6
    shift = width / 2 if reference is not None else 0.0
    ax.bar(x - shift, est * scale, width, color=ESTIMATE_COLOUR, label=estimate_label)
    if low is not None and high is not None:
        lo = np.asarray(low, dtype=float) * scale
        hi = np.asarray(high, dtype=float) * scale
        err = np.vstack([np.clip(est * scale - lo, 0, None), np.clip(hi - est * scale, 0, None)])
        ax.errorbar(x - shift, est * scale, yerr=err, fmt="none", ecolor="black", capsize=4,
                    linewidth=1.2)
    if reference is not None:
        ref = np.asarray(reference, dtype=float) * scale
        ax.bar(x + shift, np.nan_to_num(ref), width, color=REFERENCE_COLOUR,
               edgecolor="black", hatch="//", label=reference_label)
        ax.legend(frameon=False)
    ax.set_xticks(x, list(labels))
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    ax.axhline(0, color="black", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def heatmap(
    ax,
    matrix,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    xlabel: str = "",
    title: str = "",
    fmt: str = "{:.3f}",
    cmap: str = "cividis",
):
    """A labelled heat map with each cell's value written in it. Returns the Axes.

    Examples
    --------
    >>> ax = heatmap(None, [[0.1, 0.2], [0.3, 0.4]], ["a", "b"], ["0", "1"])
    >>> [t.get_text() for t in ax.texts]
    ['0.100', '0.200', '0.300', '0.400']
    """
    ax = axes_or_new(ax)
    values = np.asarray(matrix, dtype=float)
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    finite = values[np.isfinite(values)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            colour = "black" if v > middle else "white"
            ax.text(j, i, fmt.format(v), ha="center", va="center", color=colour, fontsize=8)
    ax.set_xticks(range(len(col_labels)), list(col_labels))
    ax.set_yticks(range(len(row_labels)), list(row_labels))
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax)
    return ax
