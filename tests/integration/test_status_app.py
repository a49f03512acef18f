"""The status page's token and its figures: the receiver as served (``create_app``) over real
HTTP, the figures written by the real code paths (the causal gate, the producer, the breakers,
the ledger) on a real Redis, and ``/status.json`` read back against Redis itself."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests

from nusaworker.campaigns import Campaigns, CampaignSpec
from nusaworker.credit.balance import BalanceSnapshot
from nusaworker.credit.breakers import BreakerBoard
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.pacing import CausalGate
from nusaworker.producer import Producer
from nusaworker.providers.nusasms import account_fingerprint
from nusaworker.settings import Settings
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

CALLBACK_TOKEN = "status-app-callback-token-0123456789"
STATUS_TOKEN = "status-app-page-token-9876543210"
API_KEY = "test-key"
NUMBER = "6281234567890"


@pytest.fixture
def settings(redis_url: str, key_prefix: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        callback_token=CALLBACK_TOKEN,
        status_token=STATUS_TOKEN,
        nusasms_api_key=API_KEY,
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[CallbackServer]:
    app = create_app(settings)
    try:
        with CallbackServer(app) as running:
            yield running
    finally:
        app.ledger.redis.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_status_token_refuses_without_saying_more(
    server: CallbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{server.url}/status"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    refused = [
        requests.get(url, params={"token": "x" * 32}, timeout=5),
        requests.get(f"{url}.json", headers=bearer("wrong-" + STATUS_TOKEN), timeout=5),
        # The callback token opens the page only when no status token of its own is set.
        requests.get(url, params={"token": CALLBACK_TOKEN}, timeout=5),
        requests.get(url, params={"token": STATUS_TOKEN[:-1]}, timeout=5),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert {r.text for r in refused} == {"forbidden\n"}
    assert requests.post(url, headers=bearer(STATUS_TOKEN), timeout=5).status_code == 405

    page = requests.get(url, params={"token": STATUS_TOKEN}, timeout=5)
    figures = requests.get(f"{url}.json", headers=bearer(STATUS_TOKEN), timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert figures.status_code == 200 and figures.json()["accounts"][0]["name"] == "nusasms"
    for answer in (missing, *refused, page, figures):
        assert STATUS_TOKEN not in answer.text and CALLBACK_TOKEN not in answer.text
        assert API_KEY not in answer.text
    # What the receiver logged (the test client's own urllib3 lines carry the URLs it sent).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("nusaworker"))
    assert "status page refused: no token" in logged and "bad token" in logged
    assert STATUS_TOKEN[:12] not in logged and CALLBACK_TOKEN[:12] not in logged
    # The receiver's own routes are untouched: the callback token still opens them.
    push = requests.get(f"{server.url}/{STATUS_TOKEN}/wa/status", timeout=5)
    assert push.status_code == 403


def test_status_callback_token_opens_the_page_without_a_status_token(
    redis_url: str, key_prefix: str
) -> None:
    own = Settings(redis_url=redis_url, key_prefix=key_prefix, callback_token=CALLBACK_TOKEN)
    app = create_app(own)
    try:
        with CallbackServer(app) as server:
            opened = requests.get(f"{server.url}/status.json", headers=bearer(CALLBACK_TOKEN))
            refused = requests.get(f"{server.url}/status.json", headers=bearer(STATUS_TOKEN))
    finally:
        app.ledger.redis.close()
    assert (opened.status_code, refused.status_code) == (200, 403)


@pytest.fixture
def producer(settings: Settings) -> Iterator[Producer]:
    made = Producer.from_settings(settings)
    yield made
    made.ledger.redis.close()


def test_status_json_shows_the_fleets_figures_as_redis_holds_them(
    server: CallbackServer,
    settings: Settings,
    producer: Producer,
    redis_client: redis.Redis,
    make_pacing_gate: Callable[..., Any],
) -> None:
    keys = Keys(prefix=settings.key_prefix)
    account = account_fingerprint(API_KEY)
    # Five hits through the real gate: the turn script counts them as they are reported.
    gate = make_pacing_gate(CausalGate)
    for _ in range(5):
        gate.acquire(account).written()
    # Sends waiting on the broker (no worker runs here): two priority sub-lists of `sms`.
    for i in range(3):
        producer.send_sms(f"62812000000{i:02d}", "promo", priority="bulk")
    producer.send_sms("6281200000099", "notice", priority="normal")
    producer.send_sms("6281200000098", "code 1234", otp=True)
    # A paused channel, a balance below its threshold, a campaign, a refused message.
    BreakerBoard(redis_client, account=account, keys=keys).open(["sms"], "manual")
    snapshot = BalanceSnapshot(
        account, 1_800_000_000.0, balances={"wa": 42.0}, expiry={"wa": dt.date(2031, 1, 31)}
    )
    redis_client.set(keys.balance(account), snapshot.to_json())
    campaigns = Campaigns.from_settings(settings)
    rows = [{"phone": f"62813000000{i:02d}", "name": f"n{i}"} for i in range(3)]
    spec = CampaignSpec(name="spring <promo>", channel="wa", template="Hi {name}")
    info = campaigns.create(spec, rows)
    campaigns.store.redis.close()
    ledger = Ledger(redis_client, keys=keys)
    payload = {"destination": NUMBER, "message": "x"}
    refused = ledger.create(MessageRecord(channel="wa", destination=NUMBER, payload=payload))[0]
    ledger.mark_rejected(refused, "PermanentError: HTTP 422 destination")

    status = requests.get(f"{server.url}/status.json", headers=bearer(STATUS_TOKEN)).json()

    (nusasms,) = status["accounts"]
    assert nusasms["name"] == "nusasms" and nusasms["rule_per_s"] == 20.0
    assert nusasms["hits"] == 5
    assert 0 < nusasms["hits_per_s"] <= 5
    assert nusasms["utilisation"] == pytest.approx(nusasms["hits_per_s"] / 20, abs=0.001)
    queues = {q["name"]: q for q in status["queues"]}
    prefix = settings.key_prefix
    assert queues["sms"]["priorities"]["bulk"] == redis_client.llen(prefix + "sms:6") == 3
    assert queues["sms"]["priorities"]["normal"] == redis_client.llen(prefix + "sms:3") == 1
    assert queues["sms"]["depth"] == 4
    assert queues["otp"]["depth"] == queues["otp"]["priorities"]["otp"] == 1
    (credit,) = status["credit"]
    assert credit["balances"] == [
        {"type": "wa", "balance": 42.0, "threshold": 100.0, "low": True, "expires": "2031-01-31"}
    ]
    assert [(b["channel"], b["reason"]) for b in credit["breakers"]] == [("sms", "manual")]
    (campaign,) = status["campaigns"]
    assert (campaign["id"], campaign["name"], campaign["rows"]) == (info.id, "spring <promo>", 3)
    # No beat runs here, so its dispatcher has handed none of its rows out yet.
    assert (campaign["state"], campaign["done"], campaign["percent"]) == ("running", 0, 0)
    (failure,) = status["failures"]
    assert failure["id"] == refused and failure["reason"] == "PermanentError: HTTP 422 destination"
    assert failure["destination"] != NUMBER and failure["destination"].endswith(NUMBER[-3:])
    assert NUMBER not in str(status)

    page = requests.get(f"{server.url}/status", params={"token": STATUS_TOKEN}).text
    assert "spring &lt;promo&gt;" in page and "<promo>" not in page  # autoescaped
