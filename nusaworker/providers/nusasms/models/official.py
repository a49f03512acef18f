"""Request and response models of the WhatsApp Official part of the JSON API v1.0 (seed 001).

A broadcast sends an approved template through a channel (both UUID4); once the recipient
answers, a room opens and for 24 hours free-form replies may be sent into it by ``room_id``.
Replies are sent as ``multipart/form-data``, as the documents do; a reply's file is either a
``file_url`` (the schema) or an uploaded ``file`` part (the document's Node.js sample).
"""

from __future__ import annotations

import json
import math
import mimetypes
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import UUID4, Field, ValidationInfo, field_validator, model_validator

from nusaworker.limits import (
    BOUNDS,
    Base64,
    Destination,
    FileName,
    Name,
    ReplyText,
    TemplateValue,
    Url,
    check_controls,
    limit_of,
)

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

    destination: Destination
    destination_name: Name = Field(min_length=1)
    template_id: UUID4
    channel_id: UUID4
    parameters: (
        dict[
            TemplateValue,
            Annotated[list[Any], Field(max_length=BOUNDS["parameters.items"].limit)]
            | Annotated[dict[str, Any], Field(max_length=BOUNDS["parameters.items"].limit)],
        ]
        | None
    ) = Field(default=None, max_length=BOUNDS["parameters.items"].limit)

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any] | None, info: ValidationInfo) -> Any:
        # Free-form by the documents: bounded as a whole, and every text in it checked.
        if value is None:
            return None
        # Walked first: only JSON values may be measured (and recorded) as JSON.
        _check_texts(value, limit_of("template.value", info))
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        limit = limit_of("parameters.bytes", info)
        if size > limit:
            raise ValueError(f"{size} bytes of JSON, over the bound of {limit} (parameters)")
        return value

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        try:
            return normalize_phone(value)
        except ValueError as exc:
            raise ValueError(f"destination: {exc}") from None


# A template's parameters nest three levels (body → list → object); far deeper is not one, and
# would overflow the JSON encoder's recursion.
_MAX_DEPTH = 16


def _check_texts(value: Any, limit: int) -> None:
    """Every value is JSON (text, number, true/false/null, list, object with text keys) and
    every string in it (keys too) holds no control character but line breaks, within ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth >= _MAX_DEPTH:
            raise ValueError(f"nested deeper than {_MAX_DEPTH} levels (parameters)")
        if isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((each, depth + 1) for each in item.values())
        elif isinstance(item, list):
            stack.extend((each, depth + 1) for each in item)
        elif isinstance(item, str):
            check_controls(item, lines=True)
            if len(item) > limit:
                raise ValueError(f"a text of {len(item)} characters, over {limit} (parameters)")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("NaN and Infinity are not JSON values (parameters)")
        elif item is not None and not isinstance(item, bool | int | float):
            raise ValueError(f"a {type(item).__name__} is not a JSON value (parameters)")


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
    text: ReplyText | None = None
    file_url: Url | None = None
    file_base64: Base64 | None = None
    file_name: FileName | None = Field(default=None, min_length=1)

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
