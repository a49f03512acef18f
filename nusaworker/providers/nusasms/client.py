"""The typed NusaSMS client: every endpoint of the JSON API v1.0 and of SMS v3 as one method.

Usable on its own, without Celery or Redis::

    from nusaworker.providers import NusaSMSClient

    with NusaSMSClient(api_key="…") as client:
        sent = client.send_whatsapp("62812345678", "Hello")
        print(sent.ref_no, client.get_whatsapp_status(sent.ref_no).status)

Every method validates its input with the same pydantic models the producer API uses, before
any hit; every hit takes a slot from the pacing gate; failures raise the classes of
:mod:`nusaworker.providers.errors`. The API key and the SMS user/password are one account:
one pacing fingerprint covers both.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from pydantic import BaseModel, SecretStr, TypeAdapter

from nusaworker.errors import ConfigurationError

from ..base import TransportClient, secret
from ..errors import PermanentError
from ..gate import Gate, Priority
from ..transport import Kind
from .envelope import as_credit_error, items, message_and_data, read_envelope
from .models.command import read_credits, read_delivery_report
from .models.common import ApiEnvelope, RequestModel
from .models.official import (
    BroadcastRequest,
    Channel,
    OfficialSendResult,
    ReplyRequest,
    ReplyType,
    Template,
)
from .models.sms import (
    SmsCredits,
    SmsDeliveryReport,
    SmsGroupRequest,
    SmsGroupResult,
    SmsRequest,
    SmsSendResult,
)
from .models.wa import (
    Account,
    Balance,
    PhoneCheckRequest,
    PhoneCheckResult,
    WhatsAppMediaRequest,
    WhatsAppMessageRequest,
    WhatsAppMessageStatus,
    WhatsAppSendResult,
)
from .query import install_log_redaction
from .smscalls import SmsCalls

__all__ = ["CREDENTIALS", "DEFAULT_BASE_URL", "NusaSMSClient", "account_fingerprint"]

DEFAULT_BASE_URL = "https://api.nusasms.com"
# The keyword arguments of NusaSMSClient that carry an account's credentials. The phone-check
# callback URL is one: it holds the receiver's secret token (/<token>/wa/phone_check), so it is
# kept like a password and given to the client, never written into a message's payload.
CREDENTIALS = ("api_key", "sms_user", "sms_password", "phone_check_callback_url")
API = "/nusasms_api/1.0"
UNCONFIGURED = "nusasms:unconfigured"

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


def account_fingerprint(identity: str) -> str:
    """The pacing account for a credential: ``"nusasms:" + sha256(identity)[:16]``, never it."""
    return "nusasms:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


class NusaSMSClient(TransportClient):
    """A client of the NusaSMS APIs (WhatsApp, WhatsApp Official, SMS v3).

    ``api_key`` serves the JSON API, ``sms_user``/``sms_password`` the SMS API; give what you
    use. Secrets are kept as :class:`~pydantic.SecretStr` and never appear in reprs, logs or
    errors. ``account`` overrides the pacing fingerprint (otherwise derived from the key, or the
    SMS user). Retries: at most ``max_attempts`` attempts within ``max_retry_time`` seconds.
    Thread-safe enough to share between the threads of one worker (one pooled session).
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | SecretStr | None = None,
        sms_user: str | None = None,
        sms_password: str | SecretStr | None = None,
        phone_check_callback_url: str | SecretStr | None = None,
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
        self._api_key = secret(api_key)
        self._sms_user = sms_user or ""
        self._sms_password = secret(sms_password)
        self._phone_check_callback = secret(phone_check_callback_url)
        identity = self._api_key.get_secret_value() or self._sms_user
        # Without credentials the client can still be built (settings may leave them empty for
        # a process that never calls out); every call then raises ConfigurationError.
        self.account = account or (account_fingerprint(identity) if identity else UNCONFIGURED)
        install_log_redaction()  # the command API's login rides in its URL
        self._connect(
            base_url=base_url,
            gate=gate,
            secrets=(self._api_key, self._sms_password, self._phone_check_callback),
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
        self._smscalls = SmsCalls(self._transport, self._sms_user, self._sms_password)

    # ------------------------------------------------------------------ JSON API: account

    def get_account(self, *, priority: Priority = "normal") -> Account:
        """``GET auth/api_key``: the user the API key belongs to."""
        return self._api("GET", "/auth/api_key", "read", priority, Account.model_validate)

    def get_balance(self, *, priority: Priority = "normal") -> Balance:
        """``GET balance``: credit left per product."""
        return self._api("GET", "/balance", "read", priority, Balance.model_validate)

    # ----------------------------------------------------------------- JSON API: WhatsApp

    def send_whatsapp(
        self, destination: str, message: str, *, priority: Priority = "normal", **fields: Any
    ) -> WhatsAppSendResult:
        """Send a WhatsApp text. ``fields``: sender, is_group, queue, channel,
        include_unsubscribe, timeout (see :class:`WhatsAppMessageRequest`)."""
        request = WhatsAppMessageRequest(destination=destination, message=message, **fields)
        return self._send("/whatsapp/message", priority, WhatsAppSendResult, request)

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
    ) -> WhatsAppSendResult:
        """Send a file by URL or inline (type and size checked first; see
        :class:`WhatsAppMediaRequest`). Costs 2 WA credits."""
        request = WhatsAppMediaRequest(
            destination=destination,
            media_url=media_url,
            media_base64=media_base64,
            file_name=file_name,
            caption=caption,
            **fields,
        )
        return self._send("/whatsapp/media", priority, WhatsAppSendResult, request)

    def get_whatsapp_status(
        self, ref_no: str, *, priority: Priority = "normal"
    ) -> WhatsAppMessageStatus:
        """``GET whatsapp/status/{ref_no}``: where a WhatsApp message stands."""
        path = f"/whatsapp/status/{quote(_ref(ref_no), safe='')}"
        return self._api("GET", path, "read", priority, WhatsAppMessageStatus.model_validate)

    def check_whatsapp_numbers(
        self,
        numbers: list[str],
        callback_url: str | None = None,
        *,
        priority: Priority = "normal",
    ) -> PhoneCheckResult:
        """Ask which of 1-100 numbers use WhatsApp; the answer arrives at ``callback_url``
        (default: the client's ``phone_check_callback_url``; neither: the account's callback
        configured at the provider)."""
        default = self._phone_check_callback.get_secret_value() or None
        request = PhoneCheckRequest(phone_numbers=numbers, callback_url=callback_url or default)
        # A send for retry purposes: it starts work (and callbacks) at the provider.
        return self._send(
            "/wa_phone_check", priority, PhoneCheckResult, request, pick=message_and_data
        )

    # -------------------------------------------------------- JSON API: WhatsApp Official

    def send_wa_official_broadcast(
        self,
        destination: str,
        destination_name: str,
        template_id: str,
        channel_id: str,
        parameters: dict[str, Any] | None = None,
        *,
        priority: Priority = "normal",
    ) -> OfficialSendResult:
        """Send an approved template through a channel (both UUID4)."""
        request = BroadcastRequest(
            destination=destination,
            destination_name=destination_name,
            template_id=template_id,
            channel_id=channel_id,
            parameters=parameters,
        )
        path = "/wa_official/message/broadcast"
        return self._send(path, priority, OfficialSendResult, request)

    def send_wa_official_reply(
        self,
        room_id: str,
        *,
        type: ReplyType | str = ReplyType.TEXT,
        text: str | None = None,
        file_url: str | None = None,
        file: bytes | None = None,
        file_name: str | None = None,
        file_base64: str | None = None,
        priority: Priority = "normal",
    ) -> OfficialSendResult:
        """Reply into an open room (multipart/form-data, as the documents send it).

        A non-text ``type`` needs ``file_url`` or an upload: ``file`` (the bytes) or
        ``file_base64`` (the same, as the ledger keeps it), with an optional ``file_name``;
        it is sent as the multipart part ``file``. ``text`` is the caption of a file reply.
        """
        if file is not None:
            if file_base64 is not None:
                raise ValueError("give file or file_base64, not both")
            file_base64 = base64.b64encode(file).decode("ascii")
        request = ReplyRequest(
            room_id=room_id,
            type=type,
            text=text,
            file_url=file_url,
            file_base64=file_base64,
            file_name=file_name,
        )
        path = "/wa_official/message/reply"
        return self._send(path, priority, OfficialSendResult, request, multipart=True)

    def get_wa_official_templates(self, *, priority: Priority = "normal") -> list[Template]:
        """``GET wa_official/templates``: the account's message templates."""
        validate = TypeAdapter(list[Template]).validate_python
        return self._api("GET", "/wa_official/templates", "read", priority, validate, pick=items)

    def get_wa_official_channels(self, *, priority: Priority = "normal") -> list[Channel]:
        """``GET wa_official/channels``: the account's sender channels."""
        validate = TypeAdapter(list[Channel]).validate_python
        return self._api("GET", "/wa_official/channels", "read", priority, validate, pick=items)

    # ------------------------------------------------------------------------- SMS v3

    def send_sms(
        self,
        destination: str,
        text: str,
        *,
        otp: bool = False,
        priority: Priority = "normal",
        **fields: Any,
    ) -> SmsSendResult:
        """Send one SMS (``fields``: unicode, output). ``unicode`` is set when the text needs it."""
        request = SmsRequest(destination=destination, text=text, otp=otp, **fields)
        return self._smscalls.send(
            "/api/v3/sendsms/plain", request.to_form(), "send", priority, SmsSendResult
        )

    def send_sms_group(
        self,
        group: str,
        text: str,
        *,
        otp: bool = False,
        priority: Priority = "normal",
        **fields: Any,
    ) -> SmsGroupResult:
        """Send one SMS to an address-book group; ``ref_no`` is the campaign name."""
        request = SmsGroupRequest(group=group, text=text, otp=otp, **fields)
        return self._smscalls.send(
            "/api/v3/sendsms/group", request.to_form(), "send", priority, SmsGroupResult
        )

    def get_sms_credits(self, *, priority: Priority = "normal") -> SmsCredits:
        """``GET /api/command?cmd=CREDITS&type=sms``: the SMS credit left.

        The answer's shape is undocumented: any plausible one is read, and one that says
        nothing recognisable gives ``known=False`` with the answer in ``raw`` (never an error).
        """
        query = {"cmd": "CREDITS", "type": "sms", "output": "json"}
        return self._smscalls.command(query, priority, read_credits)

    def get_sms_delivery_report(
        self, ref_no: str, *, priority: Priority = "normal"
    ) -> SmsDeliveryReport:
        """``GET /api/command?cmd=DR&ref_no=…``: the delivery state of one SMS.

        Read defensively like :meth:`get_sms_credits`; ``state`` is ``pending``,
        ``delivered``, ``failed`` or ``unknown``.
        """
        ref = _ref(ref_no)
        query = {"cmd": "DR", "ref_no": ref, "output": "json"}
        return self._smscalls.command(query, priority, read_delivery_report, ref_no=ref)

    # ----------------------------------------------------------------------- internals

    def _api_headers(self) -> dict[str, str]:
        key = self._api_key.get_secret_value()
        if not key:
            raise ConfigurationError("this call needs the NusaSMS api_key")
        return {"APIKey": key, "Accept": "application/json"}

    def _envelope(self, response: requests.Response, *, is_send: bool) -> ApiEnvelope:
        return read_envelope(
            response.status_code,
            response.content,
            is_send=is_send,
            redact=self._transport.redact,
        )

    def _send(
        self,
        path: str,
        priority: Priority,
        model: type[M],
        request: RequestModel,
        *,
        multipart: bool = False,
        pick: Callable[[ApiEnvelope], Any] = lambda envelope: envelope.data,
    ) -> M:
        """A JSON API send (POST): never retried once it may have reached the provider."""
        body, files = (
            (None, request.to_multipart()) if multipart else (request.to_json_body(), None)
        )
        validate = model.model_validate
        return self._api("POST", path, "send", priority, validate, body, files=files, pick=pick)

    def _api(
        self,
        method: str,
        path: str,
        kind: Kind,
        priority: Priority,
        validate: Callable[[Any], R],
        body: dict[str, Any] | None = None,
        *,
        files: list[tuple[str, tuple[Any, ...]]] | None = None,
        pick: Callable[[ApiEnvelope], Any] = lambda envelope: envelope.data,
    ) -> R:
        """One JSON API call; the result is ``validate(pick(envelope))`` (by default its data)."""

        def parse(response: requests.Response) -> R:
            return validate(pick(self._envelope(response, is_send=kind == "send")))

        try:
            return self._transport.hit(
                method,
                API + path,
                kind=kind,
                parse=parse,
                priority=priority,
                headers=self._api_headers(),
                json=body,
                files=files,
            )
        except PermanentError as exc:
            # A refusal that speaks of credit is one (the documents name no status for it).
            error = as_credit_error(exc)
            if error is exc:
                raise
            raise error from exc


def _ref(ref_no: str) -> str:
    if not isinstance(ref_no, str) or not ref_no.strip():
        raise ValueError("ref_no: must be a non-empty string")
    return ref_no.strip()
