"""Rendering: Jinja2 templates (autoescaped), figures inlined as PNG, HTML and PDF files.

Nothing in a report is fetched when it is viewed: the style sheet is inlined, every figure
is a ``data:image/png;base64`` URI, and the page links nowhere. The PDF is the same HTML
laid out for A4 by WeasyPrint (print CSS: page margins, page numbers, no page break inside
a figure or a table row). Where WeasyPrint or the Pango library it needs is missing, a
plainer PDF of the text and figures is drawn with matplotlib instead, and the report says so.
"""

from __future__ import annotations

import base64
import io
import re
from importlib import resources
from pathlib import Path
from typing import Any

from outcomes._errors import UsageError

__all__ = ["environment", "figure_uri", "render", "write_pdf", "pdf_engine", "visible_text"]

_DPI = 110


def environment():  # noqa: ANN201
    """The Jinja2 environment of the packaged templates, escaping everything by default."""
    import jinja2

    loader = jinja2.PackageLoader("outcomes.report", "templates")
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env


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


def pdf_engine() -> str:
    """``"weasyprint"`` when WeasyPrint and Pango work here, else ``"matplotlib"``."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return "matplotlib"
    return "weasyprint"


def write_pdf(html: str, path: Path, *, fallback: dict[str, Any] | None = None) -> str:
    """Write the PDF of a report; returns the engine used."""
    if pdf_engine() == "weasyprint":
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
