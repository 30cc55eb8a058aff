"""Run every notebook and write a rendered copy with its output to reports/notebooks/.

The notebooks are stored as Python files in jupytext's percent format (the source of
truth: they diff cleanly). This script reads each one, executes it top to bottom with the
``python3`` kernel in this folder, and writes ``reports/notebooks/<name>.html``::

    python notebooks/render.py                  # all of them
    python notebooks/render.py 01_quickstart    # one

Needs the development extra (jupytext, nbclient, ipykernel) and nbconvert.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbclient
from nbconvert import HTMLExporter

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "reports" / "notebooks"

# nbconvert's "basic" template gives the cells alone; this short page around them keeps each
# file self-contained without repeating the full Jupyter stylesheet in every copy.
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #222; }}
pre, code {{ font-family: ui-monospace, monospace; font-size: 0.9em; }}
.jp-InputArea pre {{ background: #f6f8fa; padding: 0.6rem; overflow-x: auto; }}
.jp-OutputArea pre {{ padding: 0.4rem 0.6rem; overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""


def notebooks() -> list[Path]:
    """The notebooks, in order."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def execute(path: Path, *, timeout: int = 600):
    """The notebook of ``path``, run top to bottom in its own folder."""
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=timeout,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in notebooks() if not names or p.stem in names]
    for path in chosen:
        start = time.perf_counter()
        notebook = execute(path)
        body, _ = HTMLExporter(template_name="basic").from_notebook_node(notebook)
        html = PAGE.format(title=path.stem.replace("_", " "), body=body)
        target = OUT / f"{path.stem}.html"
        target.write_text(html, encoding="utf-8")
        print(f"{target.relative_to(HERE.parent)}  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
