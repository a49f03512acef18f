"""Request and response models of the WhatsApp Official part of the JSON API v1.0 (seed 001).

A broadcast sends an approved template through a channel (both UUID4); once the recipient
answers, a room opens and for 24 hours free-form replies may be sent into it by ``room_id``.
Replies are sent as ``multipart/form-data``, as the documents do.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import UUID4, Field, field_validator, model_validator

from .common import (
    LenientDatetime,
    RequestModel,
    ResponseModel,
    check_http_url,
    normalize_phone,
)

__all__ = [
    "BroadcastRequest",
    "Channel",
    "OfficialSendResult",
    "ReplyRequest",
    "ReplyType",
    "Template",
]


class BroadcastRequest(RequestModel):
    """``POST /nusasms_api/1.0/wa_official/message/broadcast``: a template message.

    ``parameters`` follows the documents: ``{"body": [{"key", "value", "value_text"}, …],
    "header": {"format", "params": […]}, "buttons": […]}`` — each value a list or an object.
    """

    destination: str
    destination_name: str = Field(min_length=1)
    template_id: UUID4
    channel_id: UUID4
    parameters: dict[str, list[Any] | dict[str, Any]] | None = None

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        try:
            return normalize_phone(value)
        except ValueError as exc:
            raise ValueError(f"destination: {exc}") from None


class ReplyType(StrEnum):
    """What a reply carries; every type but ``text`` needs a ``file_url``."""

    TEXT = "text"
    AUDIO = "audio"
    DOCUMENT = "document"
    IMAGE = "image"
    VIDEO = "video"
    VOICE = "voice"


class ReplyRequest(RequestModel):
    """``POST /nusasms_api/1.0/wa_official/message/reply``: a free-form message into a room."""

    room_id: UUID4
    type: ReplyType = ReplyType.TEXT
    text: str | None = None
    file_url: str | None = None

    @field_validator("file_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @model_validator(mode="after")
    def _check_content(self) -> Self:
        if self.type is ReplyType.TEXT and not self.text:
            raise ValueError("text is required when type is 'text'")
        if self.type is not ReplyType.TEXT and not self.file_url:
            raise ValueError(f"file_url is required when type is {self.type.value!r}")
        return self


class OfficialSendResult(ResponseModel):
    """What a broadcast or a reply answers: the provider's ``ref_no``."""

    ref_no: str = Field(min_length=1)


class Template(ResponseModel):
    """One message template of ``GET wa_official/templates``."""

    id: str | None = None
    name: str | None = None
    header: Any = None
    body: Any = None
    footer: Any = None
    status: str | None = None
    category: str | None = None


class Channel(ResponseModel):
    """One sender channel of ``GET wa_official/channels``."""

    id: str | None = None
    webhook: str | None = None
    settings: Any = None
    organization_id: str | None = None
    created_at: LenientDatetime = None
