"""Pushes to a real local receiver: delivery statuses, inbox, phone check, failures counted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from nusaworker.testing.receiver import Receiver

pytestmark = pytest.mark.integration

API = "/nusasms_api/1.0"
KEY = {"APIKey": "test-key"}


def test_callback_wa_status_pushed_for_each_step(
    make_sandbox: Any, receiver: Receiver, http: requests.Session
) -> None:
    box = make_sandbox(
        min_interval_ms=0, status_step_s=0.05, fail_rate=0.0, callback_url=receiver.url
    )
    r = http.post(
        f"{box.url}{API}/whatsapp/message",
        headers=KEY,
        json={"destination": "628123456789", "message": "hi"},
    )
    ref = r.json()["data"]["ref_no"]
    got = receiver.wait(lambda rs: len([x for x in rs if x.path == "/wa/status"]) == 3)
    pushes = [x for x in got if x.path == "/wa/status"]
    assert [p.method for p in pushes] == ["GET"] * 3
    assert [p.query["status"] for p in pushes] == ["S", "D", "R"]
    assert {p.query["ref_no"] for p in pushes} == {ref}
    assert all(p.query["err_code"] == "0" and len(p.query["sent_date"]) == 19 for p in pushes)
    assert box.wait_callbacks(2) and box.stats()["callbacks_sent"] == 3


def test_callback_official_and_sms_status(
    make_sandbox: Any, receiver: Receiver, http: requests.Session
) -> None:
    box = make_sandbox(
        min_interval_ms=0, status_step_s=0.05, fail_rate=0.0, callback_url=receiver.url
    )
    body = {
        "destination": "628123456789",
        "destination_name": "Budi",
        "template_id": "65a08d56-a2b9-45f5-98d3-98671e639055",
        "channel_id": "15974c27-3116-49f4-8627-5fc30b0c66d8",
    }
    ref = http.post(f"{box.url}{API}/wa_official/message/broadcast", headers=KEY, json=body).json()[
        "data"
    ]["ref_no"]
    sms = http.get(
        f"{box.url}/api/v3/sendsms/plain",
        params={
            "user": "user",
            "password": "pass",
            "SMSText": "x",
            "GSM": "6281234567890",
            "output": "json",
        },
    ).json()["results"][0]["messageid"]
    receiver.wait(
        lambda rs: (
            len(receiver.on("/wa_official/status")) == 3 and len(receiver.on("/sms/status")) == 2
        )
    )
    official = [json.loads(x.body) for x in receiver.on("/wa_official/status")]
    assert [o["status"] for o in official] == ["sent", "delivered", "read"]
    assert {o["ref_no"] for o in official} == {ref} and all(
        len(o["status_date"]) == 19 for o in official
    )
    assert receiver.on("/wa_official/status")[0].content_type == "application/json"
    dr = receiver.on("/sms/status")
    assert [d.query["status"] for d in dr] == ["SENT", "DELIVERED"] and dr[0].query["ref_no"] == sms


def test_callback_failed_message_pushes_failure(
    make_sandbox: Any, receiver: Receiver, http: requests.Session
) -> None:
    box = make_sandbox(
        min_interval_ms=0, status_step_s=0.03, fail_rate=1.0, callback_url=receiver.url
    )
    http.post(
        f"{box.url}{API}/whatsapp/message",
        headers=KEY,
        json={"destination": "628123456789", "message": "hi"},
    )
    got = receiver.wait(lambda rs: any(x.query.get("status") in ("A", "F") for x in rs))
    final = next(x for x in got if x.query.get("status") in ("A", "F"))
    assert final.query["err_code"] != "0"


@pytest.mark.parametrize("channel", ["wa", "sms"])
def test_callback_inbox_form(
    box: Any, receiver: Receiver, http: requests.Session, channel: str
) -> None:
    box.set_callback_url(receiver.url)
    r = http.post(
        f"{box.url}/_sandbox/inbox", json={"channel": channel, "sender": "628111", "text": "halo"}
    )
    assert r.json()["pushed"] is True
    got = receiver.wait(lambda rs: len(rs) == 1)[0]
    assert got.method == "POST" and got.path == f"/{channel}/inbox"
    form = got.form()
    assert set(form) == {"id", "gateway_number", "originator", "receive_date", "msg"}
    assert form["originator"] == "628111" and form["msg"] == "halo"


def test_callback_inbox_official_json(box: Any, receiver: Receiver) -> None:
    box.set_callback_url(receiver.url + "/")
    room = str(uuid.uuid4())
    result = box.push_inbox("wa_official", "628222", "Pesan inbox", room_id=room)
    got = receiver.wait(lambda rs: len(rs) == 1)[0]
    assert got.path == "/wa_official/inbox"
    payload = json.loads(got.body)
    assert set(payload) == {"room_id", "ref_no", "text", "inbox_date", "sender_number"}
    assert payload["room_id"] == room == result["payload"]["room_id"]


def test_callback_phone_check_to_request_url(
    box: Any, receiver: Receiver, http: requests.Session
) -> None:
    numbers = ["6281234567891", "6281234567890"]
    r = http.post(
        f"{box.url}{API}/wa_phone_check",
        headers=KEY,
        json={"phone_numbers": numbers, "callback_url": receiver.url + "/mine"},
    )
    assert r.status_code == 201 and r.json()["data"] is None
    got = receiver.wait(lambda rs: len(rs) == 1)[0]
    assert got.path == "/mine"
    assert json.loads(got.body) == {
        "phone_numbers": [
            {"phone_number": "6281234567891", "is_registered": True},
            {"phone_number": "6281234567890", "is_registered": False},
        ]
    }


def test_callback_phone_check_default_path_and_curl_form(
    box: Any, receiver: Receiver, http: requests.Session
) -> None:
    box.set_callback_url(receiver.url)
    r = http.post(
        f"{box.url}{API}/wa_phone_check", headers=KEY, data={"phone_numbers": '["6281234567891"]'}
    )
    assert r.status_code == 201
    got = receiver.wait(lambda rs: len(rs) == 1)[0]
    assert got.path == "/wa/phone_check"


def test_callback_failures_counted_not_fatal(
    make_sandbox: Any, make_receiver: Callable[..., Receiver], http: requests.Session
) -> None:
    broken = make_receiver(status=500)
    box = make_sandbox(min_interval_ms=0, callback_url="http://127.0.0.1:9")  # nothing listens
    box.push_inbox("wa", "628", "a")
    box.set_callback_url(broken.url + "/broken")  # answers 500
    box.push_inbox("sms", "628", "b")
    assert box.wait_callbacks(5)
    stats = box.stats()
    assert stats["callbacks_failed"] == 2 and stats["callbacks_sent"] == 0
    assert http.get(f"{box.url}{API}/balance", headers=KEY).status_code == 200


def test_callback_none_without_url(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.01)
    http.post(
        f"{box.url}{API}/whatsapp/message",
        headers=KEY,
        json={"destination": "628123456789", "message": "hi"},
    )
    assert box.push_inbox("wa", "628", "x")["pushed"] is False
    assert box.wait_callbacks(1)
    assert box.stats()["callbacks_sent"] == 0 and box.stats()["callbacks_failed"] == 0
