"""Request and response models of the NusaSMS JSON API v1.0: account, balance, WhatsApp.

Every field of the newer edition (seed 001) is here: ``queue``, ``channel``,
``include_unsubscribe``, ``timeout``, ``is_group``, ``sender``. Media rules are checked locally,
before any hit, by :mod:`..media`: allowed types jpg/jpeg/png/pdf/webm/mp4; at most 512,000
bytes for images and PDF, 1,000,000 for mp4/webm (checked on ``media_base64``; a ``media_url``
is only checked for its type, since its size is only known to whoever downloads it).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from nusaworker.limits import (
    Base64,
    Caption,
    Destination,
    FileName,
    Id,
    Url,
    WaMessage,
    check_list,
)

from ...fields import OptionalId, ProviderId, ProviderWord, blank_to_none
from ..media import (
    MEDIA_SIZE_LIMITS,
    decode_base64,
    describe_limit,
    media_type,
    normalize_base64,
    refused_field,
)
from .common import (
    LenientDate,
    LenientDatetime,
    RequestModel,
    ResponseModel,
    Standing,
    check_http_url,
    normalize_phone,
    standing,
)

__all__ = [
    "MEDIA_SIZE_LIMITS",
    "Account",
    "Balance",
    "PhoneCheckRequest",
    "PhoneCheckResult",
    "WhatsAppMediaRequest",
    "WhatsAppMessageRequest",
    "WhatsAppMessageStatus",
    "WhatsAppSendResult",
    "WhatsAppStatus",
    "normalize_whatsapp_destination",
]

_GROUP_ID = re.compile(r"[0-9]+-[0-9]+")


def normalize_whatsapp_destination(value: str, *, is_group: bool) -> str:
    """A phone number (8-15 digits, optional leading ``+``) or, for a group, ``digits-digits``."""
    if is_group:
        group = value.strip() if isinstance(value, str) else ""
        if not _GROUP_ID.fullmatch(group):
            raise ValueError("destination: a group id must look like '<digits>-<digits>'")
        return group
    try:
        return normalize_phone(value)
    except ValueError as exc:
        hint = " (a group id needs is_group=True)" if "-" in value else ""
        raise ValueError(f"destination: {exc}{hint}") from None


class _WhatsAppSend(RequestModel):
    """The fields every WhatsApp send shares."""

    # is_group comes first: the destination check reads it.
    is_group: bool = False
    destination: Destination
    sender: Id | None = None
    queue: Id | None = None
    channel: int | None = Field(default=None, ge=0, le=2**31 - 1)
    include_unsubscribe: bool | None = None
    # Seconds the message may wait before it is sent; past it the provider marks it F.
    timeout: int | None = Field(default=None, ge=0, le=2**31 - 1)

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str, info: ValidationInfo) -> str:
        return normalize_whatsapp_destination(value, is_group=bool(info.data.get("is_group")))


class WhatsAppMessageRequest(_WhatsAppSend):
    """``POST /nusasms_api/1.0/whatsapp/message``: a text message."""

    message: WaMessage = Field(min_length=1)


class WhatsAppMediaRequest(_WhatsAppSend):
    """``POST /nusasms_api/1.0/whatsapp/media``: a file by URL or inline as base64.

    Give ``media_url`` or ``media_base64`` (if both are given the provider uses
    ``media_base64``); ``file_name`` is optional. The type comes from ``file_name``'s extension,
    else from the inline content's signature, else from the URL's extension; a URL without one
    is let through, since only the provider sees what it downloads (rules:
    :mod:`nusaworker.providers.nusasms.media`). Whitespace in ``media_base64`` is dropped.
    """

    caption: Caption | None = None
    media_url: Url | None = None
    media_base64: Base64 | None = None
    file_name: FileName | None = None

    @field_validator("media_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("media_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        # Sent without whitespace: the lenient reading is ours, the provider gets strict base64.
        return None if value is None else (normalize_base64(value) or None)

    @model_validator(mode="after")
    def _check_media(self) -> Self:
        if not self.media_url and not self.media_base64:
            raise ValueError("media_url or media_base64 is required")
        content = None
        if self.media_base64:
            try:
                content = decode_base64(self.media_base64)
            except ValueError as exc:
                raise ValueError(f"media_base64: {exc}") from None
        url = None if content is not None else self.media_url
        try:
            kind, source = media_type(media_url=url, content=content, file_name=self.file_name)
        except ValueError as exc:
            field = refused_field(self.file_name, content)
            raise ValueError(f"{field}: {exc}") from None
        if content is not None and kind is not None and len(content) > MEDIA_SIZE_LIMITS[kind]:
            raise ValueError(
                f"media_base64: {len(content)} bytes is over the {describe_limit(kind)} "
                f"({MEDIA_SIZE_LIMITS[kind]} bytes) limit for .{kind} files (from {source})"
            )
        return self


class PhoneCheckRequest(RequestModel):
    """``POST /nusasms_api/1.0/wa_phone_check``: which numbers have WhatsApp (1-100 numbers)."""

    phone_numbers: list[Destination] = Field(min_length=1, max_length=100)
    callback_url: Url | None = None

    @field_validator("phone_numbers")
    @classmethod
    def _numbers(cls, value: list[str], info: ValidationInfo) -> list[str]:
        check_list(value, "phone_numbers", info)
        checked = []
        for i, number in enumerate(value):
            try:
                checked.append(normalize_phone(number, min_digits=8, max_digits=14))
            except ValueError as exc:
                raise ValueError(f"phone_numbers[{i}]: {exc}") from None
        return checked

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)


# ---------------------------------------------------------------------------------- answers


class Account(ResponseModel):
    """``GET auth/api_key``: who the API key belongs to."""

    userid: str | None = None
    idPerson: int | None = None
    idClient: int | None = None


class Balance(ResponseModel):
    """``GET balance``: credit per product and when it expires."""

    idClient: int | None = None
    wa_balance: float | None = None
    wa_expired_date: LenientDate = None
    hlr_balance: float | None = None
    hlr_expired_date: LenientDate = None
    sim_balance: float | None = None
    sim_expired_date: LenientDate = None
    sms_balance: float | None = None
    sms_expired_date: LenientDate = None
    pulsa_balance: float | None = None

    def standing(self, wallet: str = "wa", *, today: date | None = None) -> Standing:
        """What the documented fields say of ``wallet`` (``wa``, ``sms``, ``hlr``, ``sim``).

        ``expired`` once ``<wallet>_expired_date`` is past (``today`` defaults to the date in
        Jakarta, the provider's calendar), else ``empty`` at a balance of 0 or less, ``ok``
        with credit left, ``unknown`` when the answer lacks the balance. These are the
        documented signals of no credit; how a send is refused for it is not documented.
        """
        return standing(
            getattr(self, f"{wallet}_balance", None),
            getattr(self, f"{wallet}_expired_date", None),
            today=today,
        )


class WhatsAppSendResult(ResponseModel):
    """What a WhatsApp send (message or media) answers: above all the provider's ``ref_no``."""

    ref_no: ProviderId
    destination: str | None = None
    sender: str | None = None
    queue: str | None = None
    message: str | None = None
    caption: str | None = None
    media_url: str | None = None


class WhatsAppStatus(StrEnum):
    """A WhatsApp message status as the provider reports it.

    ``is_final`` is true for R (read), A (aborted) and F (failed): nothing more will happen.
    D (delivered) is *not* final: it may still become R; pollers that do not care about read
    receipts may stop at ``is_delivered``.
    """

    UNSENT = "U"
    QUEUED = "Q"
    SENT = "S"
    DELIVERED = "D"
    READ = "R"
    ABORTED = "A"
    FAILED = "F"

    @property
    def is_final(self) -> bool:
        """No further change is expected."""
        return self in (WhatsAppStatus.READ, WhatsAppStatus.ABORTED, WhatsAppStatus.FAILED)

    @property
    def is_delivered(self) -> bool:
        """The message reached the handset (delivered or already read)."""
        return self in (WhatsAppStatus.DELIVERED, WhatsAppStatus.READ)

    @property
    def is_failed(self) -> bool:
        """The message will never be delivered."""
        return self in (WhatsAppStatus.ABORTED, WhatsAppStatus.FAILED)

    @classmethod
    def _missing_(cls, value: object) -> WhatsAppStatus | None:
        # Callbacks and the test host spell statuses out ("read", "queued", "UN-SENT").
        if isinstance(value, str):
            return _STATUS_WORDS.get(value.strip().upper().replace("_", "-"))
        return None


_STATUS_WORDS = {
    "U": WhatsAppStatus.UNSENT,
    "UN-SENT": WhatsAppStatus.UNSENT,
    "UNSENT": WhatsAppStatus.UNSENT,
    "Q": WhatsAppStatus.QUEUED,
    "QUEUE": WhatsAppStatus.QUEUED,
    "QUEUED": WhatsAppStatus.QUEUED,
    "S": WhatsAppStatus.SENT,
    "SENT": WhatsAppStatus.SENT,
    "D": WhatsAppStatus.DELIVERED,
    "DELIVERED": WhatsAppStatus.DELIVERED,
    "R": WhatsAppStatus.READ,
    "READ": WhatsAppStatus.READ,
    "A": WhatsAppStatus.ABORTED,
    "ABORT": WhatsAppStatus.ABORTED,
    "ABORTED": WhatsAppStatus.ABORTED,
    "F": WhatsAppStatus.FAILED,
    "FAILED": WhatsAppStatus.FAILED,
}


class WhatsAppMessageStatus(ResponseModel):
    """``GET whatsapp/status/{ref_no}``: where one message stands.

    ``status`` is a :class:`WhatsAppStatus` when the provider sent a known one, else its raw
    text (a new status must not make a poll fail).
    """

    ref_no: OptionalId = None
    status: Annotated[
        WhatsAppStatus | ProviderWord | None,
        Field(union_mode="left_to_right"),
        BeforeValidator(blank_to_none),
    ] = None
    destination: str | None = None
    sender: str | None = None
    is_group: bool | None = None
    create_date: LenientDatetime = None
    sent_date: LenientDatetime = None
    delivered_date: LenientDatetime = None
    read_date: LenientDatetime = None
    message: str | None = None
    caption: str | None = None
    media_url: str | None = None

    @property
    def is_final(self) -> bool:
        """True for R, A, F (see :class:`WhatsAppStatus`); False for D and unknown statuses."""
        return isinstance(self.status, WhatsAppStatus) and self.status.is_final


class PhoneCheckResult(ResponseModel):
    """``POST wa_phone_check`` answers only that the check was accepted (results: callback)."""

    message: str | None = None
    data: Any = None
