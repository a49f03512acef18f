"""The SmsGateway24 emulation (seed 004) over real HTTP: every endpoint, its errors, tokens
that expire, statuses that move, the document's own samples, faults and the hit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "user@example.com", "pass"  # account "main"'s default login
SAMPLE_TOKEN = "df427bfcf113c9a21c67718035076b5b"  # the document's bulk sample


def _url(box: Any, name: str) -> str:
    return f"{box.url}/getdata/{name}"


def _token(box: Any, http: requests.Session) -> str:
    answer = http.post(_url(box, "gettoken"), data={"email": EMAIL, "pass": PASSWORD}).json()
    assert answer["error"] == 0 and answer["message"] == ""
    token: str = answer["token"]
    return token


def _device(box: Any, account: str = "main", index: int = 0) -> int:
    return int(box.smsgateway24().devices(account)[index]["id"])


def _addsms(box: Any, http: requests.Session, token: str, **fields: Any) -> dict[str, Any]:
    form = {"token": token, "sendto": "+6281234567", "body": "hi", "device_id": _device(box)}
    form["sim"] = 0
    form.update(fields)
    answer: dict[str, Any] = http.post(_url(box, "addsms"), data=form).json()
    return answer


# ---------------------------------------------------------------------------------- gettoken


def test_sandbox_sg24_gettoken_by_post_and_get(box: Any, http: requests.Session) -> None:
    first = _token(box, http)
    got = http.get(_url(box, "gettoken"), params={"email": "USER@example.com", "pass": PASSWORD})
    second = got.json()["token"]
    assert len(first) == 32 and int(first, 16) >= 0 and second != first
    assert box.smsgateway24().tokens_issued() == 2
    assert [(h["path"], h["account"], h["kind"]) for h in box.hits()] == [
        ("/getdata/gettoken", "main", "read"),
        ("/getdata/gettoken", "main", "read"),
    ]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": EMAIL, "pass": "wrong"}, "Wrong email or password (user@example.com)"),
        ({"email": "nobody@example.com", "pass": PASSWORD}, "Wrong email or password"),
        ({"email": EMAIL}, "email and pass are required"),
        ({}, "email and pass are required"),
    ],
)
def test_sandbox_sg24_gettoken_refusals(
    box: Any, http: requests.Session, form: dict[str, str], message: str
) -> None:
    response = http.post(_url(box, "gettoken"), data=form)
    assert response.status_code == 200
    answer = response.json()
    assert answer["error"] == 1 and answer["message"].startswith(message)
    assert "token" not in answer


# ------------------------------------------------------------------------------------ addsms


def test_sandbox_sg24_addsms_answers_as_documented(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    answer = _addsms(box, http, token, timetosend="2026-05-29 17:21:27", customerid=122, urgent=1)
    assert answer["error"] == 0 and answer["message"] == "Sms has been saved successfully"
    assert isinstance(answer["sms_id"], int)
    [message] = box.smsgateway24().messages()
    assert message["id"] == answer["sms_id"] and message["customerid"] == 122
    assert message["urgent"] == 1 and message["timetosend"] == "2026-05-29 17:21:27"
    send = box.hits(kind="send")[0]
    assert send["accepted"] and send["ref_no"] == str(answer["sms_id"])


def test_sandbox_sg24_addsms_by_email_and_password(box: Any, http: requests.Session) -> None:
    form = {"email": EMAIL, "pass": PASSWORD, "sendto": "1", "body": "x"}
    answer = http.post(_url(box, "addsms"), data={**form, "device_id": _device(box), "sim": 1})
    assert answer.json()["error"] == 0
    wrong = http.post(_url(box, "addsms"), data={**form, "pass": "no", "device_id": 1, "sim": 0})
    assert wrong.json() == {"error": 1, "message": "Wrong email or password"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sendto": ""}, "sendto is required"),
        ({"body": ""}, "body is required"),
        ({"device_id": ""}, "device_id is required"),
        ({"device_id": "abc"}, "device_id must be an integer"),
        ({"sim": ""}, "sim is required"),
        ({"sim": 6}, "sim must be 0 or 1"),
        ({"device_id": 999999}, "Device 999999 not found"),
        ({"timetosend": "29.05.2026"}, "timetosend must be"),
    ],
)
def test_sandbox_sg24_addsms_refusals(
    box: Any, http: requests.Session, fields: dict[str, Any], message: str
) -> None:
    answer = _addsms(box, http, _token(box, http), **fields)
    assert answer["error"] == 1 and answer["message"].startswith(message)
    assert box.smsgateway24().messages() == []


def test_sandbox_sg24_addsms_needs_a_sim_in_the_slot_and_a_subscription(
    box: Any, http: requests.Session
) -> None:
    token = _token(box, http)
    phone_b = _device(box, index=1)  # one SIM, in slot 0
    no_sim = _addsms(box, http, token, device_id=phone_b, sim=1)
    assert no_sim["message"] == f"Device {phone_b} has no SIM in slot 1"
    assert _addsms(box, http, token, device_id=phone_b, sim=3)["error"] == 0  # WhatsApp
    box.smsgateway24().set_device(phone_b, subscription=False)
    lapsed = _addsms(box, http, token, device_id=phone_b, sim=0)
    assert lapsed["message"] == f"The subscription of device {phone_b} has expired"


def test_sandbox_sg24_addsms_with_image(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    form = {"token": token, "sendto": "+62812", "device_id": str(_device(box)), "sim": "2"}
    files = {"file": ("photo.png", b"\x89PNG fake", "image/png")}
    answer = http.post(_url(box, "addsms"), data=form, files=files).json()
    assert answer["error"] == 0
    [message] = box.smsgateway24().messages()
    assert message["image"] == {"file_name": "photo.png", "bytes": 9}
    assert message["body"].startswith("https://") and message["body"].endswith("/photo.png")
    on_sms = http.post(_url(box, "addsms"), data={**form, "sim": "0"}, files=files).json()
    assert on_sms["message"] == "Images can only be sent on WhatsApp slots (sim 2 or 3)"
    pdf = {"file": ("doc.pdf", b"%PDF", "application/pdf")}
    wrong = http.post(_url(box, "addsms"), data=form, files=pdf).json()
    assert wrong["message"] == "file must be a jpeg, png, webp or gif image"


# ------------------------------------------------------------------------------------ tokens


def test_sandbox_sg24_tokens_refused_missing_wrong_expired(
    box: Any, http: requests.Session
) -> None:
    token = _token(box, http)
    status = _url(box, "getsmsstatus")
    assert http.post(status, data={"sms_id": 1}).json()["message"] == "Token is required"
    assert http.post(status, data={"token": "f" * 32}).json()["message"] == "Wrong token"
    assert box.hits()[-1]["account"] == "?"
    assert box.smsgateway24().expire_tokens() == 1
    expired = http.post(status, data={"token": token, "sms_id": 1}).json()
    assert expired["error"] == 1 and "has expired" in expired["message"]
    assert box.hits()[-1]["account"] == "main"  # an expired token still names its account
    fresh = _token(box, http)
    assert (
        http.post(status, data={"token": fresh, "sms_id": 1}).json()["message"]
        != (expired["message"])
    )


def test_sandbox_sg24_token_ttl(box: Any, http: requests.Session) -> None:
    box.smsgateway24().set_token_ttl(0)
    token = _token(box, http)
    answer = http.post(_url(box, "getalldevices"), data={"token": token}).json()
    assert answer["error"] == 1 and "has expired" in answer["message"]


# ---------------------------------------------------------------------- status, list, devices


def test_sandbox_sg24_status_moves_from_sending_to_delivered(
    make_sandbox: Callable[..., Any], http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.2, fail_rate=0.0)
    token = _token(box, http)
    sms_id = _addsms(box, http, token)["sms_id"]

    def status() -> dict[str, Any]:
        data = {"token": token, "sms_id": sms_id}
        answer: dict[str, Any] = http.post(_url(box, "getsmsstatus"), data=data).json()
        return answer

    first = status()
    assert first == {
        "sms_id": sms_id,
        "status": 2,
        "status_description": "sending",
        "error": 0,
        "message": "",
    }
    assert wait_for(lambda: status()["status"] == 7, 5, interval=0.05)
    assert status()["status_description"] == "delivered"


def test_sandbox_sg24_status_may_end_failed_or_as_told(
    make_sandbox: Callable[..., Any], http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.0, fail_rate=1.0)
    token = _token(box, http)
    sms_id = _addsms(box, http, token)["sms_id"]
    data = {"token": token, "sms_id": sms_id}
    answer = http.post(_url(box, "getsmsstatus"), data=data).json()
    assert (answer["status"], answer["status_description"]) == (8, "failed")
    box.smsgateway24().set_status(sms_id, 42, "waiting for the phone")
    answer = http.post(_url(box, "getsmsstatus"), data=data).json()
    assert (answer["status"], answer["status_description"]) == (42, "waiting for the phone")
    missing = http.post(_url(box, "getsmsstatus"), data={**data, "sms_id": 5}).json()
    assert missing == {"error": 1, "message": "Sms 5 not found"}


def test_sandbox_sg24_a_phone_sends_at_its_own_pace(
    make_sandbox: Callable[..., Any], http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.0, fail_rate=0.0)
    token = _token(box, http)
    phone, other = _device(box, index=0), _device(box, index=1)
    # One message per delaybetweeneachsms: the second waits in the phone's queue.
    box.smsgateway24().set_device(phone, delay_between_sms=600)
    ids = [_addsms(box, http, token, device_id=phone)["sms_id"] for _ in range(2)]
    elsewhere = _addsms(box, http, token, device_id=other)["sms_id"]

    def status(sms_id: int) -> int:
        data = {"token": token, "sms_id": sms_id}
        code: int = http.post(_url(box, "getsmsstatus"), data=data).json()["status"]
        return code

    assert [status(ids[0]), status(ids[1]), status(elsewhere)] == [7, 2, 7]


def test_sandbox_sg24_devices_of_an_account(box: Any, http: requests.Session) -> None:
    answer = http.get(_url(box, "getalldevices"), params={"token": _token(box, http)}).json()
    assert answer["count"] == 2 and answer["message"] == ""
    for key, phone in answer["device"].items():
        assert key == str(phone["id"]) and phone["siminfo"][0]["Slot"] == "0"
        assert phone["subscription"] is True


def test_sandbox_sg24_message_list_filters(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    first = _addsms(box, http, token, sendto="+6281111", customerid=7)["sms_id"]
    _addsms(box, http, token, sendto="+6282222", sim=1)
    listed = http.post(_url(box, "getallsms"), data={"token": token}).json()
    assert listed["count"] == 2 and set(listed["smss"]) == {str(first), str(first + 1)}
    entry = listed["smss"][str(first)]
    assert entry["statustitle"] in ("sending", "delivered", "failed")
    assert entry["created"]["timezone"] == "UTC" and entry["paketid"] is None
    by_customer = http.post(_url(box, "getallsms"), data={"token": token, "customerid": 7}).json()
    assert list(by_customer["smss"]) == [str(first)]
    by_phone = http.post(_url(box, "getallsms"), data={"token": token, "phone": "2222"}).json()
    assert list(by_phone["smss"]) == [str(first + 1)]
    count = http.post(_url(box, "getallsms"), data={"token": token, "onlycount": 1}).json()
    assert count == {"error": 0, "message": "", "count": 2}


# -------------------------------------------------------------------------- the doc's samples


def test_sandbox_sg24_sample_bulk_datajson(box: Any, http: requests.Session) -> None:
    datajson = {
        "token": SAMPLE_TOKEN,
        "smsdata": [
            {"sendto": "015752982212", "body": "Test message", "sim": 1,
             "timetosend": "2019-07-01 23:50:00", "device_id": 260},
            {"sendto": "+4915752982212", "body": "Test message 2", "sim": 1,
             "timetosend": "2019-07-01 23:50:00", "device_id": 260, "urgent": 1},
        ],
    }  # fmt: skip
    answer = http.post(_url(box, "addalotofsms"), data={"datajson": json.dumps(datajson)}).json()
    assert answer["error"] == 0 and isinstance(answer["message"], str)
    sent = box.smsgateway24().messages("dev")
    assert [m["urgent"] for m in sent] == [0, 1] and {m["device_id"] for m in sent} == {260}
    hit = box.hits(kind="send")[0]
    assert hit["account"] == "dev" and hit["accepted"]


def test_sandbox_sg24_sample_devices_answer(box: Any, http: requests.Session) -> None:
    answer = http.post(_url(box, "getalldevices"), data={"token": SAMPLE_TOKEN}).json()
    assert {"1576", "1297", "260"} == set(answer["device"])
    emulator = answer["device"]["1576"]
    assert emulator["title"] == "AOSP_on_IA_Emulator" and emulator["imei"] == "358240051111110"
    assert emulator["siminfo"][0]["CarrierName"] == "Android (T-Mobile)"
    assert answer["device"]["1297"]["delaybetweeneachsms"] == 5


def test_sandbox_sg24_bulk_is_all_or_nothing(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    good = {"sendto": "1", "body": "a", "sim": 0, "device_id": _device(box)}
    bad = {**good, "device_id": 1}
    datajson = json.dumps({"token": token, "smsdata": [good, bad]})
    answer = http.post(_url(box, "addalotofsms"), data={"datajson": datajson}).json()
    assert answer == {"error": 1, "message": "smsdata[1]: Device 1 not found"}
    assert box.smsgateway24().messages() == []
    as_json = http.post(_url(box, "addalotofsms"), json={"token": token, "smsdata": [good]})
    assert as_json.json()["error"] == 0
    broken = http.post(_url(box, "addalotofsms"), data={"datajson": "{nope"}).json()
    assert broken["error"] == 1 and "datajson" in broken["message"]
    empty = json.dumps({"token": token, "smsdata": []})
    assert http.post(_url(box, "addalotofsms"), data={"datajson": empty}).json()["error"] == 1


def test_sandbox_sg24_tags_contacts_newsletters(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    tag = http.post(_url(box, "savetag"), data={"token": token, "title": "Colleagues"}).json()
    assert tag["error"] == 0 and tag["message"] == "OK" and isinstance(tag["tag_id"], int)
    contact = {"token": token, "phone": "+4915752982212", "ctag_id": tag["tag_id"]}
    saved = http.post(_url(box, "savecontact"), data={**contact, "fullname": "Ann"}).json()
    assert saved["error"] == 0 and saved["message"] == "ok" and saved["contact_id"] > 0
    unknown = http.post(_url(box, "savecontact"), data={**contact, "ctag_id": 1}).json()
    assert unknown == {"error": 1, "message": "Tag 1 not found"}
    paket = {"token": token, "title": "News", "device_id": _device(box), "body": "Hello"}
    made = http.post(_url(box, "savepaket"), data={**paket, "tags": str(tag["tag_id"])}).json()
    assert made["error"] == 0 and made["paket_id"] > 0


# ------------------------------------------------------------------- rule, faults, hits, reset


def test_sandbox_sg24_is_exempt_from_the_gap_rule(
    make_sandbox: Callable[..., Any], http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=50, seed=1)
    token = _token(box, http)
    answers = [_addsms(box, http, token) for _ in range(5)]
    assert all(a["error"] == 0 for a in answers)
    assert box.stats()["accounts"]["main"]["violations"] == 0
    assert all(h["status"] == 200 and not h["violation"] for h in box.hits())


def test_sandbox_sg24_faults_apply(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    box.set_faults(down_paths=("/getdata/addsms",))
    down = http.post(_url(box, "addsms"), data={"token": token})
    assert down.status_code == 503 and "text/html" in down.headers["Content-Type"]
    box.set_faults(p_drop_after_accept=1.0)
    with pytest.raises(requests.ConnectionError):
        _addsms(box, http, token)
    dropped = box.hits(kind="send")[-1]
    assert dropped["status"] == 0 and dropped["fault"] == "drop" and dropped["accepted"]
    assert len(box.smsgateway24().messages()) == 1  # processed, then the answer was lost


def test_sandbox_sg24_reset_forgets_tokens_and_messages(box: Any, http: requests.Session) -> None:
    token = _token(box, http)
    _addsms(box, http, token)
    box.reset()
    assert box.smsgateway24().messages() == [] and box.smsgateway24().tokens_issued() == 0
    assert _addsms(box, http, token)["message"] == "Wrong token"
    assert _addsms(box, http, _token(box, http))["error"] == 0


def test_sandbox_sg24_control_surface(box: Any, http: requests.Session) -> None:
    control = f"{box.url}/_sandbox/smsgateway24"
    made = http.post(
        control, json={"action": "login", "account": "shop", "email": "s@x.io", "password": "pw"}
    )
    assert made.json() == {"account": "shop"}
    token = http.post(_url(box, "gettoken"), data={"email": "s@x.io", "pass": "pw"}).json()
    assert token["error"] == 0
    assert len(box.smsgateway24().devices("shop")) == 2
    expired = http.post(control, json={"action": "expire_tokens", "account": "shop"})
    assert expired.json() == {"expired": 1}
    sms_id = _addsms(box, http, _token(box, http))["sms_id"]
    forced = {"action": "set_status", "sms_id": sms_id, "status": 9, "title": "odd"}
    assert http.post(control, json=forced).status_code == 200
    listed = http.post(control, json={"action": "messages"}).json()["messages"]
    assert (listed[0]["status"], listed[0]["title"]) == (9, "odd")
    assert http.post(control, json={"action": "nope"}).status_code == 400
    assert http.post(control, json={"action": "set_status", "sms_id": 1}).status_code == 404
