"""A body's report: privacy (k, suppression, pseudonyms, no identifiers), escaping,
self-containment, sections, figures and the reproducibility footer."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from outcomes._errors import UsageError
from outcomes.norms import input_digest
from outcomes.privacy import pseudonym
from outcomes.report import ReportOptions, build_report
from outcomes.report import _render as render
from outcomes.report._render import visible_text
from outcomes.simulate.synthetic import simulate_study
from outcomes.study import Study

SALT = b"k" * 32


def study_with_a_coach_of_three(folder: Path) -> tuple[Study, str]:
    """A simulated study in which one coach keeps only three clients."""
    sim = simulate_study(n_coaches=9, clients_per_coach=11, seed=5)
    tables = {kind: frame.copy() for kind, frame in sim.tables.items()}
    engagements = tables["engagements"]
    small = engagements["coach_id"].iloc[0]
    mine = engagements.loc[engagements["coach_id"] == small, "engagement_id"]
    dropped = set(mine.iloc[3:])
    for kind in ("engagements", "sessions", "responses"):
        tables[kind] = tables[kind][~tables[kind]["engagement_id"].isin(dropped)]
    folder.mkdir(parents=True, exist_ok=True)
    Study(tables=tables).write(folder)
    return Study(tables=tables, source=str(folder)), small


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    study, small = study_with_a_coach_of_three(root / "study")
    options = ReportOptions(title="Outcomes <script>alert(1)</script> & more", n_boot=20,
                            seed=7, factors={"<i>client</i>": ["optimism", "self_efficacy"],
                                             "relationship": ["alliance"]})
    report = build_report(study, out=root / "out", options=options, salt=SALT)
    return study, small, report


class Cells(HTMLParser):
    """Table cells, row by row, of every table in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):  # noqa: ANN001
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> list[list[list[str]]]:
    parser = Cells()
    parser.feed(html)
    return parser.tables


def pdf_text(path: Path) -> str:
    pypdf = pytest.importorskip("pypdf", reason="pypdf extracts the PDF's text")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def test_no_client_engagement_or_coach_id_anywhere(built):
    study, _, report = built
    engagements = study.tables["engagements"]
    html = visible_text(report.html.read_text(encoding="utf-8"))
    text = pdf_text(report.pdf)
    for column in ("client_id", "engagement_id", "coach_id"):
        for identifier in engagements[column].astype(str).unique():
            assert identifier not in html, (column, identifier)
            assert identifier not in text, (column, identifier)


def test_the_coach_of_three_and_its_complement_read_the_same(built):
    _, small, report = built
    html = report.html.read_text(encoding="utf-8")
    name = pseudonym(small, SALT)
    coach_table = next(t for t in tables_of(html) if t[0][:2] == ["coach", "clients"]
                       and "rank interval" in t[0])
    withheld = [r for r in coach_table[1:] if r[1] == "withheld"]
    assert name in [r[0] for r in withheld]
    assert len(withheld) == 2  # the small one and one that would reveal it
    assert all(cell == "withheld" for row in withheld for cell in row[1:])  # no reason column
    assert "fewer than 5 clients: not published" not in html and "smaller coach" not in html
    assert html.count("Some coaches are withheld") == 1
    assert name in pdf_text(report.pdf)
    assert report.facts["coaches_withheld"] == 2


def test_no_count_between_one_and_k_is_shown(built):
    _, _, report = built
    html = report.html.read_text(encoding="utf-8")
    counted = 0
    for table in tables_of(html):
        header = table[0]
        for i, column in enumerate(header):
            if column in ("clients", "engagements flagged at least once",
                          "paid by an organisation", "paid by the client", "total"):
                for row in table[1:]:
                    cell = row[i].replace(",", "")
                    if cell.isdigit():
                        counted += 1
                        assert int(cell) == 0 or int(cell) >= 5, (column, row)
    assert counted > 10
    for sentence in re.findall(r"<p>(.*?)</p>", html):
        for number in re.findall(r"(?<![\d.,−])(\d+) (?:clients|engagements)", sentence):
            assert not 0 < int(number) < 5, sentence


def test_everything_user_supplied_is_escaped(built):
    _, _, report = built
    html = report.html.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "<i>client</i>" not in html and "&lt;i&gt;client&lt;/i&gt;" in html


def test_self_contained_and_printable(built):
    _, _, report = built
    html = report.html.read_text(encoding="utf-8")
    for attribute in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert attribute.startswith(("data:image/png;base64,", "#")), attribute
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert "@media print" in html and "@page" in html
    assert report.pdf.read_bytes()[:5] == b"%PDF-"


def test_sections_figures_and_alt_text(built):
    _, _, report = built
    html = report.html.read_text(encoding="utf-8")
    titles = ["Summary", "Who is in the data", "Measurement quality", "Did clients improve?",
              "What drives outcome", "Coaches", "Alliance over sessions", "Monitoring",
              "Methods and caveats", "Technical appendix"]
    assert list(report.sections) == titles
    for title in titles:
        assert f"{title}</h2>" in html
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 7
    for image in images:
        alt = re.search(r'alt="([^"]*)"', image).group(1)
        assert len(alt) > 30
    assert "Asay &amp; Lambert" in html and "Norcross" in html  # the other presets
    assert "Dominance:" in html and "of the variance of the end score lies between coaches" \
        in html


def test_methods_and_footer_say_what_was_run(built):
    study, _, report = built
    html = report.html.read_text(encoding="utf-8")
    methods = html[html.index('id="methods"'):]
    for phrase in ("Shapley shares", "bootstrap replicates", "Jacobson-Truax",
                   "restricted maximum likelihood", "Spiegelhalter", "observational",
                   "multiple imputation", "intention to treat"):
        assert phrase in methods, phrase
    assert input_digest(study.source) in html
    assert "<dt>Seed</dt><dd>7</dd>" in html
    for package in ("numpy", "pandas", "statsmodels", "matplotlib", "jinja2"):
        assert package in methods
    # the estimation's own messages count missing values per column; they are not shown
    assert "missing values and were left out" not in methods
    missing = re.search(r"clients missing each value: (.*?); ", methods).group(1)
    for entry in missing.split(", "):
        count = entry.rsplit(" ", 1)[1]
        assert count == "withheld" or int(count.replace(",", "")) >= 5, entry


def test_options_are_checked(tmp_path):
    with pytest.raises(UsageError, match="k = 2"):
        ReportOptions(k=2)
    with pytest.raises(UsageError, match="not known"):
        ReportOptions(reference="forty-thirty")
    study, _ = study_with_a_coach_of_three(tmp_path / "s")
    with pytest.raises(UsageError, match="inside the output folder"):
        build_report(study, out=tmp_path / "out", salt_file=tmp_path / "out" / "salt",
                     options=ReportOptions(n_boot=0))


def test_names_rounding_and_the_plain_pdf(tmp_path, monkeypatch):
    study, small = study_with_a_coach_of_three(tmp_path / "s")
    monkeypatch.setattr(render, "pdf_engine", lambda *prefer: "matplotlib")
    report = build_report(study, out=tmp_path / "out", salt=SALT, options=ReportOptions(
        n_boot=0, coach_names=True, round_counts=True))
    html = report.html.read_text(encoding="utf-8")
    assert small in html and "Coaches are named." in html
    status = next(t for t in tables_of(html) if t[0][0] == "status")
    numbers = [int(c) for row in status[1:] for c in row[1:] if c.isdigit()]
    assert numbers and all(n % 5 == 0 for n in numbers)
    assert report.pdf_engine == "matplotlib"
    with pytest.warns(FutureWarning, match="pdf_engine"):
        assert report.engine == report.pdf_engine
    text = pdf_text(report.pdf)
    assert "WHO IS IN THE DATA" in text and "engagements" in text


def test_the_report_result_shows_its_four_faces(built):
    import json

    import matplotlib

    matplotlib.use("Agg")
    report = built[2]
    assert re.fullmatch(r"<Report: .+: 10 sections in report\.html( and report\.pdf)?, k = 5>",
                        repr(report)), repr(report)
    assert {"quantity", "value"} == set(report.table().columns)
    assert json.loads(json.dumps(report.to_dict()))["k"] == 5
    ax = report.plot()
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "engagements"


def test_report_options_check_n_boot_and_seed():
    with pytest.raises(UsageError, match="ReportOptions: n_boot must be a whole number"):
        ReportOptions(n_boot=-1)
    with pytest.raises(UsageError, match="ReportOptions: seed must be a whole number"):
        ReportOptions(seed="x")


def test_report_options_refuse_more_replicates_than_any_study_needs():
    ReportOptions(n_boot=100_000)
    with pytest.raises(UsageError, match="n_boot = 100,001 is more than 100,000"):
        ReportOptions(n_boot=100_001)


def test_a_salt_file_others_can_write_is_refused(built, tmp_path):
    study, _, _ = built
    salt = tmp_path / "body.salt"
    salt.write_text("cd" * 32 + "\n", encoding="ascii")
    salt.chmod(0o620)
    with pytest.raises(UsageError, match=f"chmod 600 {salt}"):
        build_report(study, out=tmp_path / "out", salt_file=salt, pdf=False)
    assert not (tmp_path / "out").exists()
    salt.chmod(0o600)
    written = build_report(study, out=tmp_path / "out", salt_file=salt, pdf=False,
                           options=ReportOptions(n_boot=0, seed=1))
    assert written.html.exists() and written.missing == {}


def test_engagements_of_unknown_status_are_counted_in_who_is_in_the_data():
    from outcomes.report._body import Run, who
    from outcomes.sample import load_sample

    sample = load_sample()
    tables = {kind: frame.copy() for kind, frame in sample.tables.items()}
    tables["engagements"].loc[tables["engagements"].index[:40], "status"] = "unknown"
    study = Study(tables=tables)
    run = Run(study=study, table=study.analysis_table(), options=ReportOptions(), names={})
    who(run)
    assert run.facts["engagements"] == len(study.analysis_table())
    shown = [cell for block in who(run)["blocks"] for cell in str(block).split("'")]
    assert "unknown" in shown
