"""The pages in a real browser (Debian's chromium driven by Playwright): the coach downloads
the template, fills it, uploads it, reads the headline and downloads the PDF; five typos
show as five problems on one page; the body uploads the zipped sample study and reads the
counts and the report. Every page is also checked at phone width (390 px) for anything
wider than the screen. With ``OUTCOMES_WEB_SCREENSHOTS=folder`` the screenshots of each page
at 1280 and 390 px are written there (the examples in ``reports/web/``)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.web.conftest import TYPOS, fill, leftovers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium here (Debian: apt-get install -y chromium); CI "
                             "installs it")
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
WIDTHS = {"wide": 1280, "phone": 390}


@pytest.fixture(scope="module")
def server(tmp_path_factory, norms_file):
    import uvicorn

    from outcomes.web.app import create_app
    from outcomes.web.config import WebConfig

    root = tmp_path_factory.mktemp("browser") / "private"
    root.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = WebConfig(port=port, norms=str(norms_file), tmp_dir=str(root), n_boot=0,
                       report_pdf=False, salt_file=str(root.parent / "salt"))
    running = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port,
                                            log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", root
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


def _look(browser, url: str, name: str, tmp_path: Path) -> None:
    """Open ``url`` at each width: nothing wider than the screen; keep a screenshot."""
    keep = os.environ.get("OUTCOMES_WEB_SCREENSHOTS")
    for width in WIDTHS.values():
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow} px wider than a {width} px screen"
        shot = tmp_path / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
        page.close()


def _upload_workbook(page, base: str, path: Path) -> None:
    page.goto(f"{base}/coach")
    page.set_input_files("#workbook", str(path))
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_coach_benchmarks_a_workbook_and_downloads_the_pdf(server, browser, tmp_path):
    base, root = server
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{base}/coach")
    with page.expect_download() as template:
        page.click("text=Download the workbook")
    workbook = tmp_path / "my_practice.xlsx"
    template.value.save_as(workbook)
    fill(workbook)
    _upload_workbook(page, base, workbook)
    headline = page.locator(".bm-headline")
    assert headline.is_visible() and "clients" in headline.inner_text()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with page.expect_download() as pdf:
        page.click("#pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    assert not errors, errors  # nothing the policy blocked
    assert leftovers(root) == []
    _look(browser, f"{base}/", "home", tmp_path)
    _look(browser, f"{base}/coach", "coach", tmp_path)
    _upload_and_look(browser, base, workbook, "coach-benchmark", tmp_path)


def _upload_and_look(browser, base: str, workbook: Path, name: str, tmp_path: Path) -> None:
    """Upload at phone width (and, when screenshots are kept, at 1280 px too): nothing wider
    than the screen (a result page has no address to open again)."""
    keep = os.environ.get("OUTCOMES_WEB_SCREENSHOTS")
    for width in WIDTHS.values() if keep else [WIDTHS["phone"]]:
        page = browser.new_page(viewport={"width": width, "height": 900})
        _upload_workbook(page, base, workbook)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow} px wider than a {width} px screen"
        shot = tmp_path / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        if keep:
            shutil.copy(shot, Path(keep) / shot.name)
        page.close()


def test_five_typos_show_as_five_problems_on_one_page(server, browser, tmp_path):
    base, root = server
    workbook = fill(tmp_path / "typos.xlsx", typos=TYPOS)
    page = browser.new_page()
    _upload_workbook(page, base, workbook)
    rows = page.locator("#problems tbody tr")
    assert rows.count() == 5
    for index in range(5):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[0] == "clients" and cells[1].isdigit() and cells[2] and cells[5]
    page.click("#problems thead th:nth-child(3) button")  # sort by column
    columns = rows.locator("td:nth-child(3)").all_inner_texts()
    assert columns == sorted(columns, key=str.lower)
    _upload_and_look(browser, base, workbook, "coach-problems", tmp_path)


def test_the_body_uploads_the_sample_study_and_reads_the_report(server, browser, tmp_path):
    base, root = server
    archive = tmp_path / "sample-study.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in ("coaches", "engagements", "sessions", "responses"):
            zipped.write(SAMPLE / f"{name}.csv", f"sample-study/{name}.csv")
    page = browser.new_page()
    page.goto(f"{base}/body")
    page.set_input_files("#study", str(archive))
    page.fill("#title", "Sample body report")
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("#job-id")
    page.wait_for_selector("#report", timeout=240_000)
    counts = page.locator("#counts tbody tr td:first-child").all_inner_texts()
    assert counts == ["coaches", "engagements", "sessions", "responses"]
    assert "Sample body report" in page.locator("#report h1").inner_text()
    assert page.locator("#report section.major").count() >= 5
    assert not any("input/" in p or "study/" in p for p in leftovers(root))
    _look(browser, f"{base}/body", "body", tmp_path)
    _look(browser, page.url, "body-job", tmp_path)
