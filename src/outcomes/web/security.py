"""What keeps the pages safe to serve: headers, body limits, errors, form tokens, access.

* :class:`Guard` wraps the whole application. Every response, errors included, carries a
  strict Content-Security-Policy (nothing but the site itself; images may be ``data:`` URIs,
  as the reports inline their figures) and the usual security headers; a request body larger
  than the limit gets 413 with a message before it is read, one that stalls 408, and one
  that would take the bodies held at once beyond their limit 503; an error that escapes a page
  becomes a plain page with a reference id, and only the id, the error's kind and the line
  of code that raised it are logged, never a message (it may quote the data) or a value.
* Form tokens (CSRF): a random nonce signed with the server's key, kept in a cookie the
  page's scripts cannot read (``SameSite=Strict``) and sent back in every form; a post
  without a matching, signed token, or from another origin, is refused (403).
* Access to the body's pages: without a token they answer only requests made on this
  computer (a loopback address, no proxy header, the server named as this computer); with a
  token, only requests that carry it, as a cookie set by the sign-in form or an
  ``Authorization: Bearer`` header (401 when it is missing, 403 when it is wrong).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import traceback
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from outcomes.web.config import WebConfig, is_loopback

__all__ = ["HEADERS", "Guard", "reference_id", "log_error", "csrf_token", "csrf_valid",
           "access_problem", "access_cookie", "is_local", "CSRF_COOKIE", "ACCESS_COOKIE"]

LOG = logging.getLogger("outcomes.web")

CSRF_COOKIE = "outcomes_csrf"
ACCESS_COOKIE = "outcomes_access"

#: Headers set on every response.
HEADERS: dict[str, str] = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class _Crowded(Exception):
    pass


def reference_id() -> str:
    """A short random id that ties an error page to a line of the server's log."""
    return secrets.token_hex(4)


def log_error(ref: str, error: BaseException) -> None:
    """Log an error by its reference id, kind and where it was raised; no message."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ", ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in frames[-3:])
    LOG.error("error %s: %s at %s", ref, type(error).__name__, where or "?")


class Guard:
    """ASGI middleware: security headers, the request size limit, errors without traces.

    Parameters
    ----------
    app : ASGI application
    config : WebConfig
    error_page : callable
        ``error_page(status, title, text) -> bytes``: the HTML of a message page.
    """

    def __init__(self, app: Any, config: WebConfig,
                 error_page: Callable[[int, str, str], bytes]) -> None:
        self.app, self.config, self.error_page = app, config, error_page
        self.held = 0  # bytes of the request bodies this process is receiving or holding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        secure = _is_https(scope, self.config)

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        limit = self.config.max_upload_bytes
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._page(send_with_headers, 413, "The upload is too large",
                             f"This server takes uploads of at most {limit:,} bytes "
                             f"({limit / 1e6:,.0f} MB) at once. Upload fewer or smaller files.")
            return
        seen, complete = 0, False

        async def counted() -> dict[str, Any]:
            nonlocal seen, complete
            if complete:  # the body is in; what follows is the wait for a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.config.upload_idle_seconds)
            except TimeoutError:
                raise _TooSlow from None
            complete = message["type"] != "http.request" or not message.get("more_body")
            size = len(message.get("body", b""))
            seen += size
            self.held += size
            if seen > limit:
                raise _TooLarge
            if self.held > self.config.max_total_upload_bytes:
                raise _Crowded
            return message

        try:
            await self.app(scope, counted, send_with_headers)
        except _TooLarge:
            if not started:
                await self._page(send_with_headers, 413, "The upload is too large",
                                 f"This server takes uploads of at most {limit:,} bytes.")
        except _TooSlow:
            if not started:
                await self._page(send_with_headers, 408, "The upload stalled",
                                 "Nothing arrived for "
                                 f"{self.config.upload_idle_seconds} seconds, so the upload "
                                 "was dropped and nothing was kept. Send it again.")
        except _Crowded:
            if not started:
                await self._page(send_with_headers, 503, "Busy", "The server is receiving as "
                                 "many uploads as it holds at once. Try again in a minute.",
                                 retry_after=60)
        except Exception as error:  # noqa: BLE001 - the one place errors meet the browser
            if type(error).__name__ == "ClientDisconnect":  # the browser left mid-upload
                LOG.info("an upload was abandoned by its sender")
                return
            ref = reference_id()
            log_error(ref, error)
            if not started:
                await self._page(send_with_headers, 500, "Something went wrong",
                                 "The server could not finish this request; nothing you sent "
                                 f"was kept. If it happens again, give the reference {ref} "
                                 "to whoever runs this server.")
        finally:
            self.held -= seen

    async def _page(self, send: Send, status: int, title: str, text: str, *,
                    retry_after: int | None = None) -> None:
        body = self.error_page(status, title, text)
        headers = [(b"content-type", b"text/html; charset=utf-8"),
                   (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1").strip())
    return None


def _is_https(scope: Scope, config: WebConfig) -> bool:
    return scope.get("scheme") == "https" or config.proxy and (
        _header(scope, b"x-forwarded-proto") or "").lower() == "https"


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(key: bytes, cookie: str | None) -> str:
    """The form token: the cookie's when it is valid, else a new signed one."""
    if cookie and csrf_valid(key, cookie, cookie):
        return cookie
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(key, nonce)}"


def csrf_valid(key: bytes, cookie: str | None, sent: str | None) -> bool:
    """Whether a form's token matches the cookie and carries the server's signature.

    >>> key = b"k" * 32
    >>> token = csrf_token(key, None)
    >>> csrf_valid(key, token, token), csrf_valid(key, token, None), csrf_valid(b"x", token, token)
    (True, False, False)
    """
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        return False
    nonce, _, signature = sent.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(key, nonce))


def is_local(request: Any, config: WebConfig | None = None) -> bool:
    """Whether a request was made on this computer: a loopback client, no proxy header, and
    addressed to this computer by name (a loopback name, or the server's own ``host``), so
    that a page of another site whose name was pointed at 127.0.0.1 (DNS rebinding) is not
    served as if it were this computer's own."""
    client = request.client.host if request.client else None
    proxied = any(h in request.headers for h in ("x-forwarded-for", "forwarded", "x-real-ip"))
    if not is_loopback(client) or proxied:
        return False
    name = urlsplit("//" + request.headers.get("host", "")).hostname or ""
    return is_loopback(name) or (config is not None and name == config.host.lower())


def access_cookie(token: str) -> str:
    """What the access cookie holds for a token (a keyed hash, so the token is not echoed)."""
    return _sign(token.encode(), "outcomes-web-access")


def access_problem(request: Any, config: WebConfig) -> tuple[int, str] | None:
    """Why the body's pages are refused to ``request`` (status, text), or None when allowed."""
    if config.token:
        given = request.headers.get("authorization", "")
        digest = None
        if given.lower().startswith("bearer "):
            digest = access_cookie(given[7:].strip())
        elif request.cookies.get(ACCESS_COOKIE):
            digest = request.cookies[ACCESS_COOKIE]
        if digest is None:
            return 401, "These pages need the body's access token. Sign in with it below."
        if not hmac.compare_digest(digest, access_cookie(config.token)):
            return 403, "The access token is not right. Sign in again with the body's token."
        return None
    if not is_local(request, config):
        return 403, ("These pages hold identifiable data, so without an access token they are "
                     "served only on the computer that runs the server. Whoever runs it can set "
                     "one (OUTCOMES_WEB_TOKEN) to open them to others, with the token.")
    return None
