"""The first sections of a body's report: who is in the data, measurement, improvement.

Every function takes the run (data, options, the disclosure gate, the log of what was done)
and returns a section. Every number a section prints is released by the run's
:class:`~outcomes.privacy.disclosure.Disclosure`, so nothing shown rests on fewer than ``k``
clients and the gate's log holds every number of the page.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes.privacy.disclosure import Disclosure, Released
from outcomes.report import _blocks as b
from outcomes.report._drawer import can_fork
from outcomes.report._render import figure_uri
from outcomes.schema import ALLOWED
from outcomes.study import Study

__all__ = ["Run", "Stopwatch", "quiet", "can_fork", "start_helpers", "stop_helpers",
           "start_worker", "who", "withheld_note", "SPONSORS", "FACTOR_NAMES", "factor_label"]

STATUSES = ALLOWED["status"]  # in the schema's order, "unknown" last
#: The factor groups as a reader names them.
FACTOR_NAMES = {"client": "client factors", "relationship": "relationship (working alliance)",
                "expectancy": "hope and expectancy", "technique": "model and technique",
                "therapist": "coach", "unexplained": "unexplained", "treatment": "treatment",
                "other": "other", "interaction": "interaction", "general": "general factors"}
#: How the sponsor codes read in a table.
SPONSORS = {"organisation": "paid by an organisation", "self": "paid by the client"}


def quiet(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    """Call ``fn`` and return its result with its warnings, except the ones counting rows
    left out for missing values (they name counts of a few clients; the methods give those
    counts through the gate instead)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught
                 if "missing values and were left out" not in str(w.message)]


class Stopwatch:
    """Seconds per step, wall and this process's CPU, in the order the steps ran
    (``Report.stages``): on a shared machine the CPU seconds are the steadier measure."""

    def __init__(self) -> None:
        self.seconds: dict[str, tuple[float, float]] = {}
        self._last = (time.perf_counter(), time.process_time())

    def stop(self, step: str) -> None:
        """End ``step`` now: the time since the last stop is added to it."""
        now = (time.perf_counter(), time.process_time())
        wall, cpu = self.seconds.get(step, (0.0, 0.0))
        self.seconds[step] = (wall + now[0] - self._last[0], cpu + now[1] - self._last[1])
        self._last = now


@dataclass
class Run:
    """What a report is made from, the disclosure gate every number goes through, the
    models computed once and shared between sections, and the record of what was done."""

    study: Study
    table: pd.DataFrame
    options: Any
    names: dict[str, str]
    gate: Disclosure = field(init=False)
    log: list[tuple[str, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)
    gaps: dict[str, str] = field(default_factory=dict)
    findings: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    appendix: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, pd.DataFrame] = field(default_factory=dict)
    clock: Stopwatch = field(default_factory=Stopwatch)
    pending: dict[str, Any] = field(default_factory=dict, repr=False)
    worker: Any = field(default=None, repr=False)
    drawer: Any = field(default=None, repr=False)
    printer: Any = field(default=None, repr=False)
    drawing: dict[int, Any] = field(default_factory=dict, repr=False)
    sent_ahead: list[tuple[Any, tuple, Any]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.gate = Disclosure(k=int(self.options.k), base=self.base)

    @property
    def k(self) -> int:
        return int(self.options.k)

    @property
    def base(self) -> int | None:
        return 5 if self.options.round_counts else None

    # -- releases through the gate (every number a section prints) ----------------------
    def count(self, n: Any, what: str) -> Released:
        return self.gate.count(n, what)

    def percent(self, numerator: Any, denominator: Any, what: str, digits: int = 0
                ) -> Released:
        return self.gate.percent(numerator, denominator, what, digits=digits)

    def stat(self, value: Any, n: Any, what: str, digits: int = 2) -> Released:
        return self.gate.statistic(value, n, what, digits=digits)

    def interval(self, low: Any, high: Any, n: Any, what: str, digits: int = 2,
                 scale: float = 1.0) -> str:
        """``[low, high]`` released together, or "withheld"."""
        if low is None or high is None or pd.isna(low) or pd.isna(high):
            return "–"
        return b.interval(*self.gate.interval(scale * float(low), scale * float(high), n,
                                              what, digits=digits))

    def share(self, value: Any, n: Any, what: str, digits: int = 0) -> Released:
        """A proportion from a model (a share of variance), written as a percentage."""
        released = self.gate.statistic(None if value is None or pd.isna(value)
                                       else 100 * float(value), n, what, digits=digits)
        return released if released.withheld else Released(
            released.what, released.value, f"{released.text} %", released.n, released.rule,
            released.step)

    # -- helpers -----------------------------------------------------------------------
    def consenting(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of engagements in the analysis (consenting ones)."""
        return frame[frame["engagement_id"].isin(set(self.table["engagement_id"]))]

    def figure(self, fig: Any, *, alt: str, caption: str) -> dict[str, Any]:
        block = b.figure(figure_uri(fig), alt=alt, caption=caption)
        self.figures.append(block)
        return block

    def draw(self, fn: Any, *args: Any, alt: str, caption: str, **kwargs: Any
             ) -> dict[str, Any]:
        """The figure ``fn(*args, **kwargs)`` (a function of :mod:`outcomes.plots`), drawn
        by the drawer process when there is one (its image is filled in by
        :meth:`finish_figures`), else here and now."""
        key = next((key for f, a, key in self.sent_ahead
                    if f is fn and len(a) == len(args) and all(
                        x is y for x, y in zip(a, args, strict=True)) and not kwargs), None)
        if key is None and (self.drawer is None or not self.drawer.submit(
                len(self.figures), fn, args, kwargs)):
            return self.figure(fn(*args, **kwargs), alt=alt, caption=caption)
        block = b.figure("", alt=alt, caption=caption)
        self.figures.append(block)
        self.drawing[len(self.figures) - 1] = (fn, args, kwargs, key)
        return block

    def draw_ahead(self, fn: Any, *args: Any) -> None:
        """Send the figure ``fn(*args)`` to the drawer now, while this process waits for
        another's model: the section that shows it later (:meth:`draw` with the same
        function and the same objects) takes the image instead of sending it again."""
        key = ("ahead", len(self.sent_ahead))
        if self.drawer is not None and self.drawer.submit(key, fn, args, {}):
            self.sent_ahead.append((fn, args, key))

    def finish_figures(self) -> None:
        """Fill in the images the drawer made; draw here any it could not."""
        drawn = self.drawer.collect() if self.drawer is not None and self.drawing else {}
        for index, (fn, args, kwargs, key) in self.drawing.items():
            if key is not None:  # drawn ahead under its own key
                drawn[index] = drawn.get(key)
            uri = drawn.get(index)
            self.figures[index]["src"] = uri if uri else figure_uri(fn(*args, **kwargs))
        self.drawing.clear()

    def cached(self, key: str, compute: Any) -> Any:
        """A model computed once per report and shared by every section that needs it (in
        the second process when :meth:`ahead` started it there)."""
        if key not in self.results:
            value = _NOTHING
            future = self.pending.pop(key, None)
            if future is not None:
                try:
                    value = future.result()
                except Exception:  # noqa: BLE001 - recomputed here, where errors surface
                    value = _NOTHING
            self.results[key] = compute() if value is _NOTHING else value
        return self.results[key]

    def ahead(self, key: str, fn: Any, *args: Any, on: str = "worker", **kwargs: Any
              ) -> None:
        """Start ``quiet(fn, *args, **kwargs)`` in a second process, for :meth:`cached` to
        collect under ``key`` (the same numbers, computed while the sections before it are
        built): the worker, or with ``on="drawer"`` the process that draws the figures. Only
        where a process can be forked (Linux) and a second core exists; an error or a failed
        process is left to ``cached``, which computes it here again."""
        if key in self.results or key in self.pending:
            return
        if on == "drawer" and self.drawer is not None:
            if self.drawer.submit(key, quiet, (fn, *args), kwargs, urgent=True):
                self.pending[key] = _Later(self.drawer, key)
            return
        if self.worker is None:
            self.worker = _worker()
        if self.worker:
            try:
                self.pending[key] = self.worker.submit(quiet, fn, *args, **kwargs)
            except Exception:  # noqa: BLE001 - no second process here: compute in this one
                self.worker.shutdown(wait=False, cancel_futures=True)
                self.worker = False

    def close(self) -> None:
        """End the second process and the drawer, if they were started."""
        if self.worker:
            self.worker.shutdown(wait=True, cancel_futures=True)
            self.worker = False
        self.pending.clear()
        if self.drawer is not None:
            self.drawer.close()
            self.drawer = None


_NOTHING = object()


@dataclass(frozen=True)
class _Later:
    """A result the drawer sends back, collected like a future's."""

    drawer: Any
    key: str

    def result(self) -> Any:
        return self.drawer.result(self.key)


def _worker() -> Any:
    """One forked worker process, or False where forking is unsafe, not allowed or of no
    use (:func:`can_fork`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not can_fork():
        return False
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))


#: What the worker imports while the study is read: what its models need.
WORKER_IMPORTS = ("outcomes.shares.decomposition", "outcomes.shares.sensitivity",
                  "statsmodels.regression.mixed_linear_model",
                  "statsmodels.regression.quantile_regression", "outcomes.mixed.alliance",
                  "outcomes.practice.monitoring", "outcomes.practice.trajectories")


def start_helpers() -> tuple[Any, Any]:
    """``(drawer, worker)``, started while this process reads the study: the drawer imports
    matplotlib, the worker statsmodels and the imputation (forked in this order, so that no
    thread runs before the worker's); None and False where there are none."""
    import gc

    from outcomes.report._drawer import start_drawer

    gc.freeze()  # the helpers' collector leaves the objects they share with this one alone
    try:
        drawer = start_drawer()
        return drawer, start_worker(*WORKER_IMPORTS)
    finally:
        gc.unfreeze()


def stop_helpers(drawer: Any, worker: Any, printer: Any) -> None:
    """End the worker, the drawer and Chromium, where they were started."""
    if worker:
        worker.shutdown(wait=True, cancel_futures=True)
    for helper in (drawer, printer):
        if helper is not None:
            helper.close()


def start_worker(*modules: str) -> Any:
    """The worker, forked now (:func:`_worker`), importing ``modules`` at once (while this
    process reads the study); False where there can be none."""
    import importlib

    worker = _worker()
    if worker:
        try:
            for name in modules:
                worker.submit(importlib.import_module, name)
        except Exception:  # noqa: BLE001 - no second process after all
            worker.shutdown(wait=False, cancel_futures=True)
            worker = False
    return worker


def withheld_note(run: Run, hidden: bool, unit: str = "engagements") -> str:
    """The one plain sentence beside a table that says why some cells are withheld."""
    out = ""
    if hidden:
        out = (f"* withheld: a cell of fewer than {run.k} {unit}, or a cell withheld with it "
               "so that a total cannot give it away.")
    if run.base:
        out += f" Counts and totals are rounded to the nearest {run.base}."
    return out.strip()


def _spread(run: Run, values: pd.Series, unit: str, what: str) -> str:
    x = pd.to_numeric(values, errors="coerce").dropna()
    q25, q50, q75 = (run.gate.quantile(x, q, f"{what}: quantile {q}", precision=1)
                     for q in (0.25, 0.5, 0.75))
    if q50.withheld:
        return f"too few to describe (fewer than {2 * run.k} {unit})"
    if q25.withheld or q75.withheld:
        return f"a median of {q50}"
    return f"a median of {q50} (middle half {q25} to {q75})"


def who(run: Run) -> dict[str, Any]:
    """Who is in the data: coaches, engagements, sessions, completion, sponsors."""
    table = run.table
    engagements = run.study.valid("engagements")
    used = run.consenting(engagements)
    sessions = run.consenting(run.study.valid("sessions"))
    excluded = int(table.attrs.get("excluded_no_consent", 0))
    coaches = used["coach_id"].astype(str).value_counts()
    crossed = pd.crosstab(used["status"], used["sponsor"])
    crossed = crossed.reindex([s for s in STATUSES if s in crossed.index])
    shown = run.gate.counts(crossed, "engagements by status and sponsor")
    totals = shown.values.loc["total"]
    n_engagements = run.count(len(used), "engagements")
    n_coaches, n_sessions = run.count(coaches.size, "coaches"), run.count(len(sessions),
                                                                          "sessions")
    run.facts.update(engagements=len(used), coaches=int(coaches.size), sessions=len(sessions),
                     excluded_no_consent=excluded)
    run.findings["who"] = {"engagements": n_engagements, "coaches": n_coaches}
    status = shown.values["total"].drop("total")
    n = totals["total"]
    parts = [f"{run.percent(v, n, f'engagements {s}')} {s}" for s, v in status.items()
             if pd.notna(v) and pd.notna(n)]
    run.findings["who"]["completed"] = next((p for p in parts if p.endswith("completed")), "")
    consent = (f"{run.count(excluded, 'engagements without consent')} engagements without "
               "research consent are left out of everything in this report." if excluded else
               "Every engagement has research consent (or the data carry no consent flag).")
    blocks = [b.lead(f"The data hold {n_engagements} engagements with {n_coaches} coaches and "
                     f"{n_sessions} sessions."), b.text(consent)]
    if "coaches" in run.gaps:
        blocks.append(b.note(run.gaps["coaches"]))
    rejected = {kind: len(frame) for kind, frame in run.study.validate().rejected.items()
                if len(frame)}
    if rejected:
        blocks.append(b.warning(
            "Rows that failed validation are left out: " + ", ".join(
                f"{run.count(m, f'rejected rows of {kind}')} of the {kind} table"
                for kind, m in rejected.items())
            + ". The command `outcomes validate` lists each with its reason."))
    if parts:
        blocks.append(b.text("Of the engagements, " + ", ".join(parts) + ". "
                             + _sponsor_sentence(run, totals, n)))
    blocks.append(b.text(
        f"Engagements lasted {_spread(run, table['sessions_attended'], 'engagements', 'sessions')}"
        f" sessions. Coaches saw {_spread(run, coaches, 'coaches', 'clients per coach')} "
        "clients each."))
    columns = [c for c in shown.values.columns]
    rows = [[str(name), *[_cell(shown.values.loc[name, c]) for c in columns]]
            for name in shown.values.index]
    blocks.append(b.table(["status", *[SPONSORS.get(str(c), str(c)) for c in columns]], rows,
                          caption="Engagements by status and who paid",
                          note=withheld_note(run, bool(shown.mask.to_numpy().any()))))
    blocks.append(run.draw(
        _engagements_figure, shown.values.drop(index="total", columns="total"),
        alt="Horizontal stacked bars of engagements by status, split by who paid: "
        + "; ".join(f"{s}: {_cell(v)}" for s, v in status.items()),
        caption="Figure 1. Engagements by status, split by who paid. Withheld cells are not "
                "drawn."))
    run.log.append(("Data", f"{n_engagements} consenting engagements of {n_coaches} coaches "
                    f"and {n_sessions} sessions from the valid rows of the input."))
    return b.section("who", "Who is in the data", blocks)


def _cell(value: Any) -> str:
    """A published count as the gate wrote it, or the dense-table mark for a withheld one."""
    return b.SUPPRESSED if value is None or pd.isna(value) else f"{value:,.0f}"


def _engagements_figure(values: pd.DataFrame) -> Any:
    from outcomes.plots import engagements_figure

    return engagements_figure(values.rename(columns=lambda c: SPONSORS.get(str(c), str(c))))


def _sponsor_sentence(run: Run, totals: pd.Series, n: float) -> str:
    parts = [f"{run.percent(v, n, f'engagements {s}')} by "
             f"{'the client' if s == 'self' else 'an organisation'}"
             for s, v in totals.drop("total").items() if pd.notna(v) and pd.notna(n)]
    return ("They were paid for " + " and ".join(parts) + ".") if parts else ""


def judgement(alpha: float) -> str:
    """A reliability coefficient in words (the usual conventions)."""
    if alpha is None or not np.isfinite(alpha):
        return "–"
    return ("excellent" if alpha >= 0.9 else "good" if alpha >= 0.8 else "acceptable"
            if alpha >= 0.7 else "questionable" if alpha >= 0.6 else "poor")


def factor_label(name: str) -> str:
    """A factor group (or a part of a published split) as words."""
    return FACTOR_NAMES.get(name, name.replace("_", " "))
