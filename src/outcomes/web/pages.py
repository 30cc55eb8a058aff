"""The pages: Jinja2 templates (autoescaped), the style sheets and the one small script.

The site's pages use the report's own style sheet (``report.css``, served as a file rather
than inlined, so that the Content-Security-Policy needs no inline style) and a few rules of
their own (``web.css``). A report or benchmark made by :mod:`outcomes.report` is shown inside
a page by taking the body of its HTML, which its templates have already escaped. The one
script, ``sort.js``, written for this site and served from it, sorts a table by a column.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["render", "embedded", "static_file", "RETENTION", "message_page"]

#: What the pages say about what is kept.
RETENTION = ("Nothing is stored. Each upload is read in a private temporary folder that is "
             "deleted as soon as the page (or the job's download) is done; results wait for "
             "you at most {minutes} minutes, and are deleted the moment you download them "
             "or press Delete. No client data is written to the server's log.")

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    loader = jinja2.PackageLoader("outcomes.web", "templates")
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    """Render a page of the site."""
    context.setdefault("retention", RETENTION.format(minutes=context.pop("minutes", 30)))
    context.setdefault("csrf", "")
    return str(_environment().get_template(template).render(**context))


def message_page(status: int, title: str, text: str, *, reference: str | None = None) -> bytes:
    """A page that says what happened and what to do (no trace of the code)."""
    return render("message.html.j2", title=title, text=text, status=status,
                  reference=reference).encode("utf-8")


def embedded(html: str) -> Any:
    """The body of a report's HTML, to show inside a page (already escaped by its template)."""
    from markupsafe import Markup

    found = re.search(r"<body[^>]*>(.*)</body>", html, flags=re.S)
    return Markup(found.group(1) if found else "")


@lru_cache(maxsize=1)
def _static() -> dict[str, tuple[bytes, str]]:
    files = {"report.css": resources.files("outcomes.report").joinpath(
        "templates/report.css").read_bytes()}
    folder = resources.files("outcomes.web").joinpath("static")
    for item in folder.iterdir():
        if item.name.endswith((".css", ".js")):
            files[item.name] = item.read_bytes()
    return {name: (data, _TYPES[name[name.rfind("."):]]) for name, data in files.items()}


def static_file(name: str) -> tuple[bytes, str] | None:
    """A static file's bytes and content type, or None."""
    return _static().get(name)
