"""How a body's clients usually move, session by session, given where they started.

:func:`expected_trajectories` fits the expected course of an outcome measured at every
session (the ORS in PCOMS practice) and a tolerance band around it, from a body's own
engagements; :mod:`outcomes.practice.monitoring` compares each new rating with that band.

The model
---------
Expected-recovery curves follow Finch, Lambert & Schaalje (2001, *Clinical Psychology &
Psychotherapy* 8(4):231-242): the score at session s depends on the intake score x and on
log(s), and the log(s) slope itself depends on intake (clients who start low gain more). We
estimate it by **linear quantile regression** (Koenker & Bassett 1978, *Econometrica*
46(1):33-50) at three quantiles, the median and the two ends of the band::

    Q_tau(y | x, s) = b0 + b1 x + (b2 + b3 x) log(s)              by_intake="linear"
    Q_tau(y | band, s) = a_band + c_band log(s)                   by_intake="bands"

so ``expected`` is the median score of clients who started at x, and the band
``[low, high]`` holds the middle ``coverage`` of them (90 %: the 5th to 95th percentiles).
Why quantile regression rather than the mixed model of Finch et al.: monitoring asks whether
*one client's* rating is unusual, so the band must describe individual scores, not the mean.
Quantiles give that directly, whatever the shape of the spread: the ORS is bounded at 0 and
40 and bunches near the top, so its spread is neither normal nor the same at every intake.
Repeated sessions of one client leave the quantile estimates unbiased.

``by_intake="bands"`` groups clients by intake (quantile bands of the intake score) and fits
a curve per band: easier to explain ("clients who started between 13 and 17"), but coarser.

Sessions are numbered from 1. When no intake column is given, the first rated session is
the intake and is left out of the fit (its score predicts itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes._checks import check_positive_int
from outcomes._errors import DataError, UsageError
from outcomes._plotting import PALETTE, axes_or_new
from outcomes._results import Result, Summary, jsonable, text_table

__all__ = ["expected_trajectories", "Trajectories", "session_scores"]


def session_scores(scores: pd.DataFrame, *, outcome: str = "ors", alliance: str | None = "srs",
                  scale: str = "total", rater: str = "client") -> pd.DataFrame:
    """Per-session outcome and alliance, with the intake outcome, from a ``scores`` table.

    Returns one row per engagement and session: ``engagement_id``, ``session``, the outcome
    (column named after its instrument), the alliance (likewise) and ``intake`` (the outcome
    at occasion "intake", missing when it was not given).

    Examples
    --------
    >>> scores = pd.DataFrame({"engagement_id": ["E1"] * 3, "occasion": ["intake", "session",
    ...     "session"], "session": [None, 1, 1], "instrument": ["ors", "ors", "srs"],
    ...     "scale": "total", "score": [15.0, 17.0, 38.0]})
    >>> session_scores(scores)
      engagement_id  session   ors   srs  intake
    0            E1        1  17.0  38.0    15.0
    """
    need = ["engagement_id", "occasion", "session", "instrument", "scale", "score"]
    missing = [c for c in need if c not in scores.columns]
    if missing:
        raise DataError(f"the scores table has no column {missing[0]!r}", column=missing[0],
                        fix="Give the canonical scores table (outcomes.score or study.scores()).")
    rows = scores[(scores["scale"] == scale)]
    if "rater" in rows.columns:
        rows = rows[rows["rater"].fillna("client") == rater]
    keys = [outcome] + ([alliance] if alliance else [])
    per = rows[(rows["occasion"] == "session") & rows["instrument"].isin(keys)]
    wide = per.groupby(["engagement_id", "session", "instrument"])["score"].mean().unstack(
        "instrument").reset_index()  # an administration without a score stays, as NaN
    wide.columns.name = None
    for key in keys:
        if key not in wide.columns:
            wide[key] = np.nan
    wide["session"] = wide["session"].astype(int)
    intake = rows[(rows["occasion"] == "intake") & (rows["instrument"] == outcome)]
    intake = intake.groupby("engagement_id")["score"].mean()
    wide["intake"] = wide["engagement_id"].map(intake).astype(float)
    return wide[["engagement_id", "session", *keys, "intake"]].sort_values(
        ["engagement_id", "session"], ignore_index=True)


@dataclass(frozen=True, repr=False)
class Trajectories(Result):
    """Expected course and tolerance band of an outcome by intake and session.

    Use :meth:`expected` for any intake and session. ``coefficients`` has one row per
    quantile (``low``, ``expected``, ``high``) and one column per model term.
    """

    outcome: str
    by_intake: str
    coverage: float
    coefficients: pd.DataFrame
    edges: tuple[float, ...]
    n_clients: int
    n_observations: int
    sessions: tuple[int, int]
    intake_range: tuple[float, float]
    intake_quartiles: tuple[float, float, float] = (np.nan, np.nan, np.nan)
    columns: dict[str, str | None] = field(default_factory=dict)

    def _design(self, intake: np.ndarray, session: np.ndarray) -> np.ndarray:
        log_s = np.log(np.clip(session, 1, None))
        if self.by_intake == "linear":
            return np.column_stack([np.ones_like(intake), intake, log_s, intake * log_s])
        band = self.band_of(intake)
        dummies = (band[:, None] == np.arange(len(self.edges) - 1)[None, :]).astype(float)
        return np.hstack([dummies, dummies * log_s[:, None]])

    def band_of(self, intake: Any) -> np.ndarray:
        """The intake band (0, 1, ...) of each intake score (bands only)."""
        inner = np.asarray(self.edges[1:-1], dtype=float)
        return np.searchsorted(inner, np.asarray(intake, dtype=float), side="right")

    def expected(self, intake: Any, session: Any) -> pd.DataFrame:
        """Expected score and band for each (intake, session) pair given.

        Returns a frame with ``intake``, ``session``, ``expected``, ``low``, ``high``.
        """
        x = np.atleast_1d(np.asarray(intake, dtype=float))
        s = np.atleast_1d(np.asarray(session, dtype=float))
        x, s = np.broadcast_arrays(x, s)
        values = self._design(x, s) @ self.coefficients.to_numpy().T
        values = np.sort(values, axis=1)  # quantile lines never cross
        return pd.DataFrame({"intake": x, "session": s.astype(int), "low": values[:, 0],
                             "expected": values[:, 1], "high": values[:, 2]})

    def describe_intake(self, intake: float) -> str:
        """Who the band is for, in words: "who started at 15" or "between 13 and 17"."""
        if self.by_intake == "linear":
            return f"who started at {_number(intake)}"
        band = int(self.band_of([intake])[0])
        low = max(self.edges[band], self.intake_range[0])
        high = min(self.edges[band + 1], self.intake_range[1])
        return f"who started between {_number(low)} and {_number(high)}"

    def table(self) -> pd.DataFrame:
        """Expected score and band at the intake quartiles, for every session fitted."""
        intakes = np.round(np.asarray(self.intake_quartiles, dtype=float), 1)
        sessions = np.arange(self.sessions[0], self.sessions[1] + 1)
        grid = np.array([(x, s) for x in intakes for s in sessions], dtype=float)
        return self.expected(grid[:, 0], grid[:, 1])

    def headline(self) -> str:
        """What was fitted, on how many clients, and the share the band holds."""
        shape = ("intake x log(session)" if self.by_intake == "linear"
                 else f"{len(self.edges) - 1} intake bands")
        return (f"Expected {self.outcome} by {shape}: {self.n_clients} clients, "
                f"{self.n_observations} ratings, band of the middle {100 * self.coverage:g} %")

    def summary(self) -> Summary:
        """Text: the model, the data and a few expected values."""
        shape = ("intake x log(session)" if self.by_intake == "linear"
                 else f"{len(self.edges) - 1} intake bands, each with its log(session) curve")
        return Summary("\n".join([
            f"Expected {self.outcome} by session: linear quantile regression on {shape} "
            "(Finch, Lambert & Schaalje 2001 shape; Koenker & Bassett 1978).",
            f"{self.n_clients} clients, {self.n_observations} session ratings, sessions "
            f"{self.sessions[0]}-{self.sessions[1]}; band = middle {100 * self.coverage:g}% "
            "of clients.", "", "Expected score (band) by session, at the intake quartiles:",
            text_table(self._grid(), digits=1)]))

    def _grid(self) -> pd.DataFrame:
        table = self.table()
        last = self.sessions[1]
        shown = [s for s in (1, 2, 3, 4, 6, 8, 10, 12, 16, 20) if s < last] + [last]
        table = table[table["session"].isin(shown)]
        cells = table.assign(cell=[f"{_number(e)} ({_number(lo)}-{_number(hi)})" for e, lo, hi
                                   in zip(table.expected, table.low, table.high, strict=True)])
        grid = cells.pivot(index="session", columns="intake", values="cell")
        grid.columns = [f"started at {_number(c)}" for c in grid.columns]
        return grid.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe contents."""
        return jsonable({"outcome": self.outcome, "by_intake": self.by_intake,
                         "coverage": self.coverage, "coefficients": self.coefficients,
                         "edges": [e if np.isfinite(e) else None for e in self.edges],
                         "n_clients": self.n_clients, "n_observations": self.n_observations,
                         "sessions": list(self.sessions),
                         "intake_range": list(self.intake_range)})

    def plot(self, ax: Any = None) -> Any:
        """Expected curves with their bands for three intake levels."""
        ax = axes_or_new(ax)
        table = self.table()
        for colour, (intake, rows) in zip(PALETTE, table.groupby("intake"), strict=False):
            ax.plot(rows["session"], rows["expected"], color=colour,
                    label=f"started at {_number(intake)}")
            ax.fill_between(rows["session"], rows["low"], rows["high"], color=colour,
                            alpha=0.15)
        ax.set_xlabel("session")
        ax.set_ylabel(self.outcome)
        ax.legend(frameon=False)
        return ax


def _number(value: float) -> str:
    return f"{float(value):.1f}".removesuffix(".0")


def _long(sessions: pd.DataFrame, outcome: str, intake: str | None, session: str,
          client: str) -> pd.DataFrame:
    for name in (outcome, session, client, intake):
        if name is not None and name not in sessions.columns:
            raise DataError(f"the session table has no column {name!r}", column=name,
                            fix=f"The columns are {', '.join(map(str, sessions.columns))}.")
    frame = pd.DataFrame({
        "client": sessions[client].to_numpy(),
        "session": pd.to_numeric(sessions[session], errors="coerce").to_numpy(dtype=float),
        "y": pd.to_numeric(sessions[outcome], errors="coerce").to_numpy(dtype=float),
    })
    if intake is not None:
        frame["intake"] = pd.to_numeric(sessions[intake], errors="coerce").to_numpy(dtype=float)
    else:
        rated = frame.dropna(subset=["y", "session"]).sort_values("session")
        first = rated.groupby("client").first()
        frame["intake"] = frame["client"].map(first["y"])
        frame["first"] = frame["session"] == frame["client"].map(first["session"])
    return frame


def _fit(y: np.ndarray, design: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    import warnings

    from statsmodels.regression.quantile_regression import QuantReg

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # iteration limits and singular hessian notes
        for q in quantiles:
            out.append(QuantReg(y, design).fit(q=q, max_iter=5000).params)
    return np.asarray(out)


def expected_trajectories(
    sessions: pd.DataFrame,
    *,
    outcome: str,
    intake: str | None = None,
    session: str = "session",
    client: str = "engagement_id",
    by_intake: Literal["linear", "bands"] = "linear",
    coverage: float = 0.9,
    bands: int = 5,
    min_clients: int = 20,
) -> Trajectories:
    """Fit the expected course of an outcome, session by session, given the intake score.

    Parameters
    ----------
    sessions : DataFrame
        One row per engagement and session (see :func:`session_scores`).
    outcome : str
        Column of the per-session outcome (e.g. ``"ors"``).
    intake : str, optional
        Column of the intake score. Default: each client's first rated session.
    session, client : str
        Columns of the session number and the engagement id.
    by_intake : {"linear", "bands"}
        Intake as a linear term interacting with log(session), or as quantile bands each with
        its own curve (see the module text).
    coverage : float, default 0.9
        Share of clients the band holds: 0.9 means the 5th to 95th percentiles, so about one
        rating in 20 of clients on the usual course falls below the band; over a whole
        engagement about 15 % of them are flagged once or more, near the share of cases
        the ACORN system's signals flag (about 15 %).
    bands : int, default 5
        Number of intake bands (``by_intake="bands"``).
    min_clients : int, default 20
        Fewest clients with a rating after intake (per band for bands).

    Returns
    -------
    Trajectories

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> start = rng.uniform(5, 35, 200)
    >>> rows = [(i, s, start[i] + (30 - start[i]) * 0.3 * np.log(s) + rng.normal(0, 3))
    ...         for i in range(200) for s in range(1, 9)]
    >>> data = pd.DataFrame(rows, columns=["engagement_id", "session", "ors"])
    >>> data["intake"] = start[data["engagement_id"]]
    >>> t = expected_trajectories(data, outcome="ors", intake="intake")
    >>> row = t.expected(15, 5).iloc[0]
    >>> bool(row.low < row.expected < row.high), round(row.expected)
    (True, 22)
    >>> t                                                # doctest: +ELLIPSIS
    <Trajectories: Expected ors by intake x log(session): 200 clients, 1600 ratings, ...>
    """
    if by_intake not in ("linear", "bands"):
        raise UsageError(f"expected_trajectories: by_intake={by_intake!r}; use 'linear' or "
                         "'bands'.")
    if not 0 < coverage < 1:
        raise UsageError(f"expected_trajectories: coverage={coverage!r} must be in (0, 1).")
    bands = check_positive_int(bands, "bands", "expected_trajectories", minimum=1)
    min_clients = check_positive_int(min_clients, "min_clients", "expected_trajectories",
                                     minimum=1)
    frame = _long(sessions, outcome, intake, session, client)
    use = frame["y"].notna() & frame["intake"].notna() & (frame["session"] >= 1)
    if "first" in frame:
        use &= ~frame["first"]
    data = frame[use]
    n_clients = int(data["client"].nunique())
    need = min_clients * (bands if by_intake == "bands" else 1)
    if n_clients < need:
        raise DataError(f"only {n_clients} clients have an outcome rating after intake; the "
                        f"expected course needs at least {need}", column=outcome,
                        fix="Use more engagements, fewer bands, or by_intake='linear'.")
    x, s = data["intake"].to_numpy(), data["session"].to_numpy()
    edges: tuple[float, ...] = ()
    if by_intake == "bands":
        starts = data.groupby("client")["intake"].first().to_numpy()
        inner = np.unique(np.quantile(starts, np.linspace(0, 1, bands + 1)[1:-1]))
        edges = (-np.inf, *inner.tolist(), np.inf)
    quartiles = np.quantile(data.groupby("client")["intake"].first(), [0.25, 0.5, 0.75])
    shell = Trajectories(outcome, by_intake, coverage, pd.DataFrame(), edges, n_clients,
                         len(data), (int(s.min()), int(s.max())),
                         (float(x.min()), float(x.max())), tuple(quartiles.tolist()))
    design = shell._design(x, s)
    tail = (1 - coverage) / 2
    params = _fit(data["y"].to_numpy(), design, (tail, 0.5, 1 - tail))
    names = (["intercept", "intake", "log_session", "intake_x_log_session"]
             if by_intake == "linear" else
             [f"band{b}" for b in range(len(edges) - 1)]
             + [f"band{b}_x_log_session" for b in range(len(edges) - 1)])
    coefficients = pd.DataFrame(params, index=["low", "expected", "high"], columns=names)
    return Trajectories(outcome, by_intake, coverage, coefficients, edges, n_clients, len(data),
                        shell.sessions, shell.intake_range, shell.intake_quartiles,
                        {"intake": intake, "session": session, "client": client})
