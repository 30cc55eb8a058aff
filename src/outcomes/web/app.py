"""The web application: routes, the guard around them, start and stop.

:func:`create_app` builds the Starlette application from a :class:`WebConfig`;
:func:`app_from_environment` builds it from ``OUTCOMES_WEB_*`` variables (what each worker
process of ``outcomes serve --workers N`` runs).

=============================================  =============================================
``/``                                          what the site does, for whom
``/health``                                    ``{"status": "ok", ...}`` for a load balancer
``/coach``, ``/coach/template.xlsx``           the coach's page and workbook template
``/coach/benchmark`` (POST)                    a workbook in, its problems and benchmark out
``/coach/results/{id}/benchmark.pdf``          the benchmark's PDF (then it is deleted)
``/body``, ``/body/sign-in``                   the body's upload page (access-controlled)
``/body/jobs`` (POST), ``/body/jobs/{id}``     start a job; its progress and results
``/body/jobs/{id}/files/{name}``               report.pdf, norms.json, rejected.zip, ...
``/body/jobs/{id}/everything.zip``             all of it, then the job is deleted
``/static/{name}``                             report.css, web.css, sort.js
=============================================  =============================================
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from outcomes.web.config import WebConfig, load_config
from outcomes.web.files import sweep
from outcomes.web.pages import message_page, static_file
from outcomes.web.site import Site, page, site_of

__all__ = ["create_app", "app_from_environment"]


async def _index(request: Any) -> Any:
    return page(request, "index.html.j2")


async def _health(request: Any) -> Any:
    from importlib.metadata import version

    from starlette.responses import JSONResponse

    from outcomes.web.jobs import running_jobs

    site = site_of(request)
    return JSONResponse({"status": "ok", "version": version("outcomes"),
                         "norms": site.norms is not None,
                         "jobs": running_jobs(site.root), "max_jobs": site.config.max_jobs})


async def _static(request: Any) -> Any:
    from starlette.responses import Response

    found = static_file(request.path_params["name"])
    if found is None:
        return await _not_found(request, None)
    data, kind = found
    return Response(data, media_type=kind, headers={"cache-control": "public, max-age=3600"})


async def _not_found(request: Any, error: Any) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse(message_page(404, "Not here", "There is no page at this address. "
                                     "Start from the home page."), status_code=404)


async def _not_allowed(request: Any, error: Any) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse(message_page(405, "Not allowed", "This address does not take that "
                                     "kind of request. Use the forms on the pages."),
                        status_code=405)


def _routes() -> list[Any]:
    from starlette.routing import Route

    from outcomes.web import body, coach

    return [
        Route("/", _index), Route("/health", _health),
        Route("/static/{name}", _static),
        Route("/coach", coach.coach_page),
        Route("/coach/template.xlsx", coach.template_file),
        Route("/coach/benchmark", coach.benchmark_upload, methods=["POST"]),
        Route("/coach/results/{ident}/benchmark.pdf", coach.benchmark_pdf),
        Route("/body", body.body_page),
        Route("/body/sign-in", body.sign_in, methods=["POST"]),
        Route("/body/sign-out", body.sign_out, methods=["POST"]),
        Route("/body/jobs", body.start_job, methods=["POST"]),
        Route("/body/jobs", body.find_job, methods=["GET"]),
        Route("/body/jobs/{ident}", body.job_page),
        Route("/body/jobs/{ident}/files/{name}", body.job_file),
        Route("/body/jobs/{ident}/everything.zip", body.job_everything),
        Route("/body/jobs/{ident}/delete", body.delete_job, methods=["POST"]),
    ]


def create_app(config: WebConfig | None = None) -> Any:
    """The web application (a Starlette ASGI app) for ``config``.

    Parameters
    ----------
    config : WebConfig, optional
        Default: :func:`~outcomes.web.config.load_config` (environment variables).

    Examples
    --------
    >>> from starlette.testclient import TestClient
    >>> with TestClient(create_app(WebConfig())) as client:
    ...     client.get("/health").json()["status"]
    'ok'
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from outcomes.web.security import Guard

    config = config or load_config()
    site = Site.start(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async def sweeper() -> None:
            while True:
                await asyncio.sleep(60)
                sweep(site.root, config.keep_minutes)

        task = asyncio.get_running_loop().create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            site.stop()

    def error_page(status: int, title: str, text: str) -> bytes:
        return message_page(status, title, text)

    app = Starlette(routes=_routes(), lifespan=lifespan,
                    middleware=[Middleware(Guard, config=config, error_page=error_page)],
                    exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.site = site
    return app


def app_from_environment() -> Any:
    """The application from ``OUTCOMES_WEB_*`` variables (and ``OUTCOMES_WEB_CONFIG``, a
    TOML file), for ``uvicorn --factory outcomes.web.app:app_from_environment``."""
    import os

    return create_app(load_config(os.environ.get("OUTCOMES_WEB_CONFIG") or None))
