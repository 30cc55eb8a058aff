"""What a hostile visitor tries on the pages, and what must hold: uploads that name files
outside themselves, zip paths of every shape, jobs deleted or killed while they run, pages
of another site (forged or rebound to this computer), a benchmark fetched from another
browser."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from outcomes._errors import DataError
from outcomes.web.files import extract_zip, new_folder
from outcomes.web.jobs import new_state, read_state, run_job, write_state
from tests.web.conftest import csrf, leftovers, make_client

SECRET = "SECRET-VALUE-7731"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _job(root: Path, files: dict[str, bytes], **spec) -> Path:
    """A job's folder with ``files`` as its uploads, as POST /body/jobs leaves it."""
    _, folder = new_folder(root, "body")
    (folder / "input").mkdir()
    for name, data in files.items():
        (folder / "input" / name).write_bytes(data)
    write_state(folder, new_state(spec))
    return folder


def _outside(tmp_path: Path) -> Path:
    """A table on the server, outside every upload, holding a value nobody sent."""
    path = tmp_path / "server-side.csv"
    path.write_text(f"coach_id,note\n{SECRET},x\n")
    return path


def _every_text(folder: Path) -> str:
    return " ".join(p.read_text("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_an_uploaded_study_toml_cannot_read_files_outside_the_zip(root, tmp_path, web_study):
    outside = _outside(tmp_path)
    study = tmp_path / "study"
    web_study.write(study)
    files = {p.name: p.read_bytes() for p in study.iterdir() if p.is_file()}
    named = "".join(f'[tables.{kind}]\nfile = "{kind}.csv"\n'
                    for kind in ("engagements", "sessions", "responses"))
    files["study.toml"] = (named + f'[tables.coaches]\nfile = "{outside}"\n'
                           "allow_outside = true\n").encode()
    spec = {"kind": "zip", "upload": "s.zip", "k": 3, "n_boot": 0, "pdf": False,
            "max_zip_entries": 100}
    folder = _job(root, {"s.zip": _zip(files)}, **spec)
    run_job(str(folder), spec)
    state = read_state(folder)
    assert state["status"] == "failed" and "allow_outside" in state["error"]
    assert "study.toml" in state["error"] and SECRET not in _every_text(folder)
    assert not (folder / "input").exists() and not (folder / "study").exists()


def test_a_mapping_cannot_name_a_dictionary_outside_the_upload(root, tmp_path):
    outside = _outside(tmp_path)
    mapping = (f'[source]\nformat = "redcap"\ndictionary = "{outside}"\n'
               '[columns]\nengagement_id = "record_id"\n').encode()
    spec = {"kind": "exports", "exports": ["export.csv"], "mapping": "mapping.toml", "k": 3,
            "n_boot": 0, "pdf": False, "max_zip_entries": 100}
    folder = _job(root, {"export.csv": b"record_id,x\n1,2\n", "mapping.toml": mapping}, **spec)
    run_job(str(folder), spec)
    state = read_state(folder)
    assert state["status"] == "failed" and "dictionary" in state["error"]
    assert "not uploaded" in state["error"] and SECRET not in _every_text(folder)


def test_a_job_deleted_while_it_runs_does_not_come_back(root, tmp_path, web_study, monkeypatch):
    import outcomes.report as report
    from outcomes.web.files import remove

    def deleted_meanwhile(study, *, out, **options):
        remove(Path(out).parent)  # what POST /body/jobs/{id}/delete does, mid-step
        Path(out).mkdir(parents=True, exist_ok=True)  # the step goes on and writes its files
        (Path(out) / "report.html").write_text("<p>the report</p>")

    monkeypatch.setattr(report, "build_report", deleted_meanwhile)
    study = tmp_path / "study"
    web_study.write(study)
    spec = {"kind": "zip", "upload": "s.zip", "k": 3, "n_boot": 0, "pdf": False,
            "max_zip_entries": 100}
    folder = _job(root, {"s.zip": _zip({p.name: p.read_bytes() for p in study.iterdir()})},
                  **spec)
    run_job(str(folder), spec)
    assert not folder.exists() and leftovers(root) == []


def test_a_killed_job_process_fails_its_job_and_the_next_job_still_runs(root):
    with make_client(root) as client:
        site = client.app.state.site
        broken = site.jobs_pool().submit(os.abort)  # a job's process dies
        with pytest.raises(Exception, match="abruptly|terminated"):
            broken.result(timeout=60)
        response = client.post("/body/jobs", data={"csrf": csrf(client, "/body")},
                               files={"study": ("s.zip", b"not a zip", "application/zip")})
        assert response.status_code == 303, response.text[:300]
        ends = time.monotonic() + 60
        while 'http-equiv="refresh"' in (page := client.get(response.headers["location"])).text:
            assert time.monotonic() < ends, "the job never finished"
            time.sleep(0.2)
        assert "is not a zip file" in page.text
    assert not any("input/" in p for p in leftovers(root))


def test_a_job_whose_process_died_is_failed_and_its_upload_removed(root):
    from concurrent.futures import Future

    from outcomes.web.body import _after

    folder = _job(root, {"s.zip": b"PK"}, kind="zip", upload="s.zip")
    state = read_state(folder)
    state["status"], state["steps"][1]["status"] = "running", "running"
    write_state(folder, state)
    (folder / "running").touch()
    died: Future = Future()
    died.set_exception(RuntimeError("process died"))
    _after(folder, died)
    state = read_state(folder)
    assert state["status"] == "failed" and "stopped" in state["error"]
    assert "running" not in {s["status"] for s in state["steps"]}
    assert leftovers(root) == [f"{folder.name}/state.json"]


@pytest.mark.parametrize("host", ["evil.example:8000", "rebound.example", "127.0.0.1.nip.io"])
def test_the_body_pages_refuse_another_sites_name_for_this_computer(root, host):
    with make_client(root) as client:
        assert client.get("/body").status_code == 200
        assert client.get("/body", headers={"host": "localhost:8000"}).status_code == 200
        rebound = client.get("/body", headers={"host": host})
        assert rebound.status_code == 403
        assert client.get("/coach", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("headers", [{"sec-fetch-site": "cross-site", "origin": "null"},
                                     {"sec-fetch-site": "same-site"},
                                     {"origin": "http://127.0.0.1:8001"}])
def test_a_form_from_another_site_is_refused_even_with_a_planted_cookie(root, headers):
    with make_client(root) as client:
        token = csrf(client, "/body")  # a valid pair, as a cookie set from a sibling site
        response = client.post("/body/jobs", data={"csrf": token}, headers=headers,
                               files={"study": ("s.zip", b"PK", "application/zip")})
        assert response.status_code == 403 and "another site" in response.text
        own = client.post("/body/sign-out", data={"csrf": token},
                          headers={"origin": "null", "sec-fetch-site": "same-origin"})
        assert own.status_code == 303  # the site's own form, as a browser sends it
    assert leftovers(root) == []


@pytest.mark.parametrize("name", ["..\\evil.csv", "a\\..\\..\\evil.csv", "C:\\evil.csv",
                                  "C:/evil.csv", "c:evil.csv", "\\\\server\\share\\evil.csv",
                                  "/evil.csv", "a/../../evil.csv", "./../evil.csv",
                                  "a/b/../../../evil.csv"])
def test_every_shape_of_a_path_out_of_the_folder_is_refused(tmp_path, name):
    placeholder = "N" * len(name.encode())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(placeholder, b"a,b\n")
    # the hostile name written raw, as a crafted zip holds it
    data = buffer.getvalue().replace(placeholder.encode(), name.encode())
    (tmp_path / "s.zip").write_bytes(data)
    with pytest.raises(DataError, match="outside the folder"):
        extract_zip(tmp_path / "s.zip", tmp_path / "out" / "dest", file="s.zip")
    assert not list(tmp_path.rglob("evil*"))


def test_lookalikes_of_a_climb_stay_inside_and_collisions_are_refused(tmp_path):
    lookalikes = {"\u2025/a.csv": b"1", "%2e%2e/b.csv": b"2", "\uff0e\uff0e/c.csv": b"3",
                  "Coaches.csv": b"4", "coaches.csv": b"5"}
    (tmp_path / "l.zip").write_bytes(_zip(lookalikes))
    dest = extract_zip(tmp_path / "l.zip", tmp_path / "l", file="l.zip")
    inside = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert len(inside) == 5 and not list(tmp_path.glob("*.csv"))
    for entries in ({"a": b"1", "a/b.csv": b"2"}, {"a/b.csv": b"1", "a": b"2"},
                    {"x.csv": b"1", "./x.csv": b"2"}):
        (tmp_path / "c.zip").write_bytes(_zip(entries))
        target = tmp_path / f"c{len(list(tmp_path.iterdir()))}"
        with pytest.raises(DataError, match="twice"):
            extract_zip(tmp_path / "c.zip", target, file="c.zip")


def test_many_small_entries_that_together_unpack_a_thousandfold_are_refused(tmp_path):
    from outcomes.io import LimitError

    entries = {f"part-{i:03d}.csv": b"\0" * 999_999 for i in range(120)}  # each below 1 MB
    (tmp_path / "many.zip").write_bytes(_zip(entries))
    assert (tmp_path / "many.zip").stat().st_size < 200_000
    with pytest.raises(LimitError, match="zip_ratio"):
        extract_zip(tmp_path / "many.zip", tmp_path / "out", file="many.zip")
    assert not (tmp_path / "out").exists()


def test_stopping_the_server_ends_the_job_processes(root):
    with make_client(root) as client:
        pool = client.app.state.site.jobs_pool()
        pid = pool.submit(os.getpid).result(timeout=60)
        pool.submit(time.sleep, 120)  # a job still running when the server stops
        time.sleep(0.2)
    ends = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < ends, "a job's process outlived the server"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status
