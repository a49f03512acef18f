"""The documents' own client samples, pointed at the sandbox, get the documented answers.

Each block below is a sample from seeds 000/001 with only the host and the placeholders
(API key, phone numbers, UUIDs) filled in.
"""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests

from nusaworker.testing.receiver import Receiver

pytestmark = pytest.mark.integration

YOUR_API_KEY = "test-key"


@pytest.fixture
def doc_box(make_sandbox: Any) -> Any:
    """The documents' sample SMS credentials are ``user``/``password``."""
    return make_sandbox(min_interval_ms=0, sms_password="password", seed=3)


def test_sample_001_auth_api_key(doc_box: Any) -> None:
    BASE_URL = f"{doc_box.url}/nusasms_api/1.0"
    HEADERS = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    r = requests.get(f"{BASE_URL}/auth/api_key", headers=HEADERS)
    body = r.json()
    assert r.status_code == 200 and body["error"] is False and body["message"] == "Data message"
    assert isinstance(body["data"]["userid"], str) and isinstance(body["data"]["idClient"], int)


def test_sample_001_balance(doc_box: Any) -> None:
    BASE_URL = f"{doc_box.url}/nusasms_api/1.0"
    HEADERS = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    r = requests.get(f"{BASE_URL}/balance", headers=HEADERS)
    data = r.json()["data"]
    assert r.status_code == 200 and isinstance(data["wa_balance"], float)
    assert data["sms_expired_date"].count("-") == 2


def test_sample_001_whatsapp_message(doc_box: Any) -> None:
    BASE_URL = f"{doc_box.url}/nusasms_api/1.0"
    HEADERS = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    PAYLOADS = {
        "destination": "6281234567890",
        # Optional
        "queue": "YOUR_QUEUE",
        "message": "your message here.\\nGrinning face emoticon: \\\\U0001F600",
        "include_unsubscribe": True,
    }
    r = requests.post(f"{BASE_URL}/whatsapp/message", headers=HEADERS, json=PAYLOADS)
    assert r.status_code == 201
    body = r.json()
    assert body["error"] is False
    assert body["data"]["queue"] == "YOUR_QUEUE" and body["data"]["message"] == PAYLOADS["message"]
    assert body["data"]["ref_no"]


def test_sample_000_whatsapp_media_base64(doc_box: Any) -> None:
    base64_file = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 2048).decode("utf8")
    headers = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    payloads = {
        "destination": "6281234567890",
        "sender": None,
        "media_base64": base64_file,
        "file_name": "your_image_file.png",
        "caption": "Caption text",
    }
    r = requests.post(
        f"{doc_box.url}/nusasms_api/1.0/whatsapp/media", headers=headers, json=payloads
    )
    assert r.status_code == 201 and r.json()["data"]["caption"] == "Caption text"


def test_sample_000_phone_check_with_callback(doc_box: Any, receiver: Receiver) -> None:
    headers = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    payloads = {
        "phone_numbers": ["6281234567891", "6281234567892"],
        "callback_url": f"{receiver.url}/callback",
    }
    r = requests.post(
        f"{doc_box.url}/nusasms_api/1.0/wa_phone_check", headers=headers, json=payloads
    )
    assert r.status_code == 201 and r.json()["data"] is None
    got = receiver.wait(lambda rs: len(rs) == 1)[0]
    assert len(json.loads(got.body)["phone_numbers"]) == 2


def test_sample_001_broadcast(doc_box: Any) -> None:
    BASE_URL = f"{doc_box.url}/nusasms_api/1.0"
    HEADERS = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    PAYLOADS = {
        "destination": "6281234567890",
        "destination_name": "DESTINATION/RECIPIENT NAME",
        "template_id": "65a08d56-a2b9-45f5-98d3-98671e639055",
        "channel_id": "15974c27-3116-49f4-8627-5fc30b0c66d8",
        "parameters": {
            "header": {
                "format": "DOCUMENT",
                "params": [{"key": "filename", "value": "example.pdf"}],
            },
            "body": [{"key": 1, "value": "code", "value_text": "CODE"}],
            "buttons": [{"index": "0", "type": "url", "value": "/url_endpoint?arg1=value"}],
        },
    }
    r = requests.post(f"{BASE_URL}/wa_official/message/broadcast", headers=HEADERS, json=PAYLOADS)
    assert r.status_code == 201
    assert r.json()["message"] == "Send broadcast message" and r.json()["data"]["ref_no"]


def test_sample_001_reply_with_data(doc_box: Any) -> None:
    BASE_URL = f"{doc_box.url}/nusasms_api/1.0"
    HEADERS = {"Accept": "application/json", "APIKey": YOUR_API_KEY}
    PAYLOADS = {"room_id": str(uuid.uuid4()), "type": "text", "text": "Teks anda di sini"}
    r = requests.post(f"{BASE_URL}/wa_official/message/reply", headers=HEADERS, data=PAYLOADS)
    assert r.status_code == 201
    assert r.json() == {
        "error": False,
        "message": "Send reply message",
        "data": {"ref_no": r.json()["data"]["ref_no"]},
    }


def test_sample_001_sms_post_data(doc_box: Any) -> None:
    url = f"{doc_box.url}/api/v3/sendsms/plain"
    headers = {"Accept": "application/json"}
    payload = {
        "SMSText": "This is an example code using Python.",
        "GSM": "6281234567890",
        "output": "json",
        "user": "user",
        "password": "password",
    }
    response = requests.post(url, headers=headers, data=payload)
    result = json.loads(response.text)["results"][0]
    assert result["status"] == "0" and result["destination"] == "6281234567890"
    assert result["messageid"].isdigit()


def test_sample_001_sms_group_post_data(doc_box: Any) -> None:
    url = f"{doc_box.url}/api/v3/sendsms/group"
    payload = {
        "SMSText": "This is an example code using Python.",
        "group": "EXAMPLE_GROUP",
        "output": "json",
        "user": "user",
        "password": "password",
    }
    result = requests.post(url, headers={"Accept": "application/json"}, data=payload).json()[
        "results"
    ][0]
    assert result["status"] == "-55" and result["group"] == "EXAMPLE_GROUP"  # no such group here


@pytest.mark.parametrize(
    ("path", "tag", "value"),
    [
        (
            "/api/v3/sendsms/plain?user=user&password=password&SMSText=Hello%20NusaSMS!&GSM=6281234567890",
            "status",
            "0",
        ),
        (
            "/api/v3/sendsms/plain?user=user&password=password&SMSText=Hello%20NusaSMS!&GSM=6281234567890&otp=Y",
            "status",
            "0",
        ),
        (
            "/api/v3/sendsms/group?user=user&password=password&SMSText=Hello%20NusaSMS!&group=Example",
            "group",
            "Example",
        ),
        ("/api/command?user=user&password=password&cmd=CREDITS&type=sms", "type", "sms"),
    ],
)
def test_sample_parameterized_urls_answer_xml(
    doc_box: Any, path: str, tag: str, value: str
) -> None:
    r = requests.get(doc_box.url + path)
    assert r.status_code == 200 and r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    result = ET.fromstring(r.content).find("result")
    assert result is not None and result.findtext("status") == "0" and result.findtext(tag) == value


def test_sample_parameterized_url_json(doc_box: Any) -> None:
    path = (
        "/api/v3/sendsms/plain?user=user&password=password"
        "&SMSText=Kode%20OTP%20anda%20xxxxxx&GSM=6281234567890&otp=Y&output=json"
    )
    result = requests.get(doc_box.url + path).json()["results"][0]
    assert result["status"] == "0" and result["destination"] == "6281234567890"
