"""The typed WAChat client: every endpoint of the WAChat API v1.0 (seed 002) as one method.

Usable on its own, without Celery or Redis::

    from nusaworker.providers.wachat import WAChatClient

    with WAChatClient(api_key="…") as client:
        sent = client.send_whatsapp("62812345678", "Hello", queue="device-1")
        print(sent.ref_no, client.get_whatsapp_status(sent.ref_no).status)

The method names and result shapes follow :class:`~nusaworker.providers.NusaSMSClient`'s
WhatsApp methods (``send_whatsapp``, ``send_whatsapp_media``, ``get_whatsapp_status``,
``get_account``), so code written for one sends through the other. Every method validates its
input before any hit, takes ``priority`` and passes every hit (each retry too) through the
pacing gate; failures raise the classes of :mod:`nusaworker.providers.errors` (see
:mod:`.codes`). One API key is one account: one pacing fingerprint, one rate budget.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from pydantic import SecretStr

from nusaworker.errors import ConfigurationError

from ..base import TransportClient, secret
from ..gate import Gate, Priority
from ..nusasms.envelope import read_envelope
from ..nusasms.models.common import RequestModel
from ..transport import Kind
from .models import (
    GatewayBalance,
    WAChatAccount,
    WAChatMediaRequest,
    WAChatMessageRequest,
    WAChatMessageStatus,
    WAChatSendResult,
)

__all__ = ["API", "CREDENTIALS", "DEFAULT_BASE_URL", "WAChatClient", "account_fingerprint"]

DEFAULT_BASE_URL = "https://api.wachat-api.com"
# The keyword arguments of WAChatClient that carry an account's credentials.
CREDENTIALS = ("api_key",)
API = "/wachat_api/1.0"
UNCONFIGURED = "wachat:unconfigured"

R = TypeVar("R")


def account_fingerprint(api_key: str) -> str:
    """The pacing account of an API key: ``"wachat:" + sha256(key)[:16]``, never the key."""
    return "wachat:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


class WAChatClient(TransportClient):
    """A client of the WAChat API v1.0 (account, gateway balance, send, media, status).

    ``api_key`` travels in the ``APIKey`` header; it is kept as a
    :class:`~pydantic.SecretStr` and never appears in reprs, logs or errors. ``account``
    overrides the pacing fingerprint (otherwise derived from the key). Retries: at most
    ``max_attempts`` attempts within ``max_retry_time`` seconds, each taking a fresh slot from
    ``gate``; a send is never retried once it may have reached the provider. Thread-safe
    enough to share between the threads of one worker (one pooled session).
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | SecretStr | None = None,
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
        senders: str | Sequence[str] = (),
    ) -> None:
        self._api_key = secret(api_key)
        # The gateways whose quotas the fleet watches (balance watch, breaker probe); an
        # account setting gives them comma-separated.
        names = senders.split(",") if isinstance(senders, str) else list(senders)
        self.senders: tuple[str, ...] = tuple(n.strip() for n in names if n.strip())
        key = self._api_key.get_secret_value()
        # Without a key the client can still be built (settings may leave it empty for a
        # process that never calls out); every call then raises ConfigurationError.
        self.account = account or (account_fingerprint(key) if key else UNCONFIGURED)
        self._connect(
            base_url=base_url,
            gate=gate,
            secrets=(self._api_key,),
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

    # ------------------------------------------------------------------------- endpoints

    def get_account(self, *, priority: Priority = "normal") -> WAChatAccount:
        """``GET auth/api_key``: the user the API key belongs to."""
        return self._call("GET", "/auth/api_key", "read", priority, WAChatAccount.model_validate)

    def get_gateway_balance(self, sender: str, *, priority: Priority = "normal") -> GatewayBalance:
        """``GET sender/{sender}``: how many messages a gateway sent (``counter``) of its
        ``limit``. A sender the account does not have is a :class:`PermanentError` (404)."""
        path = f"/sender/{quote(_segment(sender, 'sender'), safe='')}"
        return self._call("GET", path, "read", priority, GatewayBalance.model_validate)

    def send_whatsapp(
        self, destination: str, message: str, *, priority: Priority = "normal", **fields: Any
    ) -> WAChatSendResult:
        """``POST message``: a WhatsApp text. ``fields``: sender, queue, is_group, timeout
        (see :class:`WAChatMessageRequest`). A sender at its limit raises
        :class:`InsufficientCredit`."""
        request = WAChatMessageRequest(destination=destination, message=message, **fields)
        return self._send("/message", priority, request)

    def send_whatsapp_media(
        self,
        destination: str,
        *,
        media_url: str | None = None,
        media_base64: str | None = None,
        file_name: str | None = None,
        caption: str | None = None,
        priority: Priority = "normal",
        **fields: Any,
    ) -> WAChatSendResult:
        """``POST media``: a file by URL, or inline as base64 with its ``file_name``.
        ``fields``: sender, queue, is_group, timeout (see :class:`WAChatMediaRequest`)."""
        request = WAChatMediaRequest(
            destination=destination,
            media_url=media_url,
            media_base64=media_base64,
            file_name=file_name,
            caption=caption,
            **fields,
        )
        return self._send("/media", priority, request)

    def get_whatsapp_status(
        self, ref_no: str, *, priority: Priority = "normal"
    ) -> WAChatMessageStatus:
        """``GET status/{message_ref_no}``: where a message stands (see :class:`WAChatStatus`).
        An unknown ref_no is a :class:`PermanentError` (404)."""
        path = f"/status/{quote(_segment(ref_no, 'ref_no'), safe='')}"
        return self._call("GET", path, "read", priority, WAChatMessageStatus.model_validate)

    # ------------------------------------------------------------------------- internals

    def _headers(self) -> dict[str, str]:
        key = self._api_key.get_secret_value()
        if not key:
            raise ConfigurationError("this call needs the WAChat api_key")
        return {"APIKey": key, "Accept": "application/json"}

    def _send(self, path: str, priority: Priority, request: RequestModel) -> WAChatSendResult:
        """A send (POST, JSON body): never retried once it may have reached the provider."""
        validate = WAChatSendResult.model_validate
        return self._call("POST", path, "send", priority, validate, request.to_json_body())

    def _call(
        self,
        method: str,
        path: str,
        kind: Kind,
        priority: Priority,
        validate: Callable[[Any], R],
        body: dict[str, Any] | None = None,
    ) -> R:
        """One API call; the result is ``validate(data)`` of the answer's envelope."""
        headers = self._headers()

        def parse(response: requests.Response) -> R:
            envelope = read_envelope(
                response.status_code,
                response.content,
                is_send=kind == "send",
                redact=self._transport.redact,
            )
            return validate(envelope.data)

        return self._transport.hit(
            method,
            API + path,
            kind=kind,
            parse=parse,
            priority=priority,
            headers=headers,
            json=body,
        )


def _segment(value: str, name: str) -> str:
    """A non-empty path segment (the Python status sample's empty ``status/`` is a 404)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: must be a non-empty string")
    return value.strip()
