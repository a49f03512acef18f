"""What the client sends: one message (``addsms``), an image to go with it, a bulk item.

Request models refuse unknown fields (a typo must not silently drop a parameter) and check
everything the document states before any hit: SIM slot 0-5, a ``timetosend`` of
``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``, an image of type jpeg/png/webp/gif, and a body
unless an image replaces it. The form the provider receives is built here too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nusaworker.limits import Recipients, TimeToSend, WaMessage

__all__ = [
    "IMAGE_TYPES",
    "WHATSAPP_SLOTS",
    "BulkItem",
    "Image",
    "SendRequest",
    "SimSlot",
    "format_timetosend",
]


class SimSlot(IntEnum):
    """The ``sim`` values of the document: which SIM (or app) of the phone sends."""

    SMS_1 = 0
    SMS_2 = 1
    WHATSAPP_BUSINESS = 2
    WHATSAPP = 3
    RCS_1 = 4
    RCS_2 = 5


# Images are "currently supported on WhatsApp / WhatsApp Business slots".
WHATSAPP_SLOTS = frozenset({SimSlot.WHATSAPP_BUSINESS, SimSlot.WHATSAPP})
# Extension -> the content type sent with the upload.
IMAGE_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
}
_TIMETOSEND = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?")


def format_timetosend(value: datetime | date | str) -> str:
    """``timetosend`` as the document writes it; a string must already have that shape.

    A ``datetime`` is written as it is (its wall-clock fields): the document does not say in
    which time zone the provider reads it, so an aware value is not converted.
    """
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    if not _TIMETOSEND.fullmatch(text):
        raise ValueError("timetosend: must be 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'")
    try:
        datetime.strptime(text, "%Y-%m-%d %H:%M:%S" if " " in text else "%Y-%m-%d")
    except ValueError:
        raise ValueError("timetosend: not a real date/time") from None
    return text


def _join_recipients(value: Any) -> Any:
    if isinstance(value, list | tuple):
        parts = [str(v).strip() for v in value]
        if not parts or not all(parts):
            raise ValueError("sendto: every recipient must be a non-empty string")
        return ",".join(parts)
    return value


class _Message(BaseModel):
    """The fields a message of ``addsms`` and a bulk item share."""

    model_config = ConfigDict(extra="forbid")

    # One recipient, or several: a list, or the document's comma-separated string.
    sendto: Recipients = Field(min_length=1)
    device_id: int = Field(ge=1, le=2**31 - 1)
    sim: SimSlot
    timetosend: TimeToSend | None = None
    customerid: int | None = Field(default=None, ge=0, le=2**31 - 1)
    urgent: bool | None = None

    @field_validator("sendto", mode="before")
    @classmethod
    def _sendto(cls, value: Any) -> Any:
        value = _join_recipients(value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("timetosend", mode="before")
    @classmethod
    def _timetosend(cls, value: Any) -> Any:
        return None if value is None else format_timetosend(value)


class SendRequest(_Message):
    """``addsms``: one message; ``body`` may be left out only when an image replaces it."""

    # An SMS or a WhatsApp message (sim 2/3), by the phone: the larger, WhatsApp's, bound.
    body: WaMessage | None = None
    has_image: bool = Field(default=False, exclude=True)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.has_image:
            if self.sim not in WHATSAPP_SLOTS:
                raise ValueError(
                    "an image can only be sent on a WhatsApp slot (sim 2 or 3), "
                    f"not sim {int(self.sim)}"
                )
        elif not (self.body and self.body.strip()):
            raise ValueError("body: required (unless an image is sent)")
        return self

    def to_form(self) -> dict[str, str]:
        """The form fields, as text; the token is added by the client."""
        form = {
            "sendto": self.sendto,
            "body": self.body or "",
            "device_id": str(self.device_id),
            "sim": str(int(self.sim)),
        }
        if not self.body:
            del form["body"]  # the uploaded image's URL takes its place
        if self.timetosend is not None:
            form["timetosend"] = self.timetosend
        if self.customerid is not None:
            form["customerid"] = str(self.customerid)
        if self.urgent is not None:
            form["urgent"] = "1" if self.urgent else "0"
        return form


class BulkItem(_Message):
    """One entry of ``smsdata`` in the bulk call's ``datajson``."""

    body: WaMessage = Field(min_length=1)

    def to_json(self) -> dict[str, Any]:
        """The entry as the document's sample writes it (numbers as numbers)."""
        item: dict[str, Any] = {
            "sendto": self.sendto,
            "body": self.body,
            "sim": int(self.sim),
            "device_id": self.device_id,
        }
        if self.timetosend is not None:
            item["timetosend"] = self.timetosend
        if self.customerid is not None:
            item["customerid"] = self.customerid
        if self.urgent is not None:
            item["urgent"] = 1 if self.urgent else 0
        return item


@dataclass(frozen=True, repr=False)
class Image:
    """An image to upload with ``addsms`` (multipart ``file``): name, bytes, content type.

    The type comes from ``content_type`` when given, else from the file name's extension;
    only jpeg, png, webp and gif are accepted. The document states no size limit.
    """

    file_name: str
    content: bytes
    content_type: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.content, bytes | bytearray) or not self.content:
            raise ValueError("image: the file is empty")
        if not self.file_name or "/" in self.file_name or "\\" in self.file_name:
            raise ValueError("image: file_name must be a plain file name")
        allowed = set(IMAGE_TYPES.values())
        if self.content_type is not None and self.content_type.lower() not in allowed:
            raise ValueError(f"image: type {self.content_type!r} is not one of {sorted(allowed)}")
        if self.content_type is None and self.extension not in IMAGE_TYPES:
            raise ValueError(
                f"image: file_name must end in one of {sorted(IMAGE_TYPES)} (or give content_type)"
            )

    def __repr__(self) -> str:
        return f"Image(file_name={self.file_name!r}, bytes={len(self.content)})"

    @property
    def extension(self) -> str:
        """The file name's extension, lower-cased (``""`` when it has none)."""
        return self.file_name.rsplit(".", 1)[-1].lower() if "." in self.file_name else ""

    @property
    def media_type(self) -> str:
        """The content type the upload carries."""
        return (self.content_type or IMAGE_TYPES[self.extension]).lower()

    def to_part(self) -> tuple[str, bytes, str]:
        """The ``files=`` entry ``requests`` turns into a multipart file part."""
        return (self.file_name, bytes(self.content), self.media_type)


def bulk_items(items: Sequence[BulkItem | dict[str, Any]]) -> list[BulkItem]:
    """Validate bulk entries (models or dicts); at least one is needed."""
    if not items:
        raise ValueError("smsdata: at least one message is needed")
    return [i if isinstance(i, BulkItem) else BulkItem.model_validate(i) for i in items]
