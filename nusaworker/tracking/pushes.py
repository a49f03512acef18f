"""The provider's pushes, parsed strictly: one model per callback format of seed 001.

=============================== ====== ==================================================
``/wa/status``, ``/sms/status``  GET/POST query string (or form): ``ref_no, status,
                                        sent_date, err_code``
``/wa/inbox``, ``/sms/inbox``    POST   form: ``id, gateway_number, originator,
                                        receive_date, msg``
``/wa_official/status``          POST   JSON ``{ref_no, status, status_date}``
``/wa_official/inbox``           POST   JSON ``{room_id, ref_no, text, inbox_date,
                                        sender_number}``
``/wa/phone_check``              POST   JSON ``{"phone_numbers": [{phone_number,
                                        is_registered}]}``
=============================== ====== ==================================================

Strict means: required fields present and non-empty, every value a bounded string of the
expected shape (a ``ref_no`` of letters, digits and ``._:-``; dates ``YYYY-MM-DD HH:MM:SS``),
JSON bodies objects. A field the documents do not list is ignored (providers add fields).
Anything else is refused with :class:`~nusaworker.tracking.errors.PushRejected` (400),
before anything is written. Status codes are *not* restricted to the known ones: an unknown
code is kept verbatim (see :mod:`nusaworker.tracking.statuses`).
"""

from __future__ import annotations

import email.errors
import email.parser
import email.policy
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from nusaworker.limits import check_controls
from nusaworker.providers.classify import load_json
from nusaworker.tracking.errors import PushRejected


def _no_controls(value: str) -> str:
    return check_controls(value, lines=False)


def _no_controls_but_lines(value: str) -> str:
    return check_controls(value, lines=True)


RefNo = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$"
    ),
]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9 _\-]+$"
    ),
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_no_controls)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{5,20}$")]
ProviderDate = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}Z?)?$"
    ),
]
# An inbound text is bounded by the body limit already; this only refuses absurd fields.
Text = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_no_controls_but_lines)]


class _Push(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StatusPush(_Push):
    """A delivery status (WhatsApp, SMS, WA Official), whatever its wire format."""

    ref_no: RefNo
    status: Code
    date: ProviderDate = ""
    err_code: ShortText = ""


class InboundPush(_Push):
    """An inbound message (WhatsApp, SMS, WA Official) in one shape for the hooks."""

    channel: str
    provider_id: RefNo
    sender: Phone
    text: Text = ""
    received_at: ProviderDate = ""
    gateway_number: ShortText = ""
    room_id: ShortText = ""
    ref_no: ShortText = ""


class PhoneCheckEntry(_Push):
    """One number of a phone-check result."""

    phone_number: Phone
    is_registered: bool


class PhoneCheckPush(_Push):
    """The result of a WhatsApp phone check."""

    phone_numbers: Annotated[list[PhoneCheckEntry], Field(min_length=1, max_length=100)]


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()})
        raise PushRejected(400, f"invalid field(s): {', '.join(fields)}") from None


def form_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of an urlencoded or multipart form body (the first of a repeated name)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded" or (kind == "" and not body):
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise PushRejected(400, "form body is not UTF-8") from None
        return _first(pairs)
    if kind == "multipart/form-data":
        return _first(_multipart(body, content_type))
    raise PushRejected(415, "expected a form body (urlencoded or multipart)")


def _multipart(body: bytes, content_type: str) -> list[tuple[str, str]]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    try:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            raise PushRejected(400, "malformed multipart body")
        pairs = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                try:
                    pairs.append((name, payload.decode("utf-8")))
                except UnicodeDecodeError:
                    raise PushRejected(400, "form field is not UTF-8") from None
    except (email.errors.MessageError, ValueError, LookupError, TypeError, IndexError):
        # The stdlib parser meets broken headers and parameters with many error classes (a
        # bad charset is a LookupError): all mean a body no provider sent as documented.
        raise PushRejected(400, "malformed multipart body") from None
    return pairs


def json_object(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON object of the body; 415 for another content type, 400 for anything else."""
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise PushRejected(415, "expected application/json")
    try:
        # Strict: not UTF-8, broken, NaN, integers of thousands of digits, nesting past the
        # parser's depth — each a ValueError, never an unhandled error (500).
        data = load_json(body)
    except ValueError:
        raise PushRejected(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise PushRejected(400, "JSON body must be an object")
    return data


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def _no_nested(data: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = data.get(name)
        if value is not None and not isinstance(value, str | int | float):
            raise PushRejected(400, f"invalid field(s): {name}")


def status_from_query(fields: Mapping[str, str]) -> StatusPush:
    """A WhatsApp or SMS delivery-status push (query string or form fields)."""
    return _validated(
        StatusPush,
        {
            "ref_no": fields.get("ref_no"),
            "status": fields.get("status"),
            "date": fields.get("sent_date", ""),
            "err_code": fields.get("err_code", ""),
        },
    )


def official_status(data: Mapping[str, Any]) -> StatusPush:
    """A WA Official message-status push (JSON)."""
    _no_nested(data, ("ref_no", "status", "status_date"))
    return _validated(
        StatusPush,
        {
            "ref_no": _str(data.get("ref_no")),
            "status": _str(data.get("status")),
            "date": _str(data.get("status_date")) or "",
        },
    )


def inbound_from_form(channel: str, fields: Mapping[str, str]) -> InboundPush:
    """A WhatsApp or SMS inbox push (form)."""
    return _validated(
        InboundPush,
        {
            "channel": channel,
            "provider_id": fields.get("id"),
            "sender": fields.get("originator"),
            "text": fields.get("msg", ""),
            "received_at": fields.get("receive_date", ""),
            "gateway_number": fields.get("gateway_number", ""),
        },
    )


def official_inbound(data: Mapping[str, Any]) -> InboundPush:
    """A WA Official inbox push (JSON); its ``ref_no`` identifies the inbound message."""
    names = ("room_id", "ref_no", "text", "inbox_date", "sender_number")
    _no_nested(data, names)
    if not _str(data.get("room_id")):
        raise PushRejected(400, "invalid field(s): room_id")
    return _validated(
        InboundPush,
        {
            "channel": "wa_official",
            "provider_id": _str(data.get("ref_no")),
            "sender": _str(data.get("sender_number")),
            "text": _str(data.get("text")) or "",
            "received_at": _str(data.get("inbox_date")) or "",
            "room_id": _str(data.get("room_id")),
            "ref_no": _str(data.get("ref_no")) or "",
        },
    )


def phone_check(data: Mapping[str, Any]) -> PhoneCheckPush:
    """A phone-check result push (JSON)."""
    return _validated(PhoneCheckPush, data)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)
