"""The callback receiver: a WSGI app for every push of the provider (see :mod:`.pushes`).

Paths hang under a secret token, ``/<token>/wa/status`` and so on; register
``https://<host>/<token>`` (plus each path) as the push URLs at the provider. The token is
compared in constant time; a wrong one answers 403 and touches nothing. ``GET /healthz``
answers without a token, for load balancers.

What each push does:

* **status** → the ledger at once (:meth:`Ledger.park_status`): a final status moves the
  record (and takes it off the poll index, so polling stops); a status for a ``ref_no`` not
  recorded yet is parked and applied when the send task records it; a non-final or unknown
  code is stored verbatim in ``provider_status`` (an unknown one is logged). Idempotent: the
  same push twice moves nothing the second time, and a late ``S`` never undoes a ``R``.
* **inbox** → stored once in the inbox stream and announced to the hooks.
* **phone check** → the phone-check cache (:mod:`nusaworker.phonecheck`), whoever asked,
  and announced to the hooks.

Answers: 200 JSON ``{"ok": true, "result": …}``; 400 malformed, 403 bad token, 404 unknown
path, 405 wrong method, 413 body over the limit, 415 wrong content type — all with nothing
written; 503 when Redis does not answer, so the provider pushes again later.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from pydantic import SecretStr

from nusaworker.errors import ConfigurationError
from nusaworker.ledger import Ledger, LedgerError, MessageState, StatusUpdate
from nusaworker.phonecheck import PhoneChecks
from nusaworker.tracking import pushes
from nusaworker.tracking.errors import PushRejected, TrackingError
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.inbox import InboxStore
from nusaworker.tracking.statuses import read_status

log = logging.getLogger(__name__)

# A token shorter than this is guessable; the receiver refuses to start with one.
MIN_TOKEN_LENGTH = 16
DEFAULT_MAX_BODY_BYTES = 64 * 1024

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Handler = Callable[["Request"], dict[str, Any]]


@dataclass(frozen=True)
class Request:
    """What a handler needs from one WSGI request."""

    method: str
    query: dict[str, str]
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Route:
    """One push endpoint: the methods it takes and its handler."""

    methods: frozenset[str]
    handler: Handler


class CallbackApp:
    """The WSGI application (``app(environ, start_response)``); thread-safe.

    Args:
        ledger: where status pushes are recorded.
        inbox: where inbound messages are stored.
        events: where phone-check results are announced.
        token: the secret path segment (at least :data:`MIN_TOKEN_LENGTH` characters).
        max_body_bytes: larger bodies are refused (413) without being read.
        phone_checks: the phone-check cache every phone-check push fills (None: not kept).
        pages: other apps served at these exact paths, with their own access rules (the
            status page: ``/status``); no token can be such a path (they are too short).
    """

    def __init__(
        self,
        *,
        ledger: Ledger,
        inbox: InboxStore,
        events: EventStream,
        token: str | SecretStr,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        phone_checks: PhoneChecks | None = None,
        pages: Mapping[str, WSGIApp] | None = None,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        if len(secret) < MIN_TOKEN_LENGTH or "/" in secret:
            raise ConfigurationError(
                f"callback token must be at least {MIN_TOKEN_LENGTH} characters, without '/'"
            )
        self._token = secret.encode("utf-8")
        self.ledger = ledger
        self.inbox = inbox
        self.events = events
        self.max_body_bytes = max_body_bytes
        self.phone_checks = phone_checks
        self.pages = dict(pages or {})
        get_post = frozenset({"GET", "POST"})
        post = frozenset({"POST"})
        self.routes: dict[str, Route] = {
            "wa/status": Route(get_post, lambda r: self._status("wa", _query_or_form(r))),
            "sms/status": Route(get_post, lambda r: self._status("sms", _query_or_form(r))),
            "wa_official/status": Route(post, self._official_status),
            "wa/inbox": Route(post, lambda r: self._inbound_form("wa", r)),
            "sms/inbox": Route(post, lambda r: self._inbound_form("sms", r)),
            "wa_official/inbox": Route(post, self._official_inbound),
            # WAChat (seed 002) pushes its inbox as NusaSMS's WhatsApp inbox form.
            "wachat/inbox": Route(post, lambda r: self._inbound_form("wachat", r)),
            "wa/phone_check": Route(post, self._phone_check),
        }

    def __repr__(self) -> str:
        return f"CallbackApp(routes={sorted(self.routes)}, token=***)"

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _answer(start_response, 200, {"ok": True})
        page = self.pages.get(path)
        if page is not None:
            return page(environ, start_response)
        try:
            route = self._route(path)
            if method not in route.methods:
                allow = ", ".join(sorted(route.methods))
                raise _MethodNotAllowed(allow)
            request = self._read(environ, method)
            result = route.handler(request)
        except _MethodNotAllowed as exc:
            return _answer(start_response, 405, _error("method not allowed"), allow=exc.allow)
        except PushRejected as exc:
            if exc.status == 403:
                log.warning("callback refused: bad token")
            else:
                log.info("callback refused (%d): %s", exc.status, exc.reason)
            return _answer(start_response, exc.status, _error(exc.reason))
        except (redis.RedisError, OSError) as exc:
            log.error("callback not recorded, Redis unavailable: %s", type(exc).__name__)
            return _answer(start_response, 503, _error("temporarily unavailable"))
        return _answer(start_response, 200, {"ok": True, **result})

    def _route(self, path: str) -> Route:
        token, _, rest = path.lstrip("/").partition("/")
        if not hmac.compare_digest(token.encode("utf-8"), self._token):
            raise PushRejected(403, "forbidden")
        route = self.routes.get(rest.strip("/"))
        if route is None:
            raise PushRejected(404, "no such endpoint")
        return route

    def _read(self, environ: dict[str, Any], method: str) -> Request:
        raw_length = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            raise PushRejected(400, "bad Content-Length") from None
        if length < 0:
            raise PushRejected(400, "bad Content-Length")
        if length > self.max_body_bytes:
            raise PushRejected(413, f"body over {self.max_body_bytes} bytes")
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) != length:
            raise PushRejected(400, "body shorter than Content-Length")
        query = pushes.form_fields(
            str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace"),
            "application/x-www-form-urlencoded",
        )
        return Request(method, query, body, str(environ.get("CONTENT_TYPE", "") or ""))

    # -- handlers ------------------------------------------------------------------------------

    def _status(self, channel: str, fields: dict[str, str]) -> dict[str, Any]:
        return self._record(channel, pushes.status_from_query(fields))

    def _official_status(self, request: Request) -> dict[str, Any]:
        data = pushes.json_object(request.body, request.content_type)
        return self._record("wa_official", pushes.official_status(data))

    def _record(self, channel: str, push: pushes.StatusPush) -> dict[str, Any]:
        reading = read_status(channel, push.status, err_code=push.err_code or None)
        if not reading.known:
            log.warning(
                "unknown %s status %r for ref_no %s: kept verbatim",
                channel,
                push.status,
                push.ref_no,
            )
        if reading.state is None or reading.state is MessageState.SENT:
            # Moves nothing: keep the provider's word on the record if it is still in flight.
            message_id = self.ledger.id_for_ref(push.ref_no)
            if message_id is None:
                return {"result": "ignored"}
            try:
                noted = self.ledger.note_provider_status(
                    message_id, reading.provider_status, state=MessageState.SENT
                )
            except LedgerError:
                noted = False
            return {"result": "noted" if noted else "unchanged"}
        update = StatusUpdate(
            state=reading.state, provider_status=reading.provider_status, error=reading.error
        )
        try:
            message_id = self.ledger.park_status(push.ref_no, update)
        except LedgerError as exc:  # the record expired meanwhile: nothing left to update
            log.info("status push for ref_no %s not applied: %s", push.ref_no, exc)
            return {"result": "unchanged"}
        return {"result": "parked" if message_id is None else "recorded"}

    def _inbound_form(self, channel: str, request: Request) -> dict[str, Any]:
        fields = pushes.form_fields(request.body, request.content_type)
        return self._inbound(pushes.inbound_from_form(channel, fields))

    def _official_inbound(self, request: Request) -> dict[str, Any]:
        data = pushes.json_object(request.body, request.content_type)
        return self._inbound(pushes.official_inbound(data))

    def _inbound(self, inbound: pushes.InboundPush) -> dict[str, Any]:
        stored = self.inbox.store(inbound)
        return {"result": "stored" if stored else "duplicate"}

    def _phone_check(self, request: Request) -> dict[str, Any]:
        data = pushes.json_object(request.body, request.content_type)
        result = pushes.phone_check(data)
        payload = {"results": [entry.model_dump() for entry in result.phone_numbers]}
        if self.phone_checks is not None:
            self.phone_checks.record(
                {entry.phone_number: entry.is_registered for entry in result.phone_numbers}
            )
        self.events.append("phone_check", payload, at=self.ledger.clock())
        return {"result": "stored"}


class _MethodNotAllowed(TrackingError):
    """Raised when a callback request uses a method its route does not take (answered 405)."""

    retryable = False

    def __init__(self, allow: str) -> None:
        super().__init__(allow)
        self.allow = allow


def _query_or_form(request: Request) -> dict[str, str]:
    """Status fields from the query string; a POST may carry them in a form body instead."""
    if request.method == "POST" and request.body and "ref_no" not in request.query:
        return pushes.form_fields(request.body, request.content_type)
    return request.query


def _error(reason: str) -> dict[str, Any]:
    return {"ok": False, "error": reason}


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    503: "Service Unavailable",
}


def _answer(
    start_response: StartResponse, status: int, body: dict[str, Any], *, allow: str | None = None
) -> list[bytes]:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if allow:
        headers.append(("Allow", allow))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [data]
