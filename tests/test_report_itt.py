"""The report's factor shares with every client kept (intention to treat) beside the
complete-case shares, the dropout sensitivity, the PDF engines and the timed stages.

One small simulated study with dropouts serves the tests: the shares the report prints are
the ones ``decompose(..., missing="mi")`` gives with the report's settings, each released
through the gate with the number of clients the model rests on; the summary says which
shares the conclusion rests on and where it would flip.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest

import outcomes as oc
from outcomes.report import ReportOptions, build_report
from outcomes.report import _render as render
from outcomes.simulate.synthetic import simulate_study
from outcomes.study import Study

SALT = b"i" * 32
OPTIONS = ReportOptions(title='Outcomes "Q1" <b>&</b>', n_boot=30, seed=3)
ITT = "every client, missing values imputed"
COMPLETE = "only clients with every value"


def _study(folder) -> Study:  # noqa: ANN001
    sim = simulate_study(n_coaches=10, clients_per_coach=12, seed=8)
    return Study(tables=sim.tables, source=str(folder))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("itt")
    study = _study(root / "study")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build_report(study, out=root / "out", options=OPTIONS, salt=SALT)
    return study, report


def _expected(study: Study):  # noqa: ANN202
    """The shares and the sensitivity straight from the public functions."""
    table = study.analysis_table()
    factors = {name: [c for c in cols if c in table and table[c].notna().sum() >= OPTIONS.k]
               for name, cols in oc.FACTORS.items()}
    factors = {name: cols for name, cols in factors.items() if cols}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        itt = oc.decompose(table, "end_score", factors, covariates=["baseline"], missing="mi",
                           n_boot=OPTIONS.n_boot, cluster="coach_id", seed=OPTIONS.seed)
        first, second = ("relationship", "technique")
        if itt.shares[first] < itt.shares[second]:
            first, second = second, first
        sens = oc.sensitivity(table, "end_score", factors, covariates=["baseline"],
                              conclusion=(first, second), cluster="coach_id",
                              seed=OPTIONS.seed)
    return itt, sens


def test_the_study_has_dropouts():
    table = _study("s").analysis_table()
    assert table["end_score"].isna().sum() >= OPTIONS.k


def test_the_imputed_shares_are_those_of_decompose_and_pass_the_gate_with_every_client(built):
    study, report = built
    itt, _ = _expected(study)
    log = report.disclosure.log
    for name, relative in itt.relative.items():
        what = f"share of {name} ({ITT})"
        rows = log[log["what"] == what]
        assert len(rows) == 1, what
        assert rows["value"].iloc[0] == pytest.approx(round(100 * relative), abs=1e-9)
        assert rows["n"].iloc[0] == itt.n  # every client the imputed model keeps
        low, high = itt._interval(name, "relative")
        for end, value in (("lower", low), ("upper", high)):
            row = log[log["what"] == f"{what} ({end})"]
            assert row["value"].iloc[0] == pytest.approx(round(100 * value), abs=1e-9)
            assert row["n"].iloc[0] == itt.n
    assert itt.n > report.facts["n_shares"]  # more clients than the complete cases
    assert report.facts["n_shares_imputed"] == itt.n


def _table(html: str) -> list[list[str]]:
    from tests.test_report import tables_of

    return next(t for t in tables_of(html) if t[0][0] == "factor")


def test_both_sets_of_shares_stand_side_by_side_and_the_text_says_which_counts(built):
    _, report = built
    html = report.html.read_text(encoding="utf-8")
    head = _table(html)[0]
    assert head[2] == f"percent of explained ({ITT})"
    assert head[4] == f"percent of explained ({COMPLETE})"
    def words(part: str) -> str:
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))

    text = words(html)
    summary = words(html[html.index('id="summary"'):html.index('id="who"')])
    assert "missing values imputed (intention to treat)" in summary
    assert "(a check)" in summary
    assert "The conclusions rest on the shares that keep all" in text
    assert "multiple imputation" in text and "missing at random" in text


def test_the_tipping_point_is_the_sensitivity_analysis_one(built):
    study, report = built
    _, sens = _expected(study)
    point = report.facts.get("dropout_tipping_point", "absent")
    if sens.tipping_point is None:
        assert point is None
        return
    assert point == pytest.approx(sens.tipping_point, rel=1e-9)
    shown = report.disclosure.log.set_index("what")
    assert shown.loc["dropout shift at which the comparison flips", "value"] == pytest.approx(
        round(sens.tipping_point, 1), abs=1e-9)


def test_each_step_is_timed_and_the_json_carries_it(built):
    _, report = built
    stages = report.stages
    assert next(iter(stages)) == "reading and validating the study"
    assert "section: What drives outcome" in stages and "HTML" in stages
    assert any(step.startswith("PDF (") for step in stages)
    assert all(wall >= 0 and cpu >= 0 for wall, cpu in stages.values())
    assert sum(wall for wall, _ in stages.values()) <= report.seconds + 1e-6
    assert json.loads(json.dumps(report.to_dict()))["stages"].keys() == stages.keys()


def test_chromium_prints_a4_pages_with_the_escaped_title_and_page_numbers(built):
    _, report = built
    if report.pdf_engine != "chromium":
        pytest.skip("Chromium is not installed here; WeasyPrint printed the PDF")
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(str(report.pdf))
    first = document[0]
    assert tuple(round(v) for v in first.get_size()) == (595, 842)  # A4 in points
    text = " ".join(first.get_textpage().get_text_range().split())
    assert 'Outcomes "Q1" <b>&</b>' in text  # the footer's title, escaped for CSS
    assert f"page 1 of {len(document)}" in text


def test_a_chromium_that_fails_hands_over_to_weasyprint_and_the_footer_says_so(
        tmp_path, monkeypatch):
    monkeypatch.setattr(render, "chromium", lambda: "/bin/false")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build_report(_study(tmp_path / "s"), out=tmp_path / "out", salt=SALT,
                              options=ReportOptions(n_boot=0))
    expected = render.pdf_engine(("weasyprint",))
    assert report.pdf_engine == expected
    assert f"<dt>PDF</dt><dd>{expected}</dd>" in report.html.read_text(encoding="utf-8")
    assert report.pdf.read_bytes()[:5] == b"%PDF-"


def test_an_empty_outcomes_chromium_turns_chromium_off(monkeypatch):
    monkeypatch.setenv("OUTCOMES_CHROMIUM", "")
    assert render.chromium() is None
    assert render.pdf_engine(("chromium", "weasyprint")) != "chromium"
