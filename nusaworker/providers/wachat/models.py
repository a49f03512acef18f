"""Request and response models of the WAChat API v1.0 (seed 002).

WAChat is a sibling gateway of NusaSMS's WhatsApp API: the same ``{"error", "message",
"data"}`` envelope, the same FastAPI validation answers, the same field names. The base
configurations and number checks are therefore NusaSMS's (:mod:`..nusasms.models.common`):
request models refuse unknown fields (a typo must not silently drop a parameter), response
models keep fields the document does not (yet) describe.

The document states no media types or size limits (the "Warning" and "Note" boxes of *Send
Media* are empty in it), so none are enforced here; the provider judges the file.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from nusaworker.limits import Base64, Caption, Destination, FileName, Id, Url, WaMessage

from ..fields import OptionalId, ProviderId, ProviderWord, blank_to_none
from ..nusasms.models.common import (
    LenientDatetime,
    RequestModel,
    ResponseModel,
    check_http_url,
)
from ..nusasms.models.wa import normalize_whatsapp_destination
from .status import WAChatStatus

__all__ = [
    "GatewayBalance",
    "WAChatAccount",
    "WAChatMediaRequest",
    "WAChatMessageRequest",
    "WAChatMessageStatus",
    "WAChatSendResult",
]


class _WAChatSend(RequestModel):
    """The fields both sends share (``SendMessageParams`` / ``SendMediaParams``)."""

    # is_group comes first: the destination check reads it.
    is_group: bool = False
    destination: Destination
    # The gateway (WhatsApp number) to send from; the provider picks one when left out.
    sender: Id | None = None
    # The device queue of the gateway (the samples call it YOUR_DEVICE_ID).
    queue: Id | None = None
    # Seconds the message may wait to be sent; the document shows 86400 and says no more.
    timeout: int | None = Field(default=None, ge=0, le=2**31 - 1)

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str, info: ValidationInfo) -> str:
        return normalize_whatsapp_destination(value, is_group=bool(info.data.get("is_group")))

    @field_validator("sender", "queue")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        # The Go sample sends " YOUR_DEVICE_ID " with spaces; an id never means them.
        if value is None:
            return None
        value = value.strip()
        return value or None


class WAChatMessageRequest(_WAChatSend):
    """``POST /wachat_api/1.0/message``: a text message."""

    message: WaMessage = Field(min_length=1)


class WAChatMediaRequest(_WAChatSend):
    """``POST /wachat_api/1.0/media``: a file by URL, or inline as base64 with its file name.

    One of ``media_url`` / ``media_base64`` is needed (the document marks neither required,
    but a media message without media is nothing to send).
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
        if value is None:
            return None
        try:
            base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        return value

    @model_validator(mode="after")
    def _some_media(self) -> Self:
        if not self.media_url and not self.media_base64:
            raise ValueError("media_url or media_base64 is required")
        return self


# ---------------------------------------------------------------------------------- answers


class WAChatAccount(ResponseModel):
    """``GET auth/api_key`` (``Person``): who the API key belongs to."""

    userid: str | None = None
    idPerson: int | None = None
    idClient: int | None = None


class GatewayBalance(ResponseModel):
    """``GET sender/{sender}`` (``WAGateway``): one gateway's message count against its limit.

    ``limit`` absent means the provider states none (:attr:`remaining` is then ``None``).
    """

    idClient: int | None = None
    name: str
    counter: int = 0
    limit: int | None = None

    @property
    def remaining(self) -> int | None:
        """Messages the gateway may still send, or ``None`` when it has no stated limit."""
        return None if self.limit is None else max(0, self.limit - self.counter)

    @property
    def is_exhausted(self) -> bool:
        """True once ``counter`` has reached ``limit``: sends from it are refused."""
        return self.limit is not None and self.counter >= self.limit


class WAChatSendResult(ResponseModel):
    """What a send answers (``SendMessage`` / ``SendMedia``): above all the ``ref_no``."""

    ref_no: ProviderId
    destination: str | None = None
    sender: str | None = None
    queue: str | None = None
    message: str | None = None
    caption: str | None = None
    media_url: str | None = None


class WAChatMessageStatus(ResponseModel):
    """``GET status/{message_ref_no}`` (``GetMessage``): where one message stands.

    ``status`` is a :class:`WAChatStatus` when the provider sent a known one, else its raw text
    (a new status must not make a poll fail).
    """

    ref_no: OptionalId = None
    status: Annotated[
        WAChatStatus | ProviderWord | None,
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
        """True for R and A (see :class:`WAChatStatus`); False for the rest and unknowns."""
        return isinstance(self.status, WAChatStatus) and self.status.is_final
