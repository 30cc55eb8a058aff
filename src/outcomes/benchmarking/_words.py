"""The words of a coach's benchmark: the one rule behind its headline, positions in plain
words, what the practice or the norms lack, and what the numbers can and cannot say."""

from __future__ import annotations

from typing import Any

import pandas as pd

from outcomes.benchmarking.practice import Practice
from outcomes.norms import Norms

__all__ = ["PLAIN", "VERDICTS", "verdict_of", "verdict_rule", "ordinal", "place_in_words",
           "missing_parts", "statements"]

#: The headline for each verdict; ``{body}`` is the body's name.
VERDICTS = {
    "above": "Your clients improved more than clients like them do with other coaches of "
             "{body}.",
    "about": "Your clients improved about as much as clients like them do with other coaches "
             "of {body}.",
    "below": "Your clients improved less than clients like them do with other coaches of "
             "{body}.",
}


def verdict_of(standing: dict[str, Any] | None) -> str | None:
    """``above``, ``about`` or ``below``: the one rule that decides a benchmark's headline.

    ``above`` when the whole interval of the coach's severity-adjusted difference from the
    expected change lies above zero, ``below`` when it lies below zero, ``about`` otherwise;
    None without a standing.

    Examples
    --------
    >>> [verdict_of({"ci_low": lo, "ci_high": hi}) for lo, hi in ((0.2, 3), (-1, 2), (-3, -0.1))]
    ['above', 'about', 'below']
    """
    if standing is None:
        return None
    if standing["ci_low"] > 0:
        return "above"
    return "below" if standing["ci_high"] < 0 else "about"


def verdict_rule(level: str) -> str:
    """The rule of :func:`verdict_of` in words, with the interval's level (e.g. "95 %")."""
    return (f"How this headline is decided: it says \"more\" or \"less\" only when the whole "
            f"{level} interval of your severity-adjusted difference (your clients' change "
            "minus the change expected for clients who started at the same score) lies above "
            "or below zero; otherwise it says \"about as much\".")


PLAIN = {"above 99.8 % limit": "well above what chance gives a coach with this many clients",
          "above 95 % limit": "above what chance usually gives a coach with this many clients",
          "within limits": "within what chance alone gives a coach with this many clients",
          "below 95 % limit": "below what chance usually gives a coach with this many clients",
          "below 99.8 % limit": "well below what chance gives a coach with this many clients"}



def ordinal(value: float) -> str:
    """A percentile in words: 1st, 2nd, 3rd, 11th, 23rd ...

    Examples
    --------
    >>> [ordinal(v) for v in (1, 2, 3, 11, 12.4, 23, 96.6)]
    ['1st', '2nd', '3rd', '11th', '12th', '23rd', '97th']
    """
    n = int(round(value))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"




def place_in_words(low: float, high: float) -> str:
    """Where an interval places a coach among coaches, in words a coach can use.

    An interval that spans half the coaches or more says that this many clients cannot tell
    yet; a narrower one names its percentiles and what a percentile means.

    Examples
    --------
    >>> place_in_words(11, 99)[:41]
    'we cannot tell yet with this many clients'
    >>> place_in_words(60, 95)[:68]
    'somewhere between the 60th and the 95th percentile of coaches (at th'
    """
    span = f"from the {ordinal(low)} to the {ordinal(high)} percentile of coaches"
    if high - low >= 50:
        return (f"we cannot tell yet with this many clients (the interval reaches {span}, "
                "nearly from the bottom to the top)")
    return (f"somewhere between the {ordinal(low)} and the {ordinal(high)} percentile of "
            f"coaches (at the {ordinal(low)} percentile, {round(low)} in 100 coaches do less "
            "well)")


_AGAIN = "and run `outcomes benchmark` again"


def missing_parts(practice: Practice, clients: pd.DataFrame, norms: Norms) -> dict[str, str]:
    """What the practice or the norms lack for each part of the benchmark, in plain words."""
    out: dict[str, str] = {}
    if not clients["change"].notna().any():
        out["end_scores"] = (
            "No end scores yet: your change, your standing among coaches and the reliable "
            "change need each finished client's intake and end ORS. Fill in intake_ors and "
            "end_ors on the clients sheet (in a study: the `intake` and `end` occasions of the "
            f"ORS) {_AGAIN}.")
    if not clients["early_srs"].notna().any():
        out["session_ratings"] = (
            "No session ratings yet: your alliance profile needs the mean SRS of each "
            "client's early sessions, and the session-by-session flags need each session's "
            "ORS and SRS. Fill in early_srs on the clients sheet, and the sessions sheet if "
            f"you have every session's ratings (in a study: the `session` occasion) {_AGAIN}.")
    withheld = norms.withheld()
    lacking = [label for name, label in (("case_mix", "the change expected for clients like "
                                          "yours"),
                                         ("coach_effects", "the spread of coach effects"),
                                         ("trajectories", "the expected course session by "
                                          "session")) if name in withheld]
    if lacking:
        reasons = list(dict.fromkeys(withheld[n] for n in ("case_mix", "coach_effects",
                                                            "trajectories") if n in withheld))
        listed = ", ".join(lacking[:-1]) + " and " + lacking[-1] if len(lacking) > 1 \
            else lacking[0]
        out["norms"] = (f"The body's norms do not hold {listed}; the norms say why: \""
                        + " ".join(reasons) + "\" Ask the body for norms made once its data "
                        "hold this part.")
    return out


def statements(n: int, n_all: int, standing: dict[str, Any] | None, norms: Norms,
                ci_level: float) -> list[str]:
    doc = norms.document
    rc = doc["instrument"]["reliable_change"]
    out = [f"{n} of your {n_all} clients have an intake and an end score; only they count in "
           "the change figures" + (" (the others are ongoing or ended without an end score)."
                                   if n < n_all else ".")]
    if standing is None:
        out.append("Without a finished client (or without the body's spread of coach effects) "
                   "there is no standing to estimate.")
    else:
        level = f"{round(100 * ci_level):g} %"
        out.append(f"Your own clients carry {100 * standing['weight']:.0f} % of the weight of "
                   "your estimate; the rest is the body's average. The more clients, the more "
                   "the estimate is yours.")
        if standing["percentile_low"] is not None:
            out.append(f"Your place among the body's coaches, from the {level} interval: "
                       + place_in_words(standing["percentile_low"],
                                        standing["percentile_high"]) + ".")
        else:
            out.append("In these norms coaches do not differ beyond chance, so no coach can be "
                       "told apart from the body's average.")
        if n < 10:
            out.append("With fewer than 10 finished clients, one client more or less can move "
                       "your figures a long way; read them as a first impression.")
    out.append(f"One client's change is noisy: a change of {rc:g} points or less is within "
               "the measure's ordinary ups and downs.")
    out.append("Expected change allows for the intake score and the sponsor only; clients "
               "differ in ways the norms cannot see, such as their circumstances.")
    sample = doc["sample"]
    out.append(f"The norms describe {sample['engagements']} engagements with "
               f"{sample['coaches']} coaches of {doc['source']['title']} ({doc['created']}); "
               "they say how you compare with that body's coaches, not with all coaches.")
    return out
