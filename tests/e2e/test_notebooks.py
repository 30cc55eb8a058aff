"""Every notebook is a real .ipynb, in step with its jupytext .py, and runs top to bottom as a
Jupyter user runs it (nbclient, the python3 kernel of this environment), showing its results
as rich output with headings a person reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01_quickstart", "02_your_data", "03_what_drives_outcome", "04_coaches_and_sessions",
         "05_benchmarking_a_practice", "06_planning_a_study"]
CODE_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _data_columns() -> set[str]:
    """The analysis table's columns: names a researcher types, so a table of the data itself
    may show them; a table of results may not show code names."""
    from outcomes.analysis import FACTORS, VARIABLES

    return ({"engagement_id", "coach_id"} | {v.name for v in VARIABLES}
            | {c for columns in FACTORS.values() for c in columns})


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def _run(name: str):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300,
                                     kernel_name=notebook.metadata.kernelspec.name,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return notebook


def _outputs(notebook, kind: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "stream" and output.get("output_type") == "stream":
                found.append(output["text"])
            elif kind in output.get("data", {}):
                found.append(output["data"][kind])
    return found


def test_the_six_notebooks_are_there_in_both_forms():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_ipynb_is_in_step_with_its_py(name):
    """Edit either one in JupyterLab (jupytext pairs them) or run `jupytext --sync`."""
    ipynb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    py = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert _cells(ipynb) == _cells(py), f"run: jupytext --sync notebooks/{name}.py"
    assert ipynb.metadata.jupytext.formats == "ipynb,py:percent"
    assert ipynb.metadata.kernelspec.name == "python3"
    stored = [o for cell in ipynb.cells for o in cell.get("outputs", [])]
    assert not stored, "notebooks are stored without outputs (reports/notebooks/ has them)"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_shows_results_without_print(name):
    notebook = _run(name)
    errors = [o for cell in notebook.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert "Traceback" not in "\n".join(_outputs(notebook, "stream"))
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert not any("print(" in source for source in code), "end the cell on the result"
    rich = _outputs(notebook, "text/html")
    assert rich, "results show as HTML"
    headings = [h for page in rich for head in re.findall(r"<thead>(.*?)</thead>", page, re.S)
                for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
    code = [h for h in headings if CODE_NAME.search(h) and h not in _data_columns()]
    assert not code, f"headings are words, not code: {code}"
    if name == "01_quickstart":  # a newcomer gets factor shares beside 40/30/15/15
        page = "\n".join(rich)
        for factor in ("Client", "Relationship", "Expectancy", "Technique"):
            assert factor in page
        assert 'class="apa-table"' in page and "Asay &amp; Lambert (1999)" in page
        assert "<strong>Comparison</strong>" in page
    if name in ("01_quickstart", "03_what_drives_outcome"):  # intention to treat, beside
        _shows_itt_beside_complete_cases(notebook, "\n".join(rich),
                                         sensitivity=name == "03_what_drives_outcome")


def _shows_itt_beside_complete_cases(notebook, page: str, *, sensitivity: bool) -> None:
    """The intention-to-treat (MI) shares with their intervals beside the complete-case
    shares, and the sentence that says which a conclusion rests on; notebook 03 also shows
    the missingness report and the dropout sensitivity with its tipping point, and says in
    a markdown cell which shares the conclusions rest on and why."""
    assert "n = 1140 clients: every client with any value is kept (intention to treat" in page
    assert "<th>Complete cases (n = 842)</th>" in page and "<th>95 % interval</th>" in page
    assert "The conclusion rests on the intention-to-treat shares" in page
    if not sensitivity:
        return
    assert "<strong>MissingnessReport</strong>" in page and "Relationship ahead" in page
    shown = _outputs(notebook, "text/markdown")
    assert any(re.search(r"\*\*Tipping point:\*\* .* \d+\.\d points", m) for m in shown)
    assert _outputs(notebook, "image/png"), "the sensitivity curve is drawn"
    prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "Which shares the conclusions rest on, and why" in prose
