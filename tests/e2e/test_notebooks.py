"""Every notebook runs top to bottom on the sample data (jupytext -> nbclient, python3 kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01_quickstart", "02_your_data", "03_what_drives_outcome", "04_coaches_and_sessions",
         "05_benchmarking_a_practice", "06_planning_a_study"]


def _run(name: str):
    path = NOTEBOOKS / f"{name}.py"
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return notebook


def _text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "text/plain" in output.get("data", {}):
                parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def test_the_six_notebooks_are_there():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name):
    notebook = _run(name)
    errors = [o for cell in notebook.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    text = _text(notebook)
    assert "Traceback" not in text
    if name == "01_quickstart":  # a newcomer gets factor shares beside 40/30/15/15
        for factor in ("client", "relationship", "expectancy", "technique"):
            assert factor in text
        assert "Share of 'end_score' by lmg" in text and "reference" in text
