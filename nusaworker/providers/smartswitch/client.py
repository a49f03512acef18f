"""The typed SmartSwitch client: ``POST {base}/api/message``, one or many destinations a hit.

Usable on its own, without Celery or Redis::

    from nusaworker.providers.smartswitch import SmartSwitchClient

    with SmartSwitchClient(base_url="https://sms.carrier.example", login="…", password="…") as c:
        one = c.send_sms("12123388100", "Hello")              # raises if refused
        many = c.send_sms_batch(["12123388100", "12123388101"], "Hello")
        for result in many:                                     # partial success is normal
            print(result.destination, result.status, result.message_id, result.segments)

Every hit takes a slot from the pacing gate (``priority`` as for every client) and is retried
by the shared transport on what the provider cannot have processed (429, 500/502/503, refused
connections); a send whose answer was lost raises
:class:`~nusaworker.providers.errors.AmbiguousOutcome` and is never retried here. The
``request_id`` of each destination is made once, before the retry loop, so every attempt of a
hit carries the same ids; pass ``request_ids`` (e.g. the ledger's message ids) to make a later
re-send of an ambiguous hit recognisable too.

The document puts ``_login`` and ``_password`` in the query string. They never reach a log
line, an exception or a repr (:mod:`.redact`).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from urllib.parse import urlencode, urlsplit

import requests
from pydantic import SecretStr

from nusaworker.errors import ConfigurationError

from ..base import TransportClient, secret
from ..errors import ProviderError
from ..gate import Gate, Priority
from .answer import read_answer, read_error_answer
from .models import MessageRequest
from .redact import install_log_filter, redact_query, scrub
from .results import BatchResult, DestinationResult

__all__ = ["CREDENTIALS", "DEFAULT_BASE_URL", "PATH", "SmartSwitchClient", "account_fingerprint"]

# The document's host is "your.server.name": every carrier runs its own, so there is no default.
DEFAULT_BASE_URL = ""
# The keyword arguments of SmartSwitchClient that carry an account's credentials.
CREDENTIALS = ("login", "password")
PATH = "/api/message"
UNCONFIGURED = "smartswitch:unconfigured"


def account_fingerprint(base_url: str, login: str) -> str:
    """The pacing account: ``"smartswitch:" + sha256(host + login)[:16]``, never the login.

    The host is part of it: the same login on two carriers' servers is two accounts, two
    rate budgets.
    """
    host = (urlsplit(base_url).netloc or base_url).lower()
    digest = hashlib.sha256(f"{host}\n{login}".encode()).hexdigest()[:16]
    return "smartswitch:" + digest


def new_request_ids(count: int) -> list[str]:
    """``count`` fresh request ids: one random hit id and the destination's position."""
    hit = uuid.uuid4().hex[:16]
    return [f"{hit}-{i}" for i in range(count)]


class SmartSwitchClient(TransportClient):
    """A client of a SmartSwitch "HTTP API message" server (seed 003).

    ``login`` and ``password`` are the account's (kept as :class:`~pydantic.SecretStr`).
    ``account`` overrides the pacing fingerprint (otherwise derived from host and login).
    Retries: at most ``max_attempts`` attempts within ``max_retry_time`` seconds. Thread-safe
    enough to share between the threads of one worker (one pooled session).
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        login: str | SecretStr | None = None,
        password: str | SecretStr | None = None,
        gate: Gate | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        max_retry_time: float = 20.0,
        account: str | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        rate_limit_penalty: float = 0.25,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        install_log_filter()
        self._login = secret(login)
        self._password = secret(password)
        identity = self._login.get_secret_value()
        # Without credentials or host the client can still be built (settings may leave them
        # empty for a process that never calls out); every call then raises ConfigurationError.
        self.account = account or (
            account_fingerprint(base_url, identity) if identity and base_url else UNCONFIGURED
        )
        self._connect(
            base_url=base_url,
            gate=gate,
            secrets=(self._login, self._password),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
            max_retry_time=max_retry_time,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_limit_penalty=rate_limit_penalty,
            pool_size=pool_size,
            sleep=sleep,
        )

    # ------------------------------------------------------------------------------- sends

    def send_sms(
        self,
        destination: str,
        body: str | None,
        *,
        request_id: str | None = None,
        source_name: str | None = None,
        source_number: str | None = None,
        require_dlr: bool = False,
        stealth_ping: bool = False,
        priority: Priority = "normal",
    ) -> DestinationResult:
        """Send ``body`` to one destination; return its result, or raise why it was not sent.

        Raises the class of the destination's error code (:mod:`.codes`; e.g.
        :class:`~nusaworker.providers.errors.InsufficientCredit` for ``balance``), or any
        whole-hit error :meth:`send_sms_batch` raises.
        """
        batch = self.send_sms_batch(
            [destination],
            body,
            request_ids=None if request_id is None else [request_id],
            source_name=source_name,
            source_number=source_number,
            require_dlr=require_dlr,
            stealth_ping=stealth_ping,
            priority=priority,
        )
        result = batch.results[0]
        error = result.error()
        if error is not None:
            raise error
        return result

    def send_sms_batch(
        self,
        destinations: Sequence[str],
        body: str | None,
        *,
        request_ids: Sequence[str] | None = None,
        source_name: str | None = None,
        source_number: str | None = None,
        require_dlr: bool = False,
        stealth_ping: bool = False,
        priority: Priority = "normal",
    ) -> BatchResult:
        """Send ``body`` to 1-100 destinations in one hit; one result per destination.

        A refused destination does not fail the others: its result has ``status="error"``
        (partial success is returned, not raised). The whole hit raises when the provider
        refused the request (``errors``: the code decides the class — ``authentication`` is
        :class:`~nusaworker.providers.errors.AuthError`), on a non-2xx answer (by status),
        or when the outcome cannot be known (:class:`~nusaworker.providers.errors.
        AmbiguousOutcome`). Invalid input raises :class:`pydantic.ValidationError` before
        any hit.
        """
        request = MessageRequest(
            destinations=list(destinations),
            body=body,
            source_name=source_name,
            source_number=source_number,
            require_dlr=require_dlr,
            stealth_ping=stealth_ping,
            request_ids=None if request_ids is None else list(request_ids),
        )
        # Made once, before the retry loop: every attempt of this hit carries the same ids.
        ids = request.request_ids or new_request_ids(len(request.destinations))
        return self._send(request, ids, priority)

    # ----------------------------------------------------------------------- internals

    def _credentials(self) -> list[tuple[str, str]]:
        login, password = self._login.get_secret_value(), self._password.get_secret_value()
        if not login or not password:
            raise ConfigurationError("this call needs the SmartSwitch login and password")
        if not self.base_url:
            raise ConfigurationError("this call needs the SmartSwitch base_url (the carrier's)")
        return [("_login", login), ("_password", password)]

    def _redact(self, text: str) -> str:
        return self._transport.redact(redact_query(text))

    def _send(self, request: MessageRequest, ids: list[str], priority: Priority) -> BatchResult:
        # As the document shows: POST with every argument in the query string, no body.
        query = urlencode([*self._credentials(), *request.groups(ids)])
        destinations = request.destinations

        def parse(response: requests.Response) -> BatchResult:
            return read_answer(
                response.status_code,
                response.content,
                destinations,
                ids,
                redact=self._redact,
            )

        def read_error(response: requests.Response) -> ProviderError | None:
            return read_error_answer(response.status_code, response.content, redact=self._redact)

        try:
            return self._transport.hit(
                "POST",
                f"{PATH}?{query}",
                kind="send",
                parse=parse,
                priority=priority,
                headers={"Accept": "application/vnd.api+json, application/json"},
                read_error=read_error,
            )
        except ProviderError as exc:
            # The transport chains the requests exception, whose message and request hold the
            # URL with the credentials: keep only a redacted copy of it.
            scrub(exc, self._redact)
            raise
