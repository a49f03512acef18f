"""SMS v3 over real HTTP: send plain (XML default, JSON), group, command CREDITS/DR, codes."""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests

from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

LOGIN = {"user": "user", "password": "pass"}


def plain(http: requests.Session, box: Any, **params: str) -> requests.Response:
    return http.get(f"{box.url}/api/v3/sendsms/plain", params={**LOGIN, **params})


def xml_result(r: requests.Response) -> dict[str, str]:
    root = ET.fromstring(r.content)
    assert root.tag == "results"
    return {child.tag: child.text or "" for child in root.find("result")}


def test_send_plain_answers_xml_by_default(box: Any, http: requests.Session) -> None:
    r = plain(http, box, SMSText="Hello NusaSMS!", GSM="6285100803380")
    assert r.status_code == 200
    assert r.text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><results><result><status>0</status>'
    )
    result = xml_result(r)
    assert result["status"] == "0" and result["destination"] == "6285100803380"
    assert result["messageid"].isdigit()
    assert box.message(result["messageid"])["channel"] == "sms"


def test_send_plain_json_status_is_a_string(box: Any, http: requests.Session) -> None:
    r = plain(
        http, box, SMSText="Kode OTP anda 123456", GSM="6281234567890", otp="Y", output="json"
    )
    result = r.json()["results"][0]
    assert result["status"] == "0" and isinstance(result["status"], str)
    assert result["messageid"].isdigit() and result["destination"] == "6281234567890"
    assert box.message(result["messageid"])["extra"]["otp"] is True


def test_send_plain_post_body_and_sms_alias(box: Any, http: requests.Session) -> None:
    r = http.post(
        f"{box.url}/sms/v3/sendsms/plain",
        data={**LOGIN, "SMSText": "via body", "GSM": "6281234567890", "output": "json"},
    )
    assert r.json()["results"][0]["status"] == "0"
    r = http.post(
        f"{box.url}/api/v3/sendsms/plain?user=user&password=pass&SMSText=x&GSM=6281234567890&output=json"
    )
    assert r.json()["results"][0]["status"] == "0"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"password": "bad", "SMSText": "x", "GSM": "6281234567890"}, "-5"),
        ({"SMSText": "x"}, "-6"),
        ({"GSM": "6281234567890"}, "-12"),
        ({"SMSText": "x", "GSM": "085100803380"}, "-13"),
        ({"SMSText": "x", "GSM": "62812"}, "-13"),
        ({"SMSText": "x", "GSM": "6281234567890123"}, "-13"),
        ({"SMSText": "a" * (153 * 10 + 1), "GSM": "6281234567890"}, "-14"),
    ],
)
def test_send_plain_error_codes(
    box: Any, http: requests.Session, params: dict[str, str], status: str
) -> None:
    r = plain(http, box, output="json", **params)
    assert r.status_code == 200
    result = r.json()["results"][0]
    assert result["status"] == status and result["messageid"] == ""
    assert box.stats()["accepted_sends"] == 0


def test_send_plain_error_in_xml(box: Any, http: requests.Session) -> None:
    r = http.get(
        f"{box.url}/api/v3/sendsms/plain",
        params={"user": "user", "password": "x", "SMSText": "a", "GSM": "6285100803380"},
    )
    assert xml_result(r) == {"status": "-5", "messageid": "", "destination": "6285100803380"}


def test_send_plain_charges_segments_and_runs_out(box: Any, http: requests.Session) -> None:
    box.set_balance(sms=4)
    assert (
        plain(http, box, SMSText="a" * 161, GSM="6281234567890", output="json").json()["results"][
            0
        ]["status"]
        == "0"
    )
    assert box.balance()["sms_balance"] == 2  # 161 GSM-7 chars = 2 segments
    assert (
        plain(http, box, SMSText="ê" * 71, GSM="6281234567890", output="json").json()["results"][0][
            "status"
        ]
        == "0"
    )
    assert box.balance()["sms_balance"] == 0  # 71 UCS-2 chars = 2 segments
    r = plain(http, box, SMSText="a", GSM="6281234567890", output="json")
    assert r.json()["results"][0]["status"] == "-2"


def test_send_plain_account_standing_codes(box: Any, http: requests.Session) -> None:
    box.set_account("main", expired=True)
    assert (
        plain(http, box, SMSText="a", GSM="6281234567890", output="json").json()["results"][0][
            "status"
        ]
        == "-7"
    )
    box.set_account("main", expired=False, ip_whitelisted=False)
    assert (
        plain(http, box, SMSText="a", GSM="6281234567890", output="json").json()["results"][0][
            "status"
        ]
        == "-40"
    )
    box.set_account("main", ip_whitelisted=True, revoked=True)
    assert (
        plain(http, box, SMSText="a", GSM="6281234567890", output="json").json()["results"][0][
            "status"
        ]
        == "-5"
    )


def test_send_group_example_and_unknown(box: Any, http: requests.Session) -> None:
    r = http.get(
        f"{box.url}/api/v3/sendsms/group",
        params={**LOGIN, "SMSText": "Hello NusaSMS!", "group": "Example"},
    )
    result = xml_result(r)
    assert result["status"] == "0" and result["group"] == "Example"
    assert result["campaign_name"].startswith("Group-Api-Campaign-")
    assert len(box.messages()) == 3 and box.balance()["sms_balance"] == 1_000_000 - 3
    r = http.post(
        f"{box.url}/sms/v3/sendsms/group",
        data={**LOGIN, "SMSText": "x", "group": "Nope", "output": "json"},
    )
    assert r.json()["results"][0]["status"] == "-55"


def test_command_credits_json_and_xml(box: Any, http: requests.Session) -> None:
    box.set_balance(sms=1234)
    r = http.get(
        f"{box.url}/api/command",
        params={**LOGIN, "cmd": "CREDITS", "type": "sms", "output": "json"},
    )
    assert r.json() == {
        "results": [
            {"status": "0", "type": "sms", "credits": "1234.0", "expired_date": "2027-12-31"}
        ]
    }
    r = http.get(f"{box.url}/sms/command", params={**LOGIN, "cmd": "CREDITS"})
    assert xml_result(r)["credits"] == "1234.0"


def test_command_dr_progresses_and_unknown(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.05, fail_rate=0.0)
    mid = plain(http, box, SMSText="x", GSM="6281234567890", output="json").json()["results"][0][
        "messageid"
    ]
    first = http.get(
        f"{box.url}/api/command", params={**LOGIN, "cmd": "DR", "ref_no": mid, "output": "json"}
    ).json()
    assert first["results"][0]["dr_status"] in ("QUEUED", "SENT")

    def dr() -> dict[str, str]:
        params = {**LOGIN, "cmd": "DR", "ref_no": mid, "output": "json"}
        return http.get(f"{box.url}/api/command", params=params).json()["results"][0]

    wait_for(lambda: dr()["dr_status"] == "DELIVERED", 5, interval=0.02)
    row = dr()
    assert row == {
        "status": "0",
        "ref_no": mid,
        "dr_status": "DELIVERED",
        "sent_date": row["sent_date"],
        "err_code": "0",
    }
    assert time.strptime(row["sent_date"], "%Y-%m-%d %H:%M:%S")
    r = http.get(
        f"{box.url}/api/command", params={**LOGIN, "cmd": "DR", "ref_no": "999", "output": "json"}
    )
    assert r.json()["results"][0]["status"] == "-31"
    r = http.get(f"{box.url}/api/command", params={**LOGIN, "cmd": "BOGUS", "output": "json"})
    assert r.json()["results"][0]["status"] == "-24"
    r = http.get(
        f"{box.url}/api/command",
        params={"user": "user", "password": "x", "cmd": "CREDITS", "output": "json"},
    )
    assert r.json()["results"][0]["status"] == "-5"


def test_sms_password_never_in_hit_log(box: Any, http: requests.Session) -> None:
    plain(http, box, SMSText="x", GSM="6281234567890")
    hits = box.hits()
    assert hits[0]["path"] == "/api/v3/sendsms/plain" and hits[0]["account"] == "main"
    assert "pass" not in str(hits)


def test_sms_password_never_in_debug_log(
    make_sandbox: Any, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nusaworker.sandbox")
    box = make_sandbox(min_interval_ms=0, sms_password="s3cr3t-pw")
    params = {"user": "user", "password": "s3cr3t-pw", "SMSText": "x", "GSM": "6281234567890"}
    assert xml_result(http.get(f"{box.url}/api/v3/sendsms/plain", params=params))["status"] == "0"
    box.stop()  # joins the handler thread, so its log lines are in
    assert "/api/v3/sendsms/plain" in caplog.text
    assert "s3cr3t-pw" not in caplog.text


def test_send_plain_bills_an_escape_pair_it_cannot_split(box: Any, http: requests.Session) -> None:
    # 152 + "€" (2 septets) + 152 = 306 septets, yet three parts: the pair moves whole.
    box.set_balance(sms=10)
    text = "a" * 152 + "€" + "a" * 152
    r = plain(http, box, SMSText=text, GSM="6281234567890", output="json")
    assert r.json()["results"][0]["status"] == "0"
    assert box.balance()["sms_balance"] == 7


def test_command_is_get_only_as_documented(box: Any, http: requests.Session) -> None:
    r = http.post(f"{box.url}/api/command", data={**LOGIN, "cmd": "CREDITS", "output": "json"})
    assert r.status_code == 405
    r = http.get(f"{box.url}/api/command", params={**LOGIN, "cmd": "CREDITS", "output": "json"})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "0"
    assert [h["method"] for h in box.hits()] == ["POST", "GET"]
