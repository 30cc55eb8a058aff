"""The coach's page over HTTP: template, upload, problems, benchmark, PDF; nothing kept."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.web.conftest import TYPOS, csrf, fill, leftovers, make_client


def _upload(client, path, **extra):
    token = csrf(client)
    files = {"workbook": (path.name, path.read_bytes(), "application/octet-stream")}
    files.update(extra)
    return client.post("/coach/benchmark", data={"csrf": token}, files=files)


def test_the_template_is_the_workbook_and_nothing_stays(root, norms_file):
    with make_client(root, norms=str(norms_file)) as client:
        response = client.get("/coach/template.xlsx")
    assert response.status_code == 200
    assert "my_practice.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert {"clients", "sessions"} <= set(book.sheetnames)
    assert leftovers(root) == []


def test_a_filled_workbook_gives_the_benchmark_then_its_pdf(root, norms_file, tmp_path):
    workbook = fill(tmp_path / "my_practice.xlsx")
    with make_client(root, norms=str(norms_file)) as client:
        response = _upload(client, workbook)
        assert response.status_code == 200, response.text[:500]
        page = response.text
        assert 'class="bm-headline"' in page and "Test body" in page
        assert "K01" not in page  # the coach's codes never reach the page
        # the workbook is gone before the page is sent; only the benchmark page waits
        assert {p.rsplit("/", 1)[-1] for p in leftovers(root)} == {"benchmark.html", "owner"}
        link = page.split('id="pdf" href="', 1)[1].split('"', 1)[0]
        own = dict(client.cookies)
        client.cookies.clear()  # another browser, given the address (a log, a screen)
        assert client.get(link).status_code == 404
        client.cookies.set("outcomes_csrf", csrf(client))  # with a valid cookie of its own
        assert client.get(link).status_code == 404
        client.cookies.clear()
        client.cookies.update(own)
        pdf = client.get(link)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert leftovers(root) == []
        again = client.get(link)
        assert again.status_code == 404 and "Upload the workbook again" in again.text


def test_five_typos_give_five_problems_on_one_page(root, norms_file, tmp_path):
    workbook = fill(tmp_path / "typos.xlsx", typos=TYPOS)
    with make_client(root, norms=str(norms_file)) as client:
        response = _upload(client, workbook)
    assert response.status_code == 200  # the other rows are benchmarked
    body = response.text.split('<table class="sortable problems"', 1)[1].split("</table>")[0]
    rows = body.split("<tbody>", 1)[1].count("<tr>")
    assert rows == 5
    assert "5 problems in the workbook" in body
    for index, _, _ in TYPOS:
        assert f'<td data-label="Row" class="number">{index + 3}</td>' in body
    assert body.count('data-label="How to fix it"') == 5


def test_a_workbook_without_usable_rows_shows_only_its_problems(root, norms_file, tmp_path):
    workbook = fill(tmp_path / "bad.xlsx", rows=[("<script>x</script>", "self", "done", "2O",
                                                  20, 5, 30)])
    with make_client(root, norms=str(norms_file)) as client:
        response = _upload(client, workbook)
    assert response.status_code == 422
    assert "bm-headline" not in response.text and "<script>x" not in response.text
    assert "Upload the corrected workbook" in response.text
    assert leftovers(root) == []


def test_an_uploaded_norms_file_is_used_when_the_server_has_none(root, norms_file, tmp_path):
    workbook = fill(tmp_path / "mine.xlsx")
    with make_client(root) as client:
        refused = _upload(client, workbook)
        assert refused.status_code == 422 and "norms.json" in refused.text
        norms = ("norms.json", norms_file.read_bytes(), "application/json")
        response = _upload(client, workbook, norms=norms)
    assert response.status_code == 200 and "Test body" in response.text


def test_a_file_that_is_not_a_workbook_is_refused_with_a_reason(root, norms_file, tmp_path):
    fake = tmp_path / "practice.xlsx"
    fake.write_bytes(b"not a zip at all")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with make_client(root, norms=str(norms_file)) as client:
        broken = _upload(client, fake)
        wrong = _upload(client, text)
    assert broken.status_code == 422 and "practice.xlsx" in broken.text
    assert str(root) not in broken.text  # the private folder is never named
    assert wrong.status_code == 422 and "not an Excel workbook" in wrong.text
    assert leftovers(root) == []
