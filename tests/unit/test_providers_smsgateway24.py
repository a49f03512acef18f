"""SmsGateway24's pure parts: status codes, refusals, answer frames, models, the token cache."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from nusaworker.providers import (
    PROVIDERS,
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    SmsGateway24Client,
    TransientError,
    build_client,
)
from nusaworker.providers.smsgateway24 import (
    DELIVERED,
    SENDING,
    BulkItem,
    Endpoints,
    Image,
    SimSlot,
    account_fingerprint,
    final_state,
)
from nusaworker.providers.smsgateway24.answer import TokenRefused, read_answer
from nusaworker.providers.smsgateway24.codes import is_token_refusal, refusal_error
from nusaworker.providers.smsgateway24.models import (
    BulkResult,
    DeviceList,
    MessageList,
    SendRequest,
    SendResult,
    SmsStatus,
    TokenAnswer,
)
from nusaworker.providers.smsgateway24.tokens import TokenCache, TokenRedactor

# The document's own answer samples (seed 004), verbatim where it gives them.
DEVICES_SAMPLE = {
    "count": 2,
    "device": {
        "1576": {
            "id": 1576, "title": "AOSP_on_IA_Emulator", "number": None,
            "imei": "358240051111110",
            "created": {"date": "2020-03-28 20:10:29.000000", "timezone_type": 3,
                        "timezone": "UTC"},
            "createdhumanformat": "28.03.2020 20:10:29",
            "lastseen": {"date": "2020-04-23 17:02:21.000000", "timezone_type": 3,
                         "timezone": "UTC"},
            "lastseenhumanformat": "23.04.2020 17:02:21", "serialnumber": "EMULATOR30X0X5X0",
            "siminfo": [{"Slot": "0", "IccId": "89014103211118510720", "Number": " 15555215554",
                         "Roaming": "0", "CountryIso": "us", "CarrierName": "Android (T-Mobile)"}],
            "appversion": "12.1.21", "isappversionactual": False, "delaybetweeneachsms": None,
            "delaybetweenrequest": 1, "subscription": True,
        },
        "1297": {
            "id": 1297, "title": "Android_SDK_built_for_x86", "number": None, "imei": "null",
            "siminfo": [{"Slot": "0", "IccId": "8949226172233934327", "Number": "+4915752982212",
                         "Roaming": "1", "CountryIso": "de", "CarrierName": "Drillisch (o2)"}],
            "appversion": "12.1.21", "isappversionactual": False, "delaybetweeneachsms": 5,
            "delaybetweenrequest": 10, "subscription": False,
        },
    },
}  # fmt: skip
MESSAGES_SAMPLE = {
    "smss": {
        "62050971": {
            "id": 62050971, "sendto": "+4912312312332", "body": "Hello! Thank you for Order! ",
            "customerid": None, "status": 2, "statustitle": "sending", "deviceid": 11231,
            "urgent": None,
            "created": {"date": "2023-11-02 22:44:43.000000", "timezone_type": 3,
                        "timezone": "Europe/Paris"},
            "senttime": None, "timetosend": None, "paketid": None, "pakettitle": None,
            "paketbody": None,
        },
        "62051117": {
            "id": 62051117, "sendto": "+4912312312332", "body": "Hello! Thank you for Order! ",
            "customerid": None, "status": 7, "statustitle": "delivered", "deviceid": 11231,
            "urgent": None, "senttime": None, "timetosend": None,
        },
    }
}  # fmt: skip


# ------------------------------------------------------------------------------- status codes


@pytest.mark.parametrize(
    ("code", "title", "state"),
    [
        (SENDING, "sending", None),
        (DELIVERED, "delivered", "delivered"),
        (DELIVERED, None, "delivered"),
        (SENDING, "failed", None),  # a documented code decides by itself
        (8, "failed", "failed"),
        (9, "Undelivered", "failed"),
        (10, "error: no network", "failed"),
        (11, "sent", "sent"),
        (12, "read", "read"),
        (13, "Delivered to handset", "delivered"),
        (42, "queued on phone", None),
        (42, None, None),
        (None, None, None),
    ],
)
def test_final_state_maps_codes_and_titles(code: int | None, title: str | None, state: Any) -> None:
    assert final_state(code, title) == state


def test_sms_status_keeps_unknown_codes_verbatim() -> None:
    status = SmsStatus.model_validate(
        {"sms_id": "62807347", "status": "42", "status_description": "on the phone", "error": 0}
    )
    assert status.status == 42 and status.status_description == "on the phone"
    assert not status.known and status.state is None and not status.is_final
    known = SmsStatus.model_validate({"sms_id": 1, "status": 7, "status_description": "delivered"})
    assert known.known and known.state == "delivered" and known.is_final


def test_sms_status_tolerates_missing_and_new_fields() -> None:
    status = SmsStatus.model_validate({"error": "0", "message": "", "brand_new": {"x": 1}})
    assert status.status is None and status.state is None
    assert status.model_extra == {"brand_new": {"x": 1}}


# ---------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("message", "login", "cls"),
    [
        ("Wrong email or password", True, AuthError),
        ("", True, AuthError),
        ("Wrong token", False, AuthError),
        ("Token has expired, please get a new token", False, AuthError),
        ("The subscription of device 260 has expired", False, InsufficientCredit),
        ("Not enough balance", False, InsufficientCredit),
        ("Device 99 not found", False, PermanentError),
        ("sendto is required", False, PermanentError),
        (None, False, PermanentError),
    ],
)
def test_refusal_error_picks_one_class(message: str | None, login: bool, cls: type) -> None:
    error = refusal_error(message, endpoint="addsms", login=login)
    assert type(error) is cls and error.provider_code == 1 and "addsms" in error.detail


def test_is_token_refusal_names_the_token() -> None:
    assert is_token_refusal("Wrong token") and is_token_refusal("TOKEN expired")
    assert not is_token_refusal("Device not found") and not is_token_refusal("tokenizer")
    assert not is_token_refusal(None)


# ------------------------------------------------------------------------------ answer frame


def _read(body: Any, *, is_send: bool = True, login: bool = False, redact: Any = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    kwargs = {"redact": redact} if redact else {}
    return read_answer(200, raw, endpoint="addsms", is_send=is_send, login=login, **kwargs)


def test_read_answer_returns_the_object_on_success() -> None:
    body = {"error": 0, "sms_id": 62807347, "message": "Sms has been saved successfully"}
    assert _read(body) == body
    assert SendResult.model_validate(_read(body)).sms_id == 62807347


def test_read_answer_tells_a_refused_token_apart() -> None:
    found = _read({"error": 1, "message": "Wrong token"})
    assert isinstance(found, TokenRefused) and found.message == "Wrong token"
    assert repr(found) == "TokenRefused()"
    with pytest.raises(AuthError):
        _read({"error": 1, "message": "Wrong token"}, login=True)


def test_read_answer_raises_other_refusals() -> None:
    with pytest.raises(PermanentError, match="Device 5 not found"):
        _read({"error": "1", "message": "Device 5 not found"})
    with pytest.raises(PermanentError, match="no message"):
        _read({"error": True})


@pytest.mark.parametrize("body", [b"", b"{trunc", b"<html><title>502</title></html>", b"[1]"])
def test_read_answer_unreadable_is_ambiguous_on_send_transient_on_read(body: bytes) -> None:
    with pytest.raises(AmbiguousOutcome):
        _read(body, is_send=True)
    with pytest.raises(TransientError):
        _read(body, is_send=False)


def test_read_answer_redacts_before_raising() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    redactor = TokenRedactor(lambda text: text)
    redactor.add(secret)
    with pytest.raises(AuthError) as caught:
        _read({"error": 1, "message": f"Wrong email {secret}"}, login=True, redact=redactor)
    assert secret not in str(caught.value) and "***" in str(caught.value)


# ------------------------------------------------------------------------------------ models


def test_device_list_reads_the_documents_sample() -> None:
    found = DeviceList.model_validate(DEVICES_SAMPLE)
    assert found.count == 2 and [d.id for d in found.devices] == [1576, 1297]
    first, second = found.devices
    assert first.slots == [0] and first.siminfo[0].number == "15555215554"
    assert first.siminfo[0].roaming is False and second.siminfo[0].roaming is True
    assert second.imei is None and second.delaybetweeneachsms == 5 and second.subscription is False


def test_device_list_accepts_a_plain_list_and_null() -> None:
    assert DeviceList.model_validate({"device": [{"id": "7"}]}).devices[0].id == 7
    assert DeviceList.model_validate({"count": 0, "device": None}).devices == []


def test_message_list_reads_the_documents_sample() -> None:
    found = MessageList.model_validate(MESSAGES_SAMPLE)
    assert [m.id for m in found.messages] == [62050971, 62051117]
    assert [m.state for m in found.messages] == [None, "delivered"]
    assert found.messages[0].paketid is None  # an undescribed field is kept
    assert MessageList.model_validate({"count": "3"}).count == 3


def test_token_answer_keeps_the_token_secret() -> None:
    answer = TokenAnswer.model_validate({"token": " abc123 ", "error": 0, "message": ""})
    assert answer.token.get_secret_value() == "abc123" and "abc123" not in repr(answer)
    with pytest.raises(ValidationError):
        TokenAnswer.model_validate({"error": 0, "token": ""})


def test_bulk_result_without_ids_as_documented() -> None:
    result = BulkResult.model_validate({"error": 0, "message": "ok"})
    assert result.sms_ids is None and result.message == "ok"


def _send(**fields: Any) -> SendRequest:
    base: dict[str, Any] = {"sendto": "015752982212", "body": "hi", "device_id": 260, "sim": 0}
    return SendRequest(**{**base, **fields})


def test_send_request_form_as_the_document_names_it() -> None:
    form = _send(timetosend=datetime(2026, 5, 29, 17, 21, 27), customerid=122, urgent=True)
    assert form.to_form() == {
        "sendto": "015752982212",
        "body": "hi",
        "device_id": "260",
        "sim": "0",
        "timetosend": "2026-05-29 17:21:27",
        "customerid": "122",
        "urgent": "1",
    }
    assert _send(sendto=["+49157", " 0157 "]).sendto == "+49157,0157"
    assert _send(timetosend=date(2026, 5, 29)).timetosend == "2026-05-29"
    assert "urgent" not in _send().to_form()


@pytest.mark.parametrize(
    "fields",
    [
        {"sim": 6},
        {"sim": -1},
        {"device_id": 0},
        {"sendto": ""},
        {"sendto": []},
        {"body": None},
        {"body": "  "},
        {"timetosend": "29.05.2026"},
        {"timetosend": "2026-02-30"},
        {"unknown": 1},
        {"has_image": True, "sim": 0, "body": None},
    ],
)
def test_send_request_refuses_what_the_document_rules_out(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _send(**fields)


def test_send_request_image_may_replace_the_body_on_whatsapp_slots() -> None:
    request = _send(has_image=True, sim=SimSlot.WHATSAPP_BUSINESS, body=None)
    assert "body" not in request.to_form() and request.to_form()["sim"] == "2"


def test_bulk_item_json_matches_the_documents_sample() -> None:
    item = BulkItem(
        sendto="015752982212",
        body="Your password is 12345",
        sim=1,
        timetosend="2019-07-01 23:50:00",
        device_id=260,
        customerid=122,
        urgent=True,
    )
    assert item.to_json() == {
        "sendto": "015752982212",
        "body": "Your password is 12345",
        "sim": 1,
        "timetosend": "2019-07-01 23:50:00",
        "device_id": 260,
        "customerid": 122,
        "urgent": 1,
    }


def test_image_checks_type_and_hides_its_bytes() -> None:
    image = Image("photo.JPG", b"\xff\xd8data")
    assert image.media_type == "image/jpeg" and image.to_part()[0] == "photo.JPG"
    assert repr(image) == "Image(file_name='photo.JPG', bytes=6)"
    assert Image("blob", b"x", content_type="image/webp").media_type == "image/webp"
    for bad in (
        lambda: Image("a.pdf", b"x"),
        lambda: Image("a.png", b""),
        lambda: Image("dir/a.png", b"x"),
        lambda: Image("a", b"x", content_type="application/pdf"),
    ):
        with pytest.raises(ValueError):
            bad()


def test_endpoints_default_and_refuse_relative_paths() -> None:
    paths = Endpoints()
    assert (paths.token, paths.send) == ("/getdata/gettoken", "/getdata/addsms")
    assert paths.name_of(paths.bulk) == "addalotofsms"
    assert Endpoints(status="/api/v2/status").status == "/api/v2/status"
    with pytest.raises(ValueError):
        Endpoints(devices="getdata/devices")


# ------------------------------------------------------------------------------ token cache


def test_token_cache_fetches_once_and_drops_only_the_stale_token() -> None:
    handed = iter(["t1", "t2", "t3"])
    seen: list[str] = []
    cache = TokenCache(lambda priority: SecretStr(next(handed)), on_new=seen.append)
    assert cache.get() == "t1" and cache.get() == "t1" and cache.fetches == 1
    cache.drop("not-current")
    assert cache.get() == "t1"
    cache.drop("t1")
    assert cache.get() == "t2" and cache.fetches == 2
    assert cache.renew() == "t3" and seen == ["t1", "t2", "t3"]
    assert "t3" not in repr(cache)


def test_token_cache_without_login_uses_the_given_token_only() -> None:
    cache = TokenCache(None, initial=SecretStr("given"))
    assert not cache.can_renew and cache.get() == "given"
    cache.drop("given")
    with pytest.raises(LookupError):
        cache.get()


def test_token_redactor_hides_every_token_held() -> None:
    redactor = TokenRedactor(lambda text: text.replace("pw", "***"))
    redactor.add("aaaa1111")
    redactor.add("bbbb2222")
    assert redactor("pw aaaa1111 bbbb2222 aaaa11112") == "*** *** *** aaaa11112"


# ---------------------------------------------------------------------------- client, no hit


def test_client_account_is_a_fingerprint_of_login_and_device() -> None:
    client = SmsGateway24Client(email="Me@Example.com", password="pw", device_id=260)
    assert client.account == account_fingerprint("me@example.com", 260)
    assert client.account.startswith("smsgateway24:") and client.account.endswith(":260")
    assert "example" not in client.account and "pw" not in repr(client)
    assert SmsGateway24Client().account == "smsgateway24:unconfigured"
    client.close()


def test_client_registered_as_a_family() -> None:
    family = PROVIDERS["smsgateway24"]
    assert family.client is SmsGateway24Client
    assert family.credentials == ("email", "password", "token")
    assert family.default_base_url == "https://smsgateway24.com"
    built = build_client(
        "smsgateway24",
        credentials={"email": SecretStr("a@b.c"), "password": SecretStr("pw")},
        device_id=7,
        sim=1,
    )
    assert isinstance(built, SmsGateway24Client) and built.device_id == 7 and built.sim == 1
    built.close()
