"""The report's helper processes give exactly what the report's own process would.

A body's report draws its figures in a second process, fits the imputed factor shares and
the session and monitoring models in a third, and has Chromium started before the page
exists (by the command line, before it imports the report's modules). Each must give the
same bytes and numbers as the work done in the report's own process, hand back to it when
it fails, and keep the report's own process free of the heavy imports it no longer needs.
(The committed sample report, built through all of them, is compared byte for byte in
tests/test_report_sample.py.)
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.plots import monitoring_figure
from outcomes.reference import REFERENCES
from outcomes.report import ReportOptions
from outcomes.report._body import Run, can_fork, quiet
from outcomes.report._drawer import start_drawer
from outcomes.report._measures import _wilson
from outcomes.report._render import chromium, figure_uri
from outcomes.shares.missingness import _pattern_labels

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore:Tight layout not applied")
SHARES = pd.DataFrame({"flag": ["not on track", "alliance concern"], "share": [12.0, 30.5]})


def _run(drawer=None) -> Run:  # noqa: ANN001
    return Run(study=None, table=pd.DataFrame(), options=ReportOptions(), names={},
               drawer=drawer)


def _broken_figure(shares: pd.DataFrame) -> None:
    raise ValueError(f"cannot draw {len(shares)} bars")


def _mean_and_pid(values: np.ndarray) -> tuple[float, int]:
    return float(np.mean(values)), os.getpid()


@pytest.fixture
def drawer():
    if not can_fork():
        pytest.skip("no second process here (not Linux, one core, or threads running)")
    made = start_drawer()
    assert made is not None
    yield made
    made.close()


def test_a_figure_drawn_by_the_drawer_is_the_one_drawn_here(drawer):
    run = _run(drawer)
    block = run.draw(monitoring_figure, SHARES, alt="bars", caption="Figure 7.")
    assert block["src"] == ""  # filled in when the page is rendered
    run.finish_figures()
    assert block["src"] == figure_uri(monitoring_figure(SHARES))
    assert run.figures == [block] and block["alt"] == "bars"


def test_a_figure_drawn_ahead_is_taken_by_its_section_and_not_drawn_twice(drawer):
    run = _run(drawer)
    other = SHARES.copy()  # equal numbers, another object: not the figure drawn ahead
    run.draw_ahead(monitoring_figure, SHARES)
    ahead = run.draw(monitoring_figure, SHARES, alt="bars", caption="Figure 7.")
    again = run.draw(monitoring_figure, other, alt="bars", caption="Figure 8.")
    assert drawer._sent == [("ahead", 0), 1]  # the first section's figure was not sent again
    run.finish_figures()
    assert ahead["src"] == again["src"] == figure_uri(monitoring_figure(SHARES))
    assert run.figures == [ahead, again]


def test_a_figure_the_drawer_cannot_draw_fails_here_with_its_own_error(drawer):
    run = _run(drawer)
    run.draw(_broken_figure, SHARES, alt="bars", caption="Figure 7.")
    with pytest.raises(ValueError, match="cannot draw 2 bars"):
        run.finish_figures()


def test_without_a_drawer_figures_are_drawn_at_once():
    run = _run()
    block = run.draw(monitoring_figure, SHARES, alt="bars", caption="Figure 7.")
    assert block["src"] == figure_uri(monitoring_figure(SHARES))
    run.finish_figures()  # nothing left to do
    assert block["src"].startswith("data:image/png;base64,")


def test_a_model_fitted_in_the_drawer_is_the_one_the_section_gets(drawer):
    run = _run(drawer)
    values = np.arange(7.0)
    run.ahead("mean", _mean_and_pid, values, on="drawer")
    run.draw(monitoring_figure, SHARES, alt="bars", caption="Figure 7.")  # queued behind
    (mean, pid), notes = run.cached("mean", lambda: quiet(_mean_and_pid, values))
    assert mean == 3.0 and notes == [] and pid != os.getpid()
    run.finish_figures()
    assert run.figures[0]["src"].startswith("data:image/png;base64,")


def test_a_model_that_fails_in_the_drawer_is_computed_again_here(drawer):
    run = _run(drawer)
    run.ahead("figure", _broken_figure, SHARES, on="drawer")
    with pytest.raises(ValueError, match="cannot draw 2 bars"):
        run.cached("figure", lambda: quiet(_broken_figure, SHARES))


class _Hung(BaseException):
    """Raised by the watchdog: not an ``Exception``, so no fallback swallows it."""


def _big(size: int) -> bytes:
    return bytes(size)


def _bars_ignoring(payload: bytes, shares: pd.DataFrame) -> object:
    return monitoring_figure(shares)


def test_a_big_result_and_big_jobs_in_flight_do_not_wait_on_each_other(drawer):
    """A result larger than the pipe holds, sent while the first process is still sending
    large figure jobs: both get through (a watchdog fails the test instead of a hang)."""
    import signal

    def hung(*_: object) -> None:
        raise _Hung("the drawer and the report waited on each other")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        run = _run(drawer)
        run.ahead("big", _big, 8_000_000, on="drawer")
        for _ in range(6):
            run.draw(_bars_ignoring, bytes(2_000_000), SHARES, alt="bars", caption="Figure 7.")
        value, notes = run.cached("big", lambda: (None, []))
        run.finish_figures()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert value == bytes(8_000_000) and notes == []
    assert all(block["src"] == figure_uri(monitoring_figure(SHARES)) for block in run.figures)


def test_the_drawer_tests_pass_in_a_process_without_threads():
    """Where this process cannot fork (another test left a thread running, as a Dask client
    does), the drawer tests above run in a fresh process, so that they are never skipped."""
    if can_fork():
        pytest.skip("the drawer tests ran in this process")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         *(f"{__file__}::{test.__name__}" for test in _DRAWER_TESTS)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(rf"\b{len(_DRAWER_TESTS)} passed\b", done.stdout), done.stdout[-3000:]
    assert "skipped" not in done.stdout, done.stdout[-3000:]


_DRAWER_TESTS = (test_a_figure_drawn_by_the_drawer_is_the_one_drawn_here,
                 test_a_figure_drawn_ahead_is_taken_by_its_section_and_not_drawn_twice,
                 test_a_figure_the_drawer_cannot_draw_fails_here_with_its_own_error,
                 test_a_model_fitted_in_the_drawer_is_the_one_the_section_gets,
                 test_a_model_that_fails_in_the_drawer_is_computed_again_here,
                 test_a_big_result_and_big_jobs_in_flight_do_not_wait_on_each_other)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=30))
def test_missingness_patterns_are_labelled_as_row_by_row(rows):
    missing = pd.DataFrame(rows, columns=["bond", "hope", "end_score"],
                           index=pd.RangeIndex(len(rows)) * 2 + 1)
    by_row = missing.apply(lambda row: ", ".join(c for c, m in row.items() if m), axis=1)
    labels = _pattern_labels(missing)
    pd.testing.assert_series_equal(labels, by_row)
    pd.testing.assert_series_equal(labels.value_counts(), by_row.value_counts())


def test_the_wilson_interval_is_statsmodels_to_the_last_bit():
    from statsmodels.stats.proportion import proportion_confint

    for total in (1, 2, 5, 7, 40, 137, 1140):
        for count in sorted({0, 1, total // 3, total // 2, total - 1, total}):
            low, high = proportion_confint(count, total, alpha=0.05, method="wilson")
            assert _wilson(count, total) == (float(low), float(high))
            assert _wilson(float(count), float(total)) == (float(low), float(high))


def test_a_reference_split_survives_being_sent_to_another_process():
    for split in REFERENCES.values():
        copy = pickle.loads(pickle.dumps(split))
        assert copy == split and copy.table().equals(split.table())
        with pytest.raises(TypeError):
            copy.shares["client"] = 0.5  # still read-only


def _normalised(html: str) -> str:
    """Everything but the date, the PDF engine, the package versions and the command line."""
    for name in ("Made", "PDF", "Packages", "Command"):
        html = re.sub(rf"<dt>{name}</dt><dd>[^<]*</dd>", "", html)
    return html


def test_a_fresh_outcomes_report_writes_the_committed_sample_without_heavy_imports(tmp_path):
    """The documented command in a fresh process, where the other processes start: the page
    is the committed one, and the report's own process never imported statsmodels,
    scipy.stats or matplotlib (they load in the others while it reads the study)."""
    out = tmp_path / "report"
    script = (
        "import sys\n"
        "from outcomes.cli import main\n"
        "from outcomes.report._drawer import can_fork\n"
        "forked = can_fork()\n"
        f"main(['report', {str(ROOT / 'data' / 'sample')!r}, '--out', {str(out)!r},\n"
        f"      '--salt-file', {str(ROOT / 'data' / 'sample.salt')!r}, '--json'],\n"
        "     standalone_mode=False)\n"
        "heavy = [m for m in ('statsmodels', 'scipy.stats', 'matplotlib') if m in sys.modules]\n"
        "print('forked' if forked else 'alone', heavy)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    committed = ROOT / "reports" / "sample"
    assert _normalised((out / "report.html").read_text(encoding="utf-8")) == _normalised(
        (committed / "report.html").read_text(encoding="utf-8"))
    assert (out / "coach-effects.csv").read_bytes() == (committed / "coach-effects.csv"
                                                        ).read_bytes()
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    where, heavy = done.stdout.strip().splitlines()[-1].split(" ", 1)
    if where == "forked":
        assert heavy == "[]"


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")
def test_chromium_started_ahead_prints_what_the_one_shot_command_prints(tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    from outcomes._chromium import Printer
    from outcomes.report._render import _chromium_pdf

    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><head><style>@page { size: A4; margin: 2cm }"
                    "</style></head><body><h1>Report</h1><p>Forty clients.</p>"
                    "<p style='break-before: page'>Second page.</p></body></html>",
                    encoding="utf-8")
    printer = Printer(chromium())
    try:
        assert printer.print_pdf(page, tmp_path / "ahead.pdf")
    finally:
        printer.close()
    assert _chromium_pdf("", tmp_path / "once.pdf", page)

    def pages(path: Path) -> list[tuple[tuple[float, float], str]]:
        document = pdfium.PdfDocument(str(path))
        return [(document[i].get_size(), document[i].get_textpage().get_text_range())
                for i in range(len(document))]

    assert pages(tmp_path / "ahead.pdf") == pages(tmp_path / "once.pdf")
    assert len(pages(tmp_path / "ahead.pdf")) == 2


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")
def test_a_page_chromium_cannot_open_is_not_printed_as_its_error_page(tmp_path):
    from outcomes._chromium import Printer

    printer = Printer(chromium())
    try:
        assert not printer.print_pdf(tmp_path / "missing.html", tmp_path / "report.pdf")
    finally:
        printer.close()
    assert not (tmp_path / "report.pdf").exists()


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")
def test_the_chromium_started_ahead_is_the_one_the_report_prints_with(tmp_path):
    from outcomes._chromium import _WAITING, started_ahead
    from outcomes.report._render import start_printer

    page = tmp_path / "page.html"
    page.write_text("<!doctype html><p>Forty clients.</p>", encoding="utf-8")
    with started_ahead():
        ahead = list(_WAITING)
        printer = start_printer(("chromium",))
        assert ahead == [printer] and not _WAITING  # taken, not started again
        try:
            assert printer.print_pdf(page, tmp_path / "report.pdf")
        finally:
            printer.close()
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    later = start_printer(("chromium",))
    try:
        assert later is not None and later is not printer  # a later report starts its own
    finally:
        if later is not None:
            later.close()


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed")
def test_a_chromium_started_ahead_that_no_report_takes_is_ended():
    from outcomes._chromium import _WAITING, end_started, started_ahead

    with started_ahead(False):
        assert not _WAITING  # not wanted (--no-pdf): nothing starts
    with started_ahead():
        (unused,) = _WAITING
        end_started()  # a config file turned the PDF off
        assert not _WAITING and not unused.running()
    with pytest.raises(RuntimeError), started_ahead():
        (waiting,) = _WAITING
        assert waiting.running()
        raise RuntimeError("the command failed before its report")
    assert not _WAITING and not waiting.running()
    assert not Path(waiting._scratch).exists()  # its profile is removed with it


def test_a_chromium_that_cannot_start_hands_over(tmp_path):
    from outcomes._chromium import Printer

    printer = Printer(str(tmp_path / "no-such-chromium"))
    try:
        assert printer.print_pdf(tmp_path / "page.html", tmp_path / "out.pdf") is False
    finally:
        printer.close()
    assert not (tmp_path / "out.pdf").exists()


def test_the_sensitivity_analysis_reuses_the_imputations_and_gives_the_same_numbers():
    import outcomes.shares.missing as missing
    from outcomes.shares.decomposition import decompose
    from outcomes.shares.sensitivity import sensitivity

    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.normal(size=(160, 4)), columns=["bond", "task", "hope", "base"])
    data["end"] = data.sum(axis=1) + rng.normal(size=160)
    data.loc[rng.random(160) < 0.25, "end"] = np.nan
    data.loc[rng.random(160) < 0.1, "hope"] = np.nan
    factors = {"relationship": ["bond", "task"], "technique": ["hope"]}
    options = {"covariates": ["base"], "conclusion": ("relationship", "technique"), "seed": 5}
    missing._COMPLETED.clear()
    alone = sensitivity(data, "end", factors, **options)
    missing._COMPLETED.clear()
    decompose(data, "end", factors, covariates=["base"], missing="mi", seed=5)
    kept = len(missing._COMPLETED)
    after = sensitivity(data, "end", factors, **options)
    assert kept == alone.n_imputations == len(missing._COMPLETED)  # nothing imputed again
    pd.testing.assert_frame_equal(after.shares, alone.shares, check_exact=True)
    assert after.tipping_point == alone.tipping_point
    other = sensitivity(data, "end", factors, **{**options, "seed": 6})
    assert len(missing._COMPLETED) == 2 * kept  # another seed, other imputations
    assert not other.shares.equals(alone.shares)


def test_the_kept_imputations_stay_within_their_memory_budget(monkeypatch):
    import outcomes.shares.missing as missing
    from outcomes.shares.decomposition import decompose

    rng = np.random.default_rng(8)
    data = pd.DataFrame(rng.normal(size=(120, 3)), columns=["bond", "hope", "end"])
    data.loc[rng.random(120) < 0.3, "end"] = np.nan
    missing._COMPLETED.clear()
    decompose(data, "end", ["bond", "hope"], missing="mi", seed=2)
    made = list(missing._COMPLETED.values())
    assert len(made) >= 5
    monkeypatch.setattr(missing, "_KEEP_BYTES", 3 * made[0].nbytes)
    missing._COMPLETED.clear()
    again = decompose(data, "end", ["bond", "hope"], missing="mi", seed=2)
    kept = list(missing._COMPLETED.values())
    assert len(kept) == 3 and all(np.array_equal(a, b) for a, b in zip(kept, made[-3:],
                                                                        strict=True))
    assert again.shares.equals(decompose(data, "end", ["bond", "hope"], missing="mi",
                                         seed=2).shares)
    missing._COMPLETED.clear()
