"""The coach's benchmark in a real headless browser at desktop and phone width, and as A4 PDF
pages: nothing is wider than the window or the page.

The browser is Debian's chromium (``apt-get install -y chromium``); without it the browser
tests skip and say so. A small script added to a copy of the page records every element that
reaches past the window and every table wider than its own box.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

from outcomes.benchmarking import benchmark, practice_from_study
from outcomes.norms import build_norms
from outcomes.report import build_benchmark_report
from outcomes.simulate.synthetic import simulate_study
from outcomes.study import Study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless chromium here (Debian: apt-get install -y chromium)")

PROBE = """
<script>
window.addEventListener("load", function () {
  var width = window.innerWidth, wide = [], tables = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) { wide.push(el.tagName + "." + el.className); }
  });
  document.querySelectorAll("table").forEach(function (el) {
    var box = el.parentElement;
    if (el.scrollWidth > el.clientWidth + 1 || box.scrollWidth > box.clientWidth + 1) {
      tables.push(el.textContent.slice(0, 60)); }
  });
  var cards = getComputedStyle(document.querySelector(".bm-table tr")).display;
  parent.document.getElementById("probe").textContent = JSON.stringify({
    width: width, page: document.documentElement.scrollWidth,
    body: document.body.scrollWidth, wide: wide, tables: tables, cards: cards,
    images: Array.prototype.map.call(document.images, function (img) {
      return img.complete && img.naturalWidth > 0; })});
});
</script>
"""


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    sim = simulate_study(n_coaches=12, clients_per_coach=14, seed=3)
    study = Study(tables=sim.tables, source=str(out / "study"))
    coach = str(sim.tables["engagements"]["coach_id"].iloc[0])
    result = benchmark(practice_from_study(study, coach), build_norms(study, n_boot=0, seed=1))
    return build_benchmark_report(result, out=out / "page", pdf=True)


def _probe(html: Path, tmp_path: Path, width: int) -> dict:
    """Load the page in a frame ``width`` pixels wide (a headless window cannot be as narrow
    as a phone) and read what the probe found."""
    inner = html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>")
    page = tmp_path / f"probe-{width}.html"
    page.write_text(f'<!DOCTYPE html><html><body style="margin:0"><pre id="probe"></pre>'
                    f'<iframe style="border:0" width="{width}" height="900" '
                    f'srcdoc="{escape(inner, quote=True)}"></iframe></body></html>',
                    encoding="utf-8")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width + 40},1000",
               "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1), f"the probe did not run: {done.stderr[-500:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@needs_browser
@pytest.mark.parametrize(("width", "cards"), [(1280, "table-row"), (390, "grid")])
def test_nothing_is_wider_than_the_window(written, tmp_path, width, cards):
    seen = _probe(written.html, tmp_path, width)
    assert seen["width"] == width
    assert seen["page"] <= width and seen["body"] <= width, seen["wide"]
    assert seen["wide"] == [] and seen["tables"] == []
    assert seen["cards"] == cards  # one card per client on a phone, a table on a desk
    assert seen["images"] and all(seen["images"])


def test_the_pdf_pages_are_a4_and_no_text_runs_past_the_margin(written):
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 reads the PDF pages")
    if written.pdf_engine != "weasyprint":
        pytest.skip("the PDF was drawn by the plain fallback, not laid out from the page")
    document = pdfium.PdfDocument(str(written.pdf))
    assert 2 <= len(document) <= 12
    text = ""
    for index in range(len(document)):
        page = document[index]
        width, height = page.get_size()
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        chars = page.get_textpage()
        rights = [chars.get_charbox(i)[2] for i in range(chars.count_chars())]
        assert max(rights, default=0) <= width - 14 / 25.4 * 72 + 1  # inside the margin
        text += chars.get_text_range()
    assert "How this headline is decided" in " ".join(text.split())
