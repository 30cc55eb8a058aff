"""The coach's pages: the workbook template, the upload, the benchmark and its PDF.

The upload is read at once in a private folder: every problem in the workbook is listed
with its sheet, row, column and fix; the rows that can be used are benchmarked against the
server's norms (or a norms file uploaded with the workbook) and the page shows the same
benchmark :func:`outcomes.report.build_benchmark_report` writes. The workbook is deleted
before the page is sent; the benchmark page alone (it refers to clients by workbook row,
never by code) waits for its PDF to be downloaded, at most ``keep_minutes``, by the browser
that uploaded the workbook only.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from pathlib import Path
from typing import Any

from outcomes._errors import OutcomesError
from outcomes.web.files import find_folder, new_folder, remove, safe_name, save_upload
from outcomes.web.pages import embedded
from outcomes.web.security import CSRF_COOKIE
from outcomes.web.site import FormRefused, message, page, problem, read_form, site_of

__all__ = ["coach_page", "template_file", "benchmark_upload", "benchmark_pdf"]

_WORKBOOK = (".xlsx", ".xlsm")


def _norms_line(site: Any) -> str | None:
    if site.norms is None:
        return None
    document = site.norms.document
    title = (document.get("source") or {}).get("title") or "the body"
    return f"{title} ({document.get('created', 'undated')}, k = {document.get('k')})"


async def coach_page(request: Any) -> Any:
    """GET /coach: download the template, upload the workbook."""
    site = site_of(request)
    return page(request, "coach.html.j2", norms=_norms_line(site),
                norms_error=site.norms_error)


async def template_file(request: Any) -> Any:
    """GET /coach/template.xlsx: the workbook to fill in, made fresh and deleted once sent."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    from outcomes.benchmarking import write_template

    site = site_of(request)
    _, folder = new_folder(site.root, "template")
    try:
        path = await run_in_threadpool(write_template, folder / "my_practice.xlsx")
        data = path.read_bytes()
    finally:
        remove(folder)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument."
                                      "spreadsheetml.sheet",
                    headers={"content-disposition": 'attachment; filename="my_practice.xlsx"'})


def _owner(site: Any, request: Any) -> str:
    """Who may download a benchmark's PDF: a keyed hash of the uploading browser's form
    cookie (the address alone, which a log or a shared screen may show, is not enough)."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    return hmac.new(site.key, b"coach-result:" + cookie.encode(), hashlib.sha256).hexdigest()


def _row(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _benchmark(site: Any, folder: Path, workbook: Path, norms_path: Path | None,
               title: str | None) -> dict[str, Any]:
    """Read, check and benchmark the workbook in ``folder`` (in a worker thread)."""
    from outcomes.benchmarking import benchmark, read_practice
    from outcomes.norms import read_norms
    from outcomes.report import build_benchmark_report

    norms = read_norms(norms_path) if norms_path else site.norms
    practice = read_practice(workbook, errors="report")
    found = [{"sheet": p.sheet, "row": _row(p.row), "column": p.column, "cell": p.cell,
              "message": p.message, "fix": p.fix}
             for p in practice.problems.itertuples(index=False)]
    out: dict[str, Any] = {"problems": found, "left_out": practice.left_out(),
                           "clients": len(practice.clients)}
    if practice.clients.empty or norms is None:
        return out
    with site.lock, warnings.catch_warnings():  # one figure-maker at a time per process
        warnings.simplefilter("ignore")
        result = benchmark(practice, norms)
        written = build_benchmark_report(result, out=folder / "out", title=title or None,
                                         pdf=False, identifiers=practice.clients["client"],
                                         command="outcomes serve")
    out["html"] = written.html.read_text("utf-8")
    out["headline"] = result.headline()
    return out


async def benchmark_upload(request: Any) -> Any:
    """POST /coach/benchmark: the workbook (and optionally norms) in, the benchmark out."""
    from starlette.concurrency import run_in_threadpool

    site = site_of(request)
    try:
        form = await read_form(request)
    except FormRefused as refused:
        return message(refused.status, refused.title, refused.text)
    upload, norms_upload = form.get("workbook"), form.get("norms")
    ident, folder = new_folder(site.root, "coach")
    keep = False
    try:
        if not getattr(upload, "filename", None):
            return page(request, "coach.html.j2", status=422, norms=_norms_line(site),
                        norms_error="Choose your filled-in workbook (.xlsx) to upload.")
        name = safe_name(upload.filename, "my_practice.xlsx")
        if not name.lower().endswith(_WORKBOOK):
            return message(422, "Not a workbook", f"{name} is not an Excel workbook. Upload "
                           "the .xlsx file made from the template on the coach's page.")
        workbook = await save_upload(upload, folder, name)
        norms_path = None
        if getattr(norms_upload, "filename", None):
            norms_path = await save_upload(norms_upload, folder, "norms.json")
        elif site.norms is None:
            return message(422, "No norms to compare with", "This server was started without "
                           "a body's norms. Upload your body's norms file (norms.json) with "
                           "the workbook.")
        title = str(form.get("title") or "")[:200]
        try:
            found = await run_in_threadpool(_benchmark, site, folder, workbook, norms_path,
                                            title)
        except OutcomesError as error:
            status, text = problem(error, folder=folder)
            return message(status, "The upload cannot be used", text)
        finally:
            workbook.unlink(missing_ok=True)
            if norms_path:
                norms_path.unlink(missing_ok=True)
        status = 200 if "html" in found else 422
        keep = "html" in found
        if keep:
            (folder / "owner").write_text(_owner(site, request), "ascii")
        return page(request, "coach_result.html.j2", status=status, ident=ident,
                    upload=name, report=embedded(found.get("html", "")),
                    headline=found.get("headline"), problems=found["problems"],
                    left_out=found["left_out"], clients=found["clients"])
    finally:
        await form.close()
        if not keep:
            remove(folder)


def _owned(folder: Path, owner: str) -> bool:
    try:
        return hmac.compare_digest((folder / "owner").read_text("ascii"), owner)
    except (OSError, UnicodeDecodeError):
        return False


async def benchmark_pdf(request: Any) -> Any:
    """GET /coach/results/{ident}/benchmark.pdf: the PDF, then the result is deleted."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    from outcomes.report._render import pdf_engine, write_pdf

    site = site_of(request)
    folder = find_folder(site.root, "coach", request.path_params["ident"])
    html_path = folder / "out" / "benchmark.html" if folder else None
    if folder is not None and not _owned(folder, _owner(site, request)):
        html_path = None  # another browser: as if it were not here
    if html_path is None or not html_path.exists():
        return message(404, "Already deleted", "This benchmark is no longer here: it is "
                       "deleted once its PDF is downloaded, or after "
                       f"{site.config.keep_minutes} minutes, and only the browser that "
                       "uploaded the workbook may download it. Upload the workbook again.")
    if pdf_engine() != "weasyprint":
        return message(503, "No PDF here", "This server cannot make PDFs (WeasyPrint is not "
                       "installed). Print the page from your browser instead.")

    def make() -> bytes:
        target = html_path.with_suffix(".pdf")
        try:
            with site.lock:
                write_pdf(html_path.read_text("utf-8"), target)
            return target.read_bytes()
        finally:
            remove(folder)  # gone before the PDF is sent, whatever happens to the download

    data = await run_in_threadpool(make)
    return Response(data, media_type="application/pdf",
                    headers={"content-disposition": 'attachment; filename="benchmark.pdf"'})
