"""Splitting the average improvement of a trial's full-treatment arm among the four factors.

Asay & Lambert (1999) read the outcome literature as a ladder of comparisons: clients who get
no treatment still improve (extra-therapeutic change, the *client* share); a placebo or
attention control adds the effect of *expectancy*; a supportive, common-factors-only
treatment adds the *relationship*; the full model adds its *technique*. With trial arms on
each rung, :func:`improvement_split` does that arithmetic on data. For the full arm's mean
improvement F and the arms' mean improvements N (none), P (placebo), C (common)::

    client = N,  expectancy = P - N,  relationship = C - P,  technique = F - C

and each share is the part over F; the parts sum to F, the shares to 1.

Assumptions, in plain words
---------------------------
- **The same clients.** The arms draw on one population (randomised, or at least alike at
  intake), use the same measure over the same time span, and their means are compared
  directly. Differences between the arms in who took part become "factors".
- **A ladder.** Each arm holds everything the arm below it holds, plus one ingredient: the
  placebo arm has the passage of time, life events and being measured, plus expectancy; the
  common-factors arm has all that plus a working relationship; the full arm adds the
  technique. If an arm adds two things (a supportive treatment that also raises hope more
  than the placebo did) their effects are credited to the one rung.
- **Additivity.** Ingredients add up and do not interact: expectancy does as much in the full
  arm as in the placebo arm. Nothing in the data can test this.
- **Improvement, not variance.** The shares split the *average* gain of the full arm; they
  say nothing about why clients differ (that is :func:`outcomes.shares.decomposition.decompose`).

**When an increment is negative** (an arm improved less than the rung below), it is reported
as it is, with a negative share; the other shares then add to more than 1. The ladder
assumption has failed for that step, or the difference is noise: read its interval. When the
full arm did not improve on average, shares are undefined (NaN).

**Fewer arms.** Roles can be left out; "full" is needed, with at least one other. A missing
rung's increment is merged into the next rung present: with none, placebo and full the parts
are client, expectancy and "relationship + technique"; without a no-treatment arm the first
part is "client + expectancy" (or more).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from outcomes._checks import check_ci_level, check_n_boot, check_seed, shared_parameters
from outcomes._errors import DataError, UsageError
from outcomes._plotting import share_bars
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.practice._ladder import (
    FACTOR_OF_ROLE,
    ROLES,
    bootstrap_arms,
    delta_errors,
    increments_and_shares,
    ladder,
    roles_of,
)
from outcomes.reference import REFERENCES, Comparison, ReferenceSplit, compare

__all__ = ["improvement_split", "ImprovementSplit", "ROLES", "FACTOR_OF_ROLE"]

@dataclass(frozen=True, repr=False)
class ImprovementSplit(Result):
    """The full arm's mean improvement split into factor parts (see :func:`improvement_split`).

    Attributes
    ----------
    arms : DataFrame
        role, labels, n, mean (mean improvement, in score points), sd, std_error.
    parts : DataFrame
        part, roles, quantity (``increment`` in points or ``share`` of the full arm's
        improvement), estimate, std_error, ci_low, ci_high.
    ci_method : str or None
        How the intervals were found: ``"percentile"`` (percentile bootstrap, clients
        resampled within arms), ``"delta"`` (delta method from the arm summaries), or None
        (``n_boot=0``: no intervals).
    replicates : DataFrame or None
        Bootstrap replicates of the shares (one column per part).
    """

    arms: pd.DataFrame
    parts: pd.DataFrame
    merged: Mapping[str, tuple[str, ...]]
    ci_method: str | None
    ci_level: float
    n_boot: int
    seed: Any
    replicates: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def interval(self) -> str | None:
        """The former name of :attr:`ci_method`, in its words: "bootstrap" or "delta"."""
        warnings.warn("ImprovementSplit.interval is now ImprovementSplit.ci_method; the old "
                      "name goes in the next release.", FutureWarning, stacklevel=2)
        return "bootstrap" if self.ci_method == "percentile" else self.ci_method

    @property
    def shares(self) -> pd.Series:
        """Each part's share of the full arm's mean improvement."""
        rows = self.parts[self.parts["quantity"] == "share"]
        return pd.Series(rows["estimate"].to_numpy(), index=rows["part"].tolist(), name="share")

    def table(self) -> pd.DataFrame:
        """One row per part and quantity (increment in points, share)."""
        return self.parts.copy()

    def headline(self) -> str:
        """The full arm's mean improvement and each part's share of it."""
        full = self.arms.loc[self.arms["role"] == "full", "mean"].iloc[0]
        parts = ", ".join(f"{part} {100 * share:.0f} %" if np.isfinite(share)
                          else f"{part} undefined" for part, share in self.shares.items())
        return f"{full:.2f} points of improvement split: {parts}"

    def summary(self) -> Summary:
        """Text report: arms, parts, intervals and what the split assumes."""
        level = f"{100 * self.ci_level:g}%"
        how = {"percentile": f"percentile bootstrap, {self.n_boot} resamples within arms",
               "delta": "delta method from the arm summaries"}.get(
                   self.ci_method or "", "no intervals: n_boot=0")
        shares = self.parts[self.parts["quantity"] == "share"].drop(columns="quantity")
        steps = self.parts[self.parts["quantity"] == "increment"].drop(columns="quantity")
        return Summary("\n".join([
            "Split of the full arm's mean improvement (Asay & Lambert 1999 ladder; additive).",
            "", "Arms (mean improvement in score points):", text_table(self.arms), "",
            "Increments (score points):", text_table(steps), "",
            f"Shares of the full arm's improvement ({level} intervals, {how}):",
            text_table(shares), "",
            "Assumes one population across arms, nested arms (each adds one ingredient) and "
            "additive effects; a share of improvement is not a share of variance.",
            *self.notes,
        ]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe contents."""
        return jsonable({"arms": self.arms, "parts": self.parts, "shares": self.shares,
                         "merged": {k: list(v) for k, v in self.merged.items()},
                         "ci_method": self.ci_method, "ci_level": self.ci_level,
                         "n_boot": self.n_boot,
                         "seed": self.seed if isinstance(self.seed, int) else None,
                         "notes": list(self.notes)})

    def compare(self, reference: str | ReferenceSplit = "asay-lambert-1999") -> Comparison:
        """Set the shares beside a reference split of improvement (parts merged to match)."""
        ref = REFERENCES[reference] if isinstance(reference, str) and reference in REFERENCES \
            else reference
        if not isinstance(ref, ReferenceSplit) or ref.denominator != "improvement":
            keys = [k for k, v in REFERENCES.items() if v.denominator == "improvement"]
            raise UsageError(f"compare: {reference!r} is not a split of improvement; use one "
                             f"of {', '.join(keys)}.")
        merged = {part: sum(ref.shares.get(f, 0.0) for f in factors)
                  for part, factors in self.merged.items()}
        target = dataclasses.replace(ref, shares=merged,
                                     label=ref.label if len(merged) == 4
                                     else f"{ref.label}, parts merged to match the arms")
        reps = None if self.replicates is None else self.replicates
        result = compare(self.shares.to_dict(), target, replicates=reps, ci_level=self.ci_level)
        parts = result.parts
        if self.ci_method == "delta":
            shares = self.parts[self.parts["quantity"] == "share"].set_index("part")
            parts = parts.assign(ci_low=shares.loc[parts["part"], "ci_low"].to_numpy(),
                                 ci_high=shares.loc[parts["part"], "ci_high"].to_numpy())
            parts["inside"] = (parts.ci_low <= parts.reference) & \
                (parts.reference <= parts.ci_high)
        notes = [n for n in result.notes if "splits average improvement by judgement" not in n]
        notes.insert(0, f"Both sides split average improvement: the estimate from trial arms "
                        f"(additive ladder), {ref.label} by expert judgement.")
        return dataclasses.replace(result, parts=parts, notes=tuple(notes))

    def plot(self, ax: Any = None) -> Any:
        """Shares with their intervals beside Asay & Lambert's (parts merged to match)."""
        shares = self.parts[self.parts["quantity"] == "share"]
        ref = REFERENCES["asay-lambert-1999"].shares
        reference = [sum(ref[f] for f in self.merged[p]) for p in shares["part"]]
        return share_bars(ax, shares["part"].tolist(), shares["estimate"],
                          low=shares["ci_low"], high=shares["ci_high"], reference=reference,
                          reference_label="Asay & Lambert 1999",
                          ylabel="share of the full arm's improvement", percent=True)


def _summary_rows(summaries: Any, roles: dict[str, tuple[str, ...]], direction: int
                  ) -> pd.DataFrame:
    frame = pd.DataFrame(summaries).T if isinstance(summaries, Mapping) else pd.DataFrame(
        summaries).set_index("arm")
    frame.index = frame.index.map(str)
    frame = frame.rename(columns={"sd_change": "sd", "mean": "mean_change"})
    missing = [c for c in ("mean_change", "sd", "n") if c not in frame.columns]
    if missing:
        raise DataError(f"the arm summaries have no column {missing[0]!r}", column=missing[0],
                        fix="Give arm, mean_change (post - pre), sd (of the change) and n.")
    rows = []
    for role, labels in roles.items():
        absent = [label for label in labels if label not in frame.index]
        if absent:
            raise DataError(f"no summary for arm {absent[0]!r} ({role})", column="arm",
                            fix=f"The arms summarised are {', '.join(frame.index)}.")
        part = frame.loc[list(labels), ["mean_change", "sd", "n"]].apply(
            pd.to_numeric, errors="coerce")
        if part.isna().any().any():
            raise DataError(f"the summary of arm {labels[0]!r} has a missing or non-numeric "
                            "value", row=labels[0], fix="Give mean_change, sd and n as numbers.")
        n = part["n"].sum()
        mean = (part["n"] * part["mean_change"]).sum() / n
        ss = ((part["n"] - 1) * part["sd"] ** 2 + part["n"] * (part["mean_change"] - mean) ** 2)
        rows.append((role, ", ".join(labels), int(n), direction * mean,
                     float(np.sqrt(ss.sum() / (n - 1)))))
    return pd.DataFrame(rows, columns=["role", "labels", "n", "mean", "sd"])


def _individual(data: pd.DataFrame, arm: str, pre: str, post: str,
                roles: dict[str, tuple[str, ...]], direction: int, notes: list[str]
                ) -> dict[str, np.ndarray]:
    for name in (arm, pre, post):
        if name is None or name not in data.columns:
            raise DataError(f"the data have no column {name!r}", column=str(name),
                            fix="Name the arm, pre and post columns with arm=, pre=, post=.")
    labels = data[arm].astype(str)
    gains = direction * (pd.to_numeric(data[post], errors="coerce")
                         - pd.to_numeric(data[pre], errors="coerce"))
    out = {}
    for role, wanted in roles.items():
        inside = labels.isin(wanted)
        if not inside.any():
            raise DataError(f"no client is in arm {', '.join(wanted)} ({role})", column=arm,
                            fix=f"The arms in the data are {', '.join(sorted(labels.unique()))}.")
        values = gains[inside]
        if values.isna().any():
            notes.append(f"{int(values.isna().sum())} client(s) of the {role} arm lack a pre or "
                         "post score and are left out of its mean.")
        out[role] = values.dropna().to_numpy(dtype=float)
        if len(out[role]) < 2:
            raise DataError(f"the {role} arm has {len(out[role])} client(s) with both scores",
                            column=arm, fix="Each arm needs at least two clients.")
    return out


@shared_parameters
def improvement_split(
    data: pd.DataFrame | None = None,
    *,
    arm: str | None = None,
    pre: str | None = None,
    post: str | None = None,
    arms: Mapping[str, str | Sequence[str]],
    summaries: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
    higher_is_better: bool = True,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    ci_level: float = 0.95,
) -> ImprovementSplit:
    """Split the full arm's mean improvement into client, expectancy, relationship, technique.

    Parameters
    ----------
    data : DataFrame, optional
        One row per client with an arm column and pre and post scores.
    arm, pre, post : str
        Column names in ``data``.
    arms : mapping
        Role (``none``: no treatment or wait-list; ``placebo``: expectancy or attention
        control; ``common``: common factors only, e.g. supportive; ``full``: the full model)
        to the arm's label, or to several labels pooled.
    summaries : DataFrame or mapping, optional
        Instead of ``data``: per arm ``mean_change`` (post - pre), ``sd`` of the change and
        ``n`` (a frame with an ``arm`` column, or a mapping arm -> {mean_change, sd, n}).
    higher_is_better : bool, default True
        Direction of improvement on the measure.
    n_boot : int, default 2000
        Bootstrap resamples (clients resampled within each arm) for individual data; 0 gives
        estimates without intervals, otherwise give at least 100. Summaries use the delta
        method instead.
    {seed}
    {ci_level}
        The intervals are percentile bootstrap intervals, or delta-method intervals for
        summaries.

    Returns
    -------
    ImprovementSplit

    Examples
    --------
    >>> arms = {"wait": {"mean_change": 4.0, "sd": 6.0, "n": 40},
    ...         "placebo": {"mean_change": 5.5, "sd": 6.0, "n": 40},
    ...         "support": {"mean_change": 8.5, "sd": 6.5, "n": 40},
    ...         "coaching": {"mean_change": 10.0, "sd": 7.0, "n": 40}}
    >>> split = improvement_split(summaries=arms, arms={"none": "wait", "placebo": "placebo",
    ...                           "common": "support", "full": "coaching"})
    >>> split.shares.round(3).to_dict()
    {'client': 0.4, 'expectancy': 0.15, 'relationship': 0.3, 'technique': 0.15}
    >>> split                                            # doctest: +ELLIPSIS
    <ImprovementSplit: 10.00 points of improvement split: client 40 %, expectancy 15 %, ...>
    """
    roles = roles_of(arms)
    ci_level = check_ci_level(ci_level, "improvement_split")
    seed = check_seed(seed, "improvement_split")
    if (data is None) == (summaries is None):
        raise UsageError("improvement_split: give either data= (one row per client, with arm=, "
                         "pre=, post=) or summaries= (mean_change, sd, n per arm), not both.")
    direction = 1 if higher_is_better else -1
    merged, steps = ladder(list(roles))
    order = list(roles)
    notes: list[str] = []
    replicates = None
    if summaries is not None:
        z = ndtri(0.5 + ci_level / 2)
        table = _summary_rows(summaries, roles, direction)
        table["std_error"] = table["sd"] / np.sqrt(table["n"])
        means = table["mean"].to_numpy()
        point = increments_and_shares(means[None, :], steps, order)[0]
        se = delta_errors(means, table["std_error"].to_numpy() ** 2, steps, order)
        low, high, ci_method = point - z * se, point + z * se, "delta"
    else:
        n_boot = check_n_boot(n_boot, "improvement_split", minimum=100)
        gains = _individual(data, arm, pre, post, roles, direction, notes)  # type: ignore[arg-type]
        table, point, se, low, high, ci_method, replicates = bootstrap_arms(
            gains, order, roles, steps, merged, n_boot, seed, ci_level)
    names = list(merged)
    contrasts = [f"{r} - {p}" if p else r for r, p in steps]
    parts = pd.DataFrame({
        "part": names * 2, "roles": contrasts * 2,
        "quantity": ["increment"] * len(names) + ["share"] * len(names),
        "estimate": point, "std_error": se, "ci_low": low, "ci_high": high,
    })
    increments = parts[parts["quantity"] == "increment"]
    for row in increments[increments["estimate"] < 0].itertuples():
        notes.append(f"The {row.part} increment ({row.roles}) is negative: that arm improved "
                     "less than the one below it, so the ladder does not hold for that step.")
    if not table.loc[table["role"] == "full", "mean"].iloc[0] > 0:
        notes.append("The full arm did not improve on average, so its shares are undefined.")
    return ImprovementSplit(table, parts, merged, ci_method, ci_level, n_boot, seed, replicates,
                            tuple(notes))
