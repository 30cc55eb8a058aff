"""Shared pieces of the web tests: a small study and its norms, a client, filled workbooks."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")

LOOPBACK = ("127.0.0.1", 50000)
#: Rows of a practice: client, sponsor, status, intake_ors, end_ors, sessions, early_srs.
CLIENTS = [(f"K{i:02d}", "self" if i % 3 else "organisation", "completed",
            12.0 + (i * 7) % 15, 20.0 + (i * 5) % 14, 4 + i % 6, 30.0 + i % 8)
           for i in range(1, 15)]
#: Five typos, each in its own row and column kind: (row index in CLIENTS, column, value).
TYPOS = [(0, 3, "2O"), (2, 4, 44), (4, 1, "employer"), (6, 2, "finished"), (8, 5, "six")]


@pytest.fixture(scope="session")
def web_study():
    from outcomes.simulate.synthetic import simulate_study
    from outcomes.study import Study

    simulated = simulate_study(n_coaches=8, clients_per_coach=10, seed=3)
    return Study(tables=simulated.tables, source="web-study")


@pytest.fixture(scope="session")
def norms_file(web_study, tmp_path_factory) -> Path:
    from outcomes.norms import build_norms

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        norms = build_norms(web_study, n_boot=0, title="Test body")
    return norms.write(tmp_path_factory.mktemp("norms") / "norms.json")


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir()
    return folder


def make_client(root: Path, *, client=LOOPBACK, base_url="http://127.0.0.1:8000", **settings):
    """A test client of an app whose private folders go under ``root`` (addressed as this
    computer, as a browser on it would)."""
    from starlette.testclient import TestClient

    from outcomes.web.app import create_app
    from outcomes.web.config import WebConfig

    settings.setdefault("salt_file", str(root.parent / "salt"))
    config = WebConfig(tmp_dir=str(root), **settings)
    return TestClient(create_app(config), client=client, follow_redirects=False,
                      base_url=base_url)


def csrf(client, path: str = "/coach") -> str:
    """The form token of a page (its cookie is kept by the client)."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, "the page has no form token"
    return found.group(1)


def leftovers(root: Path) -> list[str]:
    """Every file under the private root."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def fill(path: Path, rows=CLIENTS, typos=()) -> Path:
    """Write the template to ``path`` and fill its clients sheet (with ``typos`` put in)."""
    from openpyxl import load_workbook

    from outcomes.benchmarking import write_template

    if not path.exists():
        write_template(path)
    book = load_workbook(path)
    table = [list(r) for r in rows]
    for index, column, value in typos:
        table[index][column] = value
    for row in table:
        book["clients"].append(row)
    book.save(path)
    return path


def study_zip(study, folder: Path, *, top: str = "my-study") -> bytes:
    """A zip of a study's folder, as a body would make it."""
    written = Path(study.write(folder / top))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(written.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(written).as_posix()}")
    return buffer.getvalue()
