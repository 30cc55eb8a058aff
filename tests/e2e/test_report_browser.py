"""The report as a reader sees it: a real headless browser, and the PDF's pages as images.

The browser is Debian's chromium (``apt-get install -y chromium``); without it these tests
skip and say so. The page is loaded from disk with networking off; a small script added to a
copy of the page records every image (loaded, with alt text) and every element wider than
the window, so a figure or table that spills over fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from outcomes.report import ReportOptions, build_report
from outcomes.simulate.synthetic import simulate_study
from outcomes.study import Study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless chromium here (Debian: apt-get install -y chromium); "
                             "CI installs it")

PROBE = """
<pre id="probe"></pre>
<script>
window.addEventListener("load", function () {
  var width = window.innerWidth, wide = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) { wide.push(el.tagName + "." + el.className); }
  });
  var scrolled = [];
  document.querySelectorAll(".table-wrap").forEach(function (el) {
    if (el.scrollWidth > el.clientWidth + 1) { scrolled.push(el.textContent.slice(0, 60)); }
  });
  var images = Array.prototype.map.call(document.images, function (img) {
    return {alt: img.getAttribute("alt") || "", loaded: img.complete && img.naturalWidth > 0,
            width: img.getBoundingClientRect().width};
  });
  var target = (window.parent !== window ? window.parent : window).document;
  target.getElementById("probe").textContent = JSON.stringify({
    width: width, page: document.documentElement.scrollWidth, wide: wide,
    scrolled: scrolled, images: images});
});
</script>
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    sim = simulate_study(n_coaches=8, clients_per_coach=10, seed=11)
    out = tmp_path_factory.mktemp("report")
    return build_report(Study(tables=sim.tables, source=str(out / "study")), out=out,
                        options=ReportOptions(title="A <b>body</b>'s report", n_boot=0, seed=1),
                        salt=b"s" * 32)


def _probe(html: Path, tmp_path: Path, width: int) -> dict:
    page = tmp_path / f"probe-{width}.html"
    page.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    if width < 500:  # headless chromium's window is at least 500 px wide: a phone-wide frame
        frame = tmp_path / f"frame-{width}.html"
        frame.write_text(f'<!DOCTYPE html><html><body style="margin:0"><pre id="probe"></pre>'
                         f'<iframe src="{page.name}" style="width:{width}px;height:900px;'
                         f'border:0"></iframe></body></html>', encoding="utf-8")
        page = frame
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-extensions",
               "--allow-file-access-from-files",
               f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},900",
               "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">([^<]+?)</pre>', done.stdout, re.S)
    assert found and found.group(1), f"the probe did not run: {done.stderr[-500:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@needs_browser
@pytest.mark.parametrize("width", [1280, 1024])
def test_every_figure_shows_and_nothing_spills_over(report, tmp_path, width):
    seen = _probe(report.html, tmp_path, width)
    figures = report.html.read_text(encoding="utf-8").count("<figure>")
    assert len(seen["images"]) == figures >= 6
    assert all(img["loaded"] for img in seen["images"])
    assert all(len(img["alt"]) > 20 for img in seen["images"])
    assert all(0 < img["width"] <= width for img in seen["images"])
    assert seen["page"] <= seen["width"], seen["wide"]
    assert seen["wide"] == [] and seen["scrolled"] == []


@needs_browser
@pytest.mark.parametrize("width", [480, 390])
def test_a_narrow_window_scrolls_tables_inside_their_box(report, tmp_path, width):
    seen = _probe(report.html, tmp_path, width)
    assert seen["page"] <= seen["width"], seen["wide"]  # only the table boxes scroll
    assert all(img["width"] <= width for img in seen["images"])


def test_the_pdf_has_the_summary_on_its_first_page(report):
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 reads the PDF's text")
    document = pdfium.PdfDocument(str(report.pdf))
    first = document[0].get_textpage().get_text_range()
    assert "1. Summary" in first and "Three things worth acting on" in " ".join(
        document[i].get_textpage().get_text_range() for i in range(min(2, len(document))))


def test_pdf_pages_render(report, tmp_path):
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 renders the PDF pages")
    document = pdfium.PdfDocument(str(report.pdf))
    assert 5 <= len(document) <= 30
    for index in range(len(document)):
        image = document[index].render(scale=0.5).to_pil().convert("L")
        assert image.size[0] < image.size[1]  # A4 portrait
        assert image.getextrema()[0] < 100  # something dark is printed on every page
