"""The guard around every page: headers, size and count limits, errors, form tokens, access."""

from __future__ import annotations

import logging

import pytest

from outcomes.web.security import HEADERS
from tests.web.conftest import csrf, leftovers, make_client

TOKEN = "a-body-token-of-some-length"


def _every_kind_of_response(client):
    token = csrf(client)
    yield client.get("/")
    yield client.get("/health")
    yield client.get("/coach")
    yield client.get("/static/web.css")
    yield client.get("/no/such/page")
    yield client.put("/coach")
    yield client.post("/coach/benchmark", data={"csrf": "forged"})
    yield client.post("/coach/benchmark", data={"csrf": token},
                      files={"workbook": ("big.xlsx", b"x" * 30_000)})
    yield client.get("/body", headers={"x-forwarded-for": "203.0.113.9"})
    yield client.get("/body/jobs/" + "A" * 22)


def test_every_response_carries_the_security_headers(root):
    with make_client(root, max_upload_bytes=20_000) as client:
        responses = list(_every_kind_of_response(client))
    statuses = {r.status_code for r in responses}
    assert {200, 403, 404, 405, 413} <= statuses
    for response in responses:
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name)
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        private = not response.url.path.startswith("/static/")
        assert response.headers.get("cache-control") == "no-store" or not private
    assert leftovers(root) == []


def test_an_oversize_upload_gets_413_with_a_message(root):
    with make_client(root, max_upload_bytes=20_000) as client:
        token = csrf(client)
        declared = client.post("/coach/benchmark", data={"csrf": token},
                               files={"workbook": ("big.xlsx", b"x" * 30_000)})

        def chunks():  # no content-length: the body is counted as it arrives
            yield b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token.encode()
            for _ in range(40):
                yield b"y" * 1_000

        streamed = client.post("/coach/benchmark", content=chunks(),
                               headers={"content-type": "multipart/form-data; boundary=b"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "at most 20,000 bytes" in response.text
    assert leftovers(root) == []


def test_too_many_files_get_413_with_a_message(root):
    with make_client(root, max_files=2) as client:
        files = [("exports", (f"e{i}.csv", b"a,b\n1,2\n")) for i in range(3)]
        response = client.post("/body/jobs", data={"csrf": csrf(client)}, files=files)
    assert response.status_code == 413 and "at most 2 files" in response.text
    assert leftovers(root) == []


def test_an_error_shows_a_reference_and_logs_no_data(root, monkeypatch, caplog):
    from outcomes.web import coach

    def broken(request):
        raise RuntimeError("client Jane Doe, ORS 12")

    monkeypatch.setattr(coach, "coach_page", broken)
    with caplog.at_level(logging.ERROR, logger="outcomes.web"), make_client(root) as client:
        response = client.get("/coach")
    assert response.status_code == 500
    assert "Jane" not in response.text and "Traceback" not in response.text
    reference = response.text.split("reference ", 1)[1][:8]
    assert response.headers["x-frame-options"] == "DENY"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert reference in logged and "RuntimeError" in logged and "Jane" not in logged


@pytest.mark.parametrize("how", ["no token", "token of another page", "other origin"])
def test_a_form_without_its_token_is_refused(root, tmp_path, how):
    with make_client(root) as client:
        token = csrf(client)
        data = {"csrf": token}
        headers = {}
        if how == "no token":
            data = {}
        elif how == "token of another page":
            client.cookies.clear()
        else:
            headers = {"origin": "https://elsewhere.example"}
        response = client.post("/coach/benchmark", data=data, headers=headers,
                               files={"workbook": ("a.xlsx", b"PK")})
    assert response.status_code == 403
    assert leftovers(root) == []


def test_without_a_token_the_body_pages_answer_this_computer_only(root):
    with make_client(root) as here:
        assert here.get("/body").status_code == 200
        proxied = here.get("/body", headers={"x-forwarded-for": "198.51.100.7"})
        assert proxied.status_code == 403 and "OUTCOMES_WEB_TOKEN" in proxied.text
    with make_client(root, client=("203.0.113.5", 4000), host="0.0.0.0") as there:
        assert there.get("/body").status_code == 403
        assert there.get("/body/jobs/" + "A" * 22).status_code == 403
        assert there.post("/body/jobs", data={"csrf": "x"}).status_code == 403
        assert there.get("/coach").status_code == 200  # the coach's page is public
    assert leftovers(root) == []


def test_with_a_token_the_body_pages_need_it(root):
    remote = ("203.0.113.5", 4000)
    with make_client(root, client=remote, host="0.0.0.0", token=TOKEN) as client:
        missing = client.get("/body")
        assert missing.status_code == 401 and 'name="token"' in missing.text
        wrong = client.get("/body", headers={"authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 403
        assert client.get("/body", headers={"authorization": f"Bearer {TOKEN}"}
                          ).status_code == 200
        refused = client.post("/body/sign-in", data={"csrf": csrf(client, "/coach"),
                                                     "token": "guess-guess-guess"})
        assert refused.status_code == 403
        signed = client.post("/body/sign-in", data={"csrf": csrf(client, "/coach"),
                                                    "token": TOKEN})
        assert signed.status_code == 303
        assert client.get("/body").status_code == 200
        assert TOKEN not in str(client.cookies.jar)
        client.cookies.clear()
        client.cookies.set("outcomes_access", "0" * 32)
        assert client.get("/body").status_code == 403
    assert leftovers(root) == []


def test_health_says_ok(root, norms_file):
    with make_client(root, norms=str(norms_file)) as client:
        health = client.get("/health").json()
    assert health["status"] == "ok" and health["norms"] is True and health["jobs"] == 0


def _guard(**settings):
    """The guard around an app that reads the whole body, works on it a moment and answers
    200."""
    import asyncio

    from outcomes.web.config import WebConfig
    from outcomes.web.security import Guard

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return Guard(app, WebConfig(**settings), lambda status, title, text: text.encode())


async def _post(guard, chunks, *, pause=0.0, stall=False):
    """POST ``chunks`` through ``guard`` without a length; returns (status, headers)."""
    import asyncio

    left, said = list(chunks), []

    async def receive():
        await asyncio.sleep(pause)
        if not left and stall:
            await asyncio.sleep(3600)
        body = left.pop(0) if left else b""
        return {"type": "http.request", "body": body, "more_body": bool(left) or stall}

    async def send(message):
        said.append(message)

    scope = {"type": "http", "method": "POST", "scheme": "http", "path": "/coach/benchmark",
             "headers": [(b"transfer-encoding", b"chunked")]}
    await guard(scope, receive, send)
    return said[0]["status"], dict(said[0]["headers"])


def test_an_upload_that_stalls_is_dropped_with_408():
    import asyncio
    import time

    guard = _guard(upload_idle_seconds=1)
    began = time.monotonic()
    status, _ = asyncio.run(_post(guard, [b"x" * 100], stall=True))
    assert status == 408 and time.monotonic() - began < 5
    assert guard.held == 0


def test_uploads_held_at_once_are_bounded_and_released():
    import asyncio

    guard = _guard(max_upload_bytes=1_000, max_total_upload_bytes=1_500)

    async def both():
        return await asyncio.gather(*(_post(guard, [b"x" * 400] * 2, pause=0.01)
                                      for _ in range(2)))

    statuses = sorted(status for status, _ in asyncio.run(both()))
    assert statuses == [200, 503]
    assert guard.held == 0
    assert asyncio.run(_post(guard, [b"x" * 400] * 2))[0] == 200  # the room is back
    crowded = [h for s, h in asyncio.run(both()) if s == 503]
    assert crowded and crowded[0][b"retry-after"] == b"60"


def test_the_cookies_are_unreadable_by_scripts_strict_and_secure_behind_https(root):
    with make_client(root, proxy=True, token=TOKEN) as client:
        plain = client.get("/coach").headers["set-cookie"].lower()
        https = {"x-forwarded-proto": "https"}
        client.cookies.clear()
        behind = client.get("/coach", headers=https)
        client.cookies.clear()  # (a Secure cookie is not sent back over the test's http)
        signed = client.post("/body/sign-in", headers=https, data={
            "csrf": csrf(client), "token": TOKEN}).headers["set-cookie"].lower()
    assert "httponly" in plain and "samesite=strict" in plain and "secure" not in plain
    cookie = behind.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert behind.headers["strict-transport-security"].startswith("max-age=")
    assert "httponly" in signed and "secure" in signed and "path=/body" in signed
    assert TOKEN.lower() not in signed


def test_an_abandoned_upload_is_not_logged_as_an_error(caplog):
    import asyncio

    from starlette.requests import ClientDisconnect

    from outcomes.web.config import WebConfig
    from outcomes.web.security import Guard

    async def app(scope, receive, send):
        raise ClientDisconnect  # what reading a form meets when the sender went away

    said = []

    async def send(message):
        said.append(message)

    async def receive():
        return {"type": "http.disconnect"}

    guard = Guard(app, WebConfig(), lambda status, title, text: text.encode())
    with caplog.at_level(logging.INFO, logger="outcomes.web"):
        asyncio.run(guard({"type": "http", "method": "POST", "headers": []}, receive, send))
    assert said == [] and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "abandoned" in caplog.text
