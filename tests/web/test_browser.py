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


def _watched(browser, **options):
    """A new page whose console errors (a resource refused by the Content-Security-Policy, a
    missing file, a script error) are collected from its first request on."""
    page = browser.new_page(**options)
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def _keep(page, name: str, width: int) -> None:
    """With ``OUTCOMES_WEB_SCREENSHOTS`` set, keep a full-page screenshot there (the
    screenshots take time, so they are taken only when asked for)."""
    keep = os.environ.get("OUTCOMES_WEB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(keep) / f"{name}-{width}.png"), full_page=True)


def _look(browser, url: str, name: str) -> None:
    """Open ``url`` at each width: nothing wider than the screen, nothing refused."""
    for width in WIDTHS.values():
        page = _watched(browser, viewport={"width": width, "height": 900})
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow} px wider than a {width} px screen"
        assert not page.errors, (name, page.errors)
        _keep(page, name, width)
        page.close()


def _coach_files(root: Path) -> list[str]:
    """What the coach's pages left (the body's job runs beside them)."""
    return [p for p in leftovers(root) if p.startswith("coach-")]


def _upload_workbook(page, base: str, path: Path) -> None:
    page.goto(f"{base}/coach")
    page.set_input_files("#workbook", str(path))
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_coach_benchmarks_a_workbook_and_downloads_the_pdf(server, browser, tmp_path):
    base, root = server
    page = _watched(browser, accept_downloads=True)
    page.goto(f"{base}/coach")
    with page.expect_download() as template:
        page.click("text=Download the workbook")
    workbook = tmp_path / "my_practice.xlsx"
    template.value.save_as(workbook)
    fill(workbook)
    _upload_workbook(page, base, workbook)
    headline = page.locator(".bm-headline")
    assert headline.is_visible() and "clients" in headline.inner_text()
    with page.expect_download() as pdf:
        page.click("#pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    assert not page.errors, page.errors  # nothing the policy blocked, on any page
    assert _coach_files(root) == []
    _look(browser, f"{base}/", "home")
    _look(browser, f"{base}/coach", "coach")
    _upload_and_look(browser, base, workbook, "coach-benchmark")


def _upload_and_look(browser, base: str, workbook: Path, name: str) -> None:
    """Upload at phone width (and, when screenshots are kept, at 1280 px too): nothing wider
    than the screen, nothing refused (a result page has no address to open again)."""
    keep = os.environ.get("OUTCOMES_WEB_SCREENSHOTS")
    for width in WIDTHS.values() if keep else [WIDTHS["phone"]]:
        page = _watched(browser, viewport={"width": width, "height": 900})
        _upload_workbook(page, base, workbook)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow} px wider than a {width} px screen"
        assert not page.errors, (name, page.errors)
        _keep(page, name, width)
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
    # the policy holds: markup put into the page cannot run a script or style the page
    page.evaluate("""document.body.insertAdjacentHTML('beforeend',
        '<img src="/nothing" onerror="window.ran = 1"><p id="styled" style="color: red">x</p>');
        const s = document.createElement('script'); s.textContent = 'window.ran = 2';
        document.body.appendChild(s);""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran === undefined")
    assert page.evaluate("getComputedStyle(document.getElementById('styled')).color") != \
        "rgb(255, 0, 0)"
    _upload_and_look(browser, base, workbook, "coach-problems")


@pytest.fixture(scope="module", autouse=True)
def body_job(server, browser, tmp_path_factory):
    """The body uploads the zipped sample study first: its job (the longest step here) runs
    in its own process while the coach's pages are tested; the last test reads it."""
    base, _ = server
    archive = tmp_path_factory.mktemp("upload") / "sample-study.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in ("coaches", "engagements", "sessions", "responses"):
            zipped.write(SAMPLE / f"{name}.csv", f"sample-study/{name}.csv")
    page = _watched(browser)
    page.goto(f"{base}/body")
    page.set_input_files("#study", str(archive))
    page.fill("#title", "Sample body report")
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("#job-id")
    yield page
    page.close()


def test_the_body_uploads_the_sample_study_and_reads_the_report(server, browser, body_job):
    base, root = server
    page = body_job
    page.wait_for_selector("#report, p.message", timeout=240_000)  # done, or stopped
    stopped = page.locator("p.message")
    assert not stopped.count(), stopped.all_inner_texts()
    counts = page.locator("#counts tbody tr td:first-child").all_inner_texts()
    assert counts == ["coaches", "engagements", "sessions", "responses"]
    assert "Sample body report" in page.locator("#report h1").inner_text()
    assert page.locator("#report section.major").count() >= 5
    assert not any("input/" in p or "study/" in p for p in leftovers(root))
    assert not page.errors, page.errors
    _look(browser, f"{base}/body", "body")
    _look(browser, page.url, "body-job")
