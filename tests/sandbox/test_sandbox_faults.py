"""Every fault kind, observed from a real client."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest
import requests

from nusaworker.sandbox import FaultProfile

pytestmark = pytest.mark.integration

API = "/nusasms_api/1.0"
KEY = {"APIKey": "test-key"}
MESSAGE = {"destination": "628123456789", "message": "hi"}


def send(http: requests.Session, box: Any, **kw: Any) -> requests.Response:
    return http.post(f"{box.url}{API}/whatsapp/message", headers=KEY, json=MESSAGE, **kw)


def test_fault_latency_delays_answer_not_arrival(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(faults=FaultProfile(latency_ms=150))
    started = time.monotonic()
    assert http.get(f"{box.url}{API}/balance", headers=KEY).status_code == 200
    assert time.monotonic() - started >= 0.14
    hit = box.hits()[0]
    assert started <= hit["t"] < started + 0.1  # stamped on arrival, before the delay


def test_fault_429_with_retry_after_seconds(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0)
    box.set_faults(FaultProfile(p_429=1.0, p_429_retry_after=1.0, retry_after_s=2.5))
    r = send(http, box)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert r.json()["error"] is True
    assert box.messages() == [] and box.hits()[0]["fault"] == "429"


def test_fault_429_retry_after_as_http_date(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(
        min_interval_ms=0,
        faults=FaultProfile(
            p_429=1.0, p_429_retry_after=1.0, retry_after_s=30, retry_after_date=True
        ),
    )
    r = send(http, box)
    when = email.utils.parsedate_to_datetime(r.headers["Retry-After"])
    assert 20 < when.timestamp() - time.time() < 40


def test_fault_429_without_retry_after(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, faults=FaultProfile(p_429=1.0))
    r = send(http, box)
    assert r.status_code == 429 and "Retry-After" not in r.headers


def test_fault_5xx_is_html_and_not_processed(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, faults=FaultProfile(p_5xx=1.0))
    codes = set()
    for _ in range(12):
        r = send(http, box)
        codes.add(r.status_code)
        assert r.headers["Content-Type"].startswith("text/html") and "<html>" in r.text
    assert codes <= {500, 502, 503} and len(codes) >= 2
    assert box.messages() == [] and box.stats()["accepted_sends"] == 0


def test_fault_drop_after_accept_processes_then_hangs_up(
    make_sandbox: Any, http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=0, faults=FaultProfile(p_drop_after_accept=1.0))
    with pytest.raises(requests.ConnectionError):
        send(http, box)
    listing = http.get(f"{box.url}/_sandbox/messages").json()
    assert listing["count"] == 1 and listing["messages"][0]["destination"] == "628123456789"
    assert box.balance()["wa_balance"] == 1_000_000 - 1
    hit = box.hits()[0]
    assert hit["status"] == 0 and hit["fault"] == "drop" and hit["accepted"] is True
    assert box.stats()["accepted_sends"] == 1
    # Reads are not sends: never dropped.
    assert http.get(f"{box.url}{API}/balance", headers=KEY).status_code == 200


def test_fault_drop_not_applied_to_refused_sends(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, faults=FaultProfile(p_drop_after_accept=1.0))
    r = http.post(
        f"{box.url}{API}/whatsapp/message", headers=KEY, json={"message": "no destination"}
    )
    assert r.status_code == 422


def test_fault_malformed_after_processing(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0, seed=1, faults=FaultProfile(p_malformed=1.0))
    bodies = []
    for _ in range(8):
        r = send(http, box)
        assert r.status_code == 201
        with pytest.raises(requests.JSONDecodeError):
            r.json()
        bodies.append(r.content)
    assert b"" in bodies and any(bodies)  # both shapes: empty and truncated JSON
    assert len(box.messages()) == 8


def test_fault_timeout_after_accept(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(
        min_interval_ms=0, faults=FaultProfile(p_timeout_after_accept=1.0, timeout_sleep_s=3)
    )
    with pytest.raises(requests.Timeout):
        send(http, box, timeout=0.3)
    assert len(box.messages()) == 1
    assert box.hits()[0]["fault"] == "timeout"


def test_faults_never_touch_control_surface(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(faults=FaultProfile(p_5xx=1.0, latency_ms=500))
    started = time.monotonic()
    for _ in range(5):
        assert http.get(f"{box.url}/_sandbox/stats").status_code == 200
    assert time.monotonic() - started < 2.0
    assert box.stats()["hits"] == 0


def test_faults_set_over_http(make_sandbox: Any, http: requests.Session) -> None:
    box = make_sandbox(min_interval_ms=0)
    r = http.post(f"{box.url}/_sandbox/faults", json={"p_5xx": 1})
    assert r.status_code == 200 and r.json()["p_5xx"] == 1.0
    assert box.faults.p_5xx == 1.0
    assert send(http, box).status_code >= 500
    assert http.post(f"{box.url}/_sandbox/faults", json={"p_5xx": 2}).status_code == 400
    assert http.post(f"{box.url}/_sandbox/faults", json={"nope": 1}).status_code == 400
    assert http.post(f"{box.url}/_sandbox/faults", json={}).json() == FaultProfile().to_dict()
    assert send(http, box).status_code == 201


def test_faults_reproducible_with_seed(make_sandbox: Any, http: requests.Session) -> None:
    profile = FaultProfile(p_5xx=0.3, p_429=0.2)
    runs = []
    for _ in range(2):
        box = make_sandbox(min_interval_ms=0, seed=42, faults=profile)
        runs.append(
            [http.get(f"{box.url}{API}/balance", headers=KEY).status_code for _ in range(30)]
        )
    assert runs[0] == runs[1]
    assert {200, 429} <= set(runs[0]) and any(code >= 500 for code in runs[0])


def test_fault_down_paths_answer_503_for_good_and_leave_other_paths_working(
    make_sandbox: Any, http: requests.Session
) -> None:
    box = make_sandbox(min_interval_ms=0, faults=FaultProfile(down_paths=("/api/v3/",)))
    sms = http.get(f"{box.url}/api/v3/sendsms/json", params={"user": "user", "password": "pass"})
    assert sms.status_code == 503
    assert send(http, box).status_code == 201
    assert len(box.messages()) == 1  # the WhatsApp send only
    # Set over the control surface as JSON too, and shown back as a list.
    answer = http.post(f"{box.url}/_sandbox/faults", json={"down_paths": ["/nusasms_api/"]})
    assert answer.status_code == 200 and answer.json()["down_paths"] == ["/nusasms_api/"]
    assert send(http, box).status_code == 503


def test_fault_down_paths_must_be_a_list_of_prefixes() -> None:
    with pytest.raises(ValueError, match="down_paths"):
        FaultProfile.from_mapping({"down_paths": "/api/v3/"})
