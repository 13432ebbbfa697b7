"""Browser-facing security of the web app: signed cookies, CSRF tokens, and the response
headers every answer carries.

- The session cookie holds a random token signed with the app's secret key (itsdangerous);
  the server keeps the token's SHA-256 (`web_sessions`), so signing out or disabling a user
  ends the session at once. `HttpOnly`, `SameSite=Lax`, and `Secure` whenever the request came
  over TLS (uvicorn with a certificate, or a proxy that says so with `--proxy-headers`) or
  `GATEWAY_WEB_SECURE_COOKIES=true` insists.
- CSRF: every form carries a token. Signed in, it is the session's own token (session-bound);
  on the sign-in form, a double-submit token (the same random value in a signed cookie and in
  the form). Every POST is checked before anything is done.
- Headers: a Content-Security-Policy that allows scripts, styles and images from the app itself
  only (no inline script runs, so markup a supplier slipped past escaping still could not run
  code), no framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), `nosniff`, and
  `Referrer-Policy: same-origin`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.web.api_tokens import DEFAULT_CACHE_SECONDS, cache_seconds

log = logging.getLogger(__name__)

SESSION_COOKIE = "gateway_session"
LOGIN_CSRF_COOKIE = "gateway_login_csrf"
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class WebSettings:
    """`GATEWAY_WEB_SECRET_KEY` signs the cookies: set it (32+ random characters) wherever more
    than one web process serves, or sessions should survive a restart. Unset, each process
    makes a random one and says so in its log."""

    secret_key: str
    secure_cookies: bool = False
    # How long a valid API token is remembered (gateway.web.api_tokens).
    token_cache_seconds: float = DEFAULT_CACHE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebSettings:
        key = env.get("GATEWAY_WEB_SECRET_KEY", "").strip()
        if not key:
            log.warning("GATEWAY_WEB_SECRET_KEY is not set: sessions end when this process "
                        "stops and are not shared with other web processes")
            key = secrets.token_urlsafe(32)
        secure = env.get("GATEWAY_WEB_SECURE_COOKIES", "").strip().lower() in ("1", "true", "yes")
        return cls(key, secure, cache_seconds(env.get("GATEWAY_API_TOKEN_CACHE_SECONDS")))


class CookieSigner:
    def __init__(self, secret_key: str) -> None:
        self._session = Signer(secret_key, salt="gateway.session")
        self._csrf = Signer(secret_key, salt="gateway.login-csrf")

    def sign_session(self, token: str) -> str:
        return self._session.sign(token).decode()

    def session_token(self, cookie: str | None) -> str | None:
        return _unsign(self._session, cookie)

    def sign_login_csrf(self, token: str) -> str:
        return self._csrf.sign(token).decode()

    def login_csrf(self, cookie: str | None) -> str | None:
        return _unsign(self._csrf, cookie)


def _unsign(signer: Signer, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        return signer.unsign(cookie).decode()
    except BadSignature:
        return None


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def is_tls(request: Request, settings: WebSettings) -> bool:
    return settings.secure_cookies or request.url.scheme == "https"


def set_cookie(response: Response, request: Request, settings: WebSettings, name: str,
               value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=is_tls(request, settings))


_RAW_SECURITY_HEADERS = tuple((name.lower().encode("latin-1"), value.encode("latin-1"))
                              for name, value in SECURITY_HEADERS.items())
# RFC 6797: a year, this host only (includeSubDomains would bind every other site of the
# domain to HTTPS, which is not this application's to decide). Browsers ignore it when it comes
# over plain HTTP (section 8.1).
_RAW_HSTS = (b"strict-transport-security", b"max-age=31536000")
# What Starlette's ServerErrorMiddleware answers when not in debug mode.
_SERVER_ERROR = "Internal Server Error"


class SecurityHeaders:
    """ASGI middleware: every HTTP answer carries `SECURITY_HEADERS`, unless the route set one
    of them itself, and `Strict-Transport-Security` when the request came over TLS or `hsts`
    (the site is served over HTTPS behind a proxy: `GATEWAY_WEB_SECURE_COOKIES`), as cookies
    are made `Secure`. Plain ASGI (the start message's header list is extended), not
    `BaseHTTPMiddleware`, which runs each request in a task group with memory streams.

    An exception no handler took is answered here, 500 with Starlette's own plain body, so that
    answer carries the headers too: Starlette's `ServerErrorMiddleware`, which would otherwise
    answer it, sits outside every middleware an app adds. The exception goes on up, and is
    logged there as before."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self._app = app
        self._hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False
        added = _RAW_SECURITY_HEADERS + ((_RAW_HSTS,) if self._hsts or scope.get("scheme") ==
                                         "https" else ())

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in added if pair[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._app(scope, receive, with_headers)
        except Exception:
            if not started:
                await PlainTextResponse(_SERVER_ERROR, status_code=500)(scope, receive,
                                                                        with_headers)
            raise


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
