"""The control surface under /_sandbox/ and the Python control API."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from nusaworker.sandbox import FaultProfile, Sandbox

pytestmark = pytest.mark.integration

API = "/nusasms_api/1.0"
KEY = {"APIKey": "test-key"}
MESSAGE = {"destination": "628123456789", "message": "hi"}


def test_control_stats_shape(box: Any, http: requests.Session) -> None:
    http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE)
    stats = http.get(f"{box.url}/_sandbox/stats").json()
    assert {"hits", "violations", "min_gap_ms", "accepted_sends", "accounts", "by_status"} <= set(
        stats
    )
    assert {"callbacks_sent", "callbacks_failed"} <= set(stats)
    main = stats["accounts"]["main"]
    assert set(main) == {
        "hits",
        "violations",
        "min_gap_ms",
        "accepted_sends",
        "first_hit",
        "last_hit",
    }
    assert main["accepted_sends"] == 1 and main["min_gap_ms"] is None
    assert stats["by_status"] == {"201": 1}


def test_control_hits_filter_and_not_counted(box: Any, http: requests.Session) -> None:
    http.get(f"{box.url}{API}/balance", headers=KEY)
    http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE)
    hits = http.get(f"{box.url}/_sandbox/hits").json()
    assert [(h["method"], h["path"], h["kind"], h["status"]) for h in hits] == [
        ("GET", f"{API}/balance", "read", 200),
        ("POST", f"{API}/whatsapp/message", "send", 201),
    ]
    sends = http.get(f"{box.url}/_sandbox/hits", params={"kind": "send"}).json()
    assert len(sends) == 1
    assert box.stats()["hits"] == 2  # control requests are not hits


def test_control_reset_restores_start_values(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, wa_balance=10, faults=FaultProfile(latency_ms=1))
    http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE)
    box.set_faults(FaultProfile(p_5xx=1.0))
    box.set_account("main", revoked=True)
    box.set_callback_url("http://127.0.0.1:9/")
    box.set_rate(min_interval_ms=999, enforce=False)
    assert http.post(f"{box.url}/_sandbox/reset").json() == {"reset": True}
    assert box.stats()["hits"] == 0 and box.messages() == []
    assert box.balance() == {
        "account": "main", "wa_balance": 10.0, "sms_balance": 1_000_000.0,
        "revoked": False, "ip_whitelisted": True, "expired": False,
    }  # fmt: skip
    assert box.faults == FaultProfile(latency_ms=1)
    assert http.get(f"{box.url}/_sandbox/callback").json() == {"url": None}
    assert http.get(f"{box.url}/_sandbox/rate").json() == {"min_interval_ms": 0.0, "enforce": True}


def test_control_balance_and_account(box: Any, http: requests.Session) -> None:
    r = http.post(f"{box.url}/_sandbox/balance", json={"wa": 0, "sms": 5, "account": "main"})
    assert r.json()["wa_balance"] == 0 and r.json()["sms_balance"] == 5
    assert (
        http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE).status_code == 402
    )
    r = http.post(f"{box.url}/_sandbox/account", json={"account": "main", "expired": True})
    assert r.json()["expired"] is True
    data = http.get(f"{box.url}{API}/balance", headers=KEY).json()["data"]
    assert data["sms_expired_date"] < "2025-01-01"
    assert (
        http.post(
            f"{box.url}/_sandbox/account", json={"account": "ghost", "revoked": True}
        ).status_code
        == 404
    )
    assert (
        http.post(f"{box.url}/_sandbox/balance", json={"account": "ghost", "wa": 1}).status_code
        == 404
    )
    assert http.post(f"{box.url}/_sandbox/balance", data=b"not json").status_code == 400


def test_control_account_created_with_own_rate_clock(sandbox: Any, http: requests.Session) -> None:
    r = http.post(
        f"{sandbox.url}/_sandbox/account",
        json={"account": "second", "api_key": "k2", "sms_user": "u2", "sms_password": "p2"},
    )
    assert r.status_code == 200 and "k2" not in r.text
    assert http.get(f"{sandbox.url}{API}/balance", headers=KEY).status_code == 200
    assert http.get(f"{sandbox.url}{API}/balance", headers={"APIKey": "k2"}).status_code == 200
    assert sandbox.stats()["accounts"]["second"]["hits"] == 1
    assert sandbox.stats()["violations"] == 0


def test_control_messages_view(box: Any, http: requests.Session) -> None:
    ref = http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE).json()["data"][
        "ref_no"
    ]
    view = http.get(f"{box.url}/_sandbox/messages/{ref}").json()
    assert view["account"] == "main" and view["channel"] == "wa" and view["cost"] == 1
    assert isinstance(view["created"], float) and view["status"] in "QSDRAF"
    assert http.get(f"{box.url}/_sandbox/messages/nope").status_code == 404
    assert http.get(f"{box.url}/_sandbox/messages").json()["count"] == 1


def test_control_unknown_route_and_method(box: Any, http: requests.Session) -> None:
    assert http.get(f"{box.url}/_sandbox/nothing").status_code == 404
    assert http.get(f"{box.url}/_sandbox/reset").status_code == 405


def test_sandbox_context_manager_and_url() -> None:
    with Sandbox(port=0, min_interval_ms=0) as box:
        assert box.url.startswith("http://127.0.0.1:") and box.port > 0
        assert "test-key" not in repr(box)
        session = requests.Session()
        session.trust_env = False
        assert session.get(f"{box.url}{API}/balance", headers=KEY).status_code == 200
        session.close()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{box.url}{API}/balance", headers=KEY, timeout=1)


def test_sandbox_stop_is_prompt_with_open_connections() -> None:
    held_open = FaultProfile(p_timeout_after_accept=1.0, timeout_sleep_s=60)
    box = Sandbox(min_interval_ms=0, faults=held_open).start()
    idle, held = requests.Session(), requests.Session()
    idle.trust_env = held.trust_env = False
    try:
        assert idle.get(f"{box.url}{API}/balance", headers=KEY).status_code == 200  # keep-alive
        with pytest.raises(requests.Timeout):  # leaves a handler holding its connection
            held.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE, timeout=0.2)
        started = time.monotonic()
        box.stop()
        assert time.monotonic() - started < 3.0
    finally:
        box.stop()
        idle.close()
        held.close()
