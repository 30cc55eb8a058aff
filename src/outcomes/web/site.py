"""What every page shares: the site's state, pages with their form token, forms, messages.

:class:`Site` holds the settings, the key of the form tokens, the temporary root, the
server's norms and the pool of job processes. :func:`page` renders a template with a valid
form token (and sets its cookie); :func:`read_form` parses a posted form within the count
limit and checks its token and origin; :func:`problem` turns a user's mistake
(:class:`~outcomes._errors.OutcomesError`) into a page that says what to do.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from outcomes.io import LimitError
from outcomes.web.config import WebConfig
from outcomes.web.pages import message_page, render
from outcomes.web.security import CSRF_COOKIE, csrf_token, csrf_valid

__all__ = ["Site", "page", "message", "read_form", "FormRefused", "problem", "site_of"]


@dataclass
class Site:
    """The running site: settings, keys, the private root, the norms and the job pool."""

    config: WebConfig
    key: bytes = b""
    root: Path = Path()
    own_root: bool = False
    norms: Any = None
    norms_error: str | None = None
    pool: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, config: WebConfig) -> Site:
        key = config.secret.encode() if config.secret else secrets.token_bytes(32)
        if config.tmp_dir:
            root, own = Path(config.tmp_dir), False
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
        else:
            root, own = Path(tempfile.mkdtemp(prefix="outcomes-web-")), True
        site = cls(config=config, key=key, root=root, own_root=own)
        if config.norms:
            from outcomes.norms import read_norms

            try:
                site.norms = read_norms(config.norms)
            except Exception as error:  # noqa: BLE001 - said on the coach's page
                site.norms_error = f"The server's norms file could not be read: {error}"
        return site

    def jobs_pool(self) -> Any:
        """The process pool of the body's jobs (started on first use, and again when a job's
        process died and broke it)."""
        with self.lock:
            if self.pool is not None and getattr(self.pool, "_broken", False):
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = None
            if self.pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self.pool = ProcessPoolExecutor(max_workers=self.config.max_jobs,
                                                mp_context=multiprocessing.get_context("spawn"))
            return self.pool

    def stop(self) -> None:
        """Stop the job processes (a job still running is ended: its process would outlive
        the server otherwise); remove the temporary root if this site made it."""
        if self.pool is not None:
            processes = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
                process.join(timeout=5)
        if self.own_root:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)


class FormRefused(Exception):
    """A posted form that cannot be taken: its status and what to say."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


def site_of(request: Any) -> Site:
    """The site a request belongs to."""
    return request.app.state.site  # type: ignore[no-any-return]


def _secure(request: Any, site: Site) -> bool:
    return bool(request.url.scheme == "https" or site.config.proxy
                and request.headers.get("x-forwarded-proto") == "https")


def page(request: Any, template: str, *, status: int = 200, **context: Any) -> Any:
    """A rendered page, with a form token valid for the forms on it."""
    from starlette.responses import HTMLResponse

    site = site_of(request)
    token = csrf_token(site.key, request.cookies.get(CSRF_COOKIE))
    html = render(template, csrf=token, minutes=site.config.keep_minutes, **context)
    response = HTMLResponse(html, status_code=status)
    if token != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=_secure(request, site))
    return response


def message(status: int, title: str, text: str, *, reference: str | None = None) -> Any:
    """A page that says what happened and what to do."""
    from starlette.responses import HTMLResponse

    return HTMLResponse(message_page(status, title, text, reference=reference),
                        status_code=status)


async def read_form(request: Any) -> Any:
    """The posted form, once its origin and token are checked and its files counted.

    Raises
    ------
    FormRefused
        403 for a form from another site or without a valid token; 413 for too many files.
    """
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException

    site = site_of(request)
    origin = request.headers.get("origin")
    # With Referrer-Policy no-referrer a browser sends Origin "null" for the site's own forms;
    # its Sec-Fetch-Site then still says where the form came from.
    host = request.headers.get("host")
    foreign = origin not in (None, "", "null") and urlsplit(origin).netloc != host
    fetched = request.headers.get("sec-fetch-site", "same-origin")
    if foreign or fetched not in ("same-origin", "none"):
        raise FormRefused(403, "Refused", "This form was sent from another site.")
    try:
        form = await request.form(max_files=site.config.max_files, max_fields=50,
                                  max_part_size=64_000)
    except (MultiPartException, HTTPException) as error:
        said = str(getattr(error, "detail", None) or error)
        if "too many files" in said.lower():
            raise FormRefused(413, "Too many files", "This server takes at most "
                              f"{site.config.max_files} files in one upload.") from None
        raise FormRefused(400, "The form could not be read",
                          "Send the form again from the page.") from None
    if not csrf_valid(site.key, request.cookies.get(CSRF_COOKIE), form.get("csrf")):
        await form.close()
        raise FormRefused(403, "The form has expired",
                          "The form's token is missing or old (or the form came from another "
                          "site). Reload the page and send it again.")
    return form


def problem(error: Exception, *, folder: Path | None = None) -> tuple[int, str]:
    """The status and text of a user's mistake, without the private folder's path."""
    text = str(error)
    if folder is not None:
        text = text.replace(str(folder) + "/", "").replace(str(folder), "the upload")
    return (413 if isinstance(error, LimitError) else 422), text
