"""Request models refuse bad input naming the field; response models tolerate new fields."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from nusaworker.providers import (
    Balance,
    BroadcastRequest,
    Channel,
    PhoneCheckRequest,
    ReplyRequest,
    SmsGroupRequest,
    SmsRequest,
    Template,
    WhatsAppMediaRequest,
    WhatsAppMessageRequest,
    WhatsAppMessageStatus,
    WhatsAppSendResult,
    WhatsAppStatus,
)

UUID4 = str(uuid.UUID(int=0x12345678_1234_4234_8234_123456789ABC))


def _fails(model: Any, field: str, **data: Any) -> str:
    with pytest.raises(ValidationError) as info:
        model(**data)
    text = str(info.value)
    assert field in text, text
    return text


def test_whatsapp_message_request_normalizes_and_serializes_only_set_fields() -> None:
    req = WhatsAppMessageRequest(destination="+6281234567890", message="hi", queue="q1")
    assert req.to_json_body() == {
        "is_group": False,
        "destination": "6281234567890",
        "message": "hi",
        "queue": "q1",
    }


def test_whatsapp_message_request_carries_every_newer_edition_field() -> None:
    req = WhatsAppMessageRequest(
        destination="6281234567",
        message="x",
        sender="62811",
        queue="q",
        channel=2,
        include_unsubscribe=True,
        timeout=600,
    )
    body = req.to_json_body()
    assert {"sender", "queue", "channel", "include_unsubscribe", "timeout", "is_group"} <= set(body)


@pytest.mark.parametrize(
    ("destination", "is_group", "ok"),
    [
        ("62812345", False, True),
        ("628123456789012", False, True),
        ("6281234", False, False),
        ("6281234567890123", False, False),
        ("62-812345678", False, False),
        ("0812 345 678", False, False),
        ("6281234567-1234567", True, True),
        ("6281234567", True, False),
        ("abc-123", True, False),
        ("٦٢٨١٢٣٤٥٦٧", False, False),
    ],
)
def test_whatsapp_destination_rules(destination: str, is_group: bool, ok: bool) -> None:
    data = {"destination": destination, "message": "x", "is_group": is_group}
    if ok:
        assert WhatsAppMessageRequest(**data).destination == destination
    else:
        _fails(WhatsAppMessageRequest, "destination", **data)


def test_whatsapp_request_refuses_unknown_and_invalid_fields() -> None:
    _fails(WhatsAppMessageRequest, "mesage", destination="6281234567", message="x", mesage="y")
    _fails(WhatsAppMessageRequest, "message", destination="6281234567", message="")
    _fails(WhatsAppMessageRequest, "timeout", destination="6281234567", message="x", timeout=-1)


def _b64(size: int) -> str:
    return base64.b64encode(b"\0" * size).decode()


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def test_whatsapp_media_request_needs_url_or_base64() -> None:
    _fails(WhatsAppMediaRequest, "media_url or media_base64", destination="6281234567")
    ok = WhatsAppMediaRequest(destination="6281234567", media_url="https://e.com/a.png")
    assert ok.to_json_body()["media_url"] == "https://e.com/a.png"


def test_whatsapp_media_request_file_name_is_optional_with_base64() -> None:
    # Seed 000/001: file_name is "false" in the Required column; the content says what it is.
    req = WhatsAppMediaRequest(
        destination="6281234567", media_base64=base64.b64encode(PNG).decode()
    )
    assert "file_name" not in req.to_json_body()
    # Content that names no type needs a file_name that does.
    text = _fails(
        WhatsAppMediaRequest, "media_base64", destination="6281234567", media_base64=_b64(10)
    )
    assert "cannot tell the file type" in text


def test_whatsapp_media_request_drops_whitespace_in_base64() -> None:
    wrapped = "\n".join(base64.encodebytes(PNG * 4).decode().split())
    req = WhatsAppMediaRequest(destination="6281234567", media_base64=" " + wrapped + "\r\n")
    assert req.media_base64 == base64.b64encode(PNG * 4).decode()


def test_whatsapp_media_request_type_comes_from_base64_not_url() -> None:
    # media_base64 wins over media_url: the URL's .exe does not matter, the PNG content does.
    WhatsAppMediaRequest(
        destination="6281234567",
        media_url="https://e.com/a.exe",
        media_base64=base64.b64encode(PNG).decode(),
    )


@pytest.mark.parametrize("name", ["a.jpg", "a.JPEG", "a.png", "a.pdf", "a.mp4", "a.webm"])
def test_whatsapp_media_request_allows_documented_types(name: str) -> None:
    req = WhatsAppMediaRequest(destination="6281234567", media_base64=_b64(100), file_name=name)
    assert req.file_name == name


def test_whatsapp_media_request_refuses_other_types() -> None:
    _fails(
        WhatsAppMediaRequest,
        "file_name",
        destination="6281234567",
        media_base64=_b64(10),
        file_name="a.gif",
    )
    _fails(WhatsAppMediaRequest, "media_url", destination="6281234567", media_url="http://e/a.exe")
    _fails(WhatsAppMediaRequest, "media_url", destination="6281234567", media_url="ftp://e/a.png")
    # A URL that does not reveal its type is left to the provider.
    WhatsAppMediaRequest(destination="6281234567", media_url="https://cdn.example/file?id=3")


@pytest.mark.parametrize(
    ("name", "size", "ok"),
    [
        # "512.0 Kilobytes" / "1 Megabytes", read strictly: decimal units.
        ("a.png", 512_000, True),
        ("a.png", 512_001, False),
        ("a.png", 512 * 1024, False),
        ("a.pdf", 512_001, False),
        ("a.mp4", 1_000_000, True),
        ("a.mp4", 1_000_001, False),
        ("a.webm", 1024 * 1024, False),
        ("a.mp4", 600_000, True),
    ],
)
def test_whatsapp_media_request_size_limits(name: str, size: int, ok: bool) -> None:
    data = {"destination": "6281234567", "media_base64": _b64(size), "file_name": name}
    if ok:
        WhatsAppMediaRequest(**data)
    else:
        # Over the per-type size, or (past 1 MB) over the field's own bound in characters.
        text = _fails(WhatsAppMediaRequest, "media_base64", **data)
        assert "limit" in text or "at most" in text


def test_whatsapp_media_request_refuses_bad_base64() -> None:
    data = {"destination": "6281234567", "media_base64": "not base64!!", "file_name": "a.png"}
    assert "not valid base64" in _fails(WhatsAppMediaRequest, "media_base64", **data)


def test_phone_check_request_bounds() -> None:
    assert PhoneCheckRequest(phone_numbers=["+6281234567"]).phone_numbers == ["6281234567"]
    _fails(PhoneCheckRequest, "phone_numbers", phone_numbers=[])
    _fails(PhoneCheckRequest, "phone_numbers", phone_numbers=["6281234567"] * 101)
    PhoneCheckRequest(phone_numbers=["6281234567"] * 100)
    text = _fails(PhoneCheckRequest, "phone_numbers[1]", phone_numbers=["62812345", "123"])
    assert "8 to 14 digits" in text
    _fails(PhoneCheckRequest, "phone_numbers", phone_numbers=["628123456789012"])
    _fails(PhoneCheckRequest, "callback_url", phone_numbers=["62812345"], callback_url="nope")


def test_broadcast_request_needs_uuid4_ids() -> None:
    req = BroadcastRequest(
        destination="6281234567",
        destination_name="Ani",
        template_id=UUID4,
        channel_id=UUID4,
        parameters={"body": [{"key": "1", "value": "code", "value_text": "123"}]},
    )
    assert req.to_json_body()["template_id"] == UUID4
    uuid1 = str(uuid.uuid1())
    base = {"destination": "6281234567", "destination_name": "Ani", "channel_id": UUID4}
    _fails(BroadcastRequest, "template_id", template_id=uuid1, **base)
    _fails(BroadcastRequest, "template_id", template_id="not-a-uuid", **base)
    _fails(
        BroadcastRequest,
        "channel_id",
        destination="6281234567",
        destination_name="Ani",
        template_id=UUID4,
        channel_id="x",
    )


def test_reply_request_rules_and_multipart() -> None:
    req = ReplyRequest(room_id=UUID4, text="hello")
    assert req.to_multipart() == [
        ("room_id", (None, UUID4)),
        ("type", (None, "text")),
        ("text", (None, "hello")),
    ]
    _fails(ReplyRequest, "text", room_id=UUID4)
    _fails(ReplyRequest, "file_url", room_id=UUID4, type="image")
    _fails(ReplyRequest, "type", room_id=UUID4, type="sticker", text="x")
    _fails(ReplyRequest, "room_id", room_id="room-1", text="x")
    ReplyRequest(room_id=UUID4, type="document", file_url="https://e.com/a.pdf")


def test_sms_request_sets_unicode_from_text() -> None:
    plain = SmsRequest(destination="+6281234567", text="Kode OTP 123456", otp=True)
    assert plain.unicode is False
    assert plain.to_form() == {
        "SMSText": "Kode OTP 123456",
        "GSM": "6281234567",
        "otp": "Y",
        "output": "json",
    }
    emoji = SmsRequest(destination="6281234567", text="hi 😀")
    assert emoji.unicode is True and emoji.to_form()["unicode"] == "true"
    assert emoji.segments.encoding == "ucs2"
    _fails(SmsRequest, "unicode", destination="6281234567", text="hi 😀", unicode=False)
    _fails(SmsRequest, "destination", destination="12ab", text="x")
    _fails(SmsRequest, "text", destination="6281234567", text="")
    _fails(SmsRequest, "output", destination="6281234567", text="x", output="csv")


def test_sms_group_request_form() -> None:
    req = SmsGroupRequest(group="Example", text="Hello")
    assert req.to_form() == {"SMSText": "Hello", "group": "Example", "output": "json"}
    _fails(SmsGroupRequest, "group", group="", text="x")


def test_response_models_keep_unknown_fields() -> None:
    result = WhatsAppSendResult.model_validate({"ref_no": "R1", "brand_new": 5, "destination": 62})
    assert result.ref_no == "R1" and result.destination == "62"
    assert result.model_extra == {"brand_new": 5}
    with pytest.raises(ValidationError):
        WhatsAppSendResult.model_validate({"destination": "62"})


def test_balance_and_lists_tolerate_odd_values() -> None:
    bal = Balance.model_validate({"idClient": 1, "wa_balance": "12.5", "wa_expired_date": ""})
    assert bal.wa_balance == 12.5 and bal.wa_expired_date is None
    tpl = Template.model_validate({"id": UUID4, "name": "otp", "status": "APPROVED", "x": 1})
    assert tpl.name == "otp"
    chan = Channel.model_validate({"id": UUID4, "created_at": "2019-08-24T14:15:22Z"})
    assert chan.created_at is not None and not isinstance(chan.created_at, str)


@pytest.mark.parametrize(
    ("raw", "status", "final", "delivered"),
    [
        ("U", WhatsAppStatus.UNSENT, False, False),
        ("Q", WhatsAppStatus.QUEUED, False, False),
        ("S", WhatsAppStatus.SENT, False, False),
        ("D", WhatsAppStatus.DELIVERED, False, True),
        ("R", WhatsAppStatus.READ, True, True),
        ("A", WhatsAppStatus.ABORTED, True, False),
        ("F", WhatsAppStatus.FAILED, True, False),
        ("read", WhatsAppStatus.READ, True, True),
        ("queued", WhatsAppStatus.QUEUED, False, False),
        ("UN-SENT", WhatsAppStatus.UNSENT, False, False),
    ],
)
def test_whatsapp_status_finality(
    raw: str, status: WhatsAppStatus, final: bool, delivered: bool
) -> None:
    parsed = WhatsAppMessageStatus.model_validate({"ref_no": "R", "status": raw})
    assert parsed.status is status
    assert parsed.is_final is final and status.is_final is final
    assert status.is_delivered is delivered


def test_whatsapp_status_unknown_value_is_kept_not_final() -> None:
    parsed = WhatsAppMessageStatus.model_validate({"status": "X", "sent_date": "yesterday"})
    assert parsed.status == "X" and not parsed.is_final
    assert parsed.sent_date == "yesterday"


def test_reply_request_file_upload_becomes_the_file_part() -> None:
    room = str(uuid.uuid4())
    png = b"\x89PNG\r\n\x1a\n" + b"1" * 8
    req = ReplyRequest(
        room_id=room,
        type="image",
        text="caption",
        file_base64=base64.b64encode(png).decode(),
        file_name="a.png",
    )
    parts = dict(req.to_multipart())
    assert parts["file"] == ("a.png", png, "image/png")
    assert parts["text"] == (None, "caption") and parts["type"] == (None, "image")
    assert "file_base64" not in parts and "file_name" not in parts


def test_reply_request_needs_a_file_url_or_a_file_for_media() -> None:
    room = str(uuid.uuid4())
    _fails(ReplyRequest, "file_url or a file", room_id=room, type="image")
    _fails(ReplyRequest, "file_base64", room_id=room, type="image", file_base64="!!")
    _fails(
        ReplyRequest,
        "file_name",
        room_id=room,
        type="image",
        file_url="https://e/a.png",
        file_name="a.png",
    )
