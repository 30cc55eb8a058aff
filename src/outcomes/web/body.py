"""The body's pages: upload a study, follow the job, read and download what it made.

Every page here passes :func:`~outcomes.web.security.access_problem` first: without an
access token only this computer is served; with one, only requests that carry it. A study
comes as a zip of its folder, or as survey exports with their mapping file; the job
(:mod:`outcomes.web.jobs`) validates it, writes the report and builds the norms, and its page
shows each step as it goes, the counts and problems of the validation (a table sorted by
any column), the report, and the downloads. Downloading everything at once deletes the job.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from outcomes.web.files import find_folder, new_folder, remove, safe_name, save_upload
from outcomes.web.jobs import OUTPUTS, new_state, read_state, run_job, running_jobs, write_state
from outcomes.web.pages import embedded
from outcomes.web.security import ACCESS_COOKIE, access_cookie, access_problem
from outcomes.web.site import FormRefused, message, page, read_form, site_of

__all__ = ["body_page", "sign_in", "sign_out", "start_job", "job_page", "job_file",
           "job_everything", "delete_job", "find_job"]


def _refused(request: Any) -> Any:
    found = access_problem(request, site_of(request).config)
    if found is None:
        return None
    status, text = found
    if site_of(request).config.token:
        return page(request, "sign_in.html.j2", status=status, text=text)
    return message(status, "Not on this address", text)


async def body_page(request: Any) -> Any:
    """GET /body: upload a study (or come back to a job)."""
    refused = _refused(request)
    return refused or page(request, "body.html.j2", signed_in=bool(site_of(request).config.token))


async def sign_in(request: Any) -> Any:
    """POST /body/sign-in: the access token in, a cookie holding its keyed hash out."""
    import hmac

    from starlette.responses import RedirectResponse

    site = site_of(request)
    try:
        form = await read_form(request)
    except FormRefused as refused:
        return message(refused.status, refused.title, refused.text)
    given = str(form.get("token") or "")
    if not site.config.token or not hmac.compare_digest(access_cookie(given),
                                                        access_cookie(site.config.token)):
        return page(request, "sign_in.html.j2", status=403,
                    text="That is not the access token. Try again.")
    response = RedirectResponse("/body", status_code=303)
    response.set_cookie(ACCESS_COOKIE, access_cookie(given), httponly=True, samesite="strict",
                        path="/body", secure=request.url.scheme == "https" or site.config.proxy)
    return response


async def sign_out(request: Any) -> Any:
    """POST /body/sign-out: forget the access cookie."""
    from starlette.responses import RedirectResponse

    try:
        await read_form(request)
    except FormRefused as refused:
        return message(refused.status, refused.title, refused.text)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(ACCESS_COOKIE, path="/body")
    return response


async def _save_study(form: Any, inbox: Path) -> dict[str, Any]:
    """Save the uploaded study into ``inbox``; the job's spec, or a FormRefused."""
    study = form.get("study")
    if getattr(study, "filename", None):
        name = safe_name(study.filename, "study.zip")
        if not name.lower().endswith(".zip"):
            raise FormRefused(422, "Not a zip", f"{name} is not a .zip file. Zip the study "
                              "folder (right-click > Compress) and upload the .zip.")
        await save_upload(study, inbox, name)
        return {"kind": "zip", "upload": name}
    mapping = form.get("mapping")
    exports = [f for f in form.getlist("exports") if getattr(f, "filename", None)]
    if not getattr(mapping, "filename", None) or not exports:
        raise FormRefused(422, "Nothing to read", "Upload a zip of the study folder, or the "
                          "survey exports together with their mapping file (mapping.toml).")
    names = [safe_name(f.filename, f"export-{i}.csv") for i, f in enumerate(exports)]
    mapping_name = safe_name(mapping.filename, "mapping.toml")
    if len(set(names + [mapping_name])) < len(names) + 1:
        raise FormRefused(422, "Two files with one name", "Give each uploaded file its own "
                          "name.")
    for upload, name in zip(exports, names, strict=True):
        await save_upload(upload, inbox, name)
    await save_upload(mapping, inbox, mapping_name)
    for extra in form.getlist("dictionary"):
        if getattr(extra, "filename", None):
            await save_upload(extra, inbox, safe_name(extra.filename, "dictionary.csv"))
    return {"kind": "exports", "exports": names, "mapping": mapping_name}


async def start_job(request: Any) -> Any:
    """POST /body/jobs: save the upload in a new job's folder and start the job."""
    from starlette.responses import RedirectResponse

    refused = _refused(request)
    if refused:
        return refused
    site = site_of(request)
    try:
        form = await read_form(request)
    except FormRefused as refused_form:
        return message(refused_form.status, refused_form.title, refused_form.text)
    if running_jobs(site.root) >= site.config.max_jobs:
        await form.close()
        response = message(503, "Busy", f"{site.config.max_jobs} jobs are running, as many as "
                           "this server takes at once. Try again in a few minutes.")
        response.headers["retry-after"] = "120"
        return response
    ident, folder = new_folder(site.root, "body")
    try:
        (folder / "input").mkdir(mode=0o700)
        spec = await _save_study(form, folder / "input")
    except FormRefused as refused_form:
        remove(folder)
        return message(refused_form.status, refused_form.title, refused_form.text)
    finally:
        await form.close()
    config = site.config
    spec.update(k=config.k, n_boot=config.n_boot, pdf=config.report_pdf,
                salt_file=config.salt_file, max_zip_entries=config.max_zip_entries,
                title=str(form.get("title") or "").strip()[:200] or None)
    write_state(folder, new_state(spec))
    try:
        future = site.jobs_pool().submit(run_job, str(folder), spec)
    except Exception:
        remove(folder)  # the upload is not kept for a job that never starts
        raise
    future.add_done_callback(lambda done: _after(folder, done))
    return RedirectResponse(f"/body/jobs/{ident}", status_code=303)


def _after(folder: Path, future: Any) -> None:
    """Mark a job failed when its process died (its own errors are in its state)."""
    if future.exception() is None:
        return
    state = read_state(folder)
    if state is not None and state["status"] in ("queued", "running"):
        for step in state["steps"]:
            if step["status"] == "running":
                step["status"] = "failed"
        state.update(status="failed", error="The job's process stopped; nothing you sent was "
                     "kept. Upload the study again.")
        write_state(folder, state)
        remove(folder / "input")
        remove(folder / "study")
        (folder / "running").unlink(missing_ok=True)


def _job(request: Any) -> tuple[Any, Path | None, dict[str, Any] | None]:
    refused = _refused(request)
    if refused:
        return refused, None, None
    site = site_of(request)
    folder = find_folder(site.root, "body", request.path_params["ident"])
    state = read_state(folder) if folder else None
    if folder is None or state is None:
        return message(404, "No such job", "There is no job with this id here: it was "
                       "deleted (downloaded, or kept longer than "
                       f"{site.config.keep_minutes} minutes), or the id is mistyped."), None, None
    return None, folder, state


async def job_page(request: Any) -> Any:
    """GET /body/jobs/{ident}: the job's progress and, as they come, its results."""
    refused, folder, state = _job(request)
    if refused:
        return refused
    assert folder is not None and state is not None
    report_html = folder / "out" / "report.html"
    report = embedded(report_html.read_text("utf-8")) if state["status"] == "done" \
        and report_html.exists() else None
    files = [name for name, (path, _) in OUTPUTS.items() if (folder / "out" / path).exists()]
    rejected = any((folder / "out" / "rejected").glob("*.csv"))
    return page(request, "job.html.j2", ident=request.path_params["ident"], state=state,
                report=report, files=files, rejected=rejected,
                waiting=state["status"] in ("queued", "running"))


def _zip(folder: Path, only: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            inside = path.relative_to(folder).as_posix()
            if path.is_file() and (only is None or inside.startswith(only)):
                archive.write(path, inside)
    return buffer.getvalue()


async def job_file(request: Any) -> Any:
    """GET /body/jobs/{ident}/files/{name}: one file the job made."""
    from starlette.responses import Response

    refused, folder, _ = _job(request)
    if refused:
        return refused
    assert folder is not None
    name = request.path_params["name"]
    if name == "rejected.zip" and (folder / "out" / "rejected").is_dir():
        data, kind = _zip(folder / "out", "rejected/"), "application/zip"
    elif name in OUTPUTS and (folder / "out" / OUTPUTS[name][0]).exists():
        data, kind = (folder / "out" / OUTPUTS[name][0]).read_bytes(), OUTPUTS[name][1]
    else:
        return message(404, "No such file", f"This job has no file {name[:60]}.")
    return Response(data, media_type=kind,
                    headers={"content-disposition": f'attachment; filename="{name}"'})


async def job_everything(request: Any) -> Any:
    """GET /body/jobs/{ident}/everything.zip: all the job made, then the job is deleted."""
    from starlette.responses import Response

    refused, folder, state = _job(request)
    if refused:
        return refused
    assert folder is not None and state is not None
    if state["status"] in ("queued", "running"):
        return message(409, "Not finished", "The job is still running; come back when it is "
                       "done.")
    data = _zip(folder / "out")
    remove(folder)  # gone before the zip is sent
    return Response(data, media_type="application/zip",
                    headers={"content-disposition": 'attachment; filename="outcomes.zip"'})


async def delete_job(request: Any) -> Any:
    """POST /body/jobs/{ident}/delete: delete the job and all it made, now."""
    from starlette.responses import RedirectResponse

    refused, folder, _ = _job(request)
    if refused:
        return refused
    try:
        await read_form(request)
    except FormRefused as refused_form:
        return message(refused_form.status, refused_form.title, refused_form.text)
    remove(folder)
    return RedirectResponse("/body", status_code=303)


async def find_job(request: Any) -> Any:
    """GET /body/jobs?id=...: come back to a job by its id."""
    from starlette.responses import RedirectResponse

    refused = _refused(request)
    if refused:
        return refused
    ident = "".join(c for c in str(request.query_params.get("id", "")) if c.isalnum()
                    or c in "-_")[:40]
    return RedirectResponse(f"/body/jobs/{ident}" if ident else "/body", status_code=303)
