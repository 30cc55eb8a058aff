"""Rendering: Jinja2 templates (autoescaped), figures inlined as PNG, HTML and PDF files.

Nothing in a report is fetched when it is viewed: the style sheet is inlined, every figure
is a ``data:image/png;base64`` URI, and the page links nowhere. The PDF is the same HTML
laid out for A4 (print CSS: page margins, the title and page numbers at the foot, no page
break inside a figure or a table row) by the first engine of ``prefer`` that works here:

- ``"chromium"``: headless Chromium's ``--print-to-pdf`` (Debian's ``chromium``), about
  three times faster than WeasyPrint on a report of fifteen pages; run with every host
  name unresolvable and a throw-away profile, on a page that holds no script and only
  ``data:`` images, so it can fetch nothing; a body's report starts it while the numbers
  are computed (:mod:`outcomes._chromium`), so that only the printing is left;
- ``"weasyprint"``: WeasyPrint, in the process (needs the Pango library);
- otherwise a plainer PDF of the text and figures drawn with matplotlib, and the report
  says so.

A Chromium that fails (exit code, time-out, no PDF written) hands over to WeasyPrint.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from outcomes._chromium import (
    CHROMIUM_SECONDS,
    Printer,
    chromium,
    memory_folder,
    take_started,
)
from outcomes._errors import UsageError

__all__ = ["environment", "figure_uri", "render", "write_pdf", "pdf_engine", "visible_text",
           "chromium", "css_string", "start_printer", "ENGINES"]

_DPI = 110
#: The PDF engines, fastest first; the matplotlib fallback is always available.
ENGINES = ("chromium", "weasyprint", "matplotlib")
#: Executable names of Chromium (Debian, other distributions, Google's build).


def environment():  # noqa: ANN201
    """The Jinja2 environment of the packaged templates, escaping everything by default."""
    import jinja2

    loader = jinja2.PackageLoader("outcomes.report", "templates")
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["css_string"] = css_string
    return env


def css_string(text: Any) -> Any:
    r"""``text`` as a quoted CSS string, safe inside ``<style>`` (no HTML escaping applies
    there): backslash, quotes, angle brackets, ampersands and control characters become CSS
    escapes.

    Examples
    --------
    >>> print(css_string('Q1 "A" </style>'))
    "Q1 \22 A\22  \3c /style\3e "
    """
    from markupsafe import Markup

    out = "".join(f"\\{ord(c):x} " if c in '\\"\'<>&' or ord(c) < 32 else c
                  for c in str(text))
    return Markup(f'"{out}"')


def figure_uri(figure: Any) -> str:
    """A matplotlib Figure as a ``data:`` URI of a PNG (the figure is closed)."""
    from outcomes._plotting import pyplot

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight",
                   metadata={"Software": None})
    pyplot().close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render(template: str, context: dict[str, Any]) -> str:
    """Render a packaged template with the packaged style sheet inlined."""
    css = resources.files("outcomes.report").joinpath("templates/report.css").read_text("utf-8")
    return environment().get_template(template).render(css=css, **context)


def visible_text(html: str) -> str:
    """The HTML without its inlined images (``data:`` URIs), for searching what is shown."""
    return re.sub(r"data:[a-z]+/[a-z+.-]+;base64,[A-Za-z0-9+/=]+", "data:", html)


def _weasyprint_works() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def pdf_engine(prefer: Sequence[str] = ("weasyprint",)) -> str:
    """The first engine of ``prefer`` that is available here (``"chromium"`` when an
    executable is found, ``"weasyprint"`` when WeasyPrint and Pango load), else
    ``"matplotlib"``."""
    for engine in prefer:
        if engine == "chromium" and chromium() is not None:
            return "chromium"
        if engine == "weasyprint" and _weasyprint_works():
            return "weasyprint"
    return "matplotlib"


def start_printer(prefer: Sequence[str]) -> Any:
    """A Chromium started now to print later (:class:`~outcomes._chromium.Printer`), or
    the one the command line started ahead (:func:`~outcomes._chromium.started_ahead`);
    None where Chromium is not the engine ``prefer`` picks here, or on Windows."""
    if os.name != "posix" or pdf_engine(prefer) != "chromium":
        return None
    waiting = take_started()
    if waiting is not None:
        return waiting
    executable = chromium()
    return None if executable is None else Printer(executable, seconds=CHROMIUM_SECONDS)


def write_pdf(html: str, path: Path, *, fallback: dict[str, Any] | None = None,
              prefer: Sequence[str] = ("weasyprint",), source: Path | None = None,
              printer: Any = None) -> str:
    """Write the PDF of a report with the first engine of ``prefer`` that works here;
    returns the engine used. ``source`` is the written HTML file (Chromium prints a file;
    without it a temporary copy is written); ``printer`` a Chromium already started
    (:func:`start_printer`), tried first."""
    engine = pdf_engine(prefer)
    if engine == "chromium" and printer is not None and source is not None \
            and printer.print_pdf(source, path):
        return "chromium"
    if engine == "chromium" and _chromium_pdf(html, path, source):
        return "chromium"
    if engine == "chromium":
        engine = pdf_engine([e for e in prefer if e != "chromium"])
    if engine == "weasyprint":
        import logging

        import weasyprint

        for name in ("weasyprint", "fontTools"):
            logging.getLogger(name).setLevel(logging.ERROR)
        fetcher = (weasyprint.URLFetcher(allowed_protocols=("data",))
                   if hasattr(weasyprint, "URLFetcher") else _data_only)
        options = {"pdf_tags": True} if "pdf_tags" in getattr(
            weasyprint, "DEFAULT_OPTIONS", {}) else {}
        weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(str(path), **options)
        return "weasyprint"
    _matplotlib_pdf(path, fallback or {})
    return "matplotlib"


def _chromium_pdf(html: str, path: Path, source: Path | None) -> bool:
    """Print the page to ``path`` with headless Chromium; False when it did not work.

    Every host name resolves to nothing and the profile is a fresh temporary folder; the
    page holds no script and only ``data:`` images, so printing fetches nothing. The sandbox
    is left on except for root, which Chromium refuses to sandbox.
    """
    executable = chromium()
    if executable is None:
        return False

    with tempfile.TemporaryDirectory(prefix="outcomes-pdf-", dir=memory_folder()) as scratch:
        page = source
        if page is None:
            page = Path(scratch) / "page.html"
            page.write_text(html, encoding="utf-8")
        target = Path(scratch) / "out.pdf"
        command = [executable, "--headless", "--disable-gpu", "--no-first-run",
                   "--no-default-browser-check", "--disable-extensions",
                   "--disable-background-networking", "--disable-sync", "--mute-audio",
                   "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={scratch}",
                   "--no-pdf-header-footer", f"--print-to-pdf={target}",
                   Path(page).resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")
        try:
            done = subprocess.run(command, capture_output=True, timeout=CHROMIUM_SECONDS,
                                  env={**os.environ, "HOME": scratch}, check=False)
        except (OSError, subprocess.SubprocessError):
            return False
        if done.returncode != 0 or not target.exists() or \
                target.read_bytes()[:5] != b"%PDF-":
            return False
        shutil.move(str(target), str(path))
    return True


def _data_only(url: str, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - old API
    import weasyprint

    if not url.startswith("data:"):
        raise UsageError(f"the report refers to {url}; a report must not fetch anything.")
    return weasyprint.default_url_fetcher(url, *args, **kwargs)


def _matplotlib_pdf(path: Path, content: dict[str, Any]) -> None:
    """A plain PDF: pages of text (title and paragraphs) and one page per figure."""
    import textwrap

    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.image import imread

    from outcomes._plotting import pyplot

    plt = pyplot()
    with PdfPages(path) as pdf:
        lines = [content.get("title", "Report"), ""]
        for paragraph in content.get("paragraphs", []):
            lines += textwrap.wrap(paragraph, 95) + [""]
        for start in range(0, max(len(lines), 1), 60):
            figure = plt.figure(figsize=(8.27, 11.69))
            figure.text(0.06, 0.96, "\n".join(lines[start:start + 60]), va="top",
                        family="DejaVu Sans", fontsize=8.5)
            pdf.savefig(figure)
            plt.close(figure)
        for item in content.get("figures", []):
            data = base64.b64decode(item["src"].split(",", 1)[1])
            figure = plt.figure(figsize=(8.27, 11.69))
            ax = figure.add_axes((0.06, 0.3, 0.88, 0.6))
            ax.imshow(imread(io.BytesIO(data), format="png"))
            ax.axis("off")
            figure.text(0.06, 0.25, "\n".join(textwrap.wrap(item["caption"], 95)), va="top",
                        fontsize=9)
            pdf.savefig(figure)
            plt.close(figure)
