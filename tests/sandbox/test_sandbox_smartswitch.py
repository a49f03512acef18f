"""The SmartSwitch emulation (seed 003) over real HTTP: the document's samples, per-destination
outcomes, request_id echo and replay, segments, both ``ok`` spellings, faults, the hit log."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

CYRILLIC_OK = "\u043e\u043a"
LOGIN = "ss-login-31"
PASSWORD = "ss-pw-do-not-leak-77"


def post(http: requests.Session, box: Any, query: str) -> requests.Response:
    return http.post(f"{box.url}/api/message?{query}")


def creds(login: str = "LOGIN", password: str = "PASSWORD") -> str:
    return f"_login={login}&_password={password}"


def sent(box: Any, account: str = "main") -> list[dict[str, Any]]:
    view: list[dict[str, Any]] = box.smartswitch(account)["sent"]
    return view


# ------------------------------------------------------------------- the document's samples


def test_smartswitch_sample_one_recipient(box: Any, http: requests.Session) -> None:
    r = post(http, box, f"{creds()}&destination_number=12123388100&body=test&require_dlr=1")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["type"] == "message" and data["id"]
    assert data["attributes"] == {
        "destination_number": "12123388100",
        "segments": 1,
        "status": "ok",
    }
    assert sent(box)[0]["require_dlr"] is True and sent(box)[0]["body"] == "test"


def test_smartswitch_sample_two_recipients_pairs_arguments_by_position(
    box: Any, http: requests.Session
) -> None:
    query = (
        f"{creds()}&destination_number=12123388100&body=test&require_dlr=1"
        "&destination_number=12123388101&body=test1&require_dlr=1"
    )
    data = post(http, box, query).json()["data"]
    assert [d["attributes"]["destination_number"] for d in data] == [
        "12123388100",
        "12123388101",
    ]
    assert len({d["id"] for d in data}) == 2
    assert [(m["destination_number"], m["body"]) for m in sent(box)] == [
        ("12123388100", "test"),
        ("12123388101", "test1"),
    ]


def test_smartswitch_sample_error_wrong_password(box: Any, http: requests.Session) -> None:
    r = post(http, box, f"{creds(password='nope')}&destination_number=12123388100&body=test")
    assert r.status_code == 401
    assert r.json() == {
        "errors": [
            {
                "code": "authentication",
                "detail": "Please check your login and password",
                "title": "Authentication error",
            }
        ]
    }
    assert "data" not in r.json() and sent(box) == []


def test_smartswitch_revoked_account_is_authentication_error(
    box: Any, http: requests.Session
) -> None:
    box.set_account(revoked=True)
    r = post(http, box, f"{creds()}&destination_number=12123388100&body=x")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "authentication"


def test_smartswitch_missing_destination_is_validation_error(
    box: Any, http: requests.Session
) -> None:
    r = post(http, box, f"{creds()}&body=x")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "validation"


def test_smartswitch_form_body_arguments_are_accepted_too(box: Any, http: requests.Session) -> None:
    form = [("_login", "LOGIN"), ("_password", "PASSWORD"), ("destination_number", "12123388100")]
    r = http.post(f"{box.url}/api/message", data=[*form, ("body", "hi")])
    assert r.json()["data"]["attributes"]["status"] == "ok"


def test_smartswitch_get_is_method_not_allowed(box: Any, http: requests.Session) -> None:
    r = http.get(f"{box.url}/api/message?{creds()}&destination_number=12123388100&body=x")
    assert r.status_code == 405 and sent(box) == []


# ------------------------------------------------------------------ per-destination outcomes


def test_smartswitch_bad_and_told_to_fail_destinations_fail_alone(
    box: Any, http: requests.Session
) -> None:
    box.smartswitch(fail_destinations=["+12123388102"])
    numbers = ["12123388100", "0123456789", "12123388102", "12123388103"]
    query = creds() + "".join(f"&destination_number={n}" for n in numbers) + "&body=hello"
    data = post(http, box, query).json()["data"]
    assert [d["attributes"]["status"] for d in data] == ["ok", "error", "error", "ok"]
    assert data[1]["meta"]["error"]["code"] == "destination_number"
    assert data[2]["meta"]["error"] == {
        "code": "rejected",
        "detail": "The destination refused the message",
        "title": "Destination rejected",
    }
    assert [m["destination_number"] for m in sent(box)] == ["12123388100", "12123388103"]
    assert box.smartswitch()["balance"] == 1_000_000.0 - 2


def test_smartswitch_balance_running_out_fails_the_rest(box: Any, http: requests.Session) -> None:
    box.smartswitch(balance=3)
    query = creds() + "".join(f"&destination_number=1212338810{i}" for i in range(3))
    data = post(http, box, query + "&body=" + "x" * 161).json()["data"]  # 2 segments each
    assert [d["attributes"]["status"] for d in data] == ["ok", "error", "error"]
    assert data[1]["meta"]["error"]["code"] == "balance"
    assert box.smartswitch()["balance"] == 1.0


@pytest.mark.parametrize(
    ("body", "segments"),
    [("x" * 160, 1), ("x" * 161, 2), ("x" * 306, 2), ("x" * 307, 3), ("ж" * 70, 1), ("ж" * 71, 2)],
)
def test_smartswitch_segments_counted_per_message(
    box: Any, http: requests.Session, body: str, segments: int
) -> None:
    r = http.post(
        f"{box.url}/api/message",
        params=[
            ("_login", "LOGIN"),
            ("_password", "PASSWORD"),
            ("destination_number", "12123388100"),
            ("body", body),
        ],
    )
    assert r.json()["data"]["attributes"]["segments"] == segments
    assert box.smartswitch()["balance"] == 1_000_000.0 - segments


def test_smartswitch_both_ok_spellings(box: Any, http: requests.Session) -> None:
    query = f"{creds()}&destination_number=12123388100&body=x"
    assert post(http, box, query).json()["data"]["attributes"]["status"] == "ok"
    assert box.smartswitch(ok_spelling="cyrillic")["ok_spelling"] == CYRILLIC_OK
    r = post(http, box, query)
    assert r.json()["data"]["attributes"]["status"] == CYRILLIC_OK
    assert CYRILLIC_OK.encode() in r.content  # UTF-8 on the wire, not \u escapes


# --------------------------------------------------------------------------- request_id


def test_smartswitch_request_id_echoed_per_destination(box: Any, http: requests.Session) -> None:
    query = (
        f"{creds()}&destination_number=12123388100&request_id=r-1"
        "&destination_number=12123388101&request_id=r-2&body=x"
    )
    data = post(http, box, query).json()["data"]
    assert [d["meta"]["request_id"] for d in data] == ["r-1", "r-2"]
    without = post(http, box, f"{creds()}&destination_number=12123388100&body=x").json()
    assert "request_id" not in without["data"]["meta"]


def test_smartswitch_repeated_request_id_gets_first_answer_and_sends_nothing(
    box: Any, http: requests.Session
) -> None:
    first = post(http, box, f"{creds()}&destination_number=12123388100&request_id=k&body=x")
    again = post(http, box, f"{creds()}&destination_number=12123388100&request_id=k&body=x")
    assert again.json() == first.json()
    assert len(sent(box)) == 1 and box.smartswitch()["balance"] == 1_000_000.0 - 1
    hits = box.hits()
    assert [h["accepted"] for h in hits] == [True, False]


# ------------------------------------------------------------------- accounts and control


def test_smartswitch_second_account_by_login(box: Any, http: requests.Session) -> None:
    view = box.smartswitch("carrier2", login=LOGIN, password=PASSWORD, balance=10)
    assert view["configured"] and view["balance"] == 10
    r = post(http, box, f"{creds(LOGIN, PASSWORD)}&destination_number=12123388100&body=x")
    assert r.json()["data"]["attributes"]["status"] == "ok"
    assert box.smartswitch("carrier2")["balance"] == 9
    assert box.hits()[-1]["account"] == "carrier2"
    box.reset()
    assert box.smartswitch("carrier2")["balance"] == 10 and sent(box, "carrier2") == []


def test_smartswitch_control_surface(box: Any, http: requests.Session) -> None:
    r = http.post(
        f"{box.url}/_sandbox/smartswitch",
        json={"account": "main", "fail_destinations": ["12123388100"], "balance": 5},
    )
    assert r.status_code == 200 and r.json()["fail_destinations"] == ["12123388100"]
    view = http.get(f"{box.url}/_sandbox/smartswitch", params={"account": "main"}).json()
    assert view["balance"] == 5 and "password" not in json.dumps(view).lower()
    bad = http.post(f"{box.url}/_sandbox/smartswitch", json={"ok_spelling": "OK!"})
    assert bad.status_code == 400
    unknown = http.post(f"{box.url}/_sandbox/smartswitch", json={"account": "nobody"})
    assert unknown.status_code == 404
    box.reset()
    assert box.smartswitch()["fail_destinations"] == [] and box.smartswitch()["balance"] > 5


# ------------------------------------------------------------- faults, hits, no secrets


def test_smartswitch_faults_apply_and_nothing_is_sent(box: Any, http: requests.Session) -> None:
    box.set_faults(p_5xx=1.0)
    r = post(http, box, f"{creds()}&destination_number=12123388100&request_id=f1&body=x")
    assert r.status_code in (500, 502, 503) and sent(box) == []
    assert box.smartswitch()["received"] == [["f1"]]  # seen at the door, faulted or not


def test_smartswitch_not_judged_by_the_gap_rule(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=50, seed=1)
    for _ in range(3):
        assert post(http, box, f"{creds()}&destination_number=12123388100&body=x").ok
    assert box.stats()["violations"] == 0


def test_smartswitch_hit_log_and_log_lines_hold_no_credentials(
    make_sandbox: Any, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="nusaworker.sandbox")
    box = make_sandbox(min_interval_ms=0)
    box.smartswitch("carrier2", login=LOGIN, password=PASSWORD)
    post(http, box, f"{creds(LOGIN, PASSWORD)}&destination_number=12123388100&body=x")
    post(http, box, f"{creds(LOGIN, 'wrong')}&destination_number=12123388100&body=x")
    http.get(f"{box.url}/api/message?{creds(LOGIN, PASSWORD)}")
    hits = box.hits()
    views = json.dumps([hits, box.stats(), box.smartswitch("carrier2")])
    box.stop()  # joins the handler threads, so their log lines are in
    assert [h["path"] for h in hits] == ["/api/message"] * 3
    assert [h["account"] for h in hits] == ["carrier2", "?", "?"]  # a 405 resolves no one
    assert "/api/message" in caplog.text
    for secret in (PASSWORD, LOGIN):
        assert secret not in caplog.text and secret not in views
