"""The gap rule, hit log and stats over real HTTP (generous bounds: this behaviour is timing)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

API = "/nusasms_api/1.0"
KEY = {"APIKey": "test-key"}


def balance(http: requests.Session, box: Any, key: str = "test-key") -> requests.Response:
    return http.get(f"{box.url}{API}/balance", headers={"APIKey": key})


def test_rate_rule_close_hits_get_429_and_count(sandbox: Any, http: requests.Session) -> None:
    assert balance(http, sandbox).status_code == 200
    r = balance(http, sandbox)  # a local round trip is far below 50 ms
    assert r.status_code == 429
    assert r.json() == {"error": True, "message": "Too many requests", "data": None}
    stats = sandbox.stats()
    assert stats["hits"] == 2 and stats["violations"] == 1
    assert stats["accounts"]["main"]["violations"] == 1
    assert stats["by_status"] == {"200": 1, "429": 1}
    assert stats["min_gap_ms"] < 50
    hits = sandbox.hits()
    assert [h["violation"] for h in hits] == [False, True]
    assert [h["fault"] for h in hits] == [None, "rate_rule"]


def test_rate_rule_violation_has_no_side_effects(sandbox: Any, http: requests.Session) -> None:
    body = {"destination": "628123456789", "message": "hi"}
    assert (
        http.post(f"{sandbox.url}{API}/whatsapp/message", headers=KEY, json=body).status_code == 201
    )
    r = http.post(f"{sandbox.url}{API}/whatsapp/message", headers=KEY, json=body)
    assert r.status_code == 429
    assert len(sandbox.messages()) == 1
    assert sandbox.balance()["wa_balance"] == 1_000_000 - 1
    assert sandbox.stats()["accepted_sends"] == 1


def test_rate_rule_spaced_hits_are_fine(sandbox: Any, http: requests.Session) -> None:
    for _ in range(4):
        assert balance(http, sandbox).status_code == 200
        time.sleep(0.07)  # the spacing under test: 70 ms, above the 50 ms rule
    stats = sandbox.stats()
    assert stats["violations"] == 0
    assert stats["min_gap_ms"] >= 50
    main = stats["accounts"]["main"]
    assert main["hits"] == 4 and main["last_hit"] - main["first_hit"] >= 0.15


def test_rate_rule_429_hits_still_count_as_previous(
    make_sandbox: Any, http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=200)
    statuses = []
    for _ in range(3):
        statuses.append(balance(http, box).status_code)
        time.sleep(0.12)  # the spacing under test (see below)
    # The third hit is >200 ms after the first accepted one but only ~120 ms after the 429.
    assert statuses == [200, 429, 429]


def test_rate_rule_shared_by_api_key_and_sms_login(sandbox: Any, http: requests.Session) -> None:
    assert balance(http, sandbox).status_code == 200
    r = http.get(
        f"{sandbox.url}/api/v3/sendsms/plain",
        params={"user": "user", "password": "pass", "SMSText": "x", "GSM": "6281234567890"},
    )
    assert r.status_code == 429
    assert sandbox.stats()["accounts"]["main"]["hits"] == 2
    assert len(sandbox.messages()) == 0


def test_rate_rule_is_per_account(sandbox: Any, http: requests.Session) -> None:
    assert balance(http, sandbox).status_code == 200
    assert balance(http, sandbox, "DEV_TESTING_API_KEY").status_code == 200
    assert sandbox.stats()["violations"] == 0


def test_rate_rule_unknown_credentials_go_to_question_mark(
    sandbox: Any, http: requests.Session
) -> None:
    assert balance(http, sandbox, "nope").status_code == 401
    assert balance(http, sandbox, "nope").status_code == 401  # logged, not judged
    stats = sandbox.stats()
    assert stats["accounts"]["?"]["hits"] == 2 and stats["violations"] == 0


def test_rate_rule_not_enforced_still_counts(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(enforce_rate=False)
    assert [balance(http, box).status_code for _ in range(3)] == [200, 200, 200]
    assert box.stats()["violations"] == 2


def test_rate_rule_can_change_at_run_time(sandbox: Any, http: requests.Session) -> None:
    r = http.post(f"{sandbox.url}/_sandbox/rate", json={"min_interval_ms": 0})
    assert r.json() == {"min_interval_ms": 0.0, "enforce": True}
    assert [balance(http, sandbox).status_code for _ in range(3)] == [200, 200, 200]
    sandbox.set_rate(min_interval_ms=1000)
    assert balance(http, sandbox).status_code == 429


def test_server_sustains_concurrent_clients(make_sandbox: Any) -> None:
    box = make_sandbox(min_interval_ms=0)

    def client(_: int) -> list[int]:
        with requests.Session() as session:
            session.trust_env = False
            return [balance(session, box).status_code for _ in range(50)]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [code for codes in pool.map(client, range(8)) for code in codes]
    elapsed = time.monotonic() - started
    assert results == [200] * 400
    assert box.stats()["hits"] == 400
    assert elapsed < 20  # hundreds of hits per second, with a wide margin for slow CI
