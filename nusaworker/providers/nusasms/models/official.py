"""Request and response models of the WhatsApp Official part of the JSON API v1.0 (seed 001).

A broadcast sends an approved template through a channel (both UUID4); once the recipient
answers, a room opens and for 24 hours free-form replies may be sent into it by ``room_id``.
Replies are sent as ``multipart/form-data``, as the documents do; a reply's file is either a
``file_url`` (the schema) or an uploaded ``file`` part (the document's Node.js sample).
"""

from __future__ import annotations

import mimetypes
from enum import StrEnum
from typing import Any, Self

from pydantic import UUID4, Field, field_validator, model_validator

from ...fields import ProviderId
from ..media import decode_base64, normalize_base64, sniff
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
    """What a reply carries; every type but ``text`` needs a ``file_url`` or a ``file``."""

    TEXT = "text"
    AUDIO = "audio"
    DOCUMENT = "document"
    IMAGE = "image"
    VIDEO = "video"
    VOICE = "voice"


class ReplyRequest(RequestModel):
    """``POST /nusasms_api/1.0/wa_official/message/reply``: a free-form message into a room.

    A non-text reply carries its file as ``file_url`` or as an upload: ``file_base64`` (the
    content, base64 so that the request stays JSON for the ledger) with an optional
    ``file_name``. On the wire the upload is the multipart part ``file`` (as the document's
    Node.js sample sends it); ``text`` goes along as the caption. The documents set no type or
    size limit for a reply's file, so none is checked here.
    """

    room_id: UUID4
    type: ReplyType = ReplyType.TEXT
    text: str | None = None
    file_url: str | None = None
    file_base64: str | None = None
    file_name: str | None = Field(default=None, min_length=1)

    @field_validator("file_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("file_base64")
    @classmethod
    def _file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            decode_base64(value)
        except ValueError as exc:
            raise ValueError(f"file_base64: {exc}") from None
        return normalize_base64(value) or None

    @model_validator(mode="after")
    def _check_content(self) -> Self:
        if self.type is ReplyType.TEXT and not self.text:
            raise ValueError("text is required when type is 'text'")
        if self.type is not ReplyType.TEXT and not (self.file_url or self.file_base64):
            raise ValueError(f"file_url or a file is required when type is {self.type.value!r}")
        if self.file_name and not self.file_base64:
            raise ValueError("file_name names an uploaded file: give file_base64 (or file)")
        return self

    def to_multipart(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Form parts for ``requests``' ``files=``; the upload becomes the ``file`` part."""
        body = self.to_json_body()
        body.pop("file_base64", None)
        body.pop("file_name", None)
        parts: list[tuple[str, tuple[Any, ...]]] = [
            (name, (None, str(value))) for name, value in body.items()
        ]
        if self.file_base64:
            content = decode_base64(self.file_base64)
            name = self.file_name or _default_name(content)
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            parts.append(("file", (name, content, media)))
        return parts


def _default_name(content: bytes) -> str:
    """A file name for an upload given without one (multipart needs a name for a file part)."""
    kind = sniff(content)
    return f"file.{kind}" if kind else "file"


class OfficialSendResult(ResponseModel):
    """What a broadcast or a reply answers: the provider's ``ref_no``."""

    ref_no: ProviderId


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
