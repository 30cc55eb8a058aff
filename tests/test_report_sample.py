"""The sample report as published: every number in its log, words for people, reproducible.

One build of the sample study with the documented command's settings serves every test here:
each number of the rendered HTML and of the PDF's text is found in the disclosure gate's log
(numbers that are not data are allowed by where they come from), no internal key or code name
is shown, the summary comes first, and the committed ``reports/sample/`` is what the command
writes, apart from the date and the package versions of the machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest

from outcomes import instruments as registry
from outcomes.reference import REFERENCES
from outcomes.report import ReportOptions, build_report, package_versions
from outcomes.report._coaches import CSV_NAME
from outcomes.report._measures import ACCEPTABLE, EFFECT_SIZE_WORDS, EFFECT_SIZES, GOOD
from outcomes.report._render import visible_text
from outcomes.report._sessions import BAND, MIN_SESSION_CLIENTS
from outcomes.schema import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "reports" / "sample"
#: The command that writes the committed sample (docs/reports.md and the README say so).
COMMAND = "outcomes report data/sample --out reports/sample --salt-file data/sample.salt"
NUMBER = re.compile(r"(?<![\w.\-/])−?\d[\d,]*(?:\.\d+)?(?![\w])|(?<![\w.\d])\.\d+(?![\w])")
#: Figures the text cites from the literature, by their source.
CITED = {"1991": "Jacobson & Truax", "2019": "Johns and colleagues", "2017": "Falkenström",
         "5": "therapist share in practice (Johns and colleagues, 2019)",
         "2011": "White, Royston & Wood (number of imputations)",
         "2018": "Schomaker & Heumann (bootstrap with imputation)",
         "2013": "Carpenter & Kenward (delta adjustment)"}


def _numbers(text: str) -> list[str]:
    return [n.rstrip(",").replace(",", "").replace("−", "-") for n in NUMBER.findall(text)]


def _text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", " ", visible_text(html), flags=re.S)
    html = re.sub(r"<(img|meta)[^>]*>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build_report("data/sample" if Path("data/sample").exists() else
                              ROOT / "data" / "sample", out=out, options=ReportOptions(),
                              salt_file=ROOT / "data" / "sample.salt",
                              command=COMMAND.replace("reports/sample", "reports/sample"))
    return report


def _allowed(report, pages: int = 0) -> set[str]:  # noqa: ANN001
    """Numbers that are not data, each by where it comes from."""
    opts = ReportOptions()
    allowed = {str(opts.k), str(opts.seed), str(opts.n_boot), "95", "99.8", "0", "1", "40",
               f"{100 * BAND:.0f}", f"{50 * (1 - BAND):.0f}", str(MIN_SESSION_CLIENTS),
               f"{ACCEPTABLE:.2f}"[1:], f"{GOOD:.2f}"[1:], *CITED}
    allowed |= {f"{v}" for v in EFFECT_SIZE_WORDS}
    allowed |= {str(i) for i in range(1, len(report.sections) + 8)}  # sections and figures
    allowed |= {str(i) for i in range(1, pages + 1)}  # page numbers
    for split in REFERENCES.values():  # the published splits and their labels
        allowed |= set(_numbers(f"{split.label} {split.share_of}"))
        allowed |= {f"{100 * v:.0f}" for v in split.shares.values()}
    ors, srs = registry.get("ors"), registry.get("srs")
    allowed |= {"25", "36", "5", "6"}  # ORS cutoff, SRS cutoff, ORS reliable change, review
    for key in registry.available():  # questionnaire names and their scales' item counts
        spec = registry.get(key)
        allowed |= set(_numbers(spec.name))
        allowed |= {str(len(scale.items)) for scale in spec.scales.values()}
    for _, version in package_versions():
        allowed |= set(_numbers(version))
    del ors, srs
    return allowed


def _published(report) -> set[str]:  # noqa: ANN001
    return {n for text in report.disclosure.published_texts() for n in _numbers(text)}


def _footerless(text: str) -> tuple[str, str]:
    main, _, footer = text.partition("Reproducibility")
    return main, footer


def test_every_number_of_the_html_is_in_the_gates_log(sample):
    main, footer = _footerless(_text(sample.html.read_text(encoding="utf-8")))
    allowed, published = _allowed(sample), _published(sample)
    stray = [n for n in _numbers(main) if n not in published and n not in allowed]
    assert stray == []
    date = re.search(r"Made (\d{4})-(\d\d)-(\d\d)", footer)
    assert date
    footer_stray = [n for n in _numbers(footer) if n not in allowed | set(date.groups())]
    assert footer_stray == []


def test_every_number_of_the_pdf_text_is_in_the_gates_log(sample):
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(str(sample.pdf))
    pages = len(document)
    text = " ".join(document[i].get_textpage().get_text_range() for i in range(pages))
    text = re.sub(r"\s+", " ", text.replace("\ufffe", "").replace("\u00ad", ""))
    main, footer = _footerless(text)
    allowed, published = _allowed(sample, pages), _published(sample)
    date = re.search(r"Made (\d{4})-(\d\d)-(\d\d)", text)
    allowed |= set(date.groups()) if date else set()
    stray = [n for n in _numbers(main + footer) if n not in published and n not in allowed]
    assert stray == []


def test_the_sample_withholds_nothing_the_rules_do_not_need(sample):
    log = sample.disclosure.log
    withheld = log[log["withheld"]]
    # Only small counts are withheld in the sample: each rests on 1 to k - 1 clients.
    assert (withheld["n"].fillna(0) < sample.k).all(), withheld


class Sections(HTMLParser):
    """Each section's id and the class of the first paragraph after its heading."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[list[str | None]] = []
        self._after_heading = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append([attrs.get("id"), None])
        elif tag == "h2" and self.sections:
            self._after_heading = True
        elif self._after_heading and tag in ("p", "div", "figure", "ul"):
            self.sections[-1][1] = attrs.get("class") if tag == "p" else tag
            self._after_heading = False


def test_the_summary_comes_first_and_every_section_opens_with_its_finding(sample):
    parser = Sections()
    parser.feed(sample.html.read_text(encoding="utf-8"))
    assert parser.sections[0][0] == "summary"
    assert all(first == "lead" for _, first in parser.sections), parser.sections
    text = _text(sample.html.read_text(encoding="utf-8"))
    summary = text.split("2. Who is in the data")[0]
    for words in ("Did clients improve?", "What drives outcome?", "The coach component",
                  "Three things worth acting on", "40 % lies inside"):
        assert words in summary
    assert summary.count("(section ") >= 5


def _forbidden() -> set[str]:
    """Internal keys and code names: reference keys, snake_case column names of the schema,
    the analysis table and the results the report shows."""
    from outcomes.practice.coach_effects import CoachEffects
    from outcomes.sample import load_sample

    names = set(REFERENCES)
    names |= {c for columns in COLUMNS.values() for c in columns}
    names |= set(load_sample().analysis_table().columns)
    names |= set(EFFECT_SIZES)
    names |= {"ci_low", "ci_high", "std_error", "p_value", "rank_low", "rank_high",
              "n_clusters", "share_of_engagements", "not_on_track", "alliance_concern"}
    del CoachEffects
    return {n for n in names if "_" in n or "-" in n}


def test_no_internal_key_snake_case_name_or_unexplained_abbreviation(sample):
    main, _ = _footerless(_text(sample.html.read_text(encoding="utf-8")))
    shown = [n for n in sorted(_forbidden()) if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])",
                                                          main)]
    assert shown == []
    csv = (sample.html.parent / CSV_NAME).read_text(encoding="utf-8")
    assert not [n for n in _forbidden() if n in csv.splitlines()[0]]
    undefined = {a for a in re.findall(r"\b[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*\b", main)
                 if not re.search(rf"\({re.escape(a)}[,)]|\b{re.escape(a)}: ", main)}
    assert undefined == set()


def test_two_builds_give_the_same_html_apart_from_the_date(tmp_path, monkeypatch):
    from outcomes.simulate.synthetic import simulate_study
    from outcomes.study import Study

    sim = simulate_study(n_coaches=8, clients_per_coach=10, seed=4)
    pages = []
    for run in ("a", "b"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400" if run == "a" else "1700000000")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = build_report(Study(tables=sim.tables, source=str(tmp_path / "study")),
                                  out=tmp_path / run, salt=b"r" * 32, pdf=False,
                                  options=ReportOptions(n_boot=20))
        pages.append(report.html.read_text(encoding="utf-8"))
    assert "1970-01-02" in pages[0] and "2023-11-14" in pages[1]
    assert f"<dd>{ReportOptions().seed}</dd>" in pages[0]
    made = re.compile(r"<dt>Made</dt><dd>[^<]*</dd>")
    assert made.sub("", pages[0]) == made.sub("", pages[1])


def _normalised(html: str) -> str:
    """Everything but the date, the PDF engine and the package versions of the machine that
    built it."""
    html = re.sub(r"<dt>Made</dt><dd>[^<]*</dd>", "", html)
    html = re.sub(r"<dt>PDF</dt><dd>[^<]*</dd>", "", html)
    return re.sub(r"<dt>Packages</dt><dd>[^<]*</dd>", "", html)


def test_the_committed_sample_is_what_the_documented_command_writes(sample):
    committed = COMMITTED / "report.html"
    assert committed.exists(), f"regenerate it: {COMMAND}"
    assert _normalised(committed.read_text(encoding="utf-8")) == _normalised(
        sample.html.read_text(encoding="utf-8")), f"stale sample: regenerate it with {COMMAND}"
    assert (COMMITTED / CSV_NAME).read_text(encoding="utf-8") == (
        sample.html.parent / CSV_NAME).read_text(encoding="utf-8")
    assert (COMMITTED / "report.pdf").exists()


def test_the_readme_first_command_writes_where_git_does_not_look():
    git = shutil.which("git")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = next(line for line in readme.splitlines() if "outcomes report" in line)
    out = re.search(r"--out (\S+)", first)
    assert out and out.group(1) != "reports/sample"
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run([git, "check-ignore", "-q", f"{out.group(1)}/report.html"],
                             cwd=ROOT, capture_output=True)
    assert ignored.returncode == 0, f"{out.group(1)} is not ignored by git"
