"""``GET /status`` (the page) and ``GET /status.json`` (its figures), behind a token.

The token is the callback token, or ``NUSAWORKER_STATUS_TOKEN`` when set (so the people who
look at the page need not know the secret the provider pushes to). It is accepted as
``Authorization: Bearer <token>`` or as ``?token=<token>`` (what a browser can carry; the page
refreshes itself with the URL it was opened with), compared in constant time. No token: 401; a
wrong one: 403; neither answer says more, and the token is never logged nor written into the
page (the page's script reuses the address bar, it does not know the token).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import redis
from pydantic import SecretStr

from nusaworker.errors import ConfigurationError
from nusaworker.status.board import PRIORITY_NAMES
from nusaworker.status.page import CONTENT_SECURITY_POLICY, render

__all__ = ["MIN_TOKEN_LENGTH", "PATHS", "StatusApp"]

log = logging.getLogger(__name__)

PATHS = ("/status", "/status.json")
# As for the callback token: shorter is guessable.
MIN_TOKEN_LENGTH = 16

StartResponse = Callable[..., Any]

_COMMON_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
]
_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class StatusApp:
    """A WSGI app serving :data:`PATHS`; ``read`` returns the figures (what
    :meth:`.board.StatusBoard.read` returns) at each request."""

    def __init__(self, read: Callable[[], dict[str, Any]], *, token: str | SecretStr) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        if len(secret) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(f"status token must be at least {MIN_TOKEN_LENGTH} characters")
        self._token = secret.encode("utf-8")
        self.read = read

    def __repr__(self) -> str:
        return "StatusApp(token=***)"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        if path not in PATHS:
            return _plain(start_response, 404, "no such page")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, 405, "method not allowed", [("Allow", "GET, HEAD")])
        presented = _presented(environ)
        if presented is None:
            log.warning("status page refused: no token")
            challenge = [("WWW-Authenticate", 'Bearer realm="status"')]
            return _plain(start_response, 401, "unauthorized", challenge)
        if not hmac.compare_digest(presented.encode("utf-8"), self._token):
            log.warning("status page refused: bad token")
            return _plain(start_response, 403, "forbidden")
        try:
            status = self.read()
        except (redis.RedisError, OSError) as exc:
            log.error("status page: Redis unavailable: %s", type(exc).__name__)
            return _plain(start_response, 503, "temporarily unavailable")
        if path.endswith(".json"):
            body = json.dumps(status, separators=(",", ":")).encode()
            headers = [("Content-Type", "application/json")]
        else:
            body = render(status, list(PRIORITY_NAMES)).encode()
            headers = [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
                ("X-Frame-Options", "DENY"),
            ]
        return _send(start_response, 200, body, headers, head=method == "HEAD")


def _presented(environ: dict[str, Any]) -> str | None:
    """The token the request carries: the Bearer header first, else ``?token=``."""
    header = str(environ.get("HTTP_AUTHORIZATION", "") or "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    tokens = parse_qs(str(environ.get("QUERY_STRING", "") or "")).get("token")
    return tokens[-1] if tokens else None


def _plain(
    start_response: StartResponse,
    status: int,
    text: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = [("Content-Type", "text/plain"), *(extra or [])]
    return _send(start_response, status, text.encode() + b"\n", headers)


def _send(
    start_response: StartResponse,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]],
    *,
    head: bool = False,
) -> list[bytes]:
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [*headers, *_COMMON_HEADERS, ("Content-Length", str(len(body)))],
    )
    return [] if head else [body]
