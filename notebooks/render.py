"""Run every notebook and write a rendered copy with its output to reports/notebooks/.

The notebooks are stored twice, kept in step by jupytext: ``<name>.ipynb``, which Jupyter
opens, and ``<name>.py`` in jupytext's percent format, which diffs cleanly for review (a test
checks that the two hold the same cells; JupyterLab with jupytext updates both on save, and
``jupytext --sync notebooks/<name>.py`` does it by hand). Both are stored without outputs.
This script executes each ``.ipynb`` top to bottom with the ``python3`` kernel in this
folder, as JupyterLab would, and writes ``reports/notebooks/<name>.html`` with the outputs::

    python notebooks/render.py                  # all of them
    python notebooks/render.py 01_quickstart    # one

Needs the development extra (nbclient, ipykernel, nbconvert).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbclient
import nbformat
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
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, *, timeout: int = 600):
    """The notebook of ``path``, run top to bottom in its own folder."""
    notebook = nbformat.read(path, as_version=4)
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
