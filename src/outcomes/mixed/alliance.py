"""Does this session's alliance predict the next session's outcome, within and between clients?

:func:`alliance_outcome` takes one row per client and session (as laid out by
:func:`outcomes.mixed.sessions.session_table`) and fits the lagged model of Falkenström,
Finkel, Sandell, Rubel & Holmqvist (2017, *J Consult Clin Psychol* 85(6):537-549): the
outcome at session t + lag is predicted by the outcome at session t (so the alliance has to
predict *change*) and by the alliance at session t split into two parts (by
:func:`outcomes.mixed.sessions.lagged_pairs`),

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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from outcomes._checks import (
    check_ci_level,
    check_positive_int,
    old_attribute,
    renamed,
    shared_parameters,
)
from outcomes._errors import ConvergenceWarning, DataError, DataWarning, UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.mixed.mixedlm import SINGULAR_TOLERANCE, MixedSolution, fit_mixedlm
from outcomes.mixed.sessions import lagged_pairs

__all__ = ["alliance_outcome", "AllianceOutcome"]


@renamed(group="cluster")
@shared_parameters
def alliance_outcome(
    sessions: pd.DataFrame,
    *,
    alliance: str,
    outcome: str,
    client: str = "engagement_id",
    cluster: str | None = "coach_id",
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
        One row per client and session (e.g. from :func:`outcomes.session_table`); not modified.
    alliance, outcome : str
        Columns of the session's alliance rating and the outcome rating.
    client : str, default "engagement_id"
        Column of client (engagement) ids; each gets a random intercept.
    {cluster}
        Default "coach_id"; None leaves the coach level out (clients are then not nested in
        coaches).
    lag : int, default 1
        The outcome ``lag`` sessions later is predicted (session numbers must match).
    session : str, default "session"
        Column of session numbers.
    trend : bool, default True
        Adjust for the session number (a linear trend over sessions), so that a drift of
        the alliance over the sessions is not taken for a within-client effect.
    reml : bool, default True
        REML or ML.
    {ci_level}
        The intervals are Wald intervals.

    Returns
    -------
    AllianceOutcome
    """
    lag = check_positive_int(lag, "lag", "alliance_outcome", minimum=1)
    ci_level = check_ci_level(ci_level, "alliance_outcome")
    if not isinstance(sessions, pd.DataFrame):
        raise UsageError(f"alliance_outcome() needs a DataFrame, not {type(sessions).__name__}.")
    pairs = lagged_pairs(sessions, alliance=alliance, outcome=outcome, client=client,
                         cluster=cluster, session=session, lag=lag)
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
                          pairs[cluster].to_numpy() if cluster else clients,
                          vc=clients if cluster else None, reml=reml)
    if not sol.converged:
        warnings.warn(f"the session model did not converge with any optimiser tried "
                      f"({', '.join(sol.attempts)}); the estimates may be wrong.",
                      ConvergenceWarning, stacklevel=3)
    fixed = sol.wald_table(terms, ci_level)
    effects = _effects(fixed, sol, terms, ci_level)
    if cluster:
        vc = {"coach": sol.random_cov[0, 0], "client": float(sol.vcomp[0])}
    else:
        vc = {"client": sol.random_cov[0, 0]}
    vc["residual"] = sol.sigma2
    components = pd.Series(vc, name="variance")
    singular = bool((components.drop("residual") < SINGULAR_TOLERANCE**2 * sol.sigma2).any())
    return AllianceOutcome(
        alliance=alliance, outcome=outcome, client=client, cluster=cluster, lag=lag,
        trend=trend, reml=reml, effects=effects, fixed_effects=fixed,
        variance_components=components, loglik=sol.loglik, converged=sol.converged,
        singular=singular, optimizer=sol.optimizer, attempts=sol.attempts,
        messages=sol.messages, n=len(pairs), n_clients=int(n_clients),
        n_clusters=int(pairs[cluster].nunique()) if cluster else None, ci_level=ci_level,
        session=session, pairs=pairs,
    )


def _effects(fixed: pd.DataFrame, sol: MixedSolution, terms: list[str],
             ci_level: float) -> pd.DataFrame:
    """The within and between rows of the fixed part, and their difference (contextual)."""
    z = float(ndtri(0.5 + ci_level / 2))
    w, b = terms.index("alliance_within"), terms.index("alliance_between")
    contrast = np.zeros(len(terms))
    contrast[b], contrast[w] = 1.0, -1.0
    diff = float(contrast @ sol.coef)
    diff_se = float(np.sqrt(contrast @ sol.cov @ contrast))
    effects = pd.concat([fixed.iloc[[w, b]], pd.DataFrame(
        {"estimate": [diff], "std_error": [diff_se], "ci_low": [diff - z * diff_se],
         "ci_high": [diff + z * diff_se], "p_value": [2 * ndtr(-abs(diff / diff_se))]})])
    effects.index = pd.Index(["within", "between", "between_minus_within"], name="effect")
    return effects


@dataclass(frozen=True, eq=False, repr=False)
class AllianceOutcome(Result):
    """Within-client (state-like) and between-client (trait-like) alliance effects.

    ``effects`` has rows ``within``, ``between`` and ``between_minus_within`` (the
    contextual effect) with estimate, std_error, Wald ci_low/ci_high and p_value: points of
    outcome at session t + lag per point of alliance, given the outcome at session t.
    ``fixed_effects`` is the whole fixed part; ``variance_components`` the coach, client and
    residual variances. ``pairs`` holds the session pairs used (for plotting). ``cluster``
    names the coach column (None: no coach level) and ``n_clusters`` counts the coaches.
    """

    alliance: str
    outcome: str
    client: str
    cluster: str | None
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
    n_clusters: int | None
    attempts: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=(), repr=False)
    ci_level: float = 0.95
    session: str = "session"
    pairs: pd.DataFrame | None = field(default=None, repr=False)

    group = old_attribute("group", "cluster")
    n_groups = old_attribute("n_groups", "n_clusters")

    def headline(self) -> str:
        """The within-client and between-client effects, and how many pairs and clients."""
        within, between = self.effects.estimate[["within", "between"]]
        return (f"alliance effect within clients {within:.3f}, between {between:.3f} "
                f"(lag {self.lag}); {self.n} session pairs, {self.n_clients} clients")

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
        if self.cluster:
            return (f"random intercepts for coaches ({self.cluster}) and for clients within "
                    f"coaches ({self.client})")
        return f"a random intercept for clients ({self.client})"

    def summary(self) -> Summary:
        """Text report: the two effects side by side, the model and how the fit went."""
        level = f"{round(100 * self.ci_level, 1):g} %"
        lines = [
            f"Alliance ({self.alliance!r}) at session t and outcome ({self.outcome!r}) at "
            f"session t + {self.lag}, given the outcome at session t"
            + (" and the session number" if self.trend else "") + ".",
            f"{self.n} session pairs from {self.n_clients} clients"
            + (f" of {self.n_clusters} coaches" if self.cluster else "")
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
        return Summary("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no client ids; ``n_groups`` counts the coaches)."""
        def rows(frame):
            return {k: r._asdict() for k, r in zip(frame.index, frame.itertuples(index=False),
                                                   strict=True)}

        return jsonable({
            "alliance": self.alliance, "outcome": self.outcome, "client": self.client,
            "cluster": self.cluster, "lag": self.lag, "trend": self.trend,
            "method": "REML" if self.reml else "ML", "random": self._random_part(),
            "n": self.n, "n_clients": self.n_clients, "n_groups": self.n_clusters,
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
