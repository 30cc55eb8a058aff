"""One coach's practice set beside a body's norms (see :mod:`outcomes.benchmarking`)."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from outcomes._checks import check_ci_level, shared_parameters
from outcomes._errors import OutcomesError, UsageError
from outcomes._results import Result, Summary, jsonable, text_table
from outcomes.benchmarking._words import (
    PLAIN,
    VERDICTS,
    missing_parts,
    ordinal,
    place_in_words,
    statements,
    verdict_of,
    verdict_rule,
)
from outcomes.benchmarking.practice import Practice
from outcomes.norms import Norms
from outcomes.practice.funnel import draw_funnel, position_of, shrink

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.practice.change import Change

__all__ = ["benchmark", "Benchmark", "ordinal"]
#: Display labels of the columns of ``Benchmark.by_band``, for the summary.
_BAND_LABELS = {"band": "intake band", "n": "your clients", "mean_change": "your mean change",
                "body_median": "body median", "body_q25": "body q25", "body_q75": "body q75",
                "body_n": "body clients"}


@dataclass(frozen=True, eq=False, repr=False)
class Benchmark(Result):
    """A practice beside the norms: per-client change, standing, alliance, flags, caveats.

    ``clients`` has one row per client (``row`` of the workbook, no client codes) with the
    change, the change ``expected`` for clients like them and its ``low``-``high`` range, the
    ``difference`` and the reliable-change ``category``. ``standing`` holds the mean
    difference (``raw``), the shrunken ``estimate`` with ``std_error``, ``ci_low``, ``ci_high``,
    the ``weight`` given to the coach's own clients, the funnel ``position`` and the
    percentile interval among coaches. ``by_band`` sets the coach's clients (``n``,
    ``mean_change``) beside the body's (``body_median``, ``body_q25``, ``body_q75``,
    ``body_n``) in each intake ``band``. ``flags`` lists flagged clients with the reason
    (flags from session ratings add the ``session``, its ORS ``score``, the ``start``, the
    expected range ``low``-``high`` and the ``alliance`` rating). ``verdict`` is the one-word
    answer of the headline (``above``, ``about``, ``below``).
    """

    norms: dict[str, Any]
    n_clients: int
    n_complete: int
    clients: pd.DataFrame
    standing: dict[str, Any] | None
    alliance: dict[str, Any]
    by_band: pd.DataFrame
    flags: pd.DataFrame
    flag_source: str
    change: Change | None
    statements: tuple[str, ...]
    ci_level: float = 0.95
    coverage: float = 0.9
    source: str | None = None
    notes: tuple[str, ...] = field(default=())
    missing: dict[str, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per client, referred to by workbook row."""
        return self.clients.copy()

    @property
    def verdict(self) -> str | None:
        """``above``, ``about`` or ``below`` the body's coaches, by one rule: the whole
        interval of the severity-adjusted difference above zero, below zero, or neither
        (:func:`~outcomes.benchmarking._words.verdict_of`); None without a standing."""
        return verdict_of(self.standing)

    def verdict_text(self) -> str | None:
        """The headline sentence of the verdict, e.g. "Your clients improved about as much as
        clients like them do with other coaches of <body>."."""
        verdict = self.verdict
        return None if verdict is None else VERDICTS[verdict].format(body=self.norms["title"])

    def headline(self) -> str:
        """How many clients, against whose norms, and the coach's standing."""
        head = f"{self.n_clients} clients vs {self.norms['title']} norms"
        if self.standing is None:
            return head + "; no standing among coaches"
        s = self.standing
        words = {"above": "more than", "about": "about as much as", "below": "less than"}
        return (f"{head}: improved {words[str(self.verdict)]} others "
                f"({s['estimate']:+.2f} [{s['ci_low']:+.2f}, {s['ci_high']:+.2f}] points)")

    def summary(self) -> Summary:
        """The benchmark in words and small tables."""
        lines = [f"Benchmark of {self.n_clients} clients ({self.n_complete} with an intake and "
                 f"an end score) against the norms of {self.norms['title']} "
                 f"({self.norms['created']})."]
        if self.standing is not None:
            s = self.standing
            lines += [str(self.verdict_text()),
                      verdict_rule(f"{round(100 * self.ci_level):g} %"), ""]
            lines.append(f"Mean difference from expected change: {s['raw']:+.2f} points; "
                         f"shrunken estimate {s['estimate']:+.2f} "
                         f"[{s['ci_low']:+.2f}, {s['ci_high']:+.2f}]; {PLAIN[s['position']]}.")
            if s["percentile_low"] is not None:
                lines.append("Among coaches: " + place_in_words(s["percentile_low"],
                                                                s["percentile_high"]) + ".")
        if len(self.by_band):
            lines += ["", text_table(self.by_band.rename(columns=_BAND_LABELS), digits=1)]
        lines += ["", f"Flagged clients ({self.flag_source}): {len(self.flags)}"]
        lines += [f"  row {r.row}: {r.flag} - {r.reason}" for r in self.flags.itertuples()]
        lines += ["", "What the numbers can and cannot say:"]
        lines += [f"- {text}" for text in self.statements]
        lines += [f"Missing: {text}" for text in self.missing.values()]
        return Summary("\n".join(lines + list(self.notes)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the norms used, the standing, clients by row, alliance, flags, caveats."""
        return jsonable({
            "norms": self.norms, "n_clients": self.n_clients, "n_complete": self.n_complete,
            "standing": self.standing, "verdict": self.verdict, "alliance": self.alliance,
            "by_band": self.by_band,
            "clients": self.clients, "flags": self.flags, "flag_source": self.flag_source,
            "change": None if self.change is None else {
                "counts": self.change.counts, "effect_sizes": self.change.effect_sizes},
            "statements": list(self.statements), "ci_level": self.ci_level,
            "coverage": self.coverage, "notes": list(self.notes), "missing": self.missing,
        })

    def plot(self, ax: Any = None) -> Any:
        """The norms' funnel limits with this coach as a point."""
        funnel = self.norms.get("funnel")
        if funnel is None or self.standing is None:
            raise UsageError("plot: the norms hold no coach-effect spread, or no client has "
                             "an intake and an end score; there is no funnel to draw.")
        point = pd.DataFrame({"n": [self.standing["n"]], "raw": [self.standing["raw"]],
                              "label": ["your clients"]})
        return draw_funnel(ax, sigma=funnel["sigma"], tau2=funnel["tau2"],
                           n_max=max(funnel["n_max"], self.standing["n"]), highlight=point,
                           ylabel="change: difference from expected (points)")


def _expected(clients: pd.DataFrame, norms: Norms, coverage: float) -> tuple[pd.DataFrame,
                                                                             list[str]]:
    notes = []
    model = norms.section("case_mix")
    out = clients[["row", "sponsor", "status", "intake_ors", "end_ors", "sessions",
                   "early_srs"]].copy()
    out["change"] = out["end_ors"] - out["intake_ors"]
    out["band"] = norms.band_of(out["intake_ors"].fillna(-1.0))
    out.loc[out["intake_ors"].isna(), "band"] = None
    if model is None:
        out[["expected", "low", "high", "difference"]] = np.nan
        notes.append("The norms hold no case-mix model, so no change is expected of anyone.")
        return out, notes
    levels = next((c.get("levels") for c in model["covariates"] if c["name"] == "sponsor"),
                  None)
    sponsor = out["sponsor"]
    if levels and sponsor.isna().any():
        notes.append(f"{int(sponsor.isna().sum())} clients without a sponsor are compared as "
                     f"{levels[0]}-sponsored clients.")
    expected = norms.expected_change(out["intake_ors"].fillna(0.0),
                                     sponsor=sponsor.fillna(levels[0] if levels else "")
                                     .to_numpy() if levels else None)
    half = float(ndtri(0.5 + coverage / 2)) * model["residual_sd"]
    done = out["change"].notna()
    out["expected"] = np.where(out["intake_ors"].notna(), expected, np.nan)
    out["low"], out["high"] = out["expected"] - half, out["expected"] + half
    out["difference"] = np.where(done, out["change"] - out["expected"], np.nan)
    return out, notes


def _standing(clients: pd.DataFrame, norms: Norms, ci_level: float) -> dict[str, Any] | None:
    effects, model = norms.section("coach_effects"), norms.section("case_mix")
    done = clients["difference"].dropna()
    if effects is None or model is None or done.empty:
        return None
    n, raw = len(done), float(done.mean())
    post = shrink([raw], [n], sigma=effects["sigma"], tau2=effects["tau2"],
                  ci_level=ci_level).iloc[0]
    tau = effects["tau"]
    percentile = ((100 * float(ndtr(post.ci_low / tau)), 100 * float(ndtr(post.ci_high / tau)))
                  if tau > 0 else (None, None))
    return {"n": n, "raw": raw, "std_error_raw": effects["sigma"] / np.sqrt(n),
            "estimate": float(post.estimate), "std_error": float(post.std_error),
            "ci_low": float(post.ci_low), "ci_high": float(post.ci_high),
            "weight": float(post.weight),
            "position": str(position_of([raw], [n], sigma=effects["sigma"],
                                        tau2=effects["tau2"])[0]),
            "percentile_low": percentile[0], "percentile_high": percentile[1]}


def _percentile_in(value: float, entry: dict[str, Any]) -> float | None:
    points = sorted((float(q), v) for q, v in entry["quantiles"].items() if v is not None)
    if len(points) < 2 or not np.isfinite(value):
        return None
    probs, values = zip(*points, strict=True)
    if not values[0] <= value <= values[-1]:
        return None
    return 100 * float(np.interp(value, values, probs))


def _distribution(norms: Norms, measure: str, band: str = "all") -> dict[str, Any] | None:
    return next((d for d in norms.document["distributions"]
                 if d["measure"] == measure and d["band"] == band and d["n"]), None)


def _alliance(clients: pd.DataFrame, norms: Norms) -> dict[str, Any]:
    ratings = clients["early_srs"].dropna()
    cutoff = norms.document["instrument"]["alliance_cutoff"]
    body = _distribution(norms, "session_rating")
    out: dict[str, Any] = {"n": len(ratings), "cutoff": cutoff,
                           "body": body, "body_below_cutoff":
                           norms.document["change"].get("alliance_concern")}
    if len(ratings):
        median = float(ratings.median())
        out.update(mean=float(ratings.mean()), median=median,
                   below_cutoff=float((ratings < cutoff).mean()) if cutoff else None,
                   percentile=_percentile_in(median, body) if body else None)
    return out


def _by_band(clients: pd.DataFrame, norms: Norms) -> pd.DataFrame:
    rows = []
    for band in norms.document["bands"]["labels"]:
        mine = clients.loc[clients["band"] == band, "change"].dropna()
        body = _distribution(norms, "change", band) or {"n": None, "quantiles": {}}
        q = body["quantiles"]
        rows.append({"band": band, "n": len(mine),
                     "mean_change": float(mine.mean()) if len(mine) else np.nan,
                     "body_median": q.get("0.5"), "body_q25": q.get("0.25"),
                     "body_q75": q.get("0.75"), "body_n": body["n"]})
    return pd.DataFrame(rows)


def _flags_from_change(clients: pd.DataFrame, norms: Norms) -> pd.DataFrame:
    inst = norms.document["instrument"]
    rc, cutoff = inst["reliable_change"], inst["alliance_cutoff"]
    rows = []
    for r in clients.itertuples():
        if pd.notna(r.change) and rc is not None and r.change < -rc:
            rows.append((r.row, "reliable deterioration",
                         f"ORS fell {-r.change:.1f} points from {r.intake_ors:g} to "
                         f"{r.end_ors:g}: more than the {rc:g} points of ordinary ups and "
                         "downs. Review with the client what happened."))
        elif pd.notna(r.change) and pd.notna(r.low) and r.change < r.low:
            rows.append((r.row, "below the expected range",
                         f"Change {r.change:+.1f} is below the range {r.low:+.1f} to "
                         f"{r.high:+.1f} of clients who started at {r.intake_ors:g}."))
        if pd.notna(r.early_srs) and cutoff is not None and r.early_srs < cutoff:
            rows.append((r.row, "alliance concern",
                         f"Mean SRS {r.early_srs:.1f} in the early sessions is below "
                         f"{cutoff:g}: ask the client how the sessions are going."))
    return pd.DataFrame(rows, columns=["row", "flag", "reason"])


def _flags_from_sessions(practice: Practice, clients: pd.DataFrame, norms: Norms
                         ) -> pd.DataFrame:
    from outcomes.practice.monitoring import FLAGS, monitor
    from outcomes.practice.trajectories import Trajectories

    part = norms.section("trajectories")
    if part is None or practice.sessions is None:
        raise UsageError("no session ratings, or no expected course in the norms")
    quartiles = tuple(np.nan if q is None else q for q in part["intake_quartiles"])
    fit = Trajectories(outcome="ors", by_intake="linear", coverage=part["coverage"],
                       coefficients=pd.DataFrame(part["coefficients"],
                                                 index=part["terms"]).T.loc[
                           ["low", "expected", "high"]],
                       edges=(), n_clients=part["n_clients"],
                       n_observations=part["n_observations"],
                       sessions=tuple(part["sessions"]), intake_range=(0.0, 40.0),
                       intake_quartiles=quartiles,  # type: ignore[arg-type]
                       columns={"intake": "intake", "session": "session",
                                "client": "engagement_id"})
    rows = dict(zip(practice.clients["client"], practice.clients["row"], strict=True))
    intake = dict(zip(practice.clients["client"], clients["intake_ors"], strict=True))
    frame = practice.sessions.assign(engagement_id=practice.sessions["client"].map(rows),
                                     intake=practice.sessions["client"].map(intake))
    has_srs = frame["srs"].notna().any()
    flags = monitor(frame.drop(columns=["client", "row"], errors="ignore"), fit, outcome="ors",
                    alliance="srs" if has_srs else None, instrument="ors",
                    alliance_instrument="srs").table()
    pressing = list(FLAGS[:4])
    flagged = flags[flags["flag"].isin(pressing)].copy()
    flagged["rank"] = flagged["flag"].map({f: i for i, f in enumerate(pressing)})
    worst = flagged.sort_values(["engagement_id", "rank", "session"],
                                ascending=[True, True, False]).groupby("engagement_id").head(1)
    return pd.DataFrame({"row": worst["engagement_id"].astype(int), "flag": worst["flag"],
                         "reason": worst["reason"], "session": worst["session"],
                         **{c: worst[c] for c in ("score", "start", "low", "high", "alliance")}}
                        ).reset_index(drop=True)


@shared_parameters
def benchmark(practice: Practice, norms: Norms, *, ci_level: float = 0.95,
              coverage: float = 0.9) -> Benchmark:
    """Set a coach's practice beside a body's norms.

    Parameters
    ----------
    practice : Practice
        From :func:`read_practice` (a filled-in template) or :func:`practice_from_study`.
    norms : Norms
        From :func:`outcomes.norms.read_norms` or :func:`outcomes.norms.build_norms`.
    {ci_level}
    coverage : float, default 0.9
        Share of clients like yours whose change falls in the expected range.

    Returns
    -------
    Benchmark
    """
    ci_level = check_ci_level(ci_level, "benchmark")
    if isinstance(coverage, bool) or not isinstance(coverage, numbers.Real) \
            or not 0 < coverage < 1:
        raise UsageError(f"benchmark: coverage must lie between 0 and 1 (e.g. 0.9), "
                         f"not {coverage!r}.")
    clients, notes = _expected(practice.clients, norms, coverage)
    standing = _standing(clients, norms, ci_level)
    change = None
    if clients["change"].notna().sum() >= 2:
        from outcomes.practice.change import change as change_of

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            change = change_of(clients, pre="intake_ors", post="end_ors", instrument="ors",
                               client="row", ci_level=ci_level,
                               severity_reference=norms.section("severity_reference"))
        clients = clients.merge(change.clients[["client", "category"]].rename(
            columns={"client": "row"}), on="row", how="left")
    else:
        clients["category"] = np.where(clients["change"].notna(), "not classified", "missing")
    try:
        flags, source = _flags_from_sessions(practice, clients, norms), "session by session"
    except (UsageError, OutcomesError):
        flags, source = _flags_from_change(clients, norms), "from intake and end scores"
    effects = norms.section("coach_effects")
    doc = norms.document
    meta = {"title": doc["source"]["title"], "created": doc["created"], "k": doc["k"],
            "version": doc["version"], "engagements": doc["sample"]["engagements"],
            "coaches": doc["sample"]["coaches"], "funnel": None if effects is None else {
                "sigma": effects["sigma"], "tau2": effects["tau2"],
                "n_max": 1.5 * (effects.get("clients_per_coach", {}).get("0.75") or 20.0)},
            "bands": {key: doc["bands"].get(key) for key in ("edges", "labels")},
            "instrument": {key: doc["instrument"].get(key) for key in (
                "reliable_change", "clinical_cutoff", "alliance_cutoff")},
            "effect_sizes": (norms.section("change") or {}).get("effect_sizes") or {}}
    n_complete = int(clients["change"].notna().sum())
    return Benchmark(norms=meta, n_clients=len(clients), n_complete=n_complete,
                     clients=clients, standing=standing, alliance=_alliance(clients, norms),
                     by_band=_by_band(clients, norms), flags=flags, flag_source=source,
                     change=change, statements=tuple(statements(
                         n_complete, len(clients), standing, norms, ci_level)),
                     ci_level=ci_level, coverage=coverage, source=practice.source,
                     notes=tuple(notes + list(practice.notes)),
                     missing=missing_parts(practice, clients, norms))
