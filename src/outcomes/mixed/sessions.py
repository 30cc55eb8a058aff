"""Session by session: does this session's alliance predict the next session's outcome?

:func:`session_table` lays out the canonical scores as one row per engagement and session:
the outcome rating given at the *start* of the session (ORS in PCOMS practice) and the
alliance rating given at its *end* (SRS), so that the alliance of session t comes after the
outcome of session t and before the outcome of session t + 1 (Miller, Duncan et al. 2003).

:func:`alliance_outcome` fits the lagged model of Falkenström, Finkel, Sandell, Rubel &
Holmqvist (2017, *J Consult Clin Psychol* 85(6):537-549): the outcome at session t + lag is
predicted by the outcome at session t (so the alliance has to predict *change*) and by the
alliance at session t split into two parts,

    alliance_between = the client's mean alliance over the sessions used   (trait-like)
    alliance_within  = alliance_t - alliance_between                       (state-like)

    outcome_{t+lag} = b0 + b1 outcome_t + b2 session_t + b_w alliance_within
                      + b_b alliance_between + u_coach + u_client + e

with random intercepts for coaches and for clients within coaches (statsmodels' MixedLM:
coaches as groups, a variance component with one intercept per client; client codes are
unique). ``b_w`` says whether a client does better after a session with a better alliance
*than is usual for that client*; ``b_b`` whether clients with better alliances do better.
The alliance-outcome correlation of the meta-analyses (r = .28; Flückiger et al. 2018) is
mostly between clients; the within-client effect is the one a coach can act on.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> rows = []
>>> for client in range(60):
...     trait, level = rng.normal(), 20 + 4 * rng.normal()
...     for s in range(1, 8):
...         alliance = 34 + 2 * trait + 2 * rng.normal()
...         rows.append((f"C{client % 6}", f"E{client}", s, alliance, level))
...         level += 1 + 0.3 * (alliance - 34 - 2 * trait) + rng.normal()
>>> df = pd.DataFrame(rows, columns=["coach_id", "engagement_id", "session", "srs", "ors"])
>>> res = alliance_outcome(df, alliance="srs", outcome="ors")
>>> res.effects.estimate.round(2).tolist()
[0.31, 0.08, -0.23]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from outcomes._errors import ConvergenceWarning, DataError, DataWarning, UsageError
from outcomes._results import jsonable, text_table
from outcomes.mixed.likelihood import SINGULAR_TOLERANCE, fit_mixedlm

__all__ = ["session_table", "alliance_outcome", "AllianceOutcome"]

SCORE_COLUMNS = ("engagement_id", "occasion", "session", "instrument", "scale", "score")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in frame.columns:
            raise DataError(f"the {what} need this column but have no such column",
                            column=col, fix=f"Columns present: "
                            f"{', '.join(map(str, frame.columns[:20]))}.")


def session_table(
    scores: pd.DataFrame,
    engagements: pd.DataFrame,
    *,
    alliance: tuple[str, str] = ("srs", "total"),
    outcome: tuple[str, str] = ("ors", "total"),
    rater: str = "client",
) -> pd.DataFrame:
    """One row per engagement and session: coach, session, alliance and outcome.

    Parameters
    ----------
    scores : DataFrame
        The canonical scores table (engagement_id, occasion, session, instrument, scale,
        score; optionally rater). Only ``occasion == "session"`` rows are used.
    engagements : DataFrame
        The canonical engagements table (engagement_id, coach_id; engagements whose
        ``research_consent`` is false are left out).
    alliance, outcome : (instrument, scale)
        Which scores are the alliance (default the SRS total, given at the end of each
        session) and the outcome (default the ORS total, given at its start).
    rater : str, default "client"
        Whose ratings to use when the scores carry a ``rater`` column.

    Returns
    -------
    DataFrame
        Columns engagement_id, coach_id, session, alliance, outcome, sorted by coach,
        engagement and session; a missing rating is NaN.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "engagement_id": ["E1"] * 4, "occasion": "session", "session": [1, 1, 2, 2],
    ...     "instrument": ["ors", "srs"] * 2, "scale": "total",
    ...     "score": [20.0, 35.0, 24.0, 37.5]})
    >>> engagements = pd.DataFrame({"engagement_id": ["E1"], "coach_id": ["C1"]})
    >>> session_table(scores, engagements)
      engagement_id coach_id  session  alliance  outcome
    0            E1       C1        1      35.0     20.0
    1            E1       C1        2      37.5     24.0
    """
    _require(scores, SCORE_COLUMNS, "scores")
    _require(engagements, ("engagement_id", "coach_id"), "engagements")
    rows = scores[scores["occasion"] == "session"]
    if "rater" in rows.columns:
        rows = rows[rows["rater"].fillna("client") == rater]
    parts = []
    for name, (instrument, scale) in (("alliance", alliance), ("outcome", outcome)):
        picked = rows[(rows["instrument"] == instrument) & (rows["scale"] == scale)]
        if picked.empty:
            present = sorted({f"{i}/{s}" for i, s in zip(rows["instrument"], rows["scale"],
                                                         strict=True)})
            raise DataError(f"no per-session {instrument}/{scale} scores were found for the "
                            f"{name}", column="instrument",
                            fix=f"Per-session scores present: {', '.join(present) or 'none'}.")
        series = picked.groupby(["engagement_id", "session"])["score"].mean().rename(name)
        parts.append(series)
    table = pd.concat(parts, axis=1).reset_index()
    table["session"] = table["session"].astype(int)
    keep = engagements
    if "research_consent" in keep.columns:
        keep = keep[keep["research_consent"].fillna(True).astype(bool)]
    coach = keep[["engagement_id", "coach_id"]].astype({"engagement_id": str, "coach_id": str})
    table = table.astype({"engagement_id": str}).merge(coach, on="engagement_id", how="inner")
    table = table[["engagement_id", "coach_id", "session", "alliance", "outcome"]]
    return table.sort_values(["coach_id", "engagement_id", "session"], ignore_index=True)


def lagged_pairs(sessions: pd.DataFrame, *, alliance: str, outcome: str, client: str,
                 group: str | None, session: str, lag: int) -> pd.DataFrame:
    """Rows of session t joined with the outcome of session t + lag of the same client."""
    cols = [client, session, alliance, outcome] + ([group] if group else [])
    _require(sessions, cols, "sessions")
    frame = sessions[cols].copy()
    for col in (session, alliance, outcome):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DataError("must be numeric", column=col,
                            fix="Convert the column to numbers.")
    frame[client] = frame[client].astype(str)
    if frame.duplicated([client, session]).any():
        raise DataError(f"a client has two rows for the same {session}", column=session,
                        fix="Keep one row per client and session.")
    later = frame[[client, session, outcome]].rename(columns={outcome: "outcome_next"})
    later = later.assign(**{session: later[session] - lag})
    pairs = frame.merge(later, on=[client, session], how="inner")
    complete = pairs[[alliance, outcome, "outcome_next"] + ([group] if group else [])].notna()
    pairs = pairs[complete.all(axis=1)].copy()
    if group:
        pairs[group] = pairs[group].astype(str)
        per_client = pairs.groupby(client)[group].nunique()
        if (per_client > 1).any():
            raise DataError(f"client {per_client.idxmax()} has sessions with more than one "
                            "coach", column=group,
                            fix="Give each client (engagement) one coach.")
    between = pairs.groupby(client)[alliance].transform("mean")
    pairs["alliance_between"] = between
    pairs["alliance_within"] = pairs[alliance] - between
    order = [group, client, session] if group else [client, session]
    return pairs.sort_values(order, ignore_index=True)


def alliance_outcome(
    sessions: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    client: str = "engagement_id",
    group: str | None = "coach_id",
    lag: int = 1,
    session: str = "session",
    trend: bool = True,
    reml: bool = True,
    ci_level: float = 0.95,
) -> AllianceOutcome:
    """Within-client and between-client effects of session alliance on later outcome.

    Parameters
    ----------
    sessions : DataFrame
        One row per client and session (e.g. from :func:`session_table`); not modified.
    alliance, outcome : str
        Columns of the session's alliance rating and the outcome rating.
    client : str, default "engagement_id"
        Column of client (engagement) ids; each gets a random intercept.
    group : str or None, default "coach_id"
        Column of coach ids (clients nested in coaches, with a coach random intercept);
        None leaves the coach level out.
    lag : int, default 1
        The outcome ``lag`` sessions later is predicted (session numbers must match).
    session : str, default "session"
        Column of session numbers.
    trend : bool, default True
        Adjust for the session number (a linear trend over sessions), so that a drift of
        the alliance over the sessions is not taken for a within-client effect.
    reml : bool, default True
        REML or ML.
    ci_level : float, default 0.95
        Level of the Wald intervals.

    Returns
    -------
    AllianceOutcome
    """
    if int(lag) != lag or lag < 1:
        raise UsageError(f"lag must be a whole number of sessions >= 1; got {lag!r}.")
    if not 0 < ci_level < 1:
        raise UsageError(f"ci_level must lie between 0 and 1 (e.g. 0.95); got {ci_level!r}.")
    if not isinstance(sessions, pd.DataFrame):
        raise UsageError(f"alliance_outcome() needs a DataFrame, not {type(sessions).__name__}.")
    pairs = lagged_pairs(sessions, alliance=alliance, outcome=outcome, client=client,
                         group=group, session=session, lag=int(lag))
    n_clients = pairs[client].nunique()
    if len(pairs) < 10 or n_clients < 3:
        raise DataError(f"only {len(pairs)} pairs of sessions {lag} apart from {n_clients} "
                        "clients have both ratings", column=outcome,
                        fix="The model needs several clients with repeated ratings.")
    terms = ["intercept", "outcome_t", *(["session"] if trend else []), "alliance_within",
             "alliance_between"]
    X = np.column_stack([np.ones(len(pairs)), pairs[outcome], *([pairs[session]] if trend
                         else []), pairs.alliance_within, pairs.alliance_between])
    clients = pairs[client].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        sol = fit_mixedlm(pairs.outcome_next.to_numpy(), X,
                          pairs[group].to_numpy() if group else clients,
                          vc=clients if group else None, reml=reml)
    if not sol.converged:
        warnings.warn(f"the session model did not converge with any optimiser tried "
                      f"({', '.join(sol.attempts)}); the estimates may be wrong.",
                      ConvergenceWarning, stacklevel=2)
    z = float(ndtri(0.5 + ci_level / 2))
    se = np.sqrt(np.diag(sol.cov))
    fixed = pd.DataFrame({"estimate": sol.coef, "std_error": se, "ci_low": sol.coef - z * se,
                          "ci_high": sol.coef + z * se,
                          "p_value": 2 * ndtr(-np.abs(sol.coef / se))},
                         index=pd.Index(terms, name="term"))
    w, b = terms.index("alliance_within"), terms.index("alliance_between")
    contrast = np.zeros(len(terms))
    contrast[b], contrast[w] = 1.0, -1.0
    diff = float(contrast @ sol.coef)
    diff_se = float(np.sqrt(contrast @ sol.cov @ contrast))
    effects = pd.concat([fixed.iloc[[w, b]], pd.DataFrame(
        {"estimate": [diff], "std_error": [diff_se], "ci_low": [diff - z * diff_se],
         "ci_high": [diff + z * diff_se], "p_value": [2 * ndtr(-abs(diff / diff_se))]})])
    effects.index = pd.Index(["within", "between", "between_minus_within"], name="effect")
    if group:
        vc = {"coach": sol.random_cov[0, 0], "client": float(sol.vcomp[0])}
    else:
        vc = {"client": sol.random_cov[0, 0]}
    vc["residual"] = sol.sigma2
    components = pd.Series(vc, name="variance")
    singular = bool((components.drop("residual") < SINGULAR_TOLERANCE**2 * sol.sigma2).any())
    return AllianceOutcome(
        alliance=alliance, outcome=outcome, client=client, group=group, lag=int(lag),
        trend=trend, reml=reml, effects=effects, fixed_effects=fixed,
        variance_components=components, loglik=sol.loglik, converged=sol.converged,
        singular=singular, optimizer=sol.optimizer, attempts=sol.attempts,
        messages=sol.messages, n=len(pairs), n_clients=int(n_clients),
        n_groups=int(pairs[group].nunique()) if group else None, ci_level=ci_level,
        session=session, pairs=pairs,
    )


@dataclass(frozen=True, eq=False)
class AllianceOutcome:
    """Within-client (state-like) and between-client (trait-like) alliance effects.

    ``effects`` has rows ``within``, ``between`` and ``between_minus_within`` (the
    contextual effect) with estimate, std_error, Wald ci_low/ci_high and p_value: points of
    outcome at session t + lag per point of alliance, given the outcome at session t.
    ``fixed_effects`` is the whole fixed part; ``variance_components`` the coach, client and
    residual variances. ``pairs`` holds the session pairs used (for plotting).
    """

    alliance: str
    outcome: str
    client: str
    group: str | None
    lag: int
    trend: bool
    reml: bool
    effects: pd.DataFrame
    fixed_effects: pd.DataFrame
    variance_components: pd.Series
    loglik: float
    converged: bool
    singular: bool
    optimizer: str
    n: int
    n_clients: int
    n_groups: int | None
    attempts: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=(), repr=False)
    ci_level: float = 0.95
    session: str = "session"
    pairs: pd.DataFrame | None = field(default=None, repr=False)

    def table(self) -> pd.DataFrame:
        """Tidy rows: the two effects and their difference, the fixed part, the variances."""
        eff = self.effects.reset_index().rename(columns={"effect": "term"}).assign(kind="effect")
        fixed = self.fixed_effects.reset_index().assign(kind="fixed")
        var = pd.DataFrame({"kind": "variance", "term": self.variance_components.index,
                            "estimate": self.variance_components.to_numpy()})
        cols = ["kind", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value"]
        return pd.concat([eff, fixed, var], ignore_index=True).reindex(columns=cols).assign(
            n=self.n)

    def _random_part(self) -> str:
        if self.group:
            return (f"random intercepts for coaches ({self.group}) and for clients within "
                    f"coaches ({self.client})")
        return f"a random intercept for clients ({self.client})"

    def summary(self) -> str:
        """Text report: the two effects side by side, the model and how the fit went."""
        level = f"{round(100 * self.ci_level, 1):g} %"
        lines = [
            f"Alliance ({self.alliance!r}) at session t and outcome ({self.outcome!r}) at "
            f"session t + {self.lag}, given the outcome at session t"
            + (" and the session number" if self.trend else "") + ".",
            f"{self.n} session pairs from {self.n_clients} clients"
            + (f" of {self.n_groups} coaches" if self.group else "")
            + f"; {'REML' if self.reml else 'ML'} with {self._random_part()}.",
            "",
            f"Alliance effects ({level} Wald intervals; outcome points per alliance point):",
        ]
        shown = self.effects.reset_index()
        shown["effect"] = ["within client (state-like)", "between clients (trait-like)",
                           "between - within (contextual)"]
        lines += [text_table(shown, digits=4), "", "Fixed effects:",
                  text_table(self.fixed_effects.reset_index(), digits=4), "",
                  "Variance components:",
                  text_table(self.variance_components.reset_index().rename(
                      columns={"index": "level"}), digits=4), ""]
        status = "converged" if self.converged else "DID NOT CONVERGE (estimates unreliable)"
        lines.append(f"Fit: statsmodels MixedLM ({self.optimizer}), {status}; log-likelihood "
                     f"{self.loglik:.4f}.")
        if self.singular:
            lines.append("The fit is singular: a variance component is estimated at zero.")
        if len(self.attempts) > 1:
            lines.append(f"Optimisers tried: {', '.join(self.attempts)}.")
        notes = list(dict.fromkeys(self.messages))
        if notes:
            lines += ["Optimiser notes:", *(f"  {m}" for m in notes)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no client ids)."""
        def rows(frame):
            return {k: r._asdict() for k, r in zip(frame.index, frame.itertuples(index=False),
                                                   strict=True)}

        return jsonable({
            "alliance": self.alliance, "outcome": self.outcome, "client": self.client,
            "group": self.group, "lag": self.lag, "trend": self.trend,
            "method": "REML" if self.reml else "ML", "random": self._random_part(),
            "n": self.n, "n_clients": self.n_clients, "n_groups": self.n_groups,
            "effects": rows(self.effects), "fixed_effects": rows(self.fixed_effects),
            "variance_components": self.variance_components, "loglik": self.loglik,
            "converged": self.converged, "singular": self.singular,
            "optimizer": self.optimizer, "attempts": list(self.attempts),
            "optimizer_notes": list(dict.fromkeys(self.messages)), "ci_level": self.ci_level,
        })

    def plot(self, ax=None, *, kind: str = "both", max_clients: int = 60):
        """Client trajectories and the two slopes.

        With ``kind="both"`` and no ``ax``, a figure with two panels is made: the outcome
        over sessions of up to ``max_clients`` clients (thin lines) with the mean per
        session, and beside it the within-client and between-client slopes with
        ``ci_level`` bands; the Axes of the slopes is returned. With ``ax`` given (or
        ``kind="slopes"`` / ``"trajectories"``) one panel is drawn on it.
        """
        from outcomes._plotting import axes_or_new, pyplot

        if kind not in ("both", "slopes", "trajectories"):
            raise UsageError(f'kind must be "both", "slopes" or "trajectories"; got {kind!r}.')
        if kind == "both" and ax is None:
            _, (left, ax) = pyplot().subplots(1, 2, figsize=(11, 4))
            self._trajectories(left, max_clients)
            return self._slopes(ax)
        ax = axes_or_new(ax)
        if kind == "trajectories":
            return self._trajectories(ax, max_clients)
        return self._slopes(ax)

    def _trajectories(self, ax, max_clients: int):
        from outcomes._plotting import ESTIMATE_COLOUR

        pairs = self.pairs if self.pairs is not None else pd.DataFrame()
        clients = pairs[self.client].drop_duplicates()
        shown = clients.iloc[np.linspace(0, len(clients) - 1, min(max_clients, len(clients)))
                             .astype(int)] if len(clients) else clients
        for _, rows in pairs[pairs[self.client].isin(shown)].groupby(self.client):
            ax.plot(rows[self.session], rows[self.outcome], color="#999999", linewidth=0.6,
                    alpha=0.6)
        mean = pairs.groupby(self.session)[self.outcome].mean()
        ax.plot(mean.index, mean.to_numpy(), color=ESTIMATE_COLOUR, linewidth=2.2, label="mean")
        ax.legend(frameon=False)
        ax.set_xlabel(self.session)
        ax.set_ylabel(self.outcome)
        ax.set_title(f"{self.outcome} by session ({len(shown)} of {len(clients)} clients)",
                     fontsize=10)
        return ax

    def _slopes(self, ax):
        from outcomes._plotting import OKABE_ITO

        pairs = self.pairs
        fe = self.fixed_effects.estimate
        centre = float(pairs[self.alliance].mean())
        base = fe["intercept"] + fe["outcome_t"] * pairs[self.outcome].mean() + fe[
            "alliance_between"] * centre + (fe["session"] * pairs[self.session].mean()
                                            if self.trend else 0.0)
        z = float(ndtri(0.5 + self.ci_level / 2))
        spans = {"within": centre + pairs.alliance_within.quantile([0.02, 0.98]).to_numpy(),
                 "between": pairs.alliance_between.quantile([0.02, 0.98]).to_numpy()}
        colours = {"within": OKABE_ITO["vermillion"], "between": OKABE_ITO["blue"]}
        labels = {"within": "within client (state-like)", "between": "between clients (trait)"}
        for name, (lo, hi) in spans.items():
            x = np.linspace(min(lo, centre), max(hi, centre), 50)
            row = self.effects.loc[name]
            y = base + row.estimate * (x - centre)
            band = z * row.std_error * np.abs(x - centre)
            ax.fill_between(x, y - band, y + band, color=colours[name], alpha=0.2, linewidth=0)
            ax.plot(x, y, color=colours[name], linewidth=2,
                    label=f"{labels[name]}: {row.estimate:.3f} per point")
        ax.set_xlabel(f"{self.alliance} at session t")
        ax.set_ylabel(f"{self.outcome} at session t + {self.lag} (adjusted)")
        ax.legend(frameon=False, fontsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return ax
