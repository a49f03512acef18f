"""WhatsApp Official over real HTTP: broadcast (JSON), reply (multipart and urlencoded), lists."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

API = "/nusasms_api/1.0"
KEY = {"APIKey": "test-key"}
TEMPLATE = "65a08d56-a2b9-45f5-98d3-98671e639055"
CHANNEL = "15974c27-3116-49f4-8627-5fc30b0c66d8"
ROOM = "0b5f3c1e-7d2a-4c8e-9f10-2a3b4c5d6e7f"


def broadcast_body(**over: Any) -> dict[str, Any]:
    body = {
        "destination": "628123456789",
        "destination_name": "Budi",
        "template_id": TEMPLATE,
        "channel_id": CHANNEL,
        "parameters": {"body": [{"key": "1", "value": "code", "value_text": "1234"}]},
    }
    return {**body, **over}


def test_broadcast_created_and_charged(box: Any, http: requests.Session) -> None:
    r = http.post(
        f"{box.url}{API}/wa_official/message/broadcast", headers=KEY, json=broadcast_body()
    )
    assert r.status_code == 201
    body = r.json()
    assert body["error"] is False and body["message"] == "Send broadcast message"
    ref = body["data"]["ref_no"]
    assert box.message(ref)["channel"] == "wa_official"
    assert box.balance()["wa_balance"] == 1_000_000 - 1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"template_id": "YOUR-TEMPLATE-UUID"}, "template_id"),
        ({"channel_id": str(uuid.uuid1())}, "channel_id"),  # a UUID, but not version 4
        ({"destination_name": None}, "destination_name"),
        ({"parameters": [1, 2]}, "parameters"),
        ({"destination": "abc"}, "destination"),
    ],
)
def test_broadcast_invalid_is_422(
    box: Any, http: requests.Session, over: dict[str, Any], field: str
) -> None:
    r = http.post(
        f"{box.url}{API}/wa_official/message/broadcast", headers=KEY, json=broadcast_body(**over)
    )
    assert r.status_code == 422
    assert ["body", field] in [d["loc"] for d in r.json()["detail"]]


def test_broadcast_without_credit_is_402(box: Any, http: requests.Session) -> None:
    box.set_balance(wa=0)
    r = http.post(
        f"{box.url}{API}/wa_official/message/broadcast", headers=KEY, json=broadcast_body()
    )
    assert r.status_code == 402


def test_reply_urlencoded_and_multipart(box: Any, http: requests.Session) -> None:
    room = str(uuid.uuid4())
    url = f"{box.url}{API}/wa_official/message/reply"
    r = http.post(
        url, headers=KEY, data={"room_id": room, "type": "text", "text": "Teks anda di sini"}
    )
    assert r.status_code == 201
    assert r.json()["message"] == "Send reply message" and r.json()["data"]["ref_no"]
    # multipart/form-data, as the curl --form and Go samples send it
    r = http.post(url, headers=KEY, files={"room_id": (None, room), "text": (None, "Contoh text")})
    assert r.status_code == 201
    r = http.post(
        url,
        headers=KEY,
        data={"room_id": room, "type": "image", "text": "caption"},
        files={"file": ("a.png", b"\x89PNG", "image/png")},
    )
    assert r.status_code == 201
    views = box.messages()
    assert [v["kind"] for v in views] == ["reply"] * 3
    assert views[2]["extra"]["file_name"] == "a.png"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"room_id": "YOUR-ROOM-ID", "text": "x"}, "room_id"),
        ({"room_id": ROOM, "type": "sticker", "text": "x"}, "type"),
        ({"type": "text", "text": "x"}, "room_id"),
        ({"room_id": ROOM, "type": "text"}, "text"),
        ({"room_id": ROOM, "type": "document"}, "file_url"),
    ],
)
def test_reply_invalid_is_422(
    box: Any, http: requests.Session, data: dict[str, str], field: str
) -> None:
    r = http.post(f"{box.url}{API}/wa_official/message/reply", headers=KEY, data=data)
    assert r.status_code == 422
    assert ["body", field] in [d["loc"] for d in r.json()["detail"]]


def test_templates_and_channels_lists(box: Any, http: requests.Session) -> None:
    templates = http.get(f"{box.url}{API}/wa_official/templates", headers=KEY).json()
    assert templates["message"] == "Templates" and templates["data"]
    for item in templates["data"]:
        assert {"id", "name", "header", "body", "footer", "status", "category"} == set(item)
        assert uuid.UUID(item["id"]).version == 4
    channels = http.get(f"{box.url}{API}/wa_official/channels", headers=KEY).json()
    assert channels["message"] == "Channels"
    assert {"id", "webhook", "settings", "organization_id", "created_at"} == set(
        channels["data"][0]
    )
    assert http.get(f"{box.url}{API}/wa_official/channels").status_code == 401
