"""JSON API v1.0 over real HTTP: account, balance, WhatsApp send/media/status, phone check."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests

from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

API = "/nusasms_api/1.0"
KEY = {"APIKey": "test-key"}


def send(http: requests.Session, box: Any, body: dict[str, Any], **kw: Any) -> requests.Response:
    return http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=body, **kw)


def test_auth_api_key_returns_person(box: Any, http: requests.Session) -> None:
    r = http.get(f"{box.url}{API}/auth/api_key", headers=KEY)
    assert r.status_code == 200
    body = r.json()
    assert body["error"] is False
    assert set(body["data"]) == {"userid", "idPerson", "idClient"}
    assert body["data"]["userid"] == "user"


@pytest.mark.parametrize("headers", [{}, {"APIKey": "wrong"}])
def test_auth_missing_or_wrong_key_is_401(
    box: Any, http: requests.Session, headers: dict[str, str]
) -> None:
    r = http.get(f"{box.url}{API}/balance", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["error"] is True and body["data"] is None and body["message"]


def test_auth_revoked_is_401_and_not_whitelisted_is_403(box: Any, http: requests.Session) -> None:
    box.set_account("main", revoked=True)
    assert http.get(f"{box.url}{API}/balance", headers=KEY).status_code == 401
    box.set_account("main", revoked=False, ip_whitelisted=False)
    r = http.get(f"{box.url}{API}/balance", headers=KEY)
    assert r.status_code == 403
    assert "whitelist" in r.json()["message"].lower()


def test_dev_testing_key_is_its_own_account(box: Any, http: requests.Session) -> None:
    r = http.get(f"{box.url}{API}/balance", headers={"APIKey": "DEV_TESTING_API_KEY"})
    assert r.status_code == 200
    assert box.stats()["accounts"]["dev"]["hits"] == 1


def test_balance_shape_and_dates(box: Any, http: requests.Session) -> None:
    data = http.get(f"{box.url}{API}/balance", headers=KEY).json()["data"]
    assert set(data) == {
        "idClient", "wa_balance", "wa_expired_date", "hlr_balance", "hlr_expired_date",
        "sim_balance", "sim_expired_date", "sms_balance", "sms_expired_date", "pulsa_balance",
    }  # fmt: skip
    assert data["wa_balance"] == 1_000_000.0
    assert time.strptime(data["wa_expired_date"], "%Y-%m-%d")


def test_whatsapp_message_created_and_charged(box: Any, http: requests.Session) -> None:
    box.set_balance(wa=10)
    r = send(http, box, {"destination": "628123456789", "message": "x" * 1501, "queue": "q1"})
    assert r.status_code == 201
    data = r.json()["data"]
    assert set(data) == {"sender", "queue", "destination", "ref_no", "message"}
    assert data["queue"] == "q1" and data["destination"] == "628123456789" and data["ref_no"]
    assert box.balance()["wa_balance"] == 8  # 1501 characters = 2 started blocks of 1500
    assert box.message(data["ref_no"])["cost"] == 2


def test_whatsapp_message_accepts_form_body_and_group_id(box: Any, http: requests.Session) -> None:
    r = http.post(
        f"{box.url}{API}/whatsapp/message",
        headers=KEY,
        data={"destination": "628123456-1243456", "message": "hi", "is_group": "true"},
    )
    assert r.status_code == 201
    assert box.message(r.json()["data"]["ref_no"])["is_group"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "hi"}, "destination"),
        ({"destination": "628123456789"}, "message"),
        ({"destination": "0812-abc", "message": "hi"}, "destination"),
        ({"destination": "628123456789", "message": "hi", "timeout": "soon"}, "timeout"),
    ],
)
def test_whatsapp_message_invalid_is_422(
    box: Any, http: requests.Session, body: dict[str, Any], field: str
) -> None:
    r = send(http, box, body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert ["body", field] in [d["loc"] for d in detail]
    assert all({"loc", "msg", "type"} <= set(d) for d in detail)
    assert box.stats()["accepted_sends"] == 0


def test_whatsapp_message_without_credit_is_402(box: Any, http: requests.Session) -> None:
    box.set_balance(wa=1)
    assert send(http, box, {"destination": "628123456789", "message": "a"}).status_code == 201
    r = send(http, box, {"destination": "628123456789", "message": "b"})
    assert r.status_code == 402
    assert r.json() == {"error": True, "message": "Insufficient WA balance", "data": None}
    assert len(box.messages()) == 1


def test_whatsapp_media_url_and_base64(box: Any, http: requests.Session) -> None:
    r = http.post(
        f"{box.url}{API}/whatsapp/media",
        headers=KEY,
        json={
            "destination": "628123456789",
            "media_url": "https://example.com/a.png",
            "caption": "c",
        },
    )
    assert r.status_code == 201
    data = r.json()["data"]
    assert set(data) == {"sender", "queue", "destination", "ref_no", "caption", "media_url"}
    assert data["media_url"] == "https://example.com/a.png" and data["caption"] == "c"
    png = base64.b64encode(b"\x89PNG" + b"0" * 1000).decode()
    r = http.post(
        f"{box.url}{API}/whatsapp/media",
        headers=KEY,
        json={"destination": "628123456789", "media_base64": png, "file_name": "x.png"},
    )
    assert r.status_code == 201
    assert box.balance()["wa_balance"] == 1_000_000 - 4  # 2 credits per media


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "media_url"),
        ({"media_url": "https://example.com/a.gif"}, "media_url"),
        ({"media_url": "ftp://example.com/a.png"}, "media_url"),
        (
            {
                "media_base64": base64.b64encode(b"0" * (512 * 1024 + 1)).decode(),
                "file_name": "a.jpg",
            },
            "media_base64",
        ),
        (
            {"media_base64": base64.b64encode(b"0" * (600 * 1024)).decode(), "file_name": "a.mp4"},
            None,
        ),
        (
            {
                "media_base64": base64.b64encode(b"0" * (1024 * 1024 + 1)).decode(),
                "file_name": "a.webm",
            },
            "media_base64",
        ),
        ({"media_base64": "!!!", "file_name": "a.png"}, "media_base64"),
        # "512.0 Kilobytes" / "1 Megabytes" read strictly: 512,000 and 1,000,000 bytes.
        (
            {"media_base64": base64.b64encode(b"0" * 512_001).decode(), "file_name": "a.jpg"},
            "media_base64",
        ),
        ({"media_base64": base64.b64encode(b"0" * 512_000).decode(), "file_name": "a.jpg"}, None),
        (
            {"media_base64": base64.b64encode(b"0" * 1_000_001).decode(), "file_name": "a.mp4"},
            "media_base64",
        ),
        # file_name is optional: the content's signature tells the type, or nothing does.
        ({"media_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 99).decode()}, None),
        ({"media_base64": base64.b64encode(b"0" * 99).decode()}, "media_base64"),
        # Line breaks of a MIME-wrapped encoder are ignored.
        ({"media_base64": base64.encodebytes(b"%PDF-1.4" + b"0" * 300).decode()}, None),
        # "any HTTP URL of a file that can be directly downloaded": no extension is accepted.
        ({"media_url": "https://example.com/download?id=42"}, None),
    ],
)
def test_whatsapp_media_type_and_size_rules(
    box: Any, http: requests.Session, body: dict[str, Any], field: str | None
) -> None:
    r = http.post(
        f"{box.url}{API}/whatsapp/media", headers=KEY, json={"destination": "628123456789", **body}
    )
    if field is None:
        assert r.status_code == 201  # 600 KB is fine for video (1 MB limit)
    else:
        assert r.status_code == 422
        assert ["body", field] in [d["loc"] for d in r.json()["detail"]]


@pytest.mark.parametrize(
    ("ref_no", "status"),
    [
        ("queued", "Q"),
        ("sent", "S"),
        ("delivered", "D"),
        ("read", "R"),
        ("aborted", "A"),
        ("failed", "F"),
    ],
)
def test_whatsapp_status_test_ref_nos(
    box: Any, http: requests.Session, ref_no: str, status: str
) -> None:
    r = http.get(
        f"{box.url}{API}/whatsapp/status/{ref_no}", headers={"APIKey": "DEV_TESTING_API_KEY"}
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["status"] == status and data["ref_no"] == ref_no


def test_whatsapp_status_unknown_ref_is_404(box: Any, http: requests.Session) -> None:
    r = http.get(f"{box.url}{API}/whatsapp/status/nope", headers=KEY)
    assert r.status_code == 404
    assert r.json()["error"] is True


def test_whatsapp_status_progresses_q_s_d_r(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.1, fail_rate=0.0)
    ref = send(http, box, {"destination": "628123456789", "message": "hi"}).json()["data"]["ref_no"]
    seen: list[str] = []
    data: dict[str, Any] = {}

    def read() -> bool:
        data.update(http.get(f"{box.url}{API}/whatsapp/status/{ref}", headers=KEY).json()["data"])
        if not seen or seen[-1] != data["status"]:
            seen.append(data["status"])
        return seen[-1] == "R"

    wait_for(read, 5, interval=0.02)
    assert seen[0] == "Q" and seen[-1] == "R"
    assert seen == sorted(seen, key="QSDR".index)  # never goes backwards
    assert data["sent_date"] and data["delivered_date"] and data["read_date"]


def test_whatsapp_status_of_other_account_is_404(box: Any, http: requests.Session) -> None:
    ref = send(http, box, {"destination": "628123456789", "message": "hi"}).json()["data"]["ref_no"]
    r = http.get(f"{box.url}{API}/whatsapp/status/{ref}", headers={"APIKey": "DEV_TESTING_API_KEY"})
    assert r.status_code == 404


def test_phone_check_validation(box: Any, http: requests.Session) -> None:
    url = f"{box.url}{API}/wa_phone_check"
    assert http.post(url, headers=KEY, json={"phone_numbers": ["6281234567"]}).status_code == 201
    for bad in ([], ["12345"], ["62812345678901234"], ["62a1234567"], ["1"] * 101, "x"):
        r = http.post(url, headers=KEY, json={"phone_numbers": bad})
        assert r.status_code == 422, bad
    assert http.post(url, headers=KEY, json={}).status_code == 422


def test_unknown_path_404_and_wrong_method_405(box: Any, http: requests.Session) -> None:
    assert http.get(f"{box.url}{API}/nothing", headers=KEY).status_code == 404
    r = http.get(f"{box.url}{API}/whatsapp/message", headers=KEY)
    assert r.status_code == 405
    assert r.headers["Content-Type"].startswith("application/json")
    assert box.stats()["by_status"] == {"404": 1, "405": 1}


def test_whatsapp_failed_message_credit_is_given_back(
    make_sandbox: Any, http: requests.Session
) -> None:
    # Every message ends badly here: F ("WA Credit deduction will be reverted") or A (no word
    # about credit in the documents, so kept).
    box = make_sandbox(min_interval_ms=0, seed=3, status_step_s=0.05, fail_rate=1.0, wa_balance=100)
    refs = []
    for _ in range(8):
        r = http.post(
            f"{box.url}{API}/whatsapp/media",
            headers=KEY,
            json={"destination": "628123456789", "media_url": "https://e.com/a.png"},
        )
        assert r.status_code == 201
        refs.append(r.json()["data"]["ref_no"])
    assert box.balance()["wa_balance"] == 100 - 8 * 2

    def ends() -> dict[str, str]:
        statuses = {ref: box.message(ref)["status"] for ref in refs}
        return statuses if all(s in "AF" for s in statuses.values()) else {}

    final = wait_for(ends, 5, interval=0.02)
    failed = [ref for ref, status in final.items() if status == "F"]
    assert failed and len(failed) < len(refs)  # both endings are in the sample
    # The balance answer already counts the refunds (settled when money is read).
    r = http.get(f"{box.url}{API}/balance", headers=KEY)
    assert r.json()["data"]["wa_balance"] == 100 - 2 * (len(refs) - len(failed))
    assert all(box.message(ref)["extra"]["refunded"] == 2 for ref in failed)
    assert all("refunded" not in box.message(ref)["extra"] for ref in set(refs) - set(failed))
