"""The body's pages over HTTP: a study in, a job that validates, reports and builds norms;
hostile zips refused; nothing left behind."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from outcomes._errors import DataError
from outcomes.io import LimitError
from outcomes.web.files import extract_zip
from tests.web.conftest import csrf, leftovers, make_client, study_zip


@pytest.fixture(scope="module")
def body(tmp_path_factory):
    root = tmp_path_factory.mktemp("body") / "private"
    root.mkdir()
    with make_client(root, n_boot=0, k=3) as client:
        yield client, root


def _start(client, name: str, data: bytes, title: str = "Our body"):
    response = client.post("/body/jobs", data={"csrf": csrf(client, "/body"), "title": title},
                           files={"study": (name, data, "application/zip")})
    assert response.status_code == 303, response.text[:400]
    return response.headers["location"]


def _finished(client, where: str, timeout: float = 150):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        page = client.get(where)
        if 'http-equiv="refresh"' not in page.text:
            return page
        time.sleep(0.5)
    raise AssertionError(f"the job at {where} did not finish in {timeout} s")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zipped_study_is_validated_reported_and_gives_norms(body, web_study, tmp_path):
    client, root = body
    where = _start(client, "my-study.zip", study_zip(web_study, tmp_path))
    page = _finished(client, where)
    assert page.status_code == 200
    text = page.text
    assert "Validation: every row is valid" in text and 'id="counts"' in text
    for table in ("coaches", "engagements", "sessions", "responses"):
        assert f"<td>{table}</td>" in text
    assert 'id="report"' in text and "Our body" in text
    assert str(root) not in text
    # the upload and the unpacked study are gone; what the job made waits
    kept = leftovers(root)
    assert not any("input/" in p or "study/" in p for p in kept)
    for name in ("report.pdf", "norms.json"):
        download = client.get(f"{where}/files/{name}")
        assert download.status_code == 200 and len(download.content) > 500
    assert client.get(f"{where}/files/norms.json").json()["k"] == 3
    everything = client.get(f"{where}/everything.zip")
    names = zipfile.ZipFile(io.BytesIO(everything.content)).namelist()
    assert {"report.html", "report.pdf", "norms.json"} <= set(names)
    assert leftovers(root) == []
    assert client.get(where).status_code == 404


def test_rows_that_fail_validation_are_listed_and_downloadable(body, tmp_path):
    from outcomes.study import Study
    from tests.conftest import small_study

    client, root = body
    folder = tmp_path / "broken"
    Study(tables=small_study(), source="small").write(folder)
    sessions = (folder / "sessions.csv").read_text().splitlines()
    first = sessions[1].split(",")
    first[2] = "2024-02-30"  # not a date
    sessions[1] = ",".join(first)
    (folder / "sessions.csv").write_text("\n".join(sessions) + "\n")
    data = _zip({p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})
    where = _start(client, "broken.zip", data)
    page = _finished(client, where).text
    assert "some rows were rejected" in page and 'class="sortable" id="problems"' in page
    assert "sessions.csv" in page and "2024-02-30" in page
    rejected = zipfile.ZipFile(io.BytesIO(client.get(f"{where}/files/rejected.zip").content))
    assert "rejected/sessions.csv" in rejected.namelist()
    deleted = client.post(f"{where}/delete", data={"csrf": csrf(client, "/body")})
    assert deleted.status_code == 303 and leftovers(root) == []


@pytest.mark.parametrize("entries, said", [
    ({"../evil.csv": b"a,b\n"}, "leads outside"),
    ({"/etc/evil.csv": b"a,b\n"}, "leads outside"),
    ({"coaches.csv": b"\0" * 3_000_000}, "zip_ratio"),
])
def test_a_hostile_zip_is_refused_and_nothing_is_written(body, tmp_path, entries, said):
    client, root = body
    where = _start(client, "study.zip", _zip(entries))
    page = _finished(client, where).text
    assert said in page and "stopped" in page
    assert not (root.parent / "evil.csv").exists() and not list(root.rglob("evil.csv"))
    assert not any("input/" in p or "study/" in p for p in leftovers(root))
    client.post(f"{where}/delete", data={"csrf": csrf(client, "/body")})
    assert leftovers(root) == []


def test_extract_zip_refuses_links_and_too_many_entries(tmp_path):
    link = zipfile.ZipInfo("coaches.csv")
    link.external_attr = (0o120777 << 16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(link, "/etc/passwd")
    (tmp_path / "link.zip").write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="link"):
        extract_zip(tmp_path / "link.zip", tmp_path / "a", file="link.zip")
    (tmp_path / "many.zip").write_bytes(_zip({f"f{i}.csv": b"x" for i in range(12)}))
    with pytest.raises(DataError, match="12 entries"):
        extract_zip(tmp_path / "many.zip", tmp_path / "b", file="many.zip", max_entries=10)
    (tmp_path / "bomb.zip").write_bytes(_zip({"a.csv": b"\0" * 2_000_000}))
    with pytest.raises(LimitError, match="zip_ratio"):
        extract_zip(tmp_path / "bomb.zip", tmp_path / "c", file="bomb.zip")
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_jobs_beyond_the_limit_wait_their_turn(tmp_path, web_study):
    from outcomes.web.jobs import new_state, write_state

    root = tmp_path / "private"
    root.mkdir()
    (root / "body-AAAAAAAAAAAAAAAAAAAAAA").mkdir()
    write_state(root / "body-AAAAAAAAAAAAAAAAAAAAAA", new_state({}))
    with make_client(root, max_jobs=1) as client:
        busy = client.post("/body/jobs", data={"csrf": csrf(client, "/body")},
                           files={"study": ("s.zip", b"PK")})
        assert busy.status_code == 503 and busy.headers["retry-after"]
        assert client.get("/health").json()["jobs"] == 1
    assert leftovers(root) == ["body-AAAAAAAAAAAAAAAAAAAAAA/state.json"]


def test_a_job_id_leads_back_to_its_page(body):
    client, _ = body
    response = client.get("/body/jobs", params={"id": "../../etc"})
    assert response.status_code == 303 and response.headers["location"] == "/body/jobs/etc"
    assert client.get("/body/jobs/etc").status_code == 404
