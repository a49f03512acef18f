"""The WAChat emulation over real HTTP: every endpoint, every documented answer, the document's
own code samples, quotas per sender, status progress, the inbox push, faults and the hit log."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from nusaworker.testing.receiver import Receiver
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

KEY = "wachat-key-1"
SENDER = "6281200000001"
OTHER_SENDER = "6281200000002"
DESTINATION = "6281234567890"


@pytest.fixture
def wbox(make_sandbox: Callable[..., Any]) -> Any:
    """A sandbox with a WAChat account ``wachat`` (two gateways of 1000) and fast statuses."""
    box = make_sandbox(min_interval_ms=50, seed=5, status_step_s=0.05, fail_rate=0.0)
    box.wachat.add_account(api_key=KEY)
    return box


def api(box: Any) -> str:
    return f"{box.url}/wachat_api/1.0"


HEADERS = {"Accept": "application/json", "APIKey": KEY}


# ------------------------------------------------------------------------ the samples


def test_wachat_sample_auth_api_key(wbox: Any) -> None:
    BASE_URL = api(wbox)
    r = requests.get(f"{BASE_URL}/auth/api_key", headers=HEADERS)
    body = r.json()
    assert r.status_code == 200 and body["error"] is False and body["message"] == "Data message"
    assert set(body["data"]) == {"userid", "idPerson", "idClient"}
    assert isinstance(body["data"]["idPerson"], int) and isinstance(body["data"]["userid"], str)


def test_wachat_sample_gateway_balance(wbox: Any) -> None:
    BASE_URL = api(wbox)
    # The Go sample sends a JSON Content-Type on a GET without a body.
    r = requests.get(
        BASE_URL + f"/sender/{SENDER}",
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert r.status_code == 200
    assert r.json()["data"] == {"idClient": 501, "name": SENDER, "counter": 0, "limit": 1000}


def test_wachat_sample_send_message(wbox: Any) -> None:
    PAYLOADS = {
        "destination": DESTINATION,
        "queue": "YOUR_DEVICE_ID",
        "message": "your message here.\\nGrinning face emoticon: \\\\U0001F600",
    }
    r = requests.post(f"{api(wbox)}/message", headers=HEADERS, json=PAYLOADS)
    assert r.status_code == 201
    data = r.json()["data"]
    assert set(data) == {"sender", "queue", "destination", "message", "ref_no"}
    assert data["message"] == PAYLOADS["message"] and data["queue"] == "YOUR_DEVICE_ID"
    assert data["sender"] == SENDER and data["ref_no"]


def test_wachat_sample_send_media_by_url_with_charset(wbox: Any) -> None:
    # The curl sample: a charset in the Content-Type, the Go sample's queue with spaces.
    payload = {
        "queue": " YOUR_DEVICE_ID ",
        "destination": DESTINATION,
        "caption": "Caption text",
        "media_url": "https://example.com/image_name.png",
    }
    r = requests.post(
        f"{api(wbox)}/media",
        headers={**HEADERS, "Content-type": "application/json; charset=utf-8"},
        json=payload,
    )
    assert r.status_code == 201
    data = r.json()["data"]
    assert set(data) == {"sender", "queue", "destination", "caption", "media_url", "ref_no"}
    assert data["media_url"] == payload["media_url"] and data["caption"] == "Caption text"


def test_wachat_sample_send_media_base64(wbox: Any) -> None:
    base64_file = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 100).decode("utf8")
    payloads = {
        "destination": DESTINATION,
        "queue": "YOUR_DEVICE_ID",
        "media_base64": base64_file,
        "file_name": "your_image_file.png",
        "caption": "Caption text",
    }
    r = requests.post(f"{api(wbox)}/media", headers=HEADERS, json=payloads)
    assert r.status_code == 201
    assert r.json()["data"]["media_url"].endswith(".png")
    assert wbox.message(r.json()["data"]["ref_no"])["extra"]["bytes"] == 108


def test_wachat_sample_status(wbox: Any) -> None:
    sent = requests.post(
        f"{api(wbox)}/message", headers=HEADERS, json={"destination": DESTINATION, "message": "x"}
    ).json()["data"]
    r = requests.get(f"{api(wbox)}/status/{sent['ref_no']}", headers=HEADERS)
    data = r.json()["data"]
    assert r.status_code == 200 and data["ref_no"] == sent["ref_no"]
    assert data["status"] in "UQSDRA" and data["create_date"].endswith("Z")
    assert set(data) >= {"destination", "sender", "is_group", "sent_date", "read_date"}


def test_wachat_sample_python_status_without_ref_no_is_404_json(wbox: Any) -> None:
    # The document's Python sample asks f'{BASE_URL}/status/' and prints r.json().
    BASE_URL = api(wbox)
    r = requests.get(f"{BASE_URL}/status/", headers=HEADERS)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    assert wbox.hits()[-1]["account"] == "wachat"


# ------------------------------------------------------------------------ keys


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing APIKey header"),
        ({"APIKey": "nope"}, "Invalid API key"),
        ({"APIKey": "test-key"}, "Invalid API key"),  # NusaSMS's key is not a WAChat key
    ],
)
def test_wachat_keys_refused_with_403(
    wbox: Any, http: requests.Session, headers: dict[str, str], message: str
) -> None:
    for method, path, body in [
        ("GET", "/auth/api_key", None),
        ("GET", f"/sender/{SENDER}", None),
        ("POST", "/message", {"destination": DESTINATION, "message": "x"}),
        ("POST", "/media", {"destination": DESTINATION, "media_url": "https://e.com/a.png"}),
        ("GET", "/status/abc", None),
    ]:
        r = http.request(method, api(wbox) + path, headers=headers, json=body)
        assert r.status_code == 403, path
        assert r.json() == {"error": True, "message": message, "data": None}
    assert wbox.stats()["accepted_sends"] == 0


def test_wachat_key_does_not_authenticate_on_nusasms(wbox: Any, http: requests.Session) -> None:
    r = http.get(f"{wbox.url}/nusasms_api/1.0/balance", headers={"APIKey": KEY})
    assert r.status_code == 401


def test_wachat_revoked_key_is_403(wbox: Any, http: requests.Session) -> None:
    wbox.set_account("wachat", revoked=True)
    r = http.get(f"{api(wbox)}/auth/api_key", headers=HEADERS)
    assert r.status_code == 403 and r.json()["message"] == "API key has been revoked"


def test_wachat_key_given_to_an_existing_account_keeps_its_nusasms_key(
    wbox: Any, http: requests.Session
) -> None:
    # One account, one hit tally: its NusaSMS hits would be judged against its WAChat hits.
    wbox.set_rate(min_interval_ms=0)
    wbox.wachat.add_account("main", api_key="main-wachat")
    assert http.get(f"{api(wbox)}/auth/api_key", headers={"APIKey": "main-wachat"}).ok
    assert http.get(f"{wbox.url}/nusasms_api/1.0/balance", headers={"APIKey": "test-key"}).ok
    assert {h["account"] for h in wbox.hits()} == {"main"}


# ------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/message", {"message": "x"}, "destination"),
        ("/message", {"destination": DESTINATION}, "message"),
        ("/message", {"destination": DESTINATION, "message": ""}, "message"),
        ("/message", {"destination": "not-a-number", "message": "x"}, "destination"),
        ("/message", {"destination": DESTINATION, "message": "x", "timeout": "soon"}, "timeout"),
        ("/message", {"destination": DESTINATION, "message": "x", "is_group": "maybe"}, "is_group"),
        ("/message", {"destination": DESTINATION, "message": "x", "sender": "62899"}, "sender"),
        ("/media", {"destination": DESTINATION}, "media_url"),
        ("/media", {"destination": DESTINATION, "media_url": "ftp://e.com/a.png"}, "media_url"),
        ("/media", {"destination": DESTINATION, "media_base64": "@@@"}, "media_base64"),
    ],
)
def test_wachat_send_validation_is_422_with_detail(
    wbox: Any, http: requests.Session, path: str, body: dict[str, Any], field: str
) -> None:
    r = http.post(api(wbox) + path, headers=HEADERS, json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(item["loc"] == ["body", field] for item in detail), detail
    assert all({"loc", "msg", "type"} <= set(item) for item in detail)
    assert wbox.stats()["accepted_sends"] == 0


def test_wachat_send_body_not_json_is_422(wbox: Any, http: requests.Session) -> None:
    r = http.post(
        f"{api(wbox)}/message",
        headers={**HEADERS, "Content-Type": "application/json"},
        data=b"{not json",
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "value_error.jsondecode"


def test_wachat_group_send_and_timeout_are_accepted(wbox: Any, http: requests.Session) -> None:
    body = {"destination": "628123456-1234567", "is_group": True, "message": "x", "timeout": 86400}
    r = http.post(f"{api(wbox)}/message", headers=HEADERS, json=body)
    assert r.status_code == 201
    assert wbox.message(r.json()["data"]["ref_no"])["is_group"] is True


def test_wachat_unknown_path_and_wrong_method(wbox: Any, http: requests.Session) -> None:
    assert http.get(f"{api(wbox)}/balance", headers=HEADERS).status_code == 404
    assert http.get(f"{api(wbox)}/message", headers=HEADERS).status_code == 405
    assert http.post(f"{api(wbox)}/status/abc", headers=HEADERS).status_code == 405


# ------------------------------------------------------------------------ quotas


def test_wachat_sender_counts_and_answers_402_at_its_limit(
    wbox: Any, http: requests.Session
) -> None:
    wbox.wachat.set_sender(SENDER, limit=2)
    body = {"destination": DESTINATION, "message": "x", "sender": SENDER}
    for _ in range(2):
        assert http.post(f"{api(wbox)}/message", headers=HEADERS, json=body).status_code == 201
    media = {"destination": DESTINATION, "sender": SENDER, "media_url": "https://e.com/a.png"}
    for path, sent in (("/message", body), ("/media", media)):
        r = http.post(api(wbox) + path, headers=HEADERS, json=sent)
        assert r.status_code == 402
        assert r.json() == {
            "error": True,
            "message": f"Sender {SENDER} has reached its limit (2/2)",
            "data": None,
        }
    gateway = http.get(f"{api(wbox)}/sender/{SENDER}", headers=HEADERS).json()["data"]
    assert gateway["counter"] == 2 == gateway["limit"]
    assert wbox.stats()["accepted_sends"] == 2  # a refused send counts nothing


def test_wachat_send_without_sender_uses_a_gateway_with_quota_left(
    wbox: Any, http: requests.Session
) -> None:
    wbox.wachat.set_sender(SENDER, limit=1, counter=1)
    body = {"destination": DESTINATION, "message": "x"}
    r = http.post(f"{api(wbox)}/message", headers=HEADERS, json=body)
    assert r.status_code == 201 and r.json()["data"]["sender"] == OTHER_SENDER
    assert wbox.wachat.sender(OTHER_SENDER)["counter"] == 1
    wbox.wachat.set_sender(OTHER_SENDER, limit=1)
    r = http.post(f"{api(wbox)}/message", headers=HEADERS, json=body)
    assert r.status_code == 402
    assert r.json()["message"] == "Every sender of this account has reached its limit"


def test_wachat_sender_without_limit_never_runs_out(wbox: Any, http: requests.Session) -> None:
    wbox.wachat.set_sender(SENDER, limit=None, counter=10**6)
    body = {"destination": DESTINATION, "message": "x", "sender": SENDER}
    assert http.post(f"{api(wbox)}/message", headers=HEADERS, json=body).status_code == 201
    data = http.get(f"{api(wbox)}/sender/{SENDER}", headers=HEADERS).json()["data"]
    assert data["limit"] is None and data["counter"] == 10**6 + 1


def test_wachat_unknown_or_foreign_sender_is_404(wbox: Any, http: requests.Session) -> None:
    wbox.wachat.add_account("second", api_key="key-2", senders={"6289900000001": 5})
    assert http.get(f"{api(wbox)}/sender/6289900000001", headers=HEADERS).status_code == 404
    r = http.get(f"{api(wbox)}/sender/6289900000001", headers={"APIKey": "key-2"})
    assert r.status_code == 200 and r.json()["data"]["limit"] == 5
    r = http.get(f"{api(wbox)}/sender/{SENDER}", headers={"APIKey": "key-2"})
    assert r.status_code == 404 and r.json()["message"] == "Sender not found"


def test_wachat_reset_restores_counters(wbox: Any, http: requests.Session) -> None:
    body = {"destination": DESTINATION, "message": "x", "sender": SENDER}
    http.post(f"{api(wbox)}/message", headers=HEADERS, json=body)
    assert wbox.wachat.sender(SENDER)["counter"] == 1
    wbox.reset()
    assert wbox.wachat.sender(SENDER)["counter"] == 0
    assert http.get(f"{api(wbox)}/auth/api_key", headers=HEADERS).ok  # the account survives


# ------------------------------------------------------------------------ statuses


def test_wachat_status_progresses_u_q_s_d_r(wbox: Any, http: requests.Session) -> None:
    body = {"destination": DESTINATION, "message": "x"}
    ref_no = http.post(f"{api(wbox)}/message", headers=HEADERS, json=body).json()["data"]["ref_no"]
    seen: list[str] = []

    def status() -> dict[str, Any]:
        data: dict[str, Any] = http.get(f"{api(wbox)}/status/{ref_no}", headers=HEADERS).json()[
            "data"
        ]
        if not seen or seen[-1] != data["status"]:
            seen.append(data["status"])
        return data

    final = wait_for(lambda: (d := status())["status"] == "R" and d, timeout=10, interval=0.01)
    assert seen[0] in "UQ" and seen[-1] == "R"
    assert seen == [s for s in "UQSDR" if s in seen]  # in order, never backwards
    assert final["sent_date"] and final["delivered_date"] and final["read_date"]
    assert wbox.message(ref_no)["path"] == ["U", "Q", "S", "D", "R"]


def test_wachat_message_whose_timeout_runs_out_is_aborted(
    make_sandbox: Callable[..., Any], http: requests.Session
) -> None:
    # The document has no F: a message its timeout lets wait less than it takes to be sent
    # (here 2 steps of 1 s) will not be sent: A.
    box = make_sandbox(min_interval_ms=0, status_step_s=1.0, fail_rate=0.0)
    box.wachat.add_account(api_key=KEY)
    paths = {}
    for timeout in (1, 0, 5):
        body = {"destination": DESTINATION, "message": "x", "timeout": timeout}
        r = http.post(f"{api(box)}/message", headers=HEADERS, json=body)
        paths[timeout] = box.message(r.json()["data"]["ref_no"])["path"]
    assert paths == {1: ["U", "Q", "A"], 0: list("UQSDR"), 5: list("UQSDR")}


def test_wachat_fail_rate_ends_some_messages_aborted(
    make_sandbox: Callable[..., Any], http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=0, fail_rate=1.0)
    box.wachat.add_account(api_key=KEY)
    body = {"destination": DESTINATION, "message": "x"}
    ref_no = http.post(f"{api(box)}/message", headers=HEADERS, json=body).json()["data"]["ref_no"]
    assert box.message(ref_no)["path"] == ["U", "Q", "A"]


def test_wachat_status_of_unknown_or_foreign_ref_no_is_404(
    wbox: Any, http: requests.Session
) -> None:
    nusasms = http.post(
        f"{wbox.url}/nusasms_api/1.0/whatsapp/message",
        headers={"APIKey": "test-key"},
        json={"destination": DESTINATION, "message": "x"},
    ).json()["data"]["ref_no"]
    wbox.wachat.add_account("second", api_key="key-2")
    body = {"destination": DESTINATION, "message": "x"}
    theirs = http.post(f"{api(wbox)}/message", headers={"APIKey": "key-2"}, json=body)
    for ref_no in ("no-such-ref", nusasms, theirs.json()["data"]["ref_no"]):
        r = http.get(f"{api(wbox)}/status/{ref_no}", headers=HEADERS)
        assert r.status_code == 404 and r.json()["message"] == "Message not found"


def test_wachat_messages_are_never_pushed_as_statuses(
    wbox: Any, http: requests.Session, receiver: Receiver
) -> None:
    # The document describes no status push for WAChat: only inbox pushes.
    wbox.set_callback_url(receiver.url)
    body = {"destination": DESTINATION, "message": "x"}
    ref_no = http.post(f"{api(wbox)}/message", headers=HEADERS, json=body).json()["data"]["ref_no"]
    wait_for(
        lambda: (
            http.get(f"{api(wbox)}/status/{ref_no}", headers=HEADERS).json()["data"]["status"]
            == "R"
        ),
        timeout=10,
    )
    wbox.wachat.push_inbox("628111", "marker")
    got = receiver.wait(lambda reqs: len(reqs) >= 1)
    assert [r.path for r in got] == ["/wachat/inbox"]


# ------------------------------------------------------------------------ inbox push


def test_wachat_inbox_push_is_the_documented_form(wbox: Any, receiver: Receiver) -> None:
    wbox.set_callback_url(receiver.url)
    result = wbox.wachat.push_inbox("6281299999999", "Halo, apa kabar?")
    [got] = receiver.wait(lambda reqs: len(reqs) == 1)
    assert got.method == "POST" and got.path == "/wachat/inbox"
    assert got.content_type == "application/x-www-form-urlencoded"
    form = got.form()
    assert set(form) == {"id", "gateway_number", "originator", "receive_date", "msg"}
    assert form["originator"] == "6281299999999" and form["msg"] == "Halo, apa kabar?"
    assert form["gateway_number"] == SENDER and form == result["payload"]
    time.strptime(form["receive_date"], "%Y-%m-%d %H:%M:%S")


def test_wachat_inbox_push_goes_to_the_accounts_push_url(
    wbox: Any, http: requests.Session, make_receiver: Callable[..., Receiver]
) -> None:
    own = make_receiver()
    shared = make_receiver()
    wbox.set_callback_url(shared.url)
    r = http.post(
        f"{wbox.url}/_sandbox/wachat/account",
        json={"account": "third", "api_key": "key-3", "push_url": f"{own.url}/hook"},
    )
    assert r.status_code == 200 and len(r.json()["senders"]) == 2
    r = http.post(
        f"{wbox.url}/_sandbox/wachat/inbox",
        json={"account": "third", "originator": "628777", "text": "hi", "gateway_number": "62800"},
    )
    assert r.status_code == 200 and r.json()["pushed"] is True
    [got] = own.wait(lambda reqs: len(reqs) == 1)
    assert got.path == "/hook" and got.form()["gateway_number"] == "62800"
    assert shared.requests == []


def test_wachat_inbox_without_any_url_is_not_pushed(wbox: Any) -> None:
    assert wbox.wachat.push_inbox("628", "x")["pushed"] is False


# ------------------------------------------------------------------------ control surface


def test_wachat_control_sender_quota_over_http(wbox: Any, http: requests.Session) -> None:
    base = f"{wbox.url}/_sandbox/wachat/sender"
    r = http.post(base, json={"sender": SENDER, "limit": 3, "counter": 3})
    assert r.json() == {"idClient": 501, "name": SENDER, "counter": 3, "limit": 3}
    assert http.get(base, params={"sender": SENDER}).json()["counter"] == 3
    assert http.get(base, params={"sender": "nope"}).status_code == 404
    assert http.post(base, json={"account": "ghost", "sender": "1"}).status_code == 404
    assert http.post(f"{wbox.url}/_sandbox/wachat/other", json={}).status_code == 400
    assert http.post(f"{wbox.url}/_sandbox/wachat/account", json={}).status_code == 400
    body = {"destination": DESTINATION, "message": "x", "sender": SENDER}
    assert http.post(f"{api(wbox)}/message", headers=HEADERS, json=body).status_code == 402


# ------------------------------------------------------------------------ faults, hit log


def test_wachat_hits_are_logged_under_the_account_and_not_judged_by_the_gap_rule(
    wbox: Any, http: requests.Session
) -> None:
    # The document states no rate rule: back-to-back hits are all answered (and measured).
    for _ in range(5):
        assert http.get(f"{api(wbox)}/auth/api_key", headers=HEADERS).status_code == 200
    tally = wbox.stats()["accounts"]["wachat"]
    assert tally["hits"] == 5 and tally["violations"] == 0 and tally["min_gap_ms"] is not None
    assert [h["kind"] for h in wbox.hits()] == ["read"] * 5


def test_wachat_faults_apply(wbox: Any, http: requests.Session) -> None:
    wbox.set_faults(p_5xx=1.0)
    r = http.get(f"{api(wbox)}/auth/api_key", headers=HEADERS)
    assert r.status_code in (500, 502, 503) and r.headers["Content-Type"] == "text/html"
    wbox.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=2)
    r = http.get(f"{api(wbox)}/auth/api_key", headers=HEADERS)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    wbox.set_faults(down_paths=["/wachat_api/1.0/media"])
    media = {"destination": DESTINATION, "media_url": "https://e.com/a.png"}
    assert http.post(f"{api(wbox)}/media", headers=HEADERS, json=media).status_code == 503
    body = {"destination": DESTINATION, "message": "x"}
    assert http.post(f"{api(wbox)}/message", headers=HEADERS, json=body).status_code == 201
    wbox.set_faults(p_drop_after_accept=1.0)
    with pytest.raises(requests.ConnectionError):
        http.post(f"{api(wbox)}/message", headers=HEADERS, json=body)
    last = wbox.hits()[-1]
    assert last["fault"] == "drop" and last["accepted"] and last["account"] == "wachat"
    assert wbox.wachat.sender(SENDER)["counter"] == 2  # the dropped send was counted
