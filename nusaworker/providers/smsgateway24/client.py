"""The typed SmsGateway24 client: an Android phone as an SMS / WhatsApp / RCS gateway.

Usable on its own, without Celery or Redis::

    from nusaworker.providers import SmsGateway24Client

    with SmsGateway24Client(email="me@example.com", password="…", device_id=1576) as client:
        sent = client.send("+4915752982212", "Your code is 1234", priority="otp")
        print(sent.sms_id, client.get_status(sent.sms_id).state)

The client logs in (``gettoken``) on its first call and keeps the token; a call refused for its
token fetches a new one and is made again, once. Every hit — the login included — takes a
slot from the pacing gate, on this client's ``account``: the login plus the pinned device,
since a phone sends at its own pace (its ``delaybetweeneachsms``), not at an API-wide rate.
Failures raise the classes of :mod:`nusaworker.providers.errors`; the password and the token
never appear in reprs, logs or errors. Every call is a POST form, so that neither travels in a
URL.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import SecretStr

from ..base import TransportClient, secret
from ..errors import PermanentError
from ..gate import Gate, Priority
from .endpoints import Endpoints
from .models.answers import (
    BulkResult,
    Device,
    DeviceList,
    MessageList,
    SendResult,
    SmsStatus,
)
from .models.send import BulkItem, Image, SendRequest, SimSlot, bulk_items, format_timetosend
from .session import TokenSession

__all__ = ["CREDENTIALS", "DEFAULT_BASE_URL", "SmsGateway24Client", "account_fingerprint"]

DEFAULT_BASE_URL = "https://smsgateway24.com"
# The keyword arguments of SmsGateway24Client that carry an account's credentials. ``token``
# is optional: a token copied from the provider's profile page, used until it is refused.
CREDENTIALS = ("email", "password", "token")
UNCONFIGURED = "smsgateway24:unconfigured"


def account_fingerprint(login: str, device_id: int | None = None) -> str:
    """The pacing account: ``"smsgateway24:" + sha256(login)[:16]`` (+ ``":" + device_id``)."""
    digest = hashlib.sha256(login.strip().lower().encode("utf-8")).hexdigest()[:16]
    return f"smsgateway24:{digest}" + (f":{device_id}" if device_id is not None else "")


class SmsGateway24Client(TransportClient):
    """A client of the SmsGateway24 API (seed 004).

    ``email``/``password`` (or a ready ``token``) are the credentials; ``device_id`` and
    ``sim`` are the defaults of every send (when no device is pinned, the first device of the
    account is used, looked up once). ``endpoints`` moves any path (only ``gettoken`` and
    ``addsms`` are named by the document). ``account`` overrides the pacing fingerprint.
    Retries: at most ``max_attempts`` attempts within ``max_retry_time`` seconds, on 429, 5xx
    and connection errors only. Thread-safe enough to share between the threads of a worker.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        email: str | SecretStr | None = None,
        password: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        device_id: int | None = None,
        sim: int | SimSlot | None = None,
        gate: Gate | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        max_retry_time: float = 20.0,
        account: str | None = None,
        endpoints: Endpoints | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        rate_limit_penalty: float = 0.25,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._email = secret(email)
        self._password = secret(password)
        given_token = secret(token)
        self.device_id = None if device_id is None else int(device_id)
        # Settings may leave the slot unset: the first SMS slot, as the provider's samples use.
        self.sim = SimSlot.SMS_1 if sim is None else SimSlot(sim)
        self.endpoints = endpoints or Endpoints()
        login = self._email.get_secret_value()
        identity = login or given_token.get_secret_value()
        # Without credentials the client can still be built (settings may leave them empty for
        # a process that never calls out); every call then raises ConfigurationError.
        self.account = account or (
            account_fingerprint(identity, self.device_id) if identity else UNCONFIGURED
        )
        self._connect(
            base_url=base_url,
            gate=gate,
            secrets=(self._email, self._password, given_token),
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
        self._session = TokenSession(
            self._transport,
            self.endpoints,
            email=self._email,
            password=self._password,
            token=given_token,
        )
        self._picked: int | None = None

    @property
    def logins(self) -> int:
        """How many times this client fetched a token (``gettoken`` calls that succeeded)."""
        return self._session.logins

    # ------------------------------------------------------------------------------ calls

    def authenticate(self, *, priority: Priority = "normal") -> None:
        """Fetch a fresh token now (``gettoken``), e.g. to check the credentials at start-up.

        Raises :class:`AuthError` when the e-mail or password is refused.
        """
        self._session.authenticate(priority)

    def send(
        self,
        sendto: str | Sequence[str],
        body: str,
        *,
        device_id: int | None = None,
        sim: int | SimSlot | None = None,
        timetosend: datetime | date | str | None = None,
        customerid: int | None = None,
        urgent: bool | None = None,
        priority: Priority = "normal",
    ) -> SendResult:
        """``addsms``: queue one message on a phone; returns its ``sms_id``.

        ``sendto`` may name several recipients (a list, or comma-separated). ``urgent``
        defaults to ``priority == "otp"`` (the document: "useful for OTP"). ``sim`` picks the
        slot: 0/1 SMS, 2 WhatsApp Business, 3 WhatsApp, 4/5 RCS.
        """
        request = self._request(
            sendto, body, device_id, sim, timetosend, customerid, urgent, priority
        )
        return self._session.call(
            self.endpoints.send,
            "send",
            priority,
            lambda t: {**request.to_form(), "token": t},
            SendResult.model_validate,
        )

    def send_image(
        self,
        sendto: str | Sequence[str],
        image: Image,
        *,
        body: str | None = None,
        device_id: int | None = None,
        sim: int | SimSlot | None = None,
        timetosend: datetime | date | str | None = None,
        customerid: int | None = None,
        urgent: bool | None = None,
        priority: Priority = "normal",
    ) -> SendResult:
        """``addsms`` with a ``file`` (multipart/form-data): an image on a WhatsApp slot.

        The provider stores the image and sends its URL in place of ``body``. The slot (``sim``,
        else the client's default) must be 2 or 3 — the document: images are supported on the
        WhatsApp slots; any other is refused here with a ``ValueError``, before any hit.
        """
        request = self._request(
            sendto, body, device_id, sim, timetosend, customerid, urgent, priority, image=True
        )
        files = [("file", image.to_part())]
        return self._session.call(
            self.endpoints.send,
            "send",
            priority,
            lambda t: {**request.to_form(), "token": t},
            SendResult.model_validate,
            files=files,
        )

    def send_bulk(
        self, items: Sequence[BulkItem | dict[str, Any]], *, priority: Priority = "bulk"
    ) -> BulkResult:
        """Queue many messages in one call (``datajson``). An item without ``device_id`` or
        ``sim`` takes the client's defaults. The document answers no ids for them."""
        filled: list[BulkItem | dict[str, Any]] = list(items)
        if any(isinstance(i, dict) and not {"device_id", "sim"} <= set(i) for i in items):
            device, sim = self._defaults(None, None, priority)
            filled = [
                i if isinstance(i, BulkItem) else {"device_id": device, "sim": int(sim), **i}
                for i in items
            ]
        checked = bulk_items(filled)
        smsdata = [i.to_json() for i in checked]

        def form(token: str) -> dict[str, str]:
            return {"datajson": json.dumps({"token": token, "smsdata": smsdata})}

        return self._session.call(
            self.endpoints.bulk, "send", priority, form, BulkResult.model_validate
        )

    def get_status(self, sms_id: int, *, priority: Priority = "normal") -> SmsStatus:
        """Where one message stands: ``status`` verbatim, ``state`` its final state or None."""
        ident = _sms_id(sms_id)
        return self._session.call(
            self.endpoints.status,
            "read",
            priority,
            lambda t: {"token": t, "sms_id": str(ident)},
            SmsStatus.model_validate,
        )

    def list_devices(self, *, priority: Priority = "normal") -> list[Device]:
        """The account's phones, with their SIMs and their own sending delays."""
        found = self._session.call(
            self.endpoints.devices,
            "read",
            priority,
            lambda t: {"token": t},
            DeviceList.model_validate,
        )
        return found.devices

    def list_messages(
        self,
        *,
        device_id: int | None = None,
        status: int | None = None,
        begindate: datetime | date | str | None = None,
        enddate: datetime | date | str | None = None,
        sim: int | None = None,
        customerid: int | None = None,
        phone: str | None = None,
        onlycount: bool = False,
        orderbydesc: bool | None = None,
        timezone: str | None = None,
        priority: Priority = "normal",
    ) -> MessageList:
        """The account's messages matching every filter given (or only their ``count``)."""
        filters: dict[str, str] = {}
        for name, value in (
            ("device_id", device_id),
            ("status", status),
            ("sim", None if sim is None else int(SimSlot(sim))),
            ("customerid", customerid),
            ("phone", phone),
            ("timezone", timezone),
        ):
            if value is not None:
                filters[name] = str(value)
        for name, when in (("begindate", begindate), ("enddate", enddate)):
            if when is not None:
                filters[name] = format_timetosend(when)
        if onlycount:
            filters["onlycount"] = "1"
        if orderbydesc is not None:
            filters["orderbydesc"] = "1" if orderbydesc else "0"
        return self._session.call(
            self.endpoints.messages,
            "read",
            priority,
            lambda t: {"token": t, **filters},
            MessageList.model_validate,
        )

    def pick_device(self, *, priority: Priority = "normal") -> tuple[int, SimSlot]:
        """The ``(device_id, sim)`` a send uses when none is given: the pinned device, else
        the account's first device with a subscription (looked up once, then kept)."""
        return self._defaults(None, None, priority)

    # ------------------------------------------------------------------------- internals

    def _defaults(
        self, device_id: int | None, sim: int | SimSlot | None, priority: Priority
    ) -> tuple[int, SimSlot]:
        """The device and slot of a send: as given, else the client's, else the account's."""
        slot = self.sim if sim is None else SimSlot(sim)
        if device_id is not None:
            return int(device_id), slot
        if self.device_id is not None:
            return self.device_id, slot
        if self._picked is None:
            devices = self.list_devices(priority=priority)
            if not devices:
                raise PermanentError("SmsGateway24: the account has no device to send from")
            # A phone whose subscription lapsed is skipped while another one can send.
            usable = [d for d in devices if d.subscription is not False] or devices
            self._picked = usable[0].id
        return self._picked, slot

    def _request(
        self,
        sendto: str | Sequence[str],
        body: str | None,
        device_id: int | None,
        sim: int | SimSlot | None,
        timetosend: datetime | date | str | None,
        customerid: int | None,
        urgent: bool | None,
        priority: Priority,
        *,
        image: bool = False,
    ) -> SendRequest:
        fields: dict[str, Any] = {
            "sendto": list(sendto) if isinstance(sendto, list | tuple) else sendto,
            "body": body,
            "sim": self.sim if sim is None else SimSlot(sim),
            "timetosend": timetosend,
            "customerid": customerid,
            "urgent": priority == "otp" if urgent is None else urgent,
            "has_image": image,
        }
        if device_id is None and self.device_id is None:
            # Check the message before the device lookup costs a hit.
            SendRequest(device_id=1, **fields)
        fields["device_id"], fields["sim"] = self._defaults(device_id, sim, priority)
        return SendRequest(**fields)


def _sms_id(value: int | str) -> int:
    try:
        ident = int(value)
    except (TypeError, ValueError):
        raise ValueError("sms_id: must be a positive integer") from None
    if ident < 1:
        raise ValueError("sms_id: must be a positive integer")
    return ident
