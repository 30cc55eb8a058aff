"""One-row-per-client draws with classical measurement error and MAR dropout.

:func:`outcomes.simulate_study` produces a whole study whose scales see their factors
through instrument-specific variance, rounding and clipping, so no correction can bring its
observed shares back to the latent truth. The method checks of the correction for
unreliability and of the missing-data estimators need the textbook conditions instead,
under which each method is exactly right when it works:

- *classical measurement error*: each factor is measured by ``n_items`` parallel items
  ``F + e_j`` with ``var e_j = n_items (1 / rel - 1)``, so that the item mean has
  reliability ``rel`` (Lord & Novick 1968); the outcome may carry independent error too;
- *missing at random*: the end score goes missing with probability
  ``expit(a - b_intake z_intake - b_alliance z_alliance)``, where ``z`` are the standardised
  intake score and observed early alliance (both always observed), and ``a`` is solved for
  the target dropout rate. Clients who start low or rate the alliance low leave more often;
  whether they leave does not depend on the end score itself once these are known.

The latent part is :func:`outcomes.simulate.generative.draw_latent`: four correlated
factors, coach random intercepts and true change with exact population shares.

Examples
--------
>>> from outcomes.simulate.generative import DEFAULT_SHARES, generative_model
>>> m = generative_model(shares=DEFAULT_SHARES, r2=0.35, icc=0.05, factor_correlation=0.3)
>>> d = measured_draw(m, 10, 20, np.random.default_rng(1), reliability=0.8, dropout=0.3)
>>> d.shape, round(float(d["end_score"].isna().mean()), 2)
((200, 34), 0.24)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit

from outcomes._errors import UsageError
from outcomes.simulate.generative import FACTORS, GenerativeModel, draw_latent
from outcomes.simulate.tables import ORS_INTAKE_MEAN, ORS_INTAKE_SD, dropout_intercept

__all__ = ["measured_draw", "item_columns", "DROPOUT_SLOPES"]

#: Log-odds of dropping per SD of the intake score and of the observed early alliance.
DROPOUT_SLOPES = (0.5, 1.5)


def item_columns(factor: str, n_items: int) -> list[str]:
    """The names of a factor's item columns in :func:`measured_draw`'s frame."""
    return [f"{factor}_item{j + 1}" for j in range(n_items)]


def _reliabilities(reliability) -> dict[str, float]:
    if reliability is None:
        return {}
    given = (dict(reliability) if isinstance(reliability, Mapping)
             else dict.fromkeys(FACTORS, reliability))
    for factor, value in given.items():
        if factor not in FACTORS or not 0 < float(value) <= 1:
            raise UsageError(f"reliability of {factor!r} is {value!r}: give each of "
                             f"{', '.join(FACTORS)} a number in (0, 1].")
    return {f: float(v) for f, v in given.items()}


def measured_draw(
    model: GenerativeModel,
    n_coaches: int,
    clients_per_coach: int,
    rng: np.random.Generator,
    *,
    reliability: float | Mapping[str, float] | None = None,
    n_items: int = 6,
    outcome_reliability: float = 1.0,
    dropout: float = 0.0,
    slopes: tuple[float, float] = DROPOUT_SLOPES,
) -> pd.DataFrame:
    """Draw one study as a tidy frame: one row per client.

    Parameters
    ----------
    model : GenerativeModel
        The latent model (see :func:`outcomes.simulate.generative.generative_model`).
    n_coaches, clients_per_coach : int
    rng : numpy Generator
    reliability : float or mapping of factor to float, optional
        Reliability of each factor's measured score (one value for all); factors not named
        are measured without error. Items are drawn only for the factors named.
    n_items : int, default 6
        Parallel items per measured factor.
    outcome_reliability : float, default 1.0
        Reliability of the measured change (``end_score - baseline``).
    dropout : float, default 0.0
        Share of end scores missing at random given intake and early alliance.
    slopes : (float, float)
        Log-odds of dropping per SD of intake and of the observed alliance (lower = more).

    Returns
    -------
    DataFrame
        ``coach_id``; the measured factor scores (columns named by factor); their items
        (:func:`item_columns`); ``baseline`` (intake); ``end_score`` and ``change`` (NaN
        for the dropouts); ``end_score_complete`` (the end score of every client, dropouts
        included: what the missing-data methods try to recover); ``dropped``.
    """
    rel = _reliabilities(reliability)
    latent = draw_latent(model, n_coaches, clients_per_coach, rng)
    n = len(latent.change)
    frame = pd.DataFrame({"coach_id": [f"C{c + 1:03d}" for c in latent.coach]})
    for k, factor in enumerate(FACTORS):
        score = latent.factors[:, k]
        if factor in rel:
            noise_sd = np.sqrt(n_items * (1 / rel[factor] - 1))
            items = score[:, None] + noise_sd * rng.standard_normal((n, n_items))
            frame[factor] = items.mean(axis=1)
            frame[item_columns(factor, n_items)] = items
        else:
            frame[factor] = score
    change = latent.change
    if outcome_reliability < 1:
        error_sd = np.sqrt(model.total_variance * (1 / outcome_reliability - 1))
        change = change + error_sd * rng.standard_normal(n)
    frame["baseline"] = ORS_INTAKE_MEAN + ORS_INTAKE_SD * rng.standard_normal(n)
    frame["end_score"] = frame["baseline"] + change
    frame["end_score_complete"] = frame["end_score"]
    dropped = np.zeros(n, dtype=bool)
    if dropout > 0:
        z_intake = (frame["baseline"] - ORS_INTAKE_MEAN) / ORS_INTAKE_SD
        alliance = frame["relationship"]
        z_alliance = (alliance - alliance.mean()) / alliance.std()
        spread = float(np.hypot(*slopes))
        lp = (slopes[0] * z_intake + slopes[1] * z_alliance) / spread
        dropped = rng.random(n) < expit(dropout_intercept(dropout, spread) - spread * lp)
    frame.loc[dropped, "end_score"] = np.nan
    frame["change"] = frame["end_score"] - frame["baseline"]
    frame["dropped"] = dropped
    return frame
