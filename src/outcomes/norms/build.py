"""Building a coaching body's norms from its study: aggregates only, each behind ``k`` clients.

:func:`build_norms` turns a study into a norms document (:mod:`outcomes.norms.document`)
that holds aggregates only, each with the number of clients behind it and the suppression
threshold ``k`` applied:

- the distributions (n, mean, SD, quantiles) of intake, end and change scores, the session
  rating and the working alliance, overall, by intake band and for the clients without an
  intake score (a band of its own, so that no one is left over when the bands are taken
  from ``all``);
- the case-mix model of expected change: change regressed on the intake score and the
  sponsor (coefficients, the within-coach residual SD ``sigma`` and the client-level residual
  SD), and the severity-adjusted effect size's reference line;
- the spread of coach effects beyond chance (``tau``, ICC) with the funnel-limit settings
  (:mod:`outcomes.practice.coach_effects`), published only when at least ``k`` coaches have
  ``k`` clients;
- reliable and clinically significant change (counts suppressed below ``k``), effect sizes;
- the factor shares of the end score (LMG, intake always in) with bootstrap intervals;
- the expected session-by-session course of the outcome (:mod:`outcomes.practice.trajectories`).

Every number passes through one :class:`~outcomes.privacy.Disclosure` gate (its log is
:attr:`Norms.log`): counts are suppressed together across every table that shares a total
and rounded to 5 (``base``), means and SDs are on the gate's grid with the instrument's
bounds, quantiles and band edges have ``k`` clients on each side, model results come from at
least ``k`` clients at a fixed precision. ``privacy="dp"`` releases the distributions with
differential privacy instead (:mod:`outcomes.norms._private`). Engagements without research
consent are left out (the analysis table already leaves them out).

Examples
--------
>>> import outcomes as oc
>>> norms = build_norms(oc.load_sample(), n_boot=0, seed=1)
>>> norms.document["format"], norms.document["version"], norms.k
('outcomes-norms', 2, 5)
>>> round(float(norms.expected_change([15.0], sponsor=["self"])[0]), 1)   # points of ORS
5.1
>>> norms.document["sample"]["engagements"]   # rounded to 5
1140
"""

from __future__ import annotations

import datetime as _dt
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from outcomes import instruments as registry
from outcomes._checks import check_n_boot, check_seed, shared_parameters
from outcomes._errors import DataError, ModelError, UsageError
from outcomes._results import jsonable
from outcomes.norms import _models
from outcomes.norms._release import (
    MEASURES,
    NO_INTAKE,
    QUANTILES,
    change_cells,
    intake_bands,
    release_change,
    release_distributions,
)
from outcomes.norms.document import FORMAT, VERSION, Norms, check_norms, input_digest
from outcomes.norms.gaps import study_gaps
from outcomes.privacy import DEFAULT_K, Disclosure, check_k

if TYPE_CHECKING:  # pragma: no cover
    from outcomes.study import Study

__all__ = ["QUANTILES", "MEASURES", "MAX_N_BOOT", "build_norms", "release_tables"]

#: The most bootstrap replicates norms or a report run: far more than any real study needs
#: (1,000 to 2,000 give stable 95 % intervals), few enough to end in reasonable time.
MAX_N_BOOT = 100_000

#: How a withheld number reads in a norms file, said once.
WITHHELD_NOTE = ("A null number is withheld: it rests on fewer than k clients, or it is "
                 "hidden so that it cannot be worked out from the other numbers (by "
                 "subtracting it from a total, for instance). Withheld numbers look the same "
                 "whatever the reason.")


def _figures() -> dict[str, float | None]:
    ors, srs = registry.get("ors"), registry.get("srs")
    return {name: (f.value if f is not None else None) for name, f in
            (("rc", ors.figure("reliable_change")), ("cut", ors.figure("clinical_cutoff")),
             ("alpha", ors.figure("alpha")), ("concern", srs.figure("concern_below")))}


def _categories(table: pd.DataFrame) -> tuple[pd.Series, Any]:
    from outcomes.practice.change import change as change_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = change_of(table, pre="baseline", post="end_score", instrument="ors")
    return result.counts.drop("missing", errors="ignore"), result


def release_tables(table: pd.DataFrame, gate: Disclosure, *, bands: int = 4,
                   with_change: bool = True) -> dict[str, Any]:
    """The bands, distributions, sample counts and change counts of a norms file.

    The part of :func:`build_norms` that needs no model: fast, and what an attacker of the
    counts and means works on. ``table`` is a study's analysis table.

    Examples
    --------
    >>> import outcomes as oc
    >>> gate = Disclosure(k=5, base=5)
    >>> parts = release_tables(oc.load_sample().analysis_table(), gate)
    >>> parts["bands"]["edges"], parts["sample"]["with_end_score"]
    ([14.0, 19.0, 24.0], 880)
    """
    edges, labels = intake_bands(table["baseline"], bands, gate)
    categories, result = _categories(table) if with_change and \
        table[["baseline", "end_score"]].notna().all(axis=1).sum() >= gate.k \
        else (pd.Series(dtype=float), None)
    extra = change_cells(categories) if len(categories) else None
    distributions, released = release_distributions(table, gate, edges, labels, extra=extra)
    change = release_change(categories, released, gate) if extra else \
        {"n": None, "counts": {}, "percentages": {}}
    if result is not None and change["n"] is not None:
        change["effect_sizes"] = _models.effect_sizes(result, gate)
    change.setdefault("effect_sizes", {})
    coaches = table["coach_id"].astype(str).value_counts()
    sample = {"engagements": _int(released["engagements"].value),
              "coaches": _int(gate.count(coaches.size, "coaches").value),
              "coaches_with_k_clients": _int(gate.count(int((coaches >= gate.k).sum()),
                                                        "coaches with k clients").value),
              "with_end_score": _end(released),
              "excluded_no_consent": _int(gate.count(
                  int(table.attrs.get("excluded_no_consent", 0)),
                  "engagements without consent").value)}
    return {"bands": {"measure": "intake", "edges": edges, "labels": labels,
                      "missing": NO_INTAKE},
            "distributions": distributions, "sample": sample, "change": change}


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _end(released: dict[str, Any]) -> int | None:
    cell = released.get("end|all")
    return None if cell is None or cell.value is None else int(cell.value)


def _privacy(gate: Disclosure) -> dict[str, Any]:
    rounding = (f" Counts, totals included, are rounded to the nearest {gate.base}, and "
                "percentages are computed from the rounded counts.") if gate.base else ""
    return {"method": "rules", "k": gate.k, "base": gate.base, "null": WITHHELD_NOTE,
            "guarantee": (
                f"Statistical disclosure control: no number rests on fewer than {gate.k} "
                "clients; counts tied by totals are suppressed together so that none can be "
                "worked out by subtraction; means and SDs are rounded to a step no finer than "
                "the measure's range divided by the clients behind them, so that two releases "
                "that differ by one client do not give that client's score back; quantiles "
                f"and band edges have at least {gate.k} clients on each side.{rounding} This "
                "is not differential privacy; see docs/privacy.md for what it does not "
                "protect.")}

@shared_parameters
def build_norms(study: Study, *, k: int = DEFAULT_K, bands: int = 4, n_boot: int = 200,
                seed: int | np.random.Generator | None = None, title: str | None = None,
                base: int | None = 5, privacy: Literal["rules", "dp"] = "rules",
                epsilon: float | None = None) -> Norms:
    """Aggregate a study into norms that hold no client's data.

    Parameters
    ----------
    study : Study
        The body's study (valid rows are used; engagements without consent are left out).
    k : int, default 5
        Fewest clients behind any number (and coaches behind coach-level numbers); >= 3.
    bands : int, default 4
        Intake bands (cut at rounded quantiles of the intake score, whole points, with at
        least ``k`` clients in each band).
    n_boot : int, default 200
        Cluster-bootstrap replicates (coaches resampled) for the factor-share intervals.
    {seed}
    title : str, optional
        The body's name for its norms (default: the study folder's name).
    base : int or None, default 5
        Round every count, totals included, to this base (norms are published every year,
        and rounding blurs the difference of two years); ``None`` publishes exact counts.
    privacy : {{"rules", "dp"}}, default "rules"
        ``"rules"``: the disclosure rules (``docs/privacy.md``). ``"dp"``: the distributions
        are released with differential privacy (OpenDP, the ``dp`` extra) spending
        ``epsilon``; the model parts are then withheld, as the guarantee does not cover them.
    epsilon : float, optional
        The privacy budget of ``privacy="dp"`` (e.g. 1.0); required with it.

    Returns
    -------
    Norms
    """
    k = check_k(k)
    n_boot = check_n_boot(n_boot, "build_norms")
    if n_boot > MAX_N_BOOT:
        raise UsageError(f"build_norms: n_boot = {n_boot:,} is more than {MAX_N_BOOT:,}, the "
                         "most allowed; 1,000 to 2,000 give stable 95 % intervals.")
    seed = check_seed(seed, "build_norms")
    if privacy not in ("rules", "dp"):
        raise UsageError(f"build_norms: privacy must be \"rules\" or \"dp\", not {privacy!r}.")
    if privacy == "dp":
        from outcomes.norms._private import check_epsilon

        epsilon = check_epsilon(epsilon)
    elif epsilon is not None:
        raise UsageError("build_norms: epsilon is the budget of privacy=\"dp\"; give "
                         "privacy=\"dp\" with it, or leave it out.")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int) or base < 1):
        raise UsageError(f"build_norms: base must be a whole number of 1 or more (5 is usual) "
                         f"or None for exact counts, not {base!r}.")
    table = study.analysis_table()
    if len(table) < k:
        raise DataError(f"the study has {len(table)} consenting engagements; norms need at "
                        f"least k = {k}", file=study.source,
                        fix="Norms come from a body's many engagements, not a handful.")
    figure = _figures()
    gate = Disclosure(k=k, base=base)
    gaps = study_gaps(study, table, k=k, rerun="make the norms again")
    head = _head(study, title, figure, k)
    if privacy == "dp":
        from outcomes.norms._private import private_parts

        document = {**head, **private_parts(_one_per_client(study, table), epsilon, k=k,
                                            bands=bands, seed=seed)}
        document = jsonable(document)
        check_norms(document)
        return Norms(document)
    parts = release_tables(table, gate, bands=bands, with_change=not gaps.get("end_scores"))
    document = {**head, **parts, **_model_parts(study, table, gate, gaps, figure, n_boot,
                                                seed, parts["change"])}
    document["privacy"] = _privacy(gate)
    document = jsonable(document)
    check_norms(document)
    return Norms(document, log=gate.log)


def _one_per_client(study: Study, table: pd.DataFrame) -> pd.DataFrame:
    """The analysis table with each client's first engagement only (by start date), so that
    the unit of privacy, one engagement, is one client."""
    engagements = study.valid("engagements")
    if "client_id" not in engagements:
        return table
    order = engagements.sort_values(["start_date", "engagement_id"], na_position="last") \
        if "start_date" in engagements else engagements
    first = set(order.drop_duplicates("client_id")["engagement_id"])
    kept = table[table["engagement_id"].isin(first)]
    kept.attrs = dict(table.attrs)
    return kept


def _head(study: Study, title: str | None, figure: dict, k: int) -> dict[str, Any]:
    ors = registry.get("ors")
    return {"format": FORMAT, "version": VERSION, "created": _dt.date.today().isoformat(),
            "generator": f"outcomes {_version()}", "k": k,
            "source": {"title": title or Path(study.source or "study").stem,
                       "digest": input_digest(study.source)},
            "instrument": {"outcome": "ors", "alliance": "srs",
                           "reliable_change": figure["rc"], "clinical_cutoff": figure["cut"],
                           "reliability": figure["alpha"],
                           "higher_is_better": bool(ors.higher_is_better),
                           "alliance_cutoff": figure["concern"],
                           "early_sessions": list(study.early_sessions)}}


def _model_parts(study: Study, table: pd.DataFrame, gate: Disclosure, gaps: dict[str, str],
                 figure: dict, n_boot: int, seed: Any, change: dict[str, Any]
                 ) -> dict[str, Any]:
    ends = gaps.get("end_scores")
    try:
        case_mix, effects = ({"withheld": ends}, {"withheld": ends}) if ends else \
            _models.case_mix(table, gate, seed)
    except ModelError as error:
        case_mix = effects = {"withheld": str(error)}
    if ends or change["n"] is None:
        change.update(n=None, counts={}, percentages={}, effect_sizes={},
                      withheld=ends or f"fewer than {gate.k} clients have an intake and an "
                                       "end score: change is not published")
    change["alliance_concern"] = _models.alliance_concern(table, gate, figure["concern"])
    return {"case_mix": case_mix,
            "severity_reference": {"withheld": ends} if ends else
            _models.severity(table, figure["cut"], gate),
            "coach_effects": effects, "change": change,
            "factor_shares": {"withheld": ends} if ends else
            _models.shares(table, gate, n_boot, seed),
            "trajectories": _models.trajectories(study, set(table["engagement_id"]), gate,
                                                 gaps.get("session_ratings"))}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("outcomes")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"
